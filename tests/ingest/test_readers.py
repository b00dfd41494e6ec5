"""Readers: one test group per format, then the bad inputs every reader must turn into a
DocumentError (never a raw parser exception)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest

from ingest.documents import read_file
from ingest.readers import reader_for
from ingest.readers.docx import read_docx
from ingest.readers.html import read_html
from ingest.readers.markdown import read_markdown
from ingest.readers.pdf import read_pdf
from ingest.readers.text import read_text
from kb.errors import DocumentError, NoTextError, UnsupportedFileError

DATA = Path(__file__).resolve().parents[1] / "data"

SIMPLIFIED = (
    "项目背景与诊断\n"
    "客户是一家区域性商业银行，近三年不良贷款率持续上升，风险管理部门人手不足。"
    "我们通过访谈和数据分析发现，授信审批流程缺少统一标准，贷后管理依赖人工台账。"
    "项目组建议建立统一的风险评级模型，并推动贷后预警系统在六个月内上线。\n"
)
TRADITIONAL = (
    "項目背景與診斷\n"
    "客戶是一家區域性商業銀行，近三年不良貸款率持續上升，風險管理部門人手不足。"
    "我們通過訪談和數據分析發現，授信審批流程缺少統一標準，貸後管理依賴人工台賬。"
    "項目組建議建立統一的風險評級模型，並推動貸後預警系統在六個月內上線。\n"
)
# 𠮷 (U+20BB7) exists in GB18030 but not in GBK.
GB18030_ONLY = SIMPLIFIED + "客户联系人：𠮷野先生，负责供应链与采购条线。\n"


def body(result) -> str:
    return "\n".join(block.text for block in result.blocks)


# --------------------------------------------------------------------------- registry


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.md", "markdown"),
        ("a.MARKDOWN", "markdown"),
        ("a.txt", "text"),
        ("a.docx", "docx"),
        ("a.pdf", "pdf"),
        ("a.html", "html"),
        ("a.htm", "html"),
    ],
)
def test_reader_for_picks_the_format_by_suffix(name: str, fmt: str) -> None:
    assert reader_for(Path(name))[0] == fmt


@pytest.mark.parametrize("name", ["报价单.xlsx", "slides.pptx", "README"])
def test_unknown_extension_raises_unsupported_file_error(name: str) -> None:
    with pytest.raises(UnsupportedFileError) as info:
        read_file(path=Path(name), data=b"some content")
    suffix = Path(name).suffix or "无扩展名"
    assert suffix in info.value.message
    assert ".docx" in info.value.message  # tells the user what is supported
    assert isinstance(info.value, DocumentError)


# --------------------------------------------------------------------------- Markdown


def test_markdown_front_matter_is_parsed_into_plain_values() -> None:
    data = (DATA / "library" / "case-auto.md").read_bytes()
    result = read_markdown(data, "case-auto.md")
    assert result.meta["id"] == "CASE-T-001"
    assert result.meta["type"] == "case"
    assert result.meta["industry"] == "制造业"
    assert result.meta["date"] == "2023-09-30"  # a YAML date becomes an ISO string
    assert result.meta["tags"] == ["供应链", "成本控制"]
    assert result.encoding == "utf-8"
    # the front matter itself is not part of the body
    assert "confidentiality" not in body(result)
    assert result.blocks[0].kind == "heading"


def test_markdown_tags_written_as_a_string_become_a_list() -> None:
    text = "---\ntitle: 标签测试\ntags: 供应链，成本控制、数字化\n---\n正文一段。\n"
    result = read_markdown(text.encode(), "t.md")
    assert result.meta["tags"] == ["供应链", "成本控制", "数字化"]


def test_markdown_headings_keep_their_levels() -> None:
    text = (
        "# 某银行风险管理咨询项目\n\n"
        "## 一、项目背景\n\n客户不良率上升。\n\n"
        "### 1.1 业务现状\n\n授信审批依赖人工。\n\n"
        "## 二、解决方案\n\n建立风险评级模型。\n"
    )
    result = read_markdown(text.encode(), "h.md")
    headings = [(b.text, b.level) for b in result.blocks if b.kind == "heading"]
    assert headings == [
        ("某银行风险管理咨询项目", 1),
        ("一、项目背景", 2),
        ("1.1 业务现状", 3),
        ("二、解决方案", 2),
    ]
    texts = [b.text for b in result.blocks if b.kind == "text"]
    assert texts == ["客户不良率上升。", "授信审批依赖人工。", "建立风险评级模型。"]


def test_markdown_list_items_become_one_block_with_a_line_each() -> None:
    text = (
        "## 步骤\n\n"
        "1. 会前一周确认参会人员与议程。\n"
        "2. 会上介绍项目目标与里程碑。\n\n"
        "说明段落。\n\n"
        "- **供应商**分级管理\n"
        "- 安全库存按[物料分类](http://example.com)设置\n"
    )
    result = read_markdown(text.encode(), "l.md")
    texts = [b.text for b in result.blocks if b.kind == "text"]
    assert texts == [
        "- 会前一周确认参会人员与议程。\n- 会上介绍项目目标与里程碑。",
        "说明段落。",
        "- 供应商分级管理\n- 安全库存按物料分类设置",  # markup and link targets dropped
    ]


def test_markdown_table_rows_become_pipe_separated_lines() -> None:
    text = (
        "## 项目成效\n\n"
        "| 指标 | 改善前 | 改善后 |\n"
        "| --- | --- | --- |\n"
        "| 库存周转天数 | 75 | 48 |\n"
        "| 准时交付率 | 82% | 95% |\n\n"
        "以上数据由客户财务部确认。\n"
    )
    result = read_markdown(text.encode(), "t.md")
    texts = [b.text for b in result.blocks if b.kind == "text"]
    assert texts[0] == "指标 | 改善前 | 改善后\n库存周转天数 | 75 | 48\n准时交付率 | 82% | 95%"
    assert texts[1] == "以上数据由客户财务部确认。"


def test_markdown_without_front_matter_has_empty_meta() -> None:
    result = read_markdown("# 标题\n\n正文。\n".encode(), "n.md")
    assert result.meta == {}
    assert [b.kind for b in result.blocks] == ["heading", "text"]


# --------------------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    ("text", "codec", "expected_encodings"),
    [
        pytest.param(SIMPLIFIED, "utf-8", {"utf-8"}, id="utf-8"),
        pytest.param(SIMPLIFIED, "utf-8-sig", {"utf-8-sig"}, id="utf-8-bom"),
        pytest.param(SIMPLIFIED, "gbk", {"gbk", "gb18030"}, id="gbk"),
        pytest.param(GB18030_ONLY, "gb18030", {"gb18030"}, id="gb18030"),
        pytest.param(TRADITIONAL, "big5", {"big5"}, id="big5"),
    ],
)
def test_text_reader_decodes_chinese_encodings(
    text: str, codec: str, expected_encodings: set[str]
) -> None:
    data = text.encode(codec)
    if not codec.startswith("utf-8"):
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")  # the test really exercises detection
    result = read_text(data, "notes.txt")
    assert result.encoding in expected_encodings
    assert body(result) == text
    assert "\ufeff" not in body(result)
    assert len(result.blocks) == 1 and result.blocks[0].plain


def test_text_reader_reads_front_matter_in_a_gbk_file() -> None:
    text = "---\nid: TXT-GBK-1\nindustry: 金融\ntags: [风险管理]\n---\n" + SIMPLIFIED
    result = read_text(text.encode("gbk"), "bank.txt")
    assert result.meta == {"id": "TXT-GBK-1", "industry": "金融", "tags": ["风险管理"]}
    assert body(result) == SIMPLIFIED


def test_read_file_on_a_big5_text_keeps_the_traditional_text() -> None:
    fmt, result = read_file(path=Path("案例.txt"), data=TRADITIONAL.encode("big5"))
    assert fmt == "text"
    assert "項目背景與診斷" in body(result)
    assert result.meta["tags"] == []  # read_file normalises tags


# --------------------------------------------------------------------------- DOCX


def docx_bytes(document: docx.document.Document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_docx(title: str | None = "制造业数字化转型案例") -> bytes:
    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading("一、项目背景", level=1)
    document.add_paragraph("客户是一家装备制造企业，订单交付周期长，车间在制品积压严重。")
    document.add_heading("1.1 现状诊断", level=2)
    document.add_paragraph("生产计划依靠人工排程，插单频繁，设备综合效率只有 58%。")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [("指标", "改善前", "改善后"), ("交付周期", "45 天", "28 天"), ("设备效率", "58%", "76%")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_heading("二、解决方案", level=1)
    document.add_paragraph("")  # empty paragraphs are dropped
    document.add_paragraph("上线高级排程系统，建立产销协同例会机制。")
    return docx_bytes(document)


def test_docx_heading_styles_become_heading_blocks() -> None:
    result = read_docx(make_docx(), "case.docx")
    headings = [(b.text, b.level) for b in result.blocks if b.kind == "heading"]
    assert headings == [("一、项目背景", 1), ("1.1 现状诊断", 2), ("二、解决方案", 1)]
    assert result.title == "制造业数字化转型案例"


def test_docx_keeps_paragraphs_and_table_text_in_document_order() -> None:
    result = read_docx(make_docx(), "case.docx")
    kinds_texts = [(b.kind, b.text) for b in result.blocks]
    assert kinds_texts == [
        ("heading", "一、项目背景"),
        ("text", "客户是一家装备制造企业，订单交付周期长，车间在制品积压严重。"),
        ("heading", "1.1 现状诊断"),
        ("text", "生产计划依靠人工排程，插单频繁，设备综合效率只有 58%。"),
        ("text", "指标 | 改善前 | 改善后\n交付周期 | 45 天 | 28 天\n设备效率 | 58% | 76%"),
        ("heading", "二、解决方案"),
        ("text", "上线高级排程系统，建立产销协同例会机制。"),
    ]


def test_docx_without_core_title_has_no_title() -> None:
    result = read_docx(make_docx(title=None), "case.docx")
    assert result.title is None
    assert result.blocks[0].text == "一、项目背景"


def test_docx_merged_cells_are_not_repeated() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "项目成效汇总"
    for cell, value in zip(table.rows[1].cells, ["库存", "75 天", "48 天"], strict=True):
        cell.text = value
    result = read_docx(docx_bytes(document), "merged.docx")
    assert body(result) == "项目成效汇总\n库存 | 75 天 | 48 天"


def test_docx_table_keeps_equal_values_in_distinct_cells() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    for row, values in zip(
        table.rows, [("指标", "2022 年", "2023 年"), ("准时交付率", "95%", "95%")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    result = read_docx(docx_bytes(document), "t.docx")
    assert body(result) == "指标 | 2022 年 | 2023 年\n准时交付率 | 95% | 95%"


# --------------------------------------------------------------------------- PDF


def test_pdf_text_layer_is_read() -> None:
    result = read_pdf((DATA / "sample.pdf").read_bytes(), "sample.pdf")
    text = body(result)
    assert "项目复盘" in text
    assert "项目经理组织召开项目复盘会" in text
    assert result.title == "项目复盘 SOP（节选）"
    assert result.warnings == []
    assert all(b.plain for b in result.blocks)  # numbered headings are found later


def test_scanned_pdf_reader_returns_a_warning_and_no_blocks() -> None:
    result = read_pdf((DATA / "scanned.pdf").read_bytes(), "scanned.pdf")
    assert result.blocks == []
    assert any("OCR" in w for w in result.warnings)


def test_scanned_pdf_raises_no_text_error_mentioning_ocr() -> None:
    path = DATA / "scanned.pdf"
    with pytest.raises(NoTextError) as info:
        read_file(path=path, data=path.read_bytes())
    assert "OCR" in info.value.message
    assert "scanned.pdf" in info.value.message


# --------------------------------------------------------------------------- HTML

PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="utf-8">
  <title>案例库 - 智能制造转型</title>
  <script>var tracker = "页面追踪脚本";</script>
  <style>.x { color: red }</style>
</head>
<body>
  <header><div class="logo">某某咨询官网</div></header>
  <nav><a href="/">首页</a> <a href="/cases">案例导航</a></nav>
  <main>
    <h1>智能制造转型案例</h1>
    <h2>项目背景</h2>
    <p>客户是一家装备制造企业，
       订单交付周期长达 45 天。</p>
    <h2>解决方案</h2>
    <ul><li>上线高级排程系统</li><li>建立产销协同机制</li></ul>
    <table><tr><th>指标</th><th>改善后</th></tr><tr><td>交付周期</td><td>28 天</td></tr></table>
    <script>console.log("正文里的脚本");</script>
  </main>
  <footer>版权所有 京ICP备00000000号</footer>
</body>
</html>
"""


