"""Retrieval benchmark on CMRC 2018 (trial set): each paragraph a document, each question a query.

Runs the product's own ingest and search over a temporary library and prints, for lexical, dense
and hybrid (RRF and convex fusion) in one run: answer-in-top-k at 1/5/10 (a hit is a returned
passage containing one of the answer strings), document recall@5 and MRR@10.

    python bench/retrieval.py [--data PATH] [--embedder e5] [--limit N] [--data-dir DIR]
                              [--deltas N] [--engine milvus [--milvus-uri URI]]

`--data-dir` keeps the library (and its embeddings) for the next run, which then skips ingest.
`--deltas N` also builds the same library as a base of half the paragraphs plus the other half
written as N delta segments (live updates; vectors reused, not re-embedded) and prints its
figures and the difference to the library built at once.
`--engine milvus` also indexes the same stored passages (no re-embedding) in Milvus (embedded
milvus-lite in a temporary file unless `--milvus-uri` names one) and prints its figures and the
difference to the local index files.

Skips cleanly (exit 0) when the data file is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/http.py would shadow the standard library's `http`: keep this folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from ingest.pipeline import ingest_paths  # noqa: E402
from kb import store  # noqa: E402
from kb.access import LOCAL  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library, passage_for_index  # noqa: E402
from kb.search import SearchService  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "evaldata" / "cmrc2018" / "cmrc2018_trial.json"
VARIANTS = [("lexical", "rrf"), ("dense", "rrf"), ("hybrid", "rrf"), ("hybrid", "convex")]


def load_questions(path: Path) -> tuple[dict[str, str], list[tuple[str, str, list[str]]]]:
    """(paragraph id -> context, [(question, paragraph id, answers)]) from the SQuAD layout
    (`{"data": [{"paragraphs": [...]}]}`) or the original CMRC layout (a list of contexts).
    Questions with an empty text or no answer are left out (and counted in the report)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: dict[str, str] = {}
    questions: list[tuple[str, str, list[str]]] = []
    if isinstance(data, list):
        for item in data:
            pid = item["context_id"]
            paragraphs[pid] = item["context_text"]
            for qa in item["qas"]:
                answers = [a for a in qa["answers"] if a.strip()]
                if answers and qa["query_text"].strip():
                    questions.append((qa["query_text"], pid, answers))
        return paragraphs, questions
    for article in data["data"]:
        for i, paragraph in enumerate(article["paragraphs"]):
            pid = paragraph.get("id") or f"{article.get('id', 'A')}-{i}"
            paragraphs[pid] = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"] if a["text"].strip()]
                if answers and qa["question"].strip():
                    questions.append((qa["question"], pid, answers))
    return paragraphs, questions


def write_library_files(folder: Path, paragraphs: dict[str, str]) -> None:
    for pid, context in paragraphs.items():
        body = (
            f"---\nid: {json.dumps(pid)}\ntype: case\ntitle: {json.dumps(pid)}\n---\n\n{context}\n"
        )
        (folder / f"{pid}.md").write_text(body, encoding="utf-8")


@contextmanager
def cmrc_bench(doc: str | None) -> Iterator[tuple[Library, list, argparse.Namespace] | None]:
    """The library and questions a CMRC bench's command line names (a temporary library unless
    --data-dir keeps one); None, after saying so, when the data file is absent."""
    parsed = cmrc_arguments(doc)
    if parsed is None:
        yield None
        return
    args, paragraphs, questions = parsed
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "index"
        yield cmrc_library(paragraphs, args.embedder, data_dir), questions, args


