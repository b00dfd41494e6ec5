"""Incremental ingest: added / unchanged / updated / pruned / duplicate / skipped / failed, and
what each run leaves in the database and the index."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import docx
import numpy as np
import pytest

from ingest.pipeline import IngestReport, ingest_paths
from kb import store
from kb.access import LOCAL
from kb.config import Settings
from kb.embed import HashEmbedder
from kb.library import Library
from kb.search import SearchService

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURE_IDS = {"CASE-T-001", "CASE-T-002", "LES-T-001", "SOP-T-001"}

GBK_TEXT = (
    "第一章 项目背景\n"
    "客户是一家区域性商业银行，近三年不良贷款率持续上升，风险管理部门人手不足。\n"
    "第二章 解决方案\n"
    "项目组建议建立统一的风险评级模型，并推动贷后预警系统在六个月内上线。\n"
)
HTML_PAGE = """<html><head><title>物流园区规划</title><script>var t = "统计脚本";</script></head>
<body><nav>首页 案例</nav><main><h1>西南某物流园区规划项目</h1><h2>项目背景</h2>
<p>园区占地八百亩，仓储利用率不足六成，冷链能力缺口明显。</p></main>
<footer>版权所有</footer></body></html>"""


class CountingEmbedder(HashEmbedder):
    """The hash embedder, counting how many texts it was asked to embed."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__(dim)
        self.calls = 0
        self.passages = 0
        self.queries = 0

    def _encode(self, texts: list[str], is_query: bool) -> np.ndarray:
        self.calls += 1
        if is_query:
            self.queries += len(texts)
        else:
            self.passages += len(texts)
        return super()._encode(texts, is_query)


def by_name(report: IngestReport) -> dict[str, tuple[str, str]]:
    """File name -> (status, message)."""
    return {Path(r.path).name: (r.status, r.message) for r in report.results}


def make_docx(heading: str, paragraph: str) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(paragraph)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "结论"
    table.rows[0].cells[1].text = "建议推广"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def doc_chunks(library: Library, doc_id: str) -> dict[int, str]:
    with library.session() as session:
        return {c.id: c.text for c in store.chunks_of_document(session, doc_id=doc_id)}


def stored_ids(library: Library) -> set[str]:
    with library.session() as session:
        return {d.id for d in store.list_documents(session)}


# --------------------------------------------------------------------------- first and second run


def test_first_run_adds_every_document(library: Library, docs_dir: Path) -> None:
    report = ingest_paths(library, [docs_dir])
    assert report.summary() == {"added": 4}
    assert not report.partial
    assert report.indexed
    assert {r.doc_id for r in report.results} == FIXTURE_IDS
    assert all(r.chunks > 0 for r in report.results)
    assert stored_ids(library) == FIXTURE_IDS
    manifest = library.manifest()
    assert manifest is not None
    assert manifest.documents == 4
    assert manifest.chunks == sum(r.chunks for r in report.results)


def test_second_run_is_unchanged_and_never_calls_the_embedder(
    ingested: Library, docs_dir: Path
) -> None:
    generation = ingested.manifest().generation
    counting = CountingEmbedder()
    ingested.embedder = counting
    report = ingest_paths(ingested, [docs_dir])
    assert report.summary() == {"unchanged": 4}
    assert {r.doc_id for r in report.results} == FIXTURE_IDS
    assert counting.calls == 0
    assert not report.indexed  # nothing changed: the index is not rebuilt either
    assert ingested.manifest().generation == generation


def test_a_single_file_path_is_ingested_and_then_unchanged(
    library: Library, docs_dir: Path
) -> None:
    path = docs_dir / "lesson-data.md"
    assert ingest_paths(library, [path]).summary() == {"added": 1}
    assert ingest_paths(library, [path]).summary() == {"unchanged": 1}
    assert stored_ids(library) == {"LES-T-001"}


# --------------------------------------------------------------------------- updates