def test_html_drops_scripts_navigation_header_and_footer() -> None:
    result = read_html(PAGE.encode("utf-8"), "page.html")
    text = body(result)
    for noise in ("页面追踪脚本", "正文里的脚本", "案例导航", "首页", "某某咨询官网", "版权所有"):
        assert noise not in text


def test_html_keeps_headings_paragraphs_lists_and_tables() -> None:
    result = read_html(PAGE.encode("utf-8"), "page.html")
    headings = [(b.text, b.level) for b in result.blocks if b.kind == "heading"]
    assert headings == [("智能制造转型案例", 1), ("项目背景", 2), ("解决方案", 2)]
    texts = [b.text for b in result.blocks if b.kind == "text"]
    assert "客户是一家装备制造企业，订单交付周期长达 45 天。" in texts  # wrapped line joined
    assert "- 上线高级排程系统" in texts
    assert "指标 | 改善后" in texts and "交付周期 | 28 天" in texts
    assert result.title == "智能制造转型案例"


def test_html_declared_gbk_charset_is_honoured() -> None:
    page = (
        '<html><head><meta charset="gbk"></head><body><main><h1>风险管理咨询</h1>'
        "<p>客户是一家区域性商业银行，近三年不良贷款率持续上升。</p></main></body></html>"
    )
    result = read_html(page.encode("gbk"), "gbk.html")
    assert [b.text for b in result.blocks] == [
        "风险管理咨询",
        "客户是一家区域性商业银行，近三年不良贷款率持续上升。",
    ]


