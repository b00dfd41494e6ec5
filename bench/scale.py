"""Scale benchmark: ingest, query latency, memory and disk at 10k and 100k chunks of generated
Chinese case documents (bench/synth.py; deterministic, no network), in one run.

For each size, in a fresh child process (so its peak RSS is its own):

- ingest with the `hash` embedder: wall time, the time spent inside the embedder, and so the
  non-embedding cost of the pipeline (reading, cleaning, segmentation, chunking, storing, index
  building); the vector index is HNSW past KB_ANN_THRESHOLD (50,000 chunks);
- in-process query latency p50/p99 per mode (hybrid, lexical, dense), also with a filter and as a
  reader key (the access rules on), over fixed queries after a warm-up;
- the same hybrid queries over HTTP against a real `kb serve`;
- recall@10 of the vector index against an exact scan (unfiltered and filtered), and of int8
  (scalar-quantised) storage, when the size uses a graph;
- peak RSS of the child and of the server; database and index size on disk.

And once, on a small sample with the real default embedder (e5): ingest time next to the bare
embedder's time on the same passages, i.e. the pipeline's overhead; and e5 query-embedding time.

With `--engine milvus`, every size is measured twice in the same run: on the local index files and
with the indexes in Milvus (a `milvus-lite server` process per size, the same client API as a
cluster), whose peak RSS is reported apart from the search process's; a table sets them side by
side. Milvus Lite is a pure-Python engine that turns every returned row into a record, so its
queries take long: --milvus-queries (default 50) of the same queries are timed there.

    python bench/scale.py [--chunks 10000 100000] [--e5-docs 40] [--queries 200]
                          [--engine local|milvus] [--milvus-queries 50]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import faiss  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench import http as bench_http  # noqa: E402
from bench import synth  # noqa: E402
from ingest.pipeline import ingest_paths  # noqa: E402
from kb import store  # noqa: E402
from kb.access import LOCAL, principal_for  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library, passage_for_index  # noqa: E402
from kb.search import SearchService  # noqa: E402
from kb.vectors import VectorIndex  # noqa: E402
from tests.milvus import TemporaryMilvus  # noqa: E402


def timed_embedder(library: Library) -> dict[str, float]:
    """Wrap the library's embedder so the seconds spent embedding passages are counted."""
    spent = {"seconds": 0.0, "passages": 0}
    embedder = library.embedder
    original = embedder.embed_passages

    def embed_passages(texts, **options):
        started = time.perf_counter()
        try:
            return original(texts, **options)
        finally:
            spent["seconds"] += time.perf_counter() - started
            spent["passages"] += len(texts)

    embedder.embed_passages = embed_passages
    return spent


def stored_passages(library: Library) -> list[str]:
    """The passages exactly as ingest embedded them (title and heading in front)."""
    with library.session() as session:
        titles = {d.id: d.title for d in store.list_documents(session)}
        chunks = list(store.chunk_texts(session, batch=10**9))
    return [passage_for_index(titles[c.doc_id], c.heading, c.text) for c in chunks]


def disk_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def latency(run, queries: list[str], warmup: int = 5) -> dict:
    for query in queries[:warmup]:
        run(query)
    seconds = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        seconds.append(time.perf_counter() - started)
    ms = np.asarray(seconds) * 1000
    return {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p99": round(float(np.percentile(ms, 99)), 2),
    }


def query_list(count: int) -> list[str]:
    return [
        synth.QUERIES[i % len(synth.QUERIES)] + ("" if i < len(synth.QUERIES) else f" {i % 7 + 1}")
        for i in range(count)
    ]


def in_process(service: SearchService, queries: list[str]) -> dict:
    reader = principal_for("bench-reader", "reader")
    cases = {
        "hybrid": lambda q: service.search(q, viewer=LOCAL),
        "lexical": lambda q: service.search(q, viewer=LOCAL, mode="lexical"),
        "dense": lambda q: service.search(q, viewer=LOCAL, mode="dense"),
        "hybrid_reader": lambda q: service.search(q, viewer=reader),
        "hybrid_filtered": lambda q: service.search(q, viewer=LOCAL, filters=["industry=制造业"]),
    }
    return {name: latency(run, queries) for name, run in cases.items()}


