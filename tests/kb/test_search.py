"""Hybrid search over a real SQLite file and real FAISS/BM25 files (hash embedder)."""

import json

import pytest

from ingest.pipeline import ingest_paths
from kb.access import LOCAL
from kb.errors import IndexMismatchError, IndexMissingError, InvalidQueryError, NotFoundError
from kb.indexfiles import FORMAT_VERSION, MANIFEST
from kb.library import Library
from kb.search import SearchService
from kb.similar import similar_documents
from tests.conftest import SEED

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus


@pytest.mark.parametrize("mode", ["hybrid", "lexical", "dense"])
def test_every_mode_finds_the_supply_chain_case(service, mode):
    result = service.search("供应链库存周转", k=3, mode=mode, viewer=LOCAL)
    assert result.hits[0].doc_id == "CASE-T-001"
    assert result.mode == mode and result.took_ms >= 0


def test_hit_carries_original_text_and_marked_snippet(service):
    hit = service.search("门店人效排班", k=1, viewer=LOCAL).hits[0]
    assert hit.doc_id == "CASE-T-002"
    assert "門店" in hit.text and "门店" not in hit.text
    assert "<mark>門店人效</mark>" in hit.snippet and "<mark>排班</mark>" in hit.snippet
    assert hit.metadata["industry"] == "零售" and hit.metadata["tags"] == ["门店运营", "客户体验"]
    assert hit.source.endswith("case-retail.md") and hit.type == "case"


def test_filters_apply_before_cutting_to_k(service):
    unfiltered = service.search("项目", k=1, viewer=LOCAL)
    assert unfiltered.hits[0].metadata.get("industry") != "金融"
    result = service.search("项目", k=1, filters=["industry=金融"], viewer=LOCAL)
    assert [h.doc_id for h in result.hits] == ["LES-T-001"]
    dated = service.search("项目", k=10, filters=["date>=2022-01-01"], viewer=LOCAL)
    assert {h.doc_id for h in dated.hits} == {"CASE-T-001", "SOP-T-001"}
    assert (
        service.search("项目", k=10, filters=["type=sop"], viewer=LOCAL).hits[0].doc_id
        == "SOP-T-001"
    )


def test_facets_count_matching_documents(service):
    result = service.search("库存", k=10, mode="lexical", by_doc=True, viewer=LOCAL)
    assert result.facets["type"] == {"case": 2} and result.total == 2
    assert result.facets["industry"] == {"制造业": 1, "零售": 1}
    everything = service.search(
        "项目 门店 数据 库存", k=1, mode="lexical", by_doc=True, viewer=LOCAL
    )
    assert len(everything.hits) == 1
    assert sum(everything.facets["type"].values()) == everything.total == 4


def test_facets_count_passages_when_results_are_passages(service):
    result = service.search("库存", k=1, mode="lexical", viewer=LOCAL)
    assert sum(result.facets["type"].values()) == result.total > 2
    for industry, count in result.facets["industry"].items():
        filtered = service.search(
            "库存", k=1, mode="lexical", filters=[f"industry={industry}"], viewer=LOCAL
        )
        assert filtered.total == count


def test_grouping_by_document(service):
    result = service.search("供应商 库存 采购 成本", k=5, by_doc=True, viewer=LOCAL)
    ids = [h.doc_id for h in result.hits]
    assert len(ids) == len(set(ids))
    assert result.hits[0].doc_id == "CASE-T-001"
    assert 1 < len(result.hits[0].passages) <= 3
    assert all("<mark>" in p["snippet"] for p in result.hits[0].passages[:1])


def test_offset_pages_through_results(service):
    first = service.search("项目", k=2, viewer=LOCAL)
    second = service.search("项目", k=2, offset=2, viewer=LOCAL)
    assert first.total == second.total
    assert not {h.chunk_id for h in first.hits} & {h.chunk_id for h in second.hits}


def test_similar_cases_explain_the_reason(service):
    results = similar_documents(service, "CASE-T-001", k=3, viewer=LOCAL)
    assert results and all(r.doc_id != "CASE-T-001" for r in results)
    retail = next(r for r in results if r.doc_id == "CASE-T-002")
    assert retail.shared_labels["service_type"] == "运营优化"
    assert retail.shared_labels["type"] == "case"
    pair = retail.passage_pairs[0]
    assert pair["source"]["chunk_id"] != pair["target"]["chunk_id"]
    assert -1.0 <= pair["similarity"] <= 1.0
    with pytest.raises(NotFoundError):
        similar_documents(service, "NOPE", k=3, viewer=LOCAL)