def test_html_title_ignores_an_h1_in_the_site_header() -> None:
    page = PAGE.replace('<div class="logo">某某咨询官网</div>', "<h1>某某咨询官网</h1>")
    result = read_html(page.encode("utf-8"), "page.html")
    assert "某某咨询官网" not in body(result)
    assert result.title == "智能制造转型案例"


# --------------------------------------------------------------------------- bad input


def _rezip_docx(transform) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(make_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, transform(item.filename, source.read(item.filename)))
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\n\x00\x01\x02 garbage", id="garbage"),
        pytest.param(b"this is not a pdf at all", id="not-pdf"),
        pytest.param((DATA / "sample.pdf").read_bytes()[:4000], id="truncated"),
    ],
)
def test_corrupt_pdf_raises_document_error(data: bytes) -> None:
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("损坏.pdf"), data=data)
    assert type(info.value) is DocumentError
    assert "损坏.pdf" in info.value.message


def _zip_without_docx_parts() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        target.writestr("notes.txt", "这不是 Word 文档")
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"PK\x03\x04 this zip header is followed by garbage", id="bad-zip"),
        pytest.param(b"plain bytes, not a zip", id="not-zip"),
        pytest.param(make_docx()[:3000], id="truncated"),
        pytest.param(_zip_without_docx_parts(), id="zip-without-docx-parts"),
    ],
)
def test_corrupt_docx_raises_document_error(data: bytes) -> None:
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("损坏.docx"), data=data)
    assert type(info.value) is DocumentError
    assert "损坏.docx" in info.value.message


