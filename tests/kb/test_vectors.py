"""The vector index: exact scan, the HNSW graph past the threshold (recall against exact search),
row-mask filters on both paths, and save/load with a memory-mapped matrix."""

import numpy as np
import pytest

from kb.access import LOCAL
from kb.search import SearchService
from kb.vectors import VectorIndex


def clustered(n: int = 3000, dim: int = 48, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    rows = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    matrix = clustered()
    ids = np.arange(10, 10 + 3 * len(matrix), 3, dtype=np.int64)  # sparse, ascending ids
    queries = clustered(60, seed=9)
    return ids, matrix, queries


def recall(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> float:
    return len({i for i, _ in found} & {i for i, _ in expected}) / max(len(expected), 1)


def test_the_graph_finds_what_the_exact_scan_finds(data):
    ids, matrix, queries = data
    exact = VectorIndex.build(ids, matrix, graph_from=10**9)
    graph = VectorIndex.build(ids, matrix, graph_from=100)
    assert graph.approximate and not exact.approximate
    scores = [recall(graph.search(q, 10), exact.search(q, 10)) for q in queries]
    assert np.mean(scores) >= 0.95
    top = exact.search(queries[0], 10)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    best_row = int(np.argmax(matrix @ queries[0]))
    assert top[0][0] == ids[best_row]


@pytest.mark.parametrize("share", [0.5, 0.2, 0.01])
def test_filters_are_respected_on_both_paths(data, share):
    ids, matrix, queries = data
    mask = np.random.default_rng(5).random(len(ids)) < share
    allowed = set(ids[mask].tolist())
    exact = VectorIndex.build(ids, matrix, graph_from=10**9)
    graph = VectorIndex.build(ids, matrix, graph_from=100)
    scores = []
    for query in queries[:20]:
        expected = exact.search(query, 10, mask)
        found = graph.search(query, 10, mask)
        assert {i for i, _ in found} <= allowed and {i for i, _ in expected} <= allowed
        scores.append(recall(found, expected))
    assert np.mean(scores) >= 0.95
    assert graph.search(queries[0], 10, np.zeros(len(ids), dtype=bool)) == []


def test_saved_and_loaded_with_a_memory_mapped_matrix(data, tmp_path):
    ids, matrix, queries = data
    built = VectorIndex.build(ids, matrix, graph_from=100)
    built.save(tmp_path / "vectors")
    loaded = VectorIndex.load(tmp_path / "vectors")
    assert isinstance(np.load(tmp_path / "vectors" / "matrix.npy", mmap_mode="r"), np.memmap)
    assert loaded.approximate and len(loaded) == len(ids) and loaded.dim == 48
    assert loaded.search(queries[1], 5) == built.search(queries[1], 5)
    assert np.array_equal(loaded.vector(int(ids[7])), matrix[7])
    assert np.array_equal(loaded.ids(), ids)


def test_search_through_the_graph_end_to_end(settings, docs_dir):
    from ingest.pipeline import ingest_paths
    from kb.library import Library

    library = Library(settings.model_copy(update={"ann_threshold": 1}))
    ingest_paths(library, [docs_dir])
    service = SearchService(library)
    assert service.snapshot().vectors.approximate
    for mode in ("hybrid", "dense"):
        hits = service.search("门店排班 顾客排队", viewer=LOCAL, mode=mode).hits
        assert hits[0].doc_id == "CASE-T-002"
    filtered = service.search("供应链", viewer=LOCAL, mode="dense", filters=["industry=制造业"])
    assert {h.doc_id for h in filtered.hits} == {"CASE-T-001"}


def test_rows_at_least_the_floor_exactly_and_through_the_graph(data):
    ids, matrix, queries = data
    exact = VectorIndex.build(ids, matrix, graph_from=10**9)
    graph = VectorIndex.build(ids, matrix, graph_from=100)
    found, expected = 0, 0
    for query in queries[:20]:
        similarity = matrix @ query
        floor = float(np.sort(similarity)[-30])  # 30 rows reach it
        truth = np.flatnonzero(similarity >= floor)
        assert np.array_equal(exact.rows_at_least(query, floor), truth)
        approximate = graph.rows_at_least(query, floor)
        assert set(approximate.tolist()) <= set(truth.tolist())
        found, expected = found + len(approximate), expected + len(truth)
    assert found / expected >= 0.9
    assert len(exact.rows_at_least(queries[0], 1.01)) == 0