@pytest.mark.parametrize(
    ("query", "k", "mode", "message"),
    [
        ("", 10, "hybrid", "查询为空"),
        ("好" * 10_000, 10, "hybrid", "超过上限"),
        ("项目", 0, "hybrid", "k 必须"),
        ("项目", 10, "fuzzy", "未知的检索模式"),
    ],
)
def test_bad_queries_are_refused_clearly(service, query, k, mode, message):
    with pytest.raises(InvalidQueryError, match=message):
        service.search(query, k=k, mode=mode, viewer=LOCAL)


def test_index_of_another_embedder_is_refused_with_rebuild_hint(ingested, settings):
    other = Library(settings.model_copy(update={"embedder": "hash:64"}))
    with pytest.raises(IndexMismatchError, match="kb rebuild"):
        SearchService(other).search("项目", viewer=LOCAL)
    manifest = other.rebuild()
    assert manifest.embedder == "hash:64" and manifest.dim == 64
    assert SearchService(other).search("供应链", viewer=LOCAL).hits[0].doc_id == "CASE-T-001"


@pytest.mark.backends("sqlite")  # the index files of the local engine
def test_manifest_names_files_and_counts(ingested):
    manifest = json.loads((ingested.data_dir / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION and manifest["embedder"] == "hash:256"
    assert manifest["documents"] == 4 and manifest["chunks"] > 4
    folder = ingested.data_dir / manifest["generation"]
    assert (folder / "vectors" / "matrix.npy").is_file() and (
        folder / "vectors" / "ids.npy"
    ).is_file()
    assert not (folder / "vectors" / "hnsw.faiss").exists()  # small libraries: exact search
    assert (folder / "bm25" / "chunk_ids.npy").is_file()


def test_empty_library_says_to_ingest(library):
    with pytest.raises(IndexMissingError, match="kb ingest"):
        SearchService(library).search("项目", viewer=LOCAL)


def test_service_follows_a_new_index_built_elsewhere(service, ingested, docs_dir):
    assert service.search("数字孪生工厂", k=1, mode="lexical", viewer=LOCAL).hits == []
    (docs_dir / "new.md").write_text(
        "---\nid: CASE-T-009\ntitle: 数字孪生工厂建设\n---\n\n数字孪生工厂的建设路径与投资回报。\n",
        encoding="utf-8",
    )
    other = Library(ingested.settings)
    ingest_paths(other, [docs_dir])
    assert (
        service.search("数字孪生工厂", k=1, mode="lexical", viewer=LOCAL).hits[0].doc_id
        == "CASE-T-009"
    )


def test_reload_applies_a_new_synonym(ingested):
    service = SearchService(ingested)
    assert service.search("甲方", k=5, mode="lexical", viewer=LOCAL).hits == []
    (ingested.data_dir / "synonyms.txt").write_text("客户,甲方\n", encoding="utf-8")
    ingested.text.load_resources(ingested.data_dir)
    ingested.retokenize_all()
    ingested.build_indexes()
    hits = SearchService(ingested).search("甲方", k=5, mode="lexical", viewer=LOCAL).hits
    assert hits and "<mark>" in hits[0].snippet


def test_seed_section_is_found_with_a_simplified_query(library):
    report = ingest_paths(library, [SEED])
    assert report.count("added") == 1
    hit = SearchService(library).search("成果包包括哪些内容", k=3, viewer=LOCAL).hits[0]
    assert hit.heading.endswith("4.1 服務成果的整理與歸檔")
    assert "(wù)" not in hit.text and "歸檔" in hit.text
    assert "<mark>成果包</mark>" in hit.snippet


@pytest.mark.real_embedder
def test_e5_nonsense_finds_nothing_and_a_real_question_its_case(e5_corpus):
    nonsense = e5_corpus.search("量子纠缠火星殖民xyzzy", viewer=LOCAL)
    assert nonsense.total == 0 and nonsense.hits == [] and nonsense.facets == {}
    assert nonsense.weak_hits
    real = e5_corpus.search("供应商交付不准时，库存太高怎么办", by_doc=True, viewer=LOCAL)
    assert "CASE-2023-017" in [h.doc_id for h in real.hits[:3]]
    assert sum(real.facets["type"].values()) == real.total > 10