@pytest.mark.parametrize("part", ["word/document.xml", "[Content_Types].xml"])
def test_docx_with_damaged_xml_raises_document_error(part: str) -> None:
    data = _rezip_docx(
        lambda name, content: content[: len(content) // 2] if name == part else content
    )
    with pytest.raises(DocumentError):
        read_docx(data, "damaged.docx")


def test_pdf_with_unknown_stream_filter_raises_document_error() -> None:
    data = (DATA / "sample.pdf").read_bytes()
    damaged = data.replace(
        b"/Filter /FlateDecode\n/Length 301", b"/Filter /FlateDecodX\n/Length 301"
    )
    assert damaged != data
    with pytest.raises(DocumentError):
        read_pdf(damaged, "damaged.pdf")


def test_pdf_with_damaged_info_dictionary_is_still_read() -> None:
    data = (DATA / "sample.pdf").read_bytes()
    damaged = data.replace(b"/Info 13 0 R", b"/Info (13 0)")
    assert damaged != data
    result = read_pdf(damaged, "damaged-info.pdf")
    assert "项目复盘" in body(result)


def test_binary_file_named_txt_raises_document_error() -> None:
    data = bytes(range(256)) * 8
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("看起来是文本.txt"), data=data)
    assert "二进制" in info.value.message
    assert "看起来是文本.txt" in info.value.message


def test_binary_file_named_md_raises_document_error() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    with pytest.raises(DocumentError, match="二进制"):
        read_file(path=Path("image.md"), data=png)


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.pdf", "empty.docx", "e.html"])
@pytest.mark.parametrize("data", [b"", b"  \n\r\n\t "], ids=["empty", "whitespace"])
def test_empty_file_raises_document_error(name: str, data: bytes) -> None:
    with pytest.raises(DocumentError) as info:
        read_file(path=Path(name), data=data)
    assert "为空" in info.value.message
    assert name in info.value.message


def test_markdown_with_only_front_matter_has_no_text() -> None:
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("meta-only.md"), data="---\ntitle: 只有元数据\n---\n".encode())
    assert "meta-only.md" in info.value.message


def test_invalid_yaml_front_matter_names_the_problem() -> None:
    text = "---\ntitle: 华东某企业项目\ntags: [供应链, 成本\nindustry: 制造业\n---\n正文。\n"
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("bad-yaml.md"), data=text.encode())
    message = info.value.message
    assert "bad-yaml.md" in message
    assert "YAML" in message
    assert "front matter" in message
    assert "第 4 行" in message  # the line of the file where the parser gave up


def test_front_matter_that_is_not_a_mapping_is_refused() -> None:
    text = "---\n- 供应链\n- 成本控制\n---\n正文。\n"
    with pytest.raises(DocumentError) as info:
        read_file(path=Path("list.md"), data=text.encode())
    assert "映射" in info.value.message