def test_editing_a_file_updates_it_and_replaces_its_chunks(
    ingested: Library, docs_dir: Path
) -> None:
    service = SearchService(ingested)
    before = service.search("库存周转天数下降到 48 天", mode="lexical", viewer=LOCAL)
    assert before.hits[0].doc_id == "CASE-T-001"
    old_chunks = doc_chunks(ingested, "CASE-T-001")
    assert any("48 天" in text for text in old_chunks.values())

    path = docs_dir / "case-auto.md"
    text = path.read_text(encoding="utf-8")
    old_result = "库存周转天数下降到 48 天，采购成本降低 6.5%，供应商准时交付率提升到 95%。"
    new_result = "引入数字孪生排产平台后，订单交付周期缩短三成，呆滞物料全部清理完毕。"
    assert old_result in text
    path.write_text(text.replace(old_result, new_result), encoding="utf-8")

    counting = CountingEmbedder()
    ingested.embedder = counting
    report = ingest_paths(ingested, [docs_dir])
    assert report.summary() == {"updated": 1, "unchanged": 3}
    updated = next(r for r in report.results if r.status == "updated")
    assert updated.doc_id == "CASE-T-001"
    # only the edited document is embedded again
    assert counting.passages == updated.chunks
    assert report.indexed

    new_chunks = doc_chunks(ingested, "CASE-T-001")
    assert len(new_chunks) == updated.chunks
    assert new_chunks != old_chunks
    assert not any("48 天" in t for t in new_chunks.values())
    assert any("数字孪生排产" in t for t in new_chunks.values())
    # the old rows are gone (new ids), and no orphan chunk is left behind
    assert set(new_chunks).isdisjoint(old_chunks)
    with ingested.session() as session:
        assert store.get_chunks(session, ids=list(old_chunks)) == {}
        assert store.count_chunks(session) == ingested.manifest().chunks

    # the same service follows the new index generation
    hits = service.search("数字孪生排产", mode="lexical", viewer=LOCAL).hits
    assert hits[0].doc_id == "CASE-T-001"
    assert "数字孪生排产" in hits[0].text
    after = service.search("库存周转天数下降到 48 天", k=20, viewer=LOCAL).hits
    assert all("48 天" not in hit.text for hit in after)


