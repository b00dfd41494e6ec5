"""Chunking: Markdown heading paths, inline numbered headings, sentence packing, offsets."""

from ingest.readers.markdown import read_markdown
from kb.chunking import Block, chunk_layout, layout_blocks, sentence_spans
from kb.headings import cn_to_int, find_inline_headings, line_heading_style
from tests.conftest import DATA, SEED


def _chunks(blocks, size=400):
    layout = layout_blocks(blocks)
    return layout, chunk_layout(layout, size)


def test_markdown_heading_path_and_offsets():
    read = read_markdown((DATA / "library" / "case-auto.md").read_bytes(), "case-auto.md")
    layout, chunks = _chunks(read.blocks)
    assert [c.heading_path for c in chunks] == [
        ["一、项目背景"],
        ["二、问题诊断"],
        ["三、解决方案"],
        ["四、项目成效"],
    ]
    for chunk in chunks:
        assert layout.text[chunk.start : chunk.end] == chunk.text
    assert chunks[1].text.startswith("我们发现采购批量")
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_nested_markdown_headings():
    blocks = [
        Block("heading", "背景", 1),
        Block("text", "总体说明。"),
        Block("heading", "客户概况", 2),
        Block("text", "客户是一家银行。"),
        Block("heading", "诊断", 1),
        Block("text", "问题很多。"),
    ]
    _, chunks = _chunks(blocks)
    assert [c.heading_path for c in chunks] == [["背景"], ["背景", "客户概况"], ["诊断"]]


def test_inline_numbered_headings_of_the_seed():
    _, chunks = _chunks([Block("text", SEED.read_text(encoding="utf-8"), plain=True)])
    paths = [c.heading_path for c in chunks]
    assert ["第1章 前期準備與客戶溝通", "1.1 客戶信息收集與分析"] in paths
    assert ["第4章 服務交付與成果輸出", "4.1 服務成果的整理與歸檔"] in paths
    sections = {p[-1].split(" ")[0] for p in paths if p}
    assert {"1.1", "2.3", "4.1", "7.3", "8.1"} <= sections
    first_41 = next(c for c in chunks if c.heading_path and c.heading_path[-1].startswith("4.1"))
    assert first_41.text.startswith("服務成果的整理應遵循")
    assert chunks[0].heading_path == [] and chunks[0].text.startswith("咨詢服務流程規范與技巧")


def test_inline_headings_follow_the_numbering_sequence():
    text = "第1章总则1.1目的本规范用于项目管理。效率提升1.5倍。1.2适用范围适用范围为全部项目。"
    found = [text[h.start : h.title_end] for h in find_inline_headings(text)]
    assert found == ["第1章总则", "1.1", "1.2适用范围"]
    bodies = [text[h.body_start : h.body_start + 4] for h in find_inline_headings(text)]
    assert bodies == ["1.1目", "目的本规", "适用范围"]


def test_line_headings_and_levels():
    assert line_heading_style("一、项目背景") == "cn"
    assert line_heading_style("（二）审批链条过长") == "cn_paren"
    assert line_heading_style("第三章 实施") == "chapter"
    assert line_heading_style("3.2 数据治理") == "dec2"
    assert line_heading_style("这是一个普通的句子，不是标题。") is None
    assert cn_to_int("十二") == 12 and cn_to_int("二十") == 20
    text = "一、项目背景\n客户是一家企业。\n（一）现状\n流程很长。\n二、方案\n分级审批。"
    _, chunks = _chunks([Block("text", text, plain=True)])
    assert [c.heading_path for c in chunks] == [
        ["一、项目背景"],
        ["一、项目背景", "（一）现状"],
        ["二、方案"],
    ]


def test_sentence_packing_never_cuts_a_sentence():
    sentence = "这是一个用于测试分块的完整句子，长度大约三十个字符左右。"
    text = sentence * 40
    _, chunks = _chunks([Block("text", text)], size=200)
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(chunk.text) <= 200
        assert chunk.text.endswith("。") and chunk.text.startswith("这是")
    assert "".join(c.text for c in chunks) == text


def test_a_sentence_longer_than_the_limit_is_split_softly():
    long_sentence = "，".join(["很长的分句内容"] * 60) + "。"
    spans = sentence_spans(long_sentence, 0, len(long_sentence), 100)
    assert all(end - start <= 100 for start, end in spans)
    assert long_sentence[spans[0][1] - 1] == "，"
    assert "".join(long_sentence[s:e] for s, e in spans) == long_sentence