def stored_vectors(library: Library) -> tuple[np.ndarray, np.ndarray]:
    """Chunk ids and vectors as the database holds them (the source of every index)."""
    with library.session() as session:
        chunks = list(store.chunk_texts(session, batch=10**9))
    ids = np.asarray([c.id for c in chunks], dtype=np.int64)
    return ids, np.stack([np.frombuffer(c.embedding, dtype=np.float32) for c in chunks])


def recall(service: SearchService, queries: list[str]) -> dict:
    """recall@10 of the index in use (and of int8 storage) against an exact scan."""
    snap = service.snapshot()
    if not snap.vectors.approximate:
        return {"index": "exact"}
    ids, matrix = stored_vectors(service.library)
    exact = VectorIndex.build(ids, matrix, graph_from=10**12)
    vectors = [service.library.embedder.embed_query(q) for q in queries]
    mask = service.allowed_rows(snap, [], principal_for("r", "reader"))
    quantised = faiss.IndexHNSWSQ(
        matrix.shape[1], faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT
    )
    quantised.hnsw.efConstruction = 200
    quantised.train(matrix)
    quantised.add(matrix)
    quantised.hnsw.efSearch = service.settings.ef_search

    def overlap(found, expected) -> float:
        return len({i for i, _ in found} & {i for i, _ in expected}) / max(len(expected), 1)

    plain, filtered, int8 = [], [], []
    for vector in vectors:
        expected = exact.search(vector, 10)
        plain.append(overlap(snap.vectors.search(vector, 10), expected))
        filtered.append(
            overlap(snap.vectors.search(vector, 10, mask), exact.search(vector, 10, mask))
        )
        _, rows = quantised.search(vector.reshape(1, -1), 10)
        int8.append(overlap([(int(ids[r]), 0) for r in rows[0] if r >= 0], expected))
    return {
        "index": "hnsw",
        "recall_at_10": round(float(np.mean(plain)), 4),
        "recall_at_10_reader_filter": round(float(np.mean(filtered)), 4),
        "recall_at_10_int8": round(float(np.mean(int8)), 4),
        "float32_mb": round(matrix.nbytes / 2**20, 1),
        "int8_mb": round(matrix.shape[1] * len(ids) / 2**20, 1),  # one byte per dimension
    }


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
    return round(int(peak.split()[1]) / 1024, 1)


def over_http(data_dir: Path, queries: list[str]) -> dict:
    log_path = data_dir.parent / "server.log"
    with log_path.open("w") as log:
        process, base = bench_http.start_server(data_dir, "hash", data_dir, log)
        try:
            bench_http.wait_for_health(process, base, log_path)
            with httpx.Client(base_url=base, trust_env=False, timeout=60) as client:
                result = latency(lambda q: client.get("/api/search", params={"q": q}), queries)
            result["server_peak_rss_mb"] = peak_rss_mb(process.pid)
        finally:
            bench_http.stop_server(process)
    return result


