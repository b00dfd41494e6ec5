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

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.retrieval import DEFAULT_DATA, load_questions, write_library_files  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from kb import store  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library  # noqa: E402
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


def similarities(service: SearchService, query: str) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and the query's similarity to every chunk, in index row order."""
    snap = service.snapshot()
    vector = service.library.embedder.embed_query(query)
    return snap.vectors.ids(), snap.vectors.scan(vector)


def measure(service: SearchService, questions, seed: int = 7) -> dict[str, list[float]]:
    texts: dict[int, tuple[str, str]] = {}
    with service.library.session() as session:
        batch = store.chunk_texts(session)
        while batch:
            texts.update((c.id, (c.doc_id, c.text)) for c in batch)
            batch = store.chunk_texts(session, after_id=batch[-1].id)
    rng = random.Random(seed)
    answer, top_real, top_shuffled = [], [], []
    for question, pid, answers in questions:
        ids, scores = similarities(service, question)
        holding = [
            i
            for i, cid in enumerate(ids)
            if texts[int(cid)][0] == pid and any(a in texts[int(cid)][1] for a in answers)
        ]
        if holding:
            answer.append(float(scores[holding].max()))
        top_real.append(float(scores.max()))
        top_shuffled.append(float(similarities(service, shuffled(question, rng))[1].max()))
    nonsense = [float(similarities(service, q)[1].max()) for q in NONSENSE]
    return {
        "answer": answer,
        "top_real": top_real,
        "top_shuffled": top_shuffled,
        "nonsense": nonsense,
    }


def report(figures: dict[str, list[float]], floor: float) -> None:
    answer = np.asarray(figures["answer"])
    shuffled_top = np.asarray(figures["top_shuffled"])
    print(f"{len(answer)} answer passages, {len(shuffled_top)} shuffled queries")
    for name, values in figures.items():
        q = np.percentile(values, [1, 5, 25, 50, 75, 95, 99])
        print(
            f"{name:>13}: "
            + " ".join(f"p{p}={v:.3f}" for p, v in zip([1, 5, 25, 50, 75, 95, 99], q, strict=True))
        )
    print(
        f"\n{'floor':>7} | {'answers kept':>12} | {'shuffled with a dense hit':>25} | nonsense with a hit"
    )
    candidates = sorted({*np.round(np.arange(0.70, 0.92, 0.01), 2), round(floor, 3)})
    for value in candidates:
        mark = "  <- product" if abs(value - floor) < 1e-9 else ""
        print(
            f"{value:>7.3f} | {np.mean(answer >= value):>12.3f} | "
            f"{np.mean(shuffled_top >= value):>25.3f} | "
            f"{sum(v >= value for v in figures['nonsense'])}/{len(figures['nonsense'])}{mark}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--data-dir", type=Path, help="keep the library here (reused if present)")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skip: {args.data} not found (CMRC 2018 trial set); nothing measured")
        return 0
    paragraphs, questions = load_questions(args.data)
    questions = questions[: args.limit] if args.limit else questions
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "index"
        library = Library(Settings(data_dir=data_dir, embedder=args.embedder))
        if library.manifest() is None:
            source = Path(tmp) / "docs"
            source.mkdir()
            write_library_files(source, paragraphs)
            ingest_paths(library, [source])
        service = SearchService(library)
        figures = measure(service, questions)
        report(figures, library.embedder.relevance_floor)
        print(
            json.dumps(
                {k: [round(v, 4) for v in vs] for k, vs in figures.items() if k == "nonsense"}
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
