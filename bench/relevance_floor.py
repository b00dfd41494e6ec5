"""Calibrates the dense relevance floor on CMRC 2018: real questions against the same questions
with their characters shuffled (and a few made-up nonsense queries).

For every real question it records the similarity of the best passage holding an answer; for
every shuffled question the similarity of the nearest passage. For a range of floors it prints
the share of answer passages kept (at or above the floor) and the share of shuffled queries that
would still get a dense-only hit, then the floor the product uses for this embedder.

    python bench/relevance_floor.py [--data PATH] [--embedder e5] [--limit N] [--data-dir DIR]

`--data-dir` keeps the temporary library (and its embeddings) for a later run. Skips cleanly
(exit 0) when the data file is absent.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import cmrc_bench  # noqa: E402
from kb import store  # noqa: E402
from kb.search import SearchService  # noqa: E402

NONSENSE = [
    "量子纠缠火星殖民xyzzy",
    "xyzzy plugh",
    "独角兽的彩虹糖浆配方",
    "宇宙飞船燃料电池回收法",
    "qwertyuiop asdfghjkl",
]


def shuffled(text: str, rng: random.Random) -> str:
    chars = list(text)
    rng.shuffle(chars)
    return "".join(chars)


def sides(service: SearchService, query: str) -> tuple[np.ndarray, np.ndarray]:
    """Per index row: the query's BM25 score and its vector similarity."""
    snap = service.snapshot()
    vector = service.library.embedder.embed_query(query)
    tokens = service.library.text.query_tokens(query)
    return snap.lexical.scores(tokens), snap.vectors.scan(vector)


def chunk_texts(service: SearchService) -> dict[int, tuple[str, str]]:
    texts: dict[int, tuple[str, str]] = {}
    with service.library.session() as session:
        batch = store.chunk_texts(session)
        while batch:
            texts.update((c.id, (c.doc_id, c.text)) for c in batch)
            batch = store.chunk_texts(session, after_id=batch[-1].id)
    return texts


def measure(service: SearchService, questions, seed: int = 7) -> dict[str, list[float]]:
    """Similarities: of each answer passage (and whether it shares a term with its question),
    and of the nearest passage sharing no term with each shuffled and nonsense query."""
    texts = chunk_texts(service)
    ids = service.snapshot().vectors.ids()
    rng = random.Random(seed)
    figures: dict[str, list[float]] = {"answer": [], "answer_lexical": [], "shuffled": []}
    for question, pid, answers in questions:
        lexical, dense = sides(service, question)
        holding = [
            row
            for row, cid in enumerate(ids)
            if texts[int(cid)][0] == pid and any(a in texts[int(cid)][1] for a in answers)
        ]
        if holding:
            figures["answer"].append(float(dense[holding].max()))
            figures["answer_lexical"].append(float(lexical[holding].max() > 0))
        lexical, dense = sides(service, shuffled(question, rng))
        figures["shuffled"].append(float(np.where(lexical > 0, -1.0, dense).max()))
    figures["nonsense"] = [
        float(np.where(lexical > 0, -1.0, dense).max())
        for lexical, dense in (sides(service, q) for q in NONSENSE)
    ]
    return figures


def report(figures: dict[str, list[float]], floor: float) -> None:
    answer, shuffled_top = np.asarray(figures["answer"]), np.asarray(figures["shuffled"])
    lexical = np.asarray(figures["answer_lexical"], dtype=bool)
    print(
        f"{len(answer)} answer passages ({lexical.mean():.3f} share a term with the question), "
        f"{len(shuffled_top)} shuffled queries"
    )
    points = [1, 5, 25, 50, 75, 95, 99]
    for name in ("answer", "shuffled", "nonsense"):
        values = np.percentile(figures[name], points)
        print(
            f"{name:>9}: " + " ".join(f"p{p}={v:.3f}" for p, v in zip(points, values, strict=True))
        )
    print(f"suggested floor (95th percentile of shuffled): {np.percentile(shuffled_top, 95):.3f}")
    low, high = np.percentile(shuffled_top, 50), max(np.percentile(answer, 50), shuffled_top.max())
    header = (
        "answers matched | answers by vector alone | shuffled with a vector-only hit | nonsense"
    )
    print(f"\n{'floor':>7} | {header}")
    for value in sorted({*np.round(np.linspace(low, high, 16), 3), round(floor, 3)}):
        mark = "  <- product" if abs(value - floor) < 1e-9 else ""
        kept = answer >= value
        print(
            f"{value:>7.3f} | {np.mean(kept | lexical):>15.3f} | {np.mean(kept):>23.3f} | "
            f"{np.mean(shuffled_top >= value):>31.3f} | "
            f"{sum(v >= value for v in figures['nonsense'])}/{len(figures['nonsense'])}{mark}"
        )


def main() -> int:
    with cmrc_bench(__doc__) as bench:
        if bench is None:
            return 0
        library, questions, _ = bench
        service = SearchService(library)
        figures = measure(service, questions)
        report(figures, library.embedder.relevance_floor)
        print(
            json.dumps(
                {"nonsense": dict(zip(NONSENSE, figures["nonsense"], strict=True))},
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