def one_size(chunks: int, queries: int, workdir: Path) -> dict:
    docs = max(1, round(chunks / synth.CHUNKS_PER_DOC))
    corpus, data_dir = workdir / "corpus", workdir / "index"
    started = time.perf_counter()
    synth.write_corpus(corpus, docs)
    generated = time.perf_counter() - started
    library = Library(Settings(data_dir=data_dir, embedder="hash"))
    spent = timed_embedder(library)
    started = time.perf_counter()
    report = ingest_paths(library, [corpus])
    ingest = time.perf_counter() - started
    service = SearchService(library)
    manifest = service.snapshot().manifest
    texts = query_list(queries)
    result = {
        "chunks": manifest.chunks,
        "documents": manifest.documents,
        "queries": queries,
        "generate_s": round(generated, 1),
        "ingest_s": round(ingest, 1),
        "ingest_chunks_per_s": round(manifest.chunks / ingest, 1),
        "hash_embed_s": round(spent["seconds"], 1),
        "non_embedding_s": round(ingest - spent["seconds"], 1),
        "failed": report.count("failed"),
        "query_ms": in_process(service, texts),
        "vectors": recall(service, texts[:100]),
        "db_mb": round(sum(f.stat().st_size for f in data_dir.glob("kb.sqlite*")) / 2**20, 1),
        "index_mb": disk_mb(data_dir / manifest.generation),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    result["http_query_ms"] = over_http(data_dir, texts)
    return result


def e5_overhead(docs: int) -> dict:
    """Ingest with the real embedder next to the bare embedder on the same passages."""
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        synth.write_corpus(corpus, docs, seed=11)
        library = Library(Settings(data_dir=Path(tmp) / "index", embedder="e5"))
        library.embedder.embed_query("预热")
        spent = timed_embedder(library)
        started = time.perf_counter()
        ingest_paths(library, [corpus])
        ingest = time.perf_counter() - started
        passages = stored_passages(library)
        bare_embedder = Library(Settings(data_dir=Path(tmp) / "bare", embedder="e5")).embedder
        bare_embedder.embed_passages(passages[:16])
        started = time.perf_counter()
        bare_embedder.embed_passages(passages, batch_size=library.settings.embed_batch_size)
        bare = time.perf_counter() - started
        query = latency(lambda q: bare_embedder.embed_query(q), query_list(50))
    return {
        "chunks": len(passages),
        "ingest_s": round(ingest, 1),
        "embed_inside_ingest_s": round(spent["seconds"], 1),
        "bare_embed_s": round(bare, 1),
        "overhead_vs_bare": round(ingest / bare - 1, 3),
        "e5_query_embed_ms": query,
    }


def measure(chunks: int, queries: int, engine: str) -> dict:
    """One size in a child process, on the local index files or with a Milvus server of its own
    (whose peak RSS and disk are added to the child's figures)."""
    command = [sys.executable, __file__, "--one", str(chunks), "--queries", str(queries)]
    if engine == "local":
        return {"engine": engine, **run_child(command, {"KB_ENGINE": "local"})}
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporaryMilvus(Path(tmp) / "milvus").start()
        try:
            env = {"KB_ENGINE": "milvus", "KB_MILVUS_URI": server.uri, "KB_MILVUS_PREFIX": "scale"}
            result = {"engine": engine, **run_child(command, env)}
            result["milvus_peak_rss_mb"] = peak_rss_mb(server.pid)
            result["milvus_disk_mb"] = disk_mb(server.folder)
        finally:
            server.stop()
    return result


def run_child(command: list[str], env: dict[str, str]) -> dict:
    done = subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **env}
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-5000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_side_by_side(results: list[dict]) -> None:
    header = ["chunks", "engine", "queries", "ingest s", "hybrid p50/p99 ms", "filtered p50 ms"]
    header += ["search process MB", "kb serve MB", "Milvus MB", "HTTP p50 ms"]
    print("\n" + " | ".join(header))
    for r in results:
        hybrid, filtered = r["query_ms"]["hybrid"], r["query_ms"]["hybrid_filtered"]
        cells = [r["chunks"], r["engine"], r["queries"], r["ingest_s"]]
        cells += [f"{hybrid['p50']} / {hybrid['p99']}"]
        cells += [filtered["p50"], r["peak_rss_mb"], r["http_query_ms"]["server_peak_rss_mb"]]
        cells += [r.get("milvus_peak_rss_mb", "-"), r["http_query_ms"]["p50"]]
        print(" | ".join(str(c) for c in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--e5-docs", type=int, default=40, help="0 skips the e5 sample")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engine", choices=["local", "milvus"], default="local")
    parser.add_argument("--milvus-queries", type=int, default=50)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(one_size(args.one, args.queries, Path(tmp))))
        return 0
    engines = ["local", "milvus"] if args.engine == "milvus" else ["local"]
    results = []
    for chunks in args.chunks:
        for engine in engines:
            try:
                queries = args.milvus_queries if engine == "milvus" else args.queries
                results.append(measure(chunks, queries, engine))
            except RuntimeError as error:
                sys.stderr.write(str(error))
                return 1
            print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    print_side_by_side(results)
    if args.e5_docs:
        print(json.dumps({"e5_sample": e5_overhead(args.e5_docs)}, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