def cmrc_arguments(doc: str | None) -> tuple[argparse.Namespace, dict, list] | None:
    """The command line of a CMRC bench and the data it names; None (after saying so) when the
    data file is absent."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--embedder", default="e5")
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--data-dir", type=Path, help="keep the library here (reused if present)")
    parser.add_argument("--deltas", type=int, default=0, help="retrieval.py: compare with deltas")
    parser.add_argument(
        "--engine", choices=["local", "milvus"], default="local", help="retrieval.py: compare"
    )
    parser.add_argument("--milvus-uri", help="retrieval.py: Milvus to compare with")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"skip: {args.data} not found (CMRC 2018 trial set); nothing measured")
        return None
    paragraphs, questions = load_questions(args.data)
    return args, paragraphs, questions[: args.limit] if args.limit else questions


def cmrc_library(paragraphs: dict[str, str], embedder: str, data_dir: Path) -> Library:
    """The library of the paragraphs in data_dir, ingested unless it is there already."""
    library = Library(Settings(data_dir=data_dir, embedder=embedder))
    if library.manifest() is None:
        with tempfile.TemporaryDirectory() as tmp:
            write_library_files(Path(tmp), paragraphs)
            started = time.perf_counter()
            report = ingest_paths(library, [Path(tmp)])
        seconds = time.perf_counter() - started
        print(f"ingested {report.count('added')} paragraphs in {seconds:.1f}s")
    return library


def segmented_library(
    paragraphs: dict[str, str], built: Library, data_dir: Path, deltas: int
) -> Library:
    """The same paragraphs as a base of one half plus the other half in `deltas` separate
    ingests (each a delta segment); passages are not embedded again but taken from `built`."""
    settings = Settings(
        data_dir=data_dir, embedder=built.settings.embedder, compact_share=1e9, compact_deltas=10**9
    )
    library = Library(settings)
    library.__dict__["embedder"] = built.embedder  # one model in memory
    with built.session() as session:
        titles = {d.id: d.title for d in store.list_documents(session)}
        stored = {
            passage_for_index(titles[c.doc_id], c.heading, c.text): np.frombuffer(c.embedding, "f4")
            for c in store.chunk_texts(session, batch=10**9)
        }
    embed = built.embedder.embed_passages
    built.embedder.embed_passages = lambda texts, **kw: (
        np.stack([stored[t] for t in texts])
        if all(t in stored for t in texts)
        else embed(texts, **kw)
    )
    ids = sorted(paragraphs)
    half = len(ids) // 2
    batches = [ids[:half], *np.array_split(np.asarray(ids[half:]), deltas)]
    with tempfile.TemporaryDirectory() as tmp:
        for number, batch in enumerate(batches):
            folder = Path(tmp) / f"batch-{number}"
            folder.mkdir()
            write_library_files(folder, {pid: paragraphs[pid] for pid in batch})
            ingest_paths(library, [folder])
    built.embedder.embed_passages = embed
    print(f"segmented library: base + {len(library.manifest().deltas)} deltas")
    return library


def milvus_library(built: Library, uri: str) -> Library:
    """The same database as `built`, its indexes in Milvus, built from the stored vectors."""
    settings = built.settings.model_copy(
        update={"engine": "milvus", "milvus_uri": uri, "milvus_prefix": "bench"}
    )
    library = Library(settings)
    library.__dict__["embedder"] = built.embedder  # one model in memory
    started = time.perf_counter()
    manifest = library.build_indexes()
    seconds = time.perf_counter() - started
    print(f"milvus: {manifest.chunks} passages indexed in {seconds:.1f}s at {uri}")
    return library


def evaluate(service: SearchService, questions, mode: str) -> dict[str, float]:
    at = {1: 0, 5: 0, 10: 0}
    recall5, mrr = 0, 0.0
    for question, pid, answers in questions:
        hits = service.search(question, k=10, mode=mode, viewer=LOCAL).hits
        first = next(
            (rank for rank, h in enumerate(hits, 1) if any(a in h.text for a in answers)), None
        )
        for cut in at:
            at[cut] += bool(first and first <= cut)
        mrr += 1.0 / first if first else 0.0
        recall5 += pid in {h.doc_id for h in hits[:5]}
    n = len(questions) or 1
    return {
        "answer@1": at[1] / n,
        "answer@5": at[5] / n,
        "answer@10": at[10] / n,
        "doc_recall@5": recall5 / n,
        "mrr@10": mrr / n,
    }


def evaluate_variants(library: Library, questions) -> dict[str, dict[str, float]]:
    results = {}
    for mode, fusion in VARIANTS:
        library.settings.fusion = fusion
        name = mode if mode != "hybrid" else f"hybrid-{fusion}"
        started = time.perf_counter()
        results[name] = evaluate(SearchService(library), questions, mode)
        results[name]["seconds"] = time.perf_counter() - started
    return results


def print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    header = ["mode", "answer@1", "answer@5", "answer@10", "doc_recall@5", "mrr@10"]
    print(" | ".join(f"{h:>13}" for h in header))
    for name, row in results.items():
        print(
            " | ".join(
                [f"{name:>13}"]
                + [
                    f"{row[h]:>+13.4f}" if title.startswith("diff") else f"{row[h]:>13.4f}"
                    for h in header[1:]
                ]
            )
        )


def main() -> int:
    with cmrc_bench(__doc__) as bench:
        if bench is None:
            return 0
        library, questions, args = bench
        library.embedder.embed_query = lru_cache(maxsize=None)(library.embedder.embed_query)
        results = {"built at once": evaluate_variants(library, questions)}
        if args.deltas:
            with tempfile.TemporaryDirectory() as tmp:
                paragraphs, _ = load_questions(args.data)
                segmented = segmented_library(paragraphs, library, Path(tmp) / "seg", args.deltas)
                results[f"half base + {args.deltas} deltas"] = evaluate_variants(
                    segmented, questions
                )
        if args.engine == "milvus":
            with tempfile.TemporaryDirectory() as tmp:
                uri = args.milvus_uri or str(Path(tmp) / "milvus.db")
                results["milvus"] = evaluate_variants(milvus_library(library, uri), questions)
    print(f"\n{len(questions)} questions, embedder {args.embedder}")
    for title, table in results.items():
        print_table(title, table)
    once = results["built at once"]
    for title, other in list(results.items())[1:]:
        diff = {m: {k: other[m][k] - once[m][k] for k in once[m]} for m in once}
        print_table(f"difference ({title} - at once)", diff)
        worst = max(abs(v) for m in diff for k, v in diff[m].items() if k != "seconds")
        print(f"largest difference in a metric: {worst:.4f}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
