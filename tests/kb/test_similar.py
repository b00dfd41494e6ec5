"""Similar documents: a score spread against the library, topic above type, and reasons led by
the matched passage pair (hash embedder), and the ranking on the bundled corpus (real e5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.access import LOCAL
from kb.config import Settings
from kb.library import Library
from kb.search import SearchService
from kb.similar import similar_documents

BACKENDS = ["sqlite", "milvus"]  # tests with a library run on index files and on Milvus

BODY = """# 一、项目背景

客户是一家年营收 30 亿元的企业，库存周转天数 75 天，供应商交付准时率只有 81%。

# 二、解决方案

建立需求预测与供应商协同平台，按周滚动计划，库存周转天数下降到 48 天。
"""


def _doc(folder: Path, doc_id: str, **fields: str) -> None:
    front = "\n".join(f"{k}: {v}" for k, v in {"id": doc_id, **fields}.items())
    (folder / f"{doc_id}.md").write_text(f"---\n{front}\n---\n{BODY}", encoding="utf-8")


def test_reasons_lead_with_the_passage_pair_and_never_with_type(service: SearchService) -> None:
    results = similar_documents(service, "CASE-T-001", k=3, viewer=LOCAL)
    assert results
    for r in results:
        assert 0.0 <= r.score <= 1.0 and r.percent == round(100 * r.score)
        assert -1.0 <= r.similarity <= 1.0
        pair = r.passage_pairs[0]
        source, target = pair["source"]["heading"], pair["target"]["heading"]
        assert r.reasons[0].startswith("相似段落：")
        assert source.split(" > ")[-1] in r.reasons[0] and target.split(" > ")[-1] in r.reasons[0]
        assert not any("类型" in reason and "服务类型" not in reason for reason in r.reasons)
        assert not any("案例" in reason for reason in r.reasons)
    retail = next(r for r in results if r.doc_id == "CASE-T-002")
    assert "相同服务类型：运营优化" in retail.reasons


def test_shared_industry_ranks_above_shared_type_alone(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    _doc(docs, "CASE-A", type="case", industry="制造业", service_type="运营优化", title="甲")
    _doc(docs, "SOP-B", type="sop", industry="制造业", service_type="流程优化", title="乙")
    for n in range(3):
        _doc(docs, f"CASE-C{n}", type="case", industry="金融", service_type="战略咨询", title="丙")
    library = Library(Settings(data_dir=tmp_path / "index", embedder="hash"))
    ingest_paths(library, [docs])
    results = similar_documents(SearchService(library), "CASE-A", k=4, viewer=LOCAL)
    assert results[0].doc_id == "SOP-B"
    assert "相同行业：制造业" in results[0].reasons
    assert results[0].score > max(r.score for r in results[1:])


@pytest.mark.real_embedder
def test_similar_to_the_auto_parts_supply_chain_case(e5_corpus: SearchService) -> None:
    source = e5_corpus.snapshot().meta["CASE-2023-017"]
    results = similar_documents(e5_corpus, "CASE-2023-017", k=5, viewer=LOCAL)
    assert len(results) == 5
    for r in results[:3]:
        assert r.metadata.get("industry") != "金融", [x.title for x in results]
        assert "银行" not in r.title, [x.title for x in results]
        assert {"industry", "service_type", "tags"} & set(r.shared_labels), r.doc_id
    assert source["industry"] in [r.metadata.get("industry") for r in results[:2]]
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True)
    assert max(scores) - min(scores) >= 0.1, scores
    assert all(r.reasons[0].startswith("相似段落：") for r in results)
