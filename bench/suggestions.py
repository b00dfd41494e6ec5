"""Suggestion bench: an upload without labels costs what one with labels costs; the classifier
trains in the background, once per change of the labelled set.

On a synthetic library (bench/synth.py, `hash` embedder, in process, as bench/scale.py does),
with a running `SuggestionWorker`, each repetition ingests three new files, timing the ingest
and the hand-over to the worker (what an upload waits for):

- `labelled`: a file with industry and service_type, the worker idle (the labelled set
  changes, so the worker starts retraining in the background: `training`, its seconds);
- `unlabelled_after_change`: right after it, a file without them, while the worker retrains
  (training competes for the CPU); `suggested_after_change`: seconds from that ingest's return
  until its suggestions exist (they wait for the training);
- `unlabelled`: a file without them once the worker is idle; `suggested`: seconds until its
  suggestions exist.

Prints a table of p50/max and one JSON line.

    python bench/suggestions.py [--docs 2000] [--reps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench import synth  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from kb import store  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library  # noqa: E402
from kb.suggest_worker import SuggestionWorker  # noqa: E402

LABEL_LINES = ("industry:", "service_type:")


def new_file(folder: Path, index: int, *, labelled: bool) -> Path:
    """Synthetic document `index` (past the library's), without its labels when asked."""
    name, text = synth.document(index)
    if not labelled:
        text = "\n".join(line for line in text.split("\n") if not line.startswith(LABEL_LINES))
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def upload(library: Library, worker: SuggestionWorker, path: Path) -> tuple[float, list[str]]:
    """Seconds to ingest one file and hand its documents to the worker; their ids."""
    started = time.perf_counter()
    report = ingest_paths(library, [path])
    worker.submit(report.stored)
    return time.perf_counter() - started, report.stored


def until_suggested(library: Library, worker: SuggestionWorker, doc_ids: list[str]) -> float:
    """Seconds until the worker is idle, checking that the documents got their suggestions."""
    started = time.perf_counter()
    worker.wait_idle()
    seconds = time.perf_counter() - started
    with library.session() as session:
        found = {s.doc_id for s in store.list_suggestions(session, status="pending")}
    if not set(doc_ids) <= found:
        raise SystemExit(f"no suggestion for {sorted(set(doc_ids) - found)}")
    return seconds


def training_seconds(worker: SuggestionWorker, since: object) -> float:
    """The worker's last training time, which must be newer than `since`."""
    status = worker.status()
    if status.last_trained_at == since or status.last_training_seconds is None:
        raise SystemExit("the labelled set changed but the worker did not retrain")
    return status.last_training_seconds


def repetition(library: Library, worker: SuggestionWorker, folder: Path, first: int) -> dict:
    out: dict[str, float] = {}
    since = worker.status().last_trained_at
    out["labelled"], _ = upload(library, worker, new_file(folder, first, labelled=True))
    seconds, ids = upload(library, worker, new_file(folder, first + 1, labelled=False))
    out["unlabelled_after_change"] = seconds
    out["suggested_after_change"] = until_suggested(library, worker, ids)
    out["training"] = training_seconds(worker, since)
    out["unlabelled"], ids = upload(library, worker, new_file(folder, first + 2, labelled=False))
    out["suggested"] = until_suggested(library, worker, ids)
    return out


def summarise(rows: list[dict]) -> dict:
    return {
        name: {
            "p50": round(statistics.median(r[name] for r in rows), 2),
            "max": round(max(r[name] for r in rows), 2),
        }
        for name in rows[0]
    }


def run(docs: int, reps: int, workdir: Path) -> dict:
    corpus, uploads = workdir / "corpus", workdir / "uploads"
    synth.write_corpus(corpus, docs)
    uploads.mkdir()
    library = Library(Settings(data_dir=workdir / "index", embedder="hash"))
    started = time.perf_counter()
    ingest_paths(library, [corpus])
    ingested = time.perf_counter() - started
    worker = SuggestionWorker(library).start()
    try:
        worker.submit()
        worker.wait_idle()
        first_training = worker.status().last_training_seconds
        rows = [repetition(library, worker, uploads, docs + 3 * i) for i in range(reps)]
    finally:
        worker.stop()
    return {
        "documents": docs,
        "reps": reps,
        "corpus_ingest_s": round(ingested, 1),
        "first_training_s": first_training,
        "seconds": summarise(rows),
    }


def table(result: dict) -> str:
    lines = [f"{'':28} {'p50 s':>8} {'max s':>8}"]
    for name, figures in result["seconds"].items():
        lines.append(f"{name:28} {figures['p50']:8.2f} {figures['max']:8.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.docs, args.reps, Path(tmp))
    print(
        f"{result['documents']} documents, corpus ingest {result['corpus_ingest_s']} s, "
        f"first training {result['first_training_s']} s"
    )
    print(table(result))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