def test_changing_only_the_sidecar_updates_the_metadata(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "sidecar"
    folder.mkdir()
    target = folder / "能源项目.docx"
    target.write_bytes(make_docx("一、项目背景", "客户是一家省级电网企业，线损率偏高。"))
    sidecar = folder / "能源项目.docx.meta.yaml"
    sidecar.write_text("id: CASE-SIDE-9\nindustry: 能源\n", encoding="utf-8")
    assert ingest_paths(library, [folder]).summary() == {"added": 1}

    sidecar.write_text("id: CASE-SIDE-9\nindustry: 公用事业\n", encoding="utf-8")
    report = ingest_paths(library, [folder])
    assert report.summary() == {"updated": 1}
    with library.session() as session:
        assert store.get_document(session, doc_id="CASE-SIDE-9").industry == "公用事业"


# --------------------------------------------------------------------------- prune


def test_prune_removes_the_document_of_a_deleted_file(ingested: Library, docs_dir: Path) -> None:
    (docs_dir / "lesson-data.md").unlink()

    report = ingest_paths(ingested, [docs_dir])
    assert report.summary() == {"unchanged": 3}
    assert "LES-T-001" in stored_ids(ingested)  # without --prune nothing is deleted

    report = ingest_paths(ingested, [docs_dir], prune=True)
    assert report.summary() == {"unchanged": 3, "pruned": 1}
    pruned = next(r for r in report.results if r.status == "pruned")
    assert pruned.doc_id == "LES-T-001"
    assert stored_ids(ingested) == FIXTURE_IDS - {"LES-T-001"}
    assert doc_chunks(ingested, "LES-T-001") == {}
    assert ingested.manifest().documents == 3
    hits = SearchService(ingested).search("数据口径不一致", k=20, viewer=LOCAL).hits
    assert hits and all(hit.doc_id != "LES-T-001" for hit in hits)


def test_prune_keeps_documents_outside_the_given_folders(
    library: Library, docs_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("第一章 背景\n华北某钢铁企业节能改造。\n", encoding="utf-8")
    ingest_paths(library, [docs_dir, other])
    (other / "note.txt").unlink()
    report = ingest_paths(library, [docs_dir], prune=True)
    assert report.count("pruned") == 0  # `other` was not part of this run
    assert "note" in stored_ids(library)


# --------------------------------------------------------------------------- duplicates


def test_identical_content_under_two_paths_is_a_duplicate(library: Library, tmp_path: Path) -> None:
    root = tmp_path / "dups"
    (root / "2023").mkdir(parents=True)
    (root / "archive").mkdir()
    content = "第一章 项目背景\n华北某钢铁企业能耗偏高，吨钢综合能耗高于行业均值。\n"
    (root / "2023" / "steel.txt").write_text(content, encoding="utf-8")
    (root / "archive" / "steel-copy.txt").write_text(content, encoding="utf-8")

    report = ingest_paths(library, [root])
    results = by_name(report)
    assert report.summary() == {"added": 1, "duplicate": 1}
    assert not report.partial
    assert results["steel.txt"][0] == "added"  # 2023/ is walked before archive/
    status, message = results["steel-copy.txt"]
    assert status == "duplicate"
    assert str(root / "2023" / "steel.txt") in message
    assert stored_ids(library) == {"steel"}

    # the next run still reports it, and a third copy added later too
    (root / "third.txt").write_text(content, encoding="utf-8")
    report = ingest_paths(library, [root])
    assert report.summary() == {"unchanged": 1, "duplicate": 2}
    assert len(stored_ids(library)) == 1


def test_identical_copy_of_a_file_with_front_matter_id_is_a_duplicate(
    library: Library, docs_dir: Path
) -> None:
    (docs_dir / "copies").mkdir()
    shutil.copy(docs_dir / "case-auto.md", docs_dir / "copies" / "case-auto (1).md")
    report = ingest_paths(library, [docs_dir])
    assert by_name(report)["case-auto (1).md"][0] == "duplicate"
    assert not report.partial


# --------------------------------------------------------------------------- mixed batch


@pytest.fixture
def mixed_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "银行风控.txt").write_bytes(GBK_TEXT.encode("gbk"))
    (folder / "排产优化.docx").write_bytes(
        make_docx("一、项目背景", "客户是一家装备制造企业，插单频繁导致交付延误。")
    )
    shutil.copy(DATA / "sample.pdf", folder / "复盘规范.pdf")
    (folder / "物流园区.html").write_text(HTML_PAGE, encoding="utf-8")
    (folder / "损坏.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog \x00\x01 truncated")
    return folder


def test_mixed_batch_isolates_the_corrupt_file(library: Library, mixed_dir: Path) -> None:
    report = ingest_paths(library, [mixed_dir])
    results = by_name(report)
    assert report.summary() == {"added": 4, "failed": 1}
    assert report.partial
    status, message = results["损坏.pdf"]
    assert status == "failed"
    assert "损坏.pdf" in message
    for name in ("银行风控.txt", "排产优化.docx", "复盘规范.pdf", "物流园区.html"):
        assert results[name][0] == "added", (name, results[name])

    with library.session() as session:
        documents = {d.format: d for d in store.list_documents(session)}
    assert set(documents) == {"text", "docx", "pdf", "html"}
    assert "不良贷款率" in documents["text"].text  # GBK decoded
    assert "建议推广" in documents["docx"].text  # table kept
    assert "项目复盘" in documents["pdf"].text
    assert documents["pdf"].title == "项目复盘 SOP（节选）"
    assert documents["html"].title == "西南某物流园区规划项目"
    assert "统计脚本" not in documents["html"].text
    assert library.manifest().documents == 4

    service = SearchService(library)
    assert (
        service.search("不良贷款率", mode="lexical", viewer=LOCAL).hits[0].doc_id
        == documents["text"].id
    )
    assert (
        service.search("冷链能力", mode="lexical", viewer=LOCAL).hits[0].doc_id
        == documents["html"].id
    )

    # the failed file is tried again next time; the good ones are unchanged
    again = ingest_paths(library, [mixed_dir])
    assert again.summary() == {"unchanged": 4, "failed": 1}


def test_a_damaged_pdf_does_not_abort_the_whole_run(library: Library, mixed_dir: Path) -> None:
    data = (DATA / "sample.pdf").read_bytes()
    damaged = data.replace(
        b"/Filter /FlateDecode\n/Length 301", b"/Filter /FlateDecodX\n/Length 301"
    )
    (mixed_dir / "未知压缩.pdf").write_bytes(damaged)
    report = ingest_paths(library, [mixed_dir])
    assert by_name(report)["未知压缩.pdf"][0] == "failed"
    assert report.count("added") == 4


def test_scanned_pdf_is_skipped_with_a_warning(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    shutil.copy(DATA / "scanned.pdf", folder / "扫描件.pdf")
    report = ingest_paths(library, [folder])
    status, message = by_name(report)["扫描件.pdf"]
    assert status == "skipped"
    assert "OCR" in message and "扫描件.pdf" in message
    assert not report.partial  # a skip is not a failure
    assert stored_ids(library) == set()


def test_unsupported_files_in_a_folder_are_skipped(library: Library, docs_dir: Path) -> None:
    (docs_dir / "报价单.xlsx").write_bytes(b"PK\x03\x04 not really")
    (docs_dir / ".hidden.md").write_text("# 隐藏\n\n不应导入。\n", encoding="utf-8")
    report = ingest_paths(library, [docs_dir])
    assert report.summary() == {"added": 4, "skipped": 1}
    status, message = by_name(report)["报价单.xlsx"]
    assert status == "skipped" and ".xlsx" in message
    assert ".hidden.md" not in by_name(report)


def test_a_missing_path_is_reported_as_failed(library: Library, tmp_path: Path) -> None:
    report = ingest_paths(library, [tmp_path / "不存在"])
    assert [r.status for r in report.results] == ["failed"]
    assert "不存在" in report.results[0].message
    assert report.partial


# --------------------------------------------------------------------------- size limit


def test_a_file_over_the_size_limit_fails_with_a_clear_message(
    settings: Settings, library: Library, docs_dir: Path
) -> None:
    settings.max_file_mb = 0.001  # about 1 KB; every fixture is smaller
    big = docs_dir / "big.txt"
    big.write_text("第一章 背景\n" + "客户希望降低库存并提高交付准时率。" * 100, encoding="utf-8")
    assert big.stat().st_size > 0.001 * 1024 * 1024

    report = ingest_paths(library, [docs_dir])
    status, message = by_name(report)["big.txt"]
    assert status == "failed"
    assert "big.txt" in message
    assert "KB_MAX_FILE_MB" in message
    assert "0.001" in message
    assert report.count("added") == 4
    assert "big" not in stored_ids(library)


@pytest.mark.parametrize(("limit_mb", "size_bytes"), [(0.001, 3000), (1.0, 1_300_000)])
def test_size_limit_message_shows_a_size_above_the_limit(
    settings: Settings, library: Library, tmp_path: Path, limit_mb: float, size_bytes: int
) -> None:
    settings.max_file_mb = limit_mb
    folder = tmp_path / "big"
    folder.mkdir()
    (folder / "big.txt").write_bytes("项目复盘。".encode() * (size_bytes // 15 + 1))
    report = ingest_paths(library, [folder])
    status, message = by_name(report)["big.txt"]
    assert status == "failed"
    match = re.search(r"文件大小 ([\d.]+) MB 超过上限 ([\d.]+) MB", message)
    assert match, message
    assert float(match.group(1)) > float(match.group(2)), message


# --------------------------------------------------------------------------- sidecar, manifest


def test_sidecar_metadata_gives_id_and_industry(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "word"
    folder.mkdir()
    (folder / "电网线损治理.docx").write_bytes(
        make_docx("一、项目背景", "客户是一家省级电网企业，综合线损率高于考核目标。")
    )
    (folder / "电网线损治理.docx.meta.yaml").write_text(
        "id: CASE-GRID-007\ntype: case\nindustry: 能源\ndate: 2022-06-30\ntags: [线损, 数字化]\n",
        encoding="utf-8",
    )
    report = ingest_paths(library, [folder])
    assert report.summary() == {"added": 1}  # the sidecar itself is not a document
    assert report.results[0].doc_id == "CASE-GRID-007"
    with library.session() as session:
        document = store.get_document(session, doc_id="CASE-GRID-007")
    assert document.industry == "能源"
    assert document.date == "2022-06-30"
    assert document.tags == ["线损", "数字化"]
    assert document.format == "docx"
    hits = SearchService(library).search("线损", filters=["industry=能源"], viewer=LOCAL).hits
    assert hits and {h.doc_id for h in hits} == {"CASE-GRID-007"}


def test_invalid_sidecar_fails_the_file_and_names_the_sidecar(
    library: Library, tmp_path: Path
) -> None:
    folder = tmp_path / "word"
    folder.mkdir()
    (folder / "a.docx").write_bytes(make_docx("标题", "正文内容。"))
    (folder / "a.docx.meta.yaml").write_text("id: [未闭合\n", encoding="utf-8")
    report = ingest_paths(library, [folder])
    status, message = by_name(report)["a.docx"]
    assert status == "failed"
    assert "a.docx.meta.yaml" in message and "YAML" in message


def test_manifest_exists_after_ingest(library: Library, docs_dir: Path) -> None:
    assert library.manifest() is None
    report = ingest_paths(library, [docs_dir])
    manifest = library.manifest()
    assert manifest is not None
    assert (library.data_dir / "manifest.json").is_file()
    assert (library.data_dir / manifest.generation).is_dir()
    assert manifest.embedder == "hash:256"
    assert manifest.dim == 256
    assert manifest.documents == 4
    assert manifest.chunks == sum(r.chunks for r in report.results)


def test_an_empty_folder_still_writes_an_empty_index(library: Library, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    report = ingest_paths(library, [empty])
    assert report.results == []
    manifest = library.manifest()
    assert manifest is not None and manifest.documents == 0 and manifest.chunks == 0
