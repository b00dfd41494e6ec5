"""Bounded loopback load test of the service: several concurrent clients send a fixed number of
mixed requests (search, facets, document pages, similar cases) within a time limit, as a reader
key (so every request goes through the access checks), and the run prints p50/p99 latency,
throughput and the error count. Traffic goes to 127.0.0.1 only.

    python bench/load.py [--clients 8] [--requests 2000] [--max-seconds 60] [--embedder hash]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

# bench/http.py would shadow the standard library's `http`: keep this folder off the path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402

from bench import http as bench_http  # noqa: E402
from kb import catalog  # noqa: E402
from kb.keys import KeyStore  # noqa: E402


def requests_plan(doc_ids: list[str], count: int) -> list[tuple[str, dict]]:
    """A fixed, repeatable mix: 70 % search, 10 % facets, 10 % document, 10 % similar."""
    plan = []
    for i in range(count):
        query = bench_http.QUERIES[i % len(bench_http.QUERIES)]
        doc_id = doc_ids[i % len(doc_ids)]
        kind = i % 10
        if kind < 7:
            plan.append(("/api/search", {"q": query, "k": 10}))
        elif kind == 7:
            plan.append(("/api/facets", {}))
        elif kind == 8:
            plan.append((f"/api/documents/{doc_id}", {}))
        else:
            plan.append((f"/api/documents/{doc_id}/similar", {}))
    return plan


def run_load(
    base: str, plan: list[tuple[str, dict]], clients: int, budget: float, key: str
) -> dict:
    counter, lock = itertools.count(), threading.Lock()
    seconds: list[float] = []
    errors = {"count": 0}
    deadline = time.monotonic() + budget

    def worker() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=base, trust_env=False, timeout=60, headers=headers) as client:
            while time.monotonic() <= deadline:
                with lock:
                    index = next(counter)
                if index >= len(plan):
                    return
                path, params = plan[index]
                started = time.perf_counter()
                try:
                    ok = client.get(path, params=params).status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    seconds.append(time.perf_counter() - started)
                    errors["count"] += not ok

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "requests": len(seconds),
        "planned": len(plan),
        "errors": errors["count"],
        "seconds": round(wall, 2),
        "rps": round(len(seconds) / wall, 1),
        "latency_ms": bench_http.summarize(seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=60)
    parser.add_argument("--embedder", default="hash")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.data_dir or Path(tmp) / "index"
        library = bench_http.prepare_library(data_dir, args.embedder, bench_http.CORPUS)
        key = KeyStore(library.settings.keys_path).add(f"bench-{time.time_ns()}", "reader")
        reader = KeyStore(library.settings.keys_path).find(key).principal()
        doc_ids = [
            d.doc_id for d in catalog.list_documents(library, limit=100, viewer=reader).documents
        ]
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            process, base = bench_http.start_server(data_dir, args.embedder, bench_http.CORPUS, log)
            try:
                bench_http.wait_for_health(process, base, log_path)
                plan = requests_plan(doc_ids, args.requests)
                result = run_load(base, plan, args.clients, args.max_seconds, key)
            finally:
                bench_http.stop_server(process)
    latency = result["latency_ms"]
    print(
        f"{result['requests']}/{result['planned']} requests, {args.clients} clients, "
        f"{result['seconds']} s, {result['rps']} req/s, errors {result['errors']}"
    )
    print(f"latency p50 {latency['p50']} ms, p99 {latency['p99']} ms")
    print(json.dumps({"clients": args.clients, "embedder": args.embedder, **result}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
