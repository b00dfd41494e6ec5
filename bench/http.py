"""HTTP benchmark of `kb serve`: search latency over HTTP against the same search in-process.

Builds (or reuses, with --data-dir) a library over the bundled sample corpus, starts a real
`kb serve` (uvicorn) on a free 127.0.0.1 port over it and, in one run, measures:

- HTTP sequential: one keep-alive client, per-request latency of GET /api/search;
- HTTP concurrent: --concurrency threads, one client each, throughput in requests/s;
- in-process: the same queries through SearchService (same data dir and embedder, model loaded
  once), the baseline for the HTTP overhead (ratio HTTP / in-process at p50 and p95).

Queries cycle through a fixed list of Chinese consulting questions. Each of the three phases
gets a third of --max-seconds and stops early (and says so) when its share runs out. Prints a
table and one JSON line; the server is always stopped. Only 127.0.0.1 is ever contacted.

    python bench/http.py [--embedder e5|hash] [--queries N] [--concurrency T]
                         [--max-seconds S] [--data-dir DIR] [--k K]
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

# This file is named http.py: drop its folder from the path so `http` is the standard library.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from ingest.pipeline import ingest_paths  # noqa: E402
from kb.access import LOCAL  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library  # noqa: E402
from kb.search import SearchService  # noqa: E402

CORPUS = ROOT / "corpus"
KB = Path(sys.executable).parent / "kb"
HOST = "127.0.0.1"
STARTUP_SECONDS = 300
REQUEST_TIMEOUT = 60
WARMUP = 3

QUERIES = [
    "供应商交付不准时",
    "门店人效低",
    "医院门诊排队时间长",
    "项目复盘怎么做",
    "新人带教考核",
    "数据口径不一致",
    "预算超支怎么控制",
    "流程审批太慢",
    "库存周转率低",
    "客户流失率上升",
    "销售预测不准",
    "组织架构调整方案",
    "绩效考核指标怎么设计",
    "生产线换型时间长",
    "采购成本降低",
    "数字化转型路线图",
    "会员复购率提升",
    "仓储拣货效率",
    "跨部门协作不畅",
    "KPI 与 OKR 怎么结合",
    "门店选址评估",
    "质量问题反复出现的根因分析",
    "项目范围蔓延",
    "客户满意度调研",
    "供應商交付不準時",
    "門店人效低",
    "醫院門診排隊",
    "專案復盤怎麼做",
    "數據口徑不一致",
    "流程審批太慢",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="e5", help="e5 | hash | st:<model>")
    parser.add_argument("--queries", type=int, default=300, help="queries per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="budget of all phases")
    parser.add_argument("--data-dir", type=Path, help="reuse or build the library here")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--k", type=int, default=10, help="hits per query")
    args = parser.parse_args()
    if args.queries < 1 or args.concurrency < 1 or args.max_seconds <= 0:
        parser.error("--queries, --concurrency and --max-seconds must be positive")
    return args


def summarize(seconds: list[float]) -> dict[str, float | None]:
    """Count, p50/p95/p99 and mean in milliseconds (None when nothing was measured)."""
    if not seconds:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    ms = np.asarray(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    values = {"p50": p50, "p95": p95, "p99": p99, "mean": ms.mean()}
    return {"n": len(ms)} | {key: round(float(v), 3) for key, v in values.items()}


def prepare_library(data_dir: Path, embedder: str, corpus: Path) -> Library:
    """The library over `corpus` in `data_dir`: ingested unless it already has an index."""
    library = Library(Settings(data_dir=data_dir, embedder=embedder))
    if library.manifest() is None:
        started = time.perf_counter()
        report = ingest_paths(library, [corpus])
        print(f"ingested {report.summary()} in {time.perf_counter() - started:.1f}s")
    else:
        print(f"reusing the library in {data_dir}")
    return library


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(
    data_dir: Path, embedder: str, corpus: Path, log: IO[str]
) -> tuple[subprocess.Popen, str]:
    """A `kb serve` process on a free loopback port (not yet awaited) and its base URL."""
    port = free_port()
    command = [str(KB), "--data-dir", str(data_dir), "--embedder", embedder]
    command += ["serve", "--host", HOST, "--port", str(port), "--corpus", str(corpus)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    return process, f"http://{HOST}:{port}"


def wait_for_health(process: subprocess.Popen, base: str, log_path: Path) -> dict:
    """The /api/health answer once the server says ok; RuntimeError with the log otherwise."""
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(trust_env=False, timeout=2) as client:
        while True:
            try:
                answer = client.get(f"{base}/api/health")
                if answer.status_code == 200 and answer.json().get("status") == "ok":
                    return answer.json()
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = log_path.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"kb serve did not become healthy:\n{log[-3000:]}")
            time.sleep(0.2)


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def http_search(client: httpx.Client, base: str, query: str, k: int) -> tuple[float, int, float]:
    """(seconds, status, server-side took_ms or None) of one search; status 0: no answer."""
    started = time.perf_counter()
    try:
        answer = client.get(f"{base}/api/search", params={"q": query, "k": k})
    except httpx.HTTPError:
        return time.perf_counter() - started, 0, None
    elapsed = time.perf_counter() - started
    took = answer.json().get("took_ms") if answer.status_code == 200 else None
    return elapsed, answer.status_code, took


def run_sequential(base: str, queries: list[str], k: int, budget: float) -> dict:
    """One keep-alive client, one request at a time, until done or out of time."""
    seconds, took, errors = [], [], 0
    with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT) as client:
        for query in queries[:WARMUP]:
            http_search(client, base, query, k)
        deadline = time.monotonic() + budget
        for query in queries:
            if time.monotonic() > deadline:
                break
            elapsed, status, took_ms = http_search(client, base, query, k)
            seconds.append(elapsed)
            errors += status != 200
            if took_ms is not None:
                took.append(took_ms / 1000)
    return {"latency": seconds, "server_took": took, "errors": errors}


def run_concurrent(base: str, queries: list[str], k: int, threads: int, budget: float) -> dict:
    """`threads` clients sharing the query list; throughput over the wall time."""
    counter, lock = itertools.count(), threading.Lock()
    seconds: list[float] = []
    errors = [0]
    deadline = time.monotonic() + budget

    def worker() -> None:
        with httpx.Client(trust_env=False, timeout=REQUEST_TIMEOUT) as client:
            while time.monotonic() <= deadline:
                with lock:
                    index = next(counter)
                if index >= len(queries):
                    return
                elapsed, status, _ = http_search(client, base, queries[index], k)
                with lock:
                    seconds.append(elapsed)
                    errors[0] += status != 200

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    return {"latency": seconds, "errors": errors[0], "wall": wall, "rps": len(seconds) / wall}


def run_in_process(service: SearchService, queries: list[str], k: int, budget: float) -> dict:
    """The same searches through SearchService directly."""
    for query in queries[:WARMUP]:
        service.search(query, k=k, viewer=LOCAL)
    seconds: list[float] = []
    deadline = time.monotonic() + budget
    for query in queries:
        if time.monotonic() > deadline:
            break
        started = time.perf_counter()
        service.search(query, k=k, viewer=LOCAL)
        seconds.append(time.perf_counter() - started)
    return {"latency": seconds}


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def build_summary(args, health: dict, seq: dict, conc: dict, inproc: dict) -> dict:
    http, local = summarize(seq["latency"]), summarize(inproc["latency"])
    phases = {"http_sequential": seq, "http_concurrent": conc, "in_process": inproc}
    return {
        "embedder": health.get("embedder", args.embedder),
        "documents": health.get("documents"),
        "queries_per_phase": args.queries,
        "k": args.k,
        "http_sequential_ms": http,
        "server_took_ms": summarize(seq["server_took"]),
        "in_process_ms": local,
        "http_overhead": {
            "p50_ratio": ratio(http["p50"], local["p50"]),
            "p95_ratio": ratio(http["p95"], local["p95"]),
        },
        "concurrent": {
            "threads": args.concurrency,
            "requests": len(conc["latency"]),
            "seconds": round(conc["wall"], 3),
            "rps": round(conc["rps"], 2),
            "latency_ms": summarize(conc["latency"]),
        },
        "errors": seq["errors"] + conc["errors"],
        "stopped_early": [n for n, p in phases.items() if len(p["latency"]) < args.queries],
    }


def print_report(summary: dict) -> None:
    print(
        f"\n{summary['documents']} documents, embedder {summary['embedder']}, "
        f"k={summary['k']}, {summary['queries_per_phase']} queries per phase"
    )
    rows = [
        ("HTTP sequential", summary["http_sequential_ms"]),
        ("  server took_ms", summary["server_took_ms"]),
        ("in-process", summary["in_process_ms"]),
        (f"HTTP x{summary['concurrent']['threads']} threads", summary["concurrent"]["latency_ms"]),
    ]
    print(f"{'latency (ms)':>20} | {'n':>5} | {'p50':>8} | {'p95':>8} | {'p99':>8} | {'mean':>8}")
    for name, s in rows:
        cells = " | ".join(_number(s[key], 8, 2) for key in ("p50", "p95", "p99", "mean"))
        print(f"{name:>20} | {s['n']:>5} | {cells}")
    overhead, conc = summary["http_overhead"], summary["concurrent"]
    print(
        f"HTTP / in-process: p50 x{_number(overhead['p50_ratio'], 0, 2)}, "
        f"p95 x{_number(overhead['p95_ratio'], 0, 2)}"
    )
    print(
        f"concurrent throughput: {conc['rps']:.1f} requests/s "
        f"({conc['requests']} in {conc['seconds']:.1f}s, {conc['threads']} threads)"
    )
    print(f"errors (non-200 answers): {summary['errors']}")
    for phase in summary["stopped_early"]:
        print(f"stopped early: {phase} ran out of its share of --max-seconds")
    print(json.dumps(summary, ensure_ascii=False))


def _number(value: float | None, width: int, digits: int) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def run(args: argparse.Namespace, tmp: Path) -> dict:
    data_dir = (args.data_dir or tmp / "index").resolve()
    library = prepare_library(data_dir, args.embedder, args.corpus)
    service = SearchService(library)
    queries = [QUERIES[i % len(QUERIES)] for i in range(args.queries)]
    budget = args.max_seconds / 3
    log_path = tmp / "server.log"
    with log_path.open("w", encoding="utf-8") as log:
        process, base = start_server(data_dir, args.embedder, args.corpus, log)
        try:
            started = time.perf_counter()
            health = wait_for_health(process, base, log_path)
            print(f"kb serve healthy at {base} after {time.perf_counter() - started:.1f}s")
            seq = run_sequential(base, queries, args.k, budget)
            conc = run_concurrent(base, queries, args.k, args.concurrency, budget)
        finally:
            stop_server(process)
    inproc = run_in_process(service, queries, args.k, budget)
    return build_summary(args, health, seq, conc, inproc)


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-bench-http-") as tmp:
        try:
            summary = run(args, Path(tmp))
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    print_report(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
