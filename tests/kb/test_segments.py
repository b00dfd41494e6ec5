"""Live updates: writes become delta segments searched with the base, tombstones hide what left,
compaction merges them, other processes load only the new deltas."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import ingest_paths
from kb import catalog, doctor, segments
from kb.access import LOCAL, principal_for
from kb.config import Settings
from kb.lexical import Postings
from kb.library import Library
from kb.search import SearchService
from tests.conftest import BOTH_DATABASES, DATA, write_case

LIVE = {"compact_share": 100.0, "compact_deltas": 100}  # keep deltas until a test merges


def live_library(tmp_path: Path, database_url: str | None = None, **options) -> Library:
    settings = Settings(
        data_dir=tmp_path / "index",
        embedder="hash",
        database_url=database_url,
        **{**LIVE, **options},
    )
    return Library(settings)


@pytest.fixture
def based(tmp_path, docs_dir, database_url) -> Library:
    """The fixture library as a base, with thresholds that leave deltas alone."""
    library = live_library(tmp_path, database_url)
    assert not ingest_paths(library, [docs_dir]).partial
    assert library.manifest().deltas == []
    return library


def doc_ids(result) -> list[str]:
    return [hit.doc_id for hit in result.hits]


@BOTH_DATABASES
def test_a_new_file_is_a_delta_that_another_process_loads_alone(based, tmp_path):
    reader = SearchService(Library(based.settings))  # e.g. another server worker
    assert reader.search("冷链仓储温控", mode="lexical", viewer=LOCAL).hits == []
    writer = Library(based.settings)
    generation = writer.manifest().generation
    write_case(tmp_path / "new", "CASE-N-001", "冷链仓储温控改造", "冷链仓储温控与能耗的改造方案。")
    report = ingest_paths(writer, [tmp_path / "new"])
    manifest = writer.manifest()
    assert report.indexed and report.index_seconds > 0
    assert manifest.generation == generation and len(manifest.deltas) == 1
    assert manifest.documents == 5
    found = reader.search("冷链仓储温控", mode="lexical", viewer=LOCAL)
    assert doc_ids(found) == ["CASE-N-001"]
    assert reader.loads == {"full": 1, "deltas": 1, "merged": 0}
    assert found.hits[0].metadata["title"] == "冷链仓储温控改造"


@BOTH_DATABASES
def test_delete_and_replace_leave_no_trace_in_hits_totals_or_facets(based, docs_dir):
    service = SearchService(based)
    before = service.library_facets(viewer=LOCAL)
    assert before["industry"]["制造业"] >= 1
    catalog.delete_document(based, "CASE-T-001")
    assert len(based.manifest().deltas) == 1
    gone = service.search("供应商交付准时率", mode="lexical", viewer=LOCAL)
    assert "CASE-T-001" not in doc_ids(gone)
    assert service.library_facets(viewer=LOCAL).get("industry", {}).get("制造业", 0) == (
        before["industry"]["制造业"] - 1
    )
    path = docs_dir / "case-retail.md"
    old_text = path.read_text(encoding="utf-8")
    path.write_text(old_text.replace("## ", "## 无人零售试点\n\n## ", 1), encoding="utf-8")
    ingest_paths(based, [docs_dir])
    assert len(based.manifest().deltas) == 2
    result = service.search("无人零售试点", mode="lexical", by_doc=True, viewer=LOCAL)
    assert doc_ids(result).count("CASE-T-002") == 1
    every = service.search("零售", k=100, mode="lexical", viewer=LOCAL)
    chunk_ids = [hit.chunk_id for hit in every.hits]
    assert len(chunk_ids) == len(set(chunk_ids)) == every.total
    assert doctor.check(based)[-1].level == "ok"


def test_half_base_half_deltas_scores_like_one_index(tmp_path):
    files = sorted((DATA / "library").glob("*.md"))
    once = live_library(tmp_path / "once")
    ingest_paths(once, files)
    parts = live_library(tmp_path / "parts")
    ingest_paths(parts, files[:2])
    for path in files[2:]:
        ingest_paths(parts, [path])
    assert len(parts.manifest().deltas) == 2
    for query in ("供应链降本", "项目启动会议", "数据治理", "门店客流"):
        scores = []
        for library in (once, parts):
            result = SearchService(library).search(query, k=50, mode="lexical", viewer=LOCAL)
            scores.append({(h.doc_id, h.heading, h.text): h.score for h in result.hits})
        assert scores[0].keys() == scores[1].keys() and scores[0]
        for key, score in scores[0].items():
            assert scores[1][key] == pytest.approx(score, rel=1e-5)


@BOTH_DATABASES
def test_facet_counts_equal_filtered_totals_over_base_and_deltas(based, tmp_path):
    for n, industry in enumerate(["零售", "制造业", "零售"]):
        write_case(
            tmp_path / f"d{n}",
            f"CASE-D-00{n}",
            f"门店与工厂项目 {n}",
            "门店客流与工厂排产的改进项目，涉及供应链与库存。",
            industry=industry,
        )
        ingest_paths(based, [tmp_path / f"d{n}"])
    catalog.delete_document(based, "CASE-D-001")
    service = SearchService(based)
    for query in ("项目", "供应链 库存", "门店"):
        for by_doc in (True, False):
            result = service.search(query, k=5, by_doc=by_doc, viewer=LOCAL)
            for field, counts in result.facets.items():
                for value, count in counts.items():
                    filtered = service.search(
                        query, k=5, by_doc=by_doc, filters=[f"{field}={value}"], viewer=LOCAL
                    )
                    assert filtered.total == count, (query, by_doc, field, value)


@BOTH_DATABASES
def test_a_confidential_delta_stays_invisible_without_a_grant(based, tmp_path):
    write_case(
        tmp_path / "secret",
        "CASE-S-001",
        "并购尽调保密项目",
        "并购尽调中的估值模型与交易结构。",
        industry="投资银行",
        confidentiality="confidential",
    )
    service = SearchService(based)
    service.search("项目", viewer=LOCAL)
    ingest_paths(based, [tmp_path / "secret"])
    reader = principal_for("r", "reader")
    granted = principal_for("g", "reader", ["industry=投资银行"])
    for mode in ("hybrid", "lexical", "dense"):
        hidden = service.search("并购尽调估值模型", mode=mode, viewer=reader)
        assert "CASE-S-001" not in doc_ids(hidden)
        assert "投资银行" not in hidden.facets.get("industry", {})
        seen = service.search("并购尽调估值模型", mode=mode, viewer=granted)
        assert doc_ids(seen)[0] == "CASE-S-001"
    assert service.search("并购尽调", mode="lexical", viewer=reader).total == 0
    assert "投资银行" not in service.library_facets(viewer=reader).get("industry", {})
    assert service.library_facets(viewer=granted)["industry"]["投资银行"] == 1
    assert service.loads["deltas"] == 1


def test_compaction_merges_deltas_and_readers_follow(based, tmp_path):
    for n in range(3):
        body = "组织变革与绩效考核。" + "年度复盘。" * n  # no two passages score alike
        write_case(tmp_path / f"c{n}", f"CASE-C-00{n}", f"组织变革项目 {n}", body)
        ingest_paths(based, [tmp_path / f"c{n}"])
    catalog.delete_document(based, "CASE-C-001")
    service = SearchService(based)
    before = service.search("组织变革 绩效", k=20, viewer=LOCAL)
    generation = based.manifest().generation
    manifest = based.compact()
    assert manifest.deltas == [] and manifest.generation != generation
    assert manifest.delta_chunks == 0 and manifest.documents == 6
    after = service.search("组织变革 绩效", k=20, viewer=LOCAL)
    assert [h.chunk_id for h in after.hits] == [h.chunk_id for h in before.hits]
    # deleted passages counted in the BM25 statistics until the merge (as in Lucene): close scores
    assert [h.score for h in after.hits] == pytest.approx([h.score for h in before.hits], rel=0.05)
    assert service.loads == {"full": 1, "deltas": 0, "merged": 1}  # no documents re-read
    assert {f.level for f in doctor.check(based)} == {"ok"}


def test_deltas_written_during_a_merge_are_carried_over(based, tmp_path, monkeypatch):
    write_case(tmp_path / "a", "CASE-A-001", "渠道下沉项目", "县域渠道下沉与经销商管理。")
    ingest_paths(based, [tmp_path / "a"])
    follower = SearchService(Library(based.settings))
    assert doc_ids(follower.search("渠道下沉", mode="lexical", viewer=LOCAL)) == ["CASE-A-001"]
    other = Library(based.settings)
    original = segments.merged_base

    def merge_while_another_process_writes(index, graph_from):
        merged = original(index, graph_from)
        write_case(tmp_path / "b", "CASE-B-001", "海外建厂项目", "东南亚海外建厂选址。")
        ingest_paths(other, [tmp_path / "b"])
        return merged

    monkeypatch.setattr("kb.engine.merged_base", merge_while_another_process_writes)
    manifest = based.compact()
    assert len(manifest.deltas) == 1
    for service in (SearchService(based), follower):
        for query, doc_id in (("渠道下沉", "CASE-A-001"), ("海外建厂", "CASE-B-001")):
            assert doc_ids(service.search(query, mode="lexical", viewer=LOCAL)) == [doc_id]
    assert follower.loads == {"full": 1, "deltas": 0, "merged": 1}


def test_a_merge_gives_way_to_a_rebuild_made_meanwhile(based, tmp_path, monkeypatch):
    write_case(tmp_path / "a", "CASE-A-001", "渠道下沉项目", "县域渠道下沉与经销商管理。")
    ingest_paths(based, [tmp_path / "a"])
    original = segments.merged_base

    def merge_while_rebuilt(index, graph_from):
        merged = original(index, graph_from)
        Library(based.settings).build_indexes()
        return merged

    monkeypatch.setattr("kb.engine.merged_base", merge_while_rebuilt)
    assert based.compact() is None
    assert based.manifest().deltas == []
    assert not list(based.data_dir.glob(".build-*"))


def test_background_compaction_after_the_threshold(tmp_path, docs_dir):
    library = live_library(tmp_path, compact_deltas=2)
    ingest_paths(library, [docs_dir])
    library.compact_in_background = True
    for n in range(2):
        write_case(tmp_path / f"c{n}", f"CASE-C-00{n}", f"品牌定位项目 {n}", "品牌定位与价格带。")
        ingest_paths(library, [tmp_path / f"c{n}"])
    assert library.wait_for_compaction(timeout=120)
    assert library.manifest().deltas == []
    result = SearchService(library).search("品牌定位", mode="lexical", by_doc=True, viewer=LOCAL)
    assert sorted(doc_ids(result)) == ["CASE-C-000", "CASE-C-001"]


def test_doctor_checks_segments_and_repairs_them(based, tmp_path):
    write_case(tmp_path / "a", "CASE-A-001", "渠道下沉项目", "县域渠道下沉与经销商管理。")
    ingest_paths(based, [tmp_path / "a"])
    manifest = based.manifest()
    folder = based.data_dir / manifest.generation
    shutil.copytree(folder / manifest.deltas[0], folder / "delta-999999-1-abcdef")
    np.save(folder / manifest.deltas[0] / "tombstones.npy", np.asarray([10**9], dtype=np.int64))
    found = {f.check: f.level for f in doctor.check(based)}
    assert found["segments"] == "warning" and found["tombstones"] == "warning"
    actions = doctor.repair(based)
    assert any("delta-999999-1-abcdef" in a for a in actions)
    assert {f.level for f in doctor.check(based)} == {"ok"}


def test_merged_postings_equal_postings_built_from_the_kept_rows():
    rng = np.random.default_rng(3)
    words = [f"词{i}" for i in range(40)]
    rows = [list(rng.choice(words, size=rng.integers(1, 12))) for _ in range(30)]
    ids = list(range(1, 31))
    parts = [Postings.build(ids[:18], rows[:18]), Postings.build(ids[18:], rows[18:])]
    keeps = [rng.random(18) < 0.7, rng.random(12) < 0.7]
    merged = Postings.merge(parts, keeps)
    kept = np.concatenate(keeps)
    expected = Postings.build(
        [i for i, k in zip(ids, kept, strict=True) if k],
        [r for r, k in zip(rows, kept, strict=True) if k],
    )
    assert merged.ids.tolist() == expected.ids.tolist()
    assert set(merged.vocab) == set(expected.vocab)
    for term in expected.vocab:
        got, want = merged.postings(term), expected.postings(term)
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert merged.lengths.tolist() == expected.lengths.tolist()


def test_a_graph_base_and_exact_deltas_are_searched_together(tmp_path, docs_dir):
    library = live_library(tmp_path, ann_threshold=5)
    ingest_paths(library, [docs_dir])
    service = SearchService(library)
    assert service.snapshot().vectors.approximate
    text = "冷链仓储温控与能耗的改造方案。"
    write_case(tmp_path / "new", "CASE-N-001", "冷链仓储温控改造", text)
    ingest_paths(library, [tmp_path / "new"])
    dense = service.search("冷链仓储温控改造\n背景\n" + text, mode="dense", viewer=LOCAL)
    assert doc_ids(dense)[0] == "CASE-N-001"
    catalog.delete_document(library, "CASE-T-001")
    assert "CASE-T-001" not in doc_ids(service.search("供应链降本", k=50, viewer=LOCAL))


def test_the_write_lock_is_reentrant_in_a_thread_and_exclusive_across_holders(library):
    other = Library(library.settings)
    with library.write_lock(), library.write_lock() as again:
        assert again
        with other.write_lock(wait=False) as taken:
            assert not taken
    with other.write_lock(wait=False) as taken:
        assert taken
