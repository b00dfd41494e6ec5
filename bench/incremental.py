"""Incremental-update benchmark (issue 11): how soon a change made through a real `kb serve`
is searchable in a library of 10k and 100k chunks, and what pending deltas cost queries.

For each size, the bulk library is generated with bench/synth.py and ingested with the `hash`
embedder (as in bench/scale.py), in a temporary data dir (or reused with --data-dir). Two
`kb serve` processes then run over it with an admin key and KB_COMPACT_DELTAS=1000 (nothing
compacts by itself during the run): the writer, which takes every change, and a follower.

- Uploads: --uploads new generated case files WITH labels (industry/service_type in the front
  matter) and as many WITHOUT, alternately, one file per POST /api/documents. Per upload, the
  time from the end of embedding to searchable: `index_seconds` of the response when it has
  one, else the request time minus `embed_seconds`, else the whole request time (the source is
  printed). Right after each response, a search for a token unique to the file must find it on
  the writer (failures counted; should be 0). p50/p95 for labelled and unlabelled files and the
  difference (target: within 1 s; p95 ≤ 2 s at 100k), and the same for the whole request
  (where a label suggestion computed inside the upload shows). With --order grouped all the
  labelled files go first, so only the first unlabelled one finds the classifier out of date.
- Follower: after each upload, the follower is polled until a search finds the new file: the
  delay from the upload's response, p50/p95/max (target ≤ 2 s).
- Suggestions: per unlabelled upload, the time from its response until its label suggestion is
  listed (GET /api/suggestions polled from a thread during and after the uploads, at most
  SUGGEST_TIMEOUT seconds after the last one; misses counted).
- Delete: DELETE /api/documents/{id} of one uploaded file, timed; its token must be gone.
- Queries: sequential HTTP search latency (bench/http.py's runner, anonymous reader) with the
  pending deltas, then `kb compact` as a subprocess (time and peak RSS), then the same queries
  against the compacted index; the ratio pending/compacted at p50 and p95 (target ≤ 1.2).
  Skipped, and said so, when `kb compact` does not exist.

Prints a table per size and one JSON line at the end; the servers are always stopped. Only
127.0.0.1 is contacted. --max-seconds bounds each size's run after the build: the uploads stop
early (and say so) past two thirds of it, and each query phase gets a share of the rest.

    python bench/incremental.py [--chunks 10000 100000] [--uploads 20] [--queries 200]
                                [--order alternate|grouped] [--data-dir DIR] [--max-seconds S]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from bench import http as bench_http  # noqa: E402
from bench import scale, synth  # noqa: E402
from kb.indexfiles import MANIFEST  # noqa: E402
from kb.keys import KeyStore  # noqa: E402

EMBEDDER = "hash"
SETTINGS_ENV = {"KB_EMBEDDER": EMBEDDER, "KB_COMPACT_DELTAS": "1000"}
POLL_SECONDS = 0.05
FOLLOW_TIMEOUT = 120.0
SUGGEST_TIMEOUT = 300.0
SUGGEST_POLL = 0.25
MIN_TIMEOUT = 60.0  # seconds an upload may take even when the budget is spent
LABEL_FIELDS = ("industry:", "service_type:")


@dataclass
class Upload:
    """One generated file to upload and what was measured for it."""

    name: str
    text: str
    token: str
    labelled: bool
    doc_id: str | None = None
    status: str = ""
    request_s: float | None = None
    searchable_s: float | None = None
    source: str = "request"
    found: bool = False
    follower_s: float | None = None
    suggestion_s: float | None = None
    answered: float | None = None


@dataclass
class Servers:
    """The writer and the follower over one data dir, with admin clients (a second one on the
    writer for the suggestion watch)."""

    writer: httpx.Client
    follower: httpx.Client
    writer_base: str
    suggestions: httpx.Client


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--uploads", type=int, default=20, help="labelled files (as many without)")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency phase")
    parser.add_argument(
        "--order",
        choices=("alternate", "grouped"),
        default="alternate",
        help="labelled and unlabelled files taking turns, or all labelled ones first",
    )
    parser.add_argument("--data-dir", type=Path, help="reuse or build the libraries under DIR")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="budget per size")
    args = parser.parse_args()
    if args.uploads < 1 or args.queries < 1 or args.max_seconds <= 0:
        parser.error("--uploads, --queries and --max-seconds must be positive")
    return args


def build(folder: Path, chunks: int) -> dict:
    """The bulk library of about `chunks` chunks in folder/index (reused when it has one)."""
    data_dir, corpus = folder / "index", folder / "corpus"
    started = time.perf_counter()
    if not (data_dir / MANIFEST).exists():
        synth.write_corpus(corpus, max(1, round(chunks / synth.CHUNKS_PER_DOC)))
    bench_http.prepare_library(data_dir, EMBEDDER, corpus)
    return {"data_dir": data_dir, "corpus": corpus, "build_s": time.perf_counter() - started}


def upload_files(count: int, first_index: int, nonce: str, order: str) -> list[Upload]:
    """`count` labelled and `count` unlabelled new case files, each with a token: taking turns,
    or (`grouped`) the labelled ones first."""
    files: list[Upload] = []
    index = first_index
    while len(files) < 2 * count:
        _, text = synth.document(index)
        index += 1
        if "\ntype: case\n" not in text:
            continue
        number = len(files)
        labelled = number % 2 == 0 if order == "alternate" else number < count
        files.append(new_file(text, f"{nonce}n{number:03d}", labelled=labelled))
    return files


def new_file(text: str, tag: str, *, labelled: bool) -> Upload:
    """A generated document given its own id and token, without label fields if unlabelled."""
    lines = []
    for line in text.split("\n"):
        if line.startswith("id: "):
            line = f"id: INC-{tag}"
        elif not labelled and line.startswith(LABEL_FIELDS):
            continue
        lines.append(line)
        if line.startswith("# "):
            lines += ["", f"项目编号：inc{tag}"]
    return Upload(f"inc-{tag}.md", "\n".join(lines), f"inc{tag}", labelled)


def found(client: httpx.Client, upload: Upload) -> bool:
    """Whether a search for the file's token lists its document."""
    params = {"q": upload.token, "k": 10, "by_doc": "true"}
    answer = client.get("/api/search", params=params)
    answer.raise_for_status()
    return any(hit["doc_id"] == upload.doc_id for hit in answer.json()["hits"])


def wait_until(check, timeout: float, started: float | None = None) -> float | None:
    """Seconds from `started` (default: now) until check() is true, polling; None after the
    timeout."""
    started = time.perf_counter() if started is None else started
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(POLL_SECONDS)
    return None


def upload_one(servers: Servers, upload: Upload, timeout: float) -> None:
    """POST one file to the writer, check it is searchable there, then wait for the follower."""
    files = [("files", (upload.name, upload.text.encode(), "text/markdown"))]
    started = time.perf_counter()
    answer = servers.writer.post("/api/documents", files=files, timeout=timeout)
    answered = upload.answered = time.perf_counter()
    upload.request_s = answered - started
    answer.raise_for_status()
    body = answer.json()
    result = body["results"][0]
    upload.doc_id, upload.status = result["doc_id"], result["status"]
    upload.searchable_s, upload.source = to_searchable(body, result, upload.request_s)
    upload.found = upload.doc_id is not None and found(servers.writer, upload)
    follows = partial(found, servers.follower, upload)
    upload.follower_s = wait_until(follows, FOLLOW_TIMEOUT, answered)


def to_searchable(body: dict, result: dict, request_s: float) -> tuple[float, str]:
    """(seconds from the end of embedding to searchable, how they were obtained)."""
    index_s = body.get("index_seconds", result.get("index_seconds"))
    if index_s is not None:
        return float(index_s), "index_seconds"
    embed_s = body.get("embed_seconds", result.get("embed_seconds"))
    if embed_s is not None:
        return request_s - float(embed_s), "request - embed_seconds"
    return request_s, "request"


class SuggestionWatch(threading.Thread):
    """Polls the writer's pending suggestions and notes when each document first has one."""

    def __init__(self, client: httpx.Client) -> None:
        super().__init__(daemon=True)
        self.client, self.seen, self.done = client, {}, threading.Event()

    def run(self) -> None:
        while not self.done.wait(SUGGEST_POLL):
            answer = self.client.get("/api/suggestions", params={"status": "pending"})
            now = time.perf_counter()
            for suggestion in answer.json() if answer.status_code == 200 else []:
                self.seen.setdefault(suggestion["doc_id"], now)

    def finish(self, uploads: list[Upload]) -> None:
        """Wait for the suggestions of the unlabelled uploads, then note their delays."""
        wanted = {u.doc_id for u in uploads if not u.labelled and u.doc_id}
        wait_until(lambda: wanted <= self.seen.keys(), SUGGEST_TIMEOUT)
        self.done.set()
        self.join()
        for upload in uploads:
            if upload.doc_id in wanted and upload.doc_id in self.seen:
                upload.suggestion_s = max(self.seen[upload.doc_id] - upload.answered, 0.0)


def delete_one(servers: Servers, upload: Upload) -> dict:
    """Time the DELETE of one uploaded document and check its token no longer finds it."""
    started = time.perf_counter()
    answer = servers.writer.delete(f"/api/documents/{upload.doc_id}")
    answered = time.perf_counter()
    gone = answer.status_code == 200 and not found(servers.writer, upload)
    follows = partial(gone_from, servers.follower, upload)
    follower = wait_until(follows, FOLLOW_TIMEOUT, answered)
    seconds = answered - started
    return {"seconds": round(seconds, 3), "gone": gone, "follower_s": _round(follower)}


def gone_from(client: httpx.Client, upload: Upload) -> bool:
    return not found(client, upload)


def index_state(client: httpx.Client) -> dict:
    """The manifest as GET /api/stats shows it (generation, deltas when segments exist)."""
    index = client.get("/api/stats").json().get("index") or {}
    deltas = index.get("deltas")
    return {
        "generation": index.get("generation"),
        "deltas": len(deltas) if isinstance(deltas, list) else deltas,
        "delta_chunks": index.get("delta_chunks"),
        "chunks": index.get("chunks"),
    }


def compact(data_dir: Path) -> dict:
    """Run `kb compact` in a child process: seconds and its own peak RSS, or why it was skipped."""
    command = [str(bench_http.KB), "--data-dir", str(data_dir), "--embedder", EMBEDDER]
    probe = subprocess.run([*command, "compact", "--help"], capture_output=True, check=False)
    if probe.returncode != 0:
        return {"skipped": "kb compact does not exist yet"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "compact"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        return {"skipped": f"kb compact failed ({process.returncode}): {output[-500:]}"}
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def query_latency(base: str, queries: list[str], budget: float) -> dict:
    """Sequential HTTP search latency in ms (bench/http.py's runner)."""
    run = bench_http.run_sequential(base, queries, 10, budget)
    return bench_http.summarize(run["latency"]) | {"errors": run["errors"]}


@contextlib.contextmanager
def serving(data_dir: Path, corpus: Path, logs: Path, key: str) -> Iterator[Servers]:
    """Writer and follower `kb serve` processes over data_dir; both stopped on the way out."""
    os.environ.update(SETTINGS_ENV)
    headers = {"Authorization": f"Bearer {key}"}
    with contextlib.ExitStack() as stack:
        bases = []
        for role in ("writer", "follower"):
            log_path = logs / f"{role}.log"
            log = stack.enter_context(log_path.open("w", encoding="utf-8"))
            process, base = bench_http.start_server(data_dir, EMBEDDER, corpus, log)
            stack.callback(bench_http.stop_server, process)
            bench_http.wait_for_health(process, base, log_path)
            bases.append(base)
        clients = [
            stack.enter_context(
                httpx.Client(base_url=b, headers=headers, trust_env=False, timeout=600)
            )
            for b in [*bases, bases[0]]
        ]
        yield Servers(clients[0], clients[1], bases[0], clients[2])


def one_size(chunks: int, args: argparse.Namespace, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    built = build(folder, chunks)
    key = KeyStore(built["data_dir"] / "keys.json").add(f"bench-{secrets.token_hex(4)}", "admin")
    nonce = secrets.token_hex(3)
    first = round(chunks / synth.CHUNKS_PER_DOC) + 1
    files = upload_files(args.uploads, first, nonce, args.order)
    queries = scale.query_list(args.queries)
    deadline = time.monotonic() + args.max_seconds
    with serving(built["data_dir"], built["corpus"], folder, key) as servers:
        start = index_state(servers.writer)
        watch = SuggestionWatch(servers.suggestions)
        watch.start()
        done = run_uploads(servers, files, deadline - args.max_seconds / 3)
        watch.finish(done)
        deleted = delete_one(servers, done[0]) if done and done[0].doc_id else None
        pending_state = index_state(servers.writer)
        pending = query_latency(servers.writer_base, queries, share(deadline, 3))
        compaction = compact(built["data_dir"])
        compacted = None
        if "skipped" not in compaction:
            compacted = query_latency(servers.writer_base, queries, share(deadline, 2))
        end_state = index_state(servers.writer)
    planned = len(files)
    return summary(chunks, built, start, done, planned, deleted, pending_state, args.order) | {
        "query_ms_pending": pending,
        "compaction": compaction,
        "query_ms_compacted": compacted,
        "compaction_ratio": ratios(pending, compacted),
        "index_after": end_state,
    }


def share(deadline: float, parts: int) -> float:
    return max((deadline - time.monotonic()) / parts, 10.0)


def run_uploads(servers: Servers, files: list[Upload], stop_at: float) -> list[Upload]:
    """Upload the files one by one until done or past stop_at (an upload still running then
    is given up, its times missed)."""
    done = []
    for upload in files:
        if time.monotonic() > stop_at:
            break
        done.append(upload)
        try:
            upload_one(servers, upload, max(stop_at - time.monotonic(), MIN_TIMEOUT))
        except httpx.TimeoutException:
            upload.status, upload.request_s, upload.searchable_s = "timeout", None, None
            break
        finally:
            print(
                f"  {upload.name} {'labelled' if upload.labelled else 'unlabelled'} "
                f"{upload.status}: request {_round(upload.request_s)}s, searchable "
                f"{_round(upload.searchable_s)}s, follower {_round(upload.follower_s)}s",
                file=sys.stderr,
                flush=True,
            )
    return done


def stats(values: list[float | None]) -> dict:
    """n, p50, p95 and max in seconds of the measured values (misses counted apart)."""
    measured = [v for v in values if v is not None]
    if not measured:
        return {"n": 0, "missed": len(values), "p50": None, "p95": None, "max": None}
    p50, p95 = np.percentile(measured, [50, 95])
    return {
        "n": len(measured),
        "missed": len(values) - len(measured),
        "p50": round(float(p50), 3),
        "p95": round(float(p95), 3),
        "max": round(max(measured), 3),
    }


def summary(chunks, built, start, done, planned, deleted, pending_state, order) -> dict:
    labelled = [u for u in done if u.labelled]
    unlabelled = [u for u in done if not u.labelled]
    up_l = stats([u.searchable_s for u in labelled])
    up_u = stats([u.searchable_s for u in unlabelled])
    req_l = stats([u.request_s for u in labelled])
    req_u = stats([u.request_s for u in unlabelled])
    return {
        "target_chunks": chunks,
        "chunks": start["chunks"],
        "build_s": round(built["build_s"], 1),
        "order": order,
        "searchable_source": sorted({u.source for u in done}),
        "uploads_labelled_s": up_l,
        "uploads_unlabelled_s": up_u,
        "unlabelled_minus_labelled_s": {p: _diff(up_u[p], up_l[p]) for p in ("p50", "p95")},
        "request_labelled_s": req_l,
        "request_unlabelled_s": req_u,
        "request_unlabelled_minus_labelled_s": {
            p: _diff(req_u[p], req_l[p]) for p in ("p50", "p95")
        },
        "statuses": sorted({u.status for u in done}),
        "not_searchable": sum(not u.found for u in done if u.status != "timeout"),
        "timed_out": sum(u.status == "timeout" for u in done),
        "follower_s": stats([u.follower_s for u in done]),
        "suggestion_s": stats([u.suggestion_s for u in unlabelled]),
        "uploads_stopped_early": len(done) < planned,
        "delete": deleted,
        "index_pending": pending_state,
    }


def ratios(pending: dict, compacted: dict | None) -> dict | None:
    if not compacted:
        return None
    return {p: bench_http.ratio(pending[p], compacted[p]) for p in ("p50", "p95")}


def print_table(result: dict) -> None:
    print(f"\n{result['chunks']} chunks (built or reused in {result['build_s']} s)")
    print(f"searchable time from: {', '.join(result['searchable_source'])}")
    print(f"{'seconds':>28} | {'n':>3} | {'p50':>7} | {'p95':>7} | {'max':>7} | missed")
    rows = [
        ("upload labelled → searchable", result["uploads_labelled_s"]),
        ("unlabelled → searchable", result["uploads_unlabelled_s"]),
        ("request labelled", result["request_labelled_s"]),
        ("request unlabelled", result["request_unlabelled_s"]),
        ("follower finds it", result["follower_s"]),
        ("suggestion listed", result["suggestion_s"]),
    ]
    for name, s in rows:
        cells = " | ".join(_cell(s[key]) for key in ("p50", "p95", "max"))
        print(f"{name:>28} | {s['n']:>3} | {cells} | {s['missed']}")
    gap = result["unlabelled_minus_labelled_s"]
    print(f"unlabelled - labelled: p50 {_cell(gap['p50'])} s, p95 {_cell(gap['p95'])} s")
    gap = result["request_unlabelled_minus_labelled_s"]
    print(f"same, whole request: p50 {_cell(gap['p50'])} s, p95 {_cell(gap['p95'])} s")
    print(f"not searchable right after the response: {result['not_searchable']}")
    if result["uploads_stopped_early"]:
        print(
            f"uploads stopped early: two thirds of --max-seconds used "
            f"({result['timed_out']} upload given up while running)"
        )
    print(f"delete: {result['delete']}")
    print(f"index with pending deltas: {result['index_pending']}")
    print(f"index at the end: {result['index_after']}")
    _print_queries(result)


def _print_queries(result: dict) -> None:
    for name in ("query_ms_pending", "query_ms_compacted"):
        s = result[name]
        if s:
            print(f"{name:>28} | n {s['n']} | p50 {s['p50']} ms | p95 {s['p95']} ms")
    compaction = result["compaction"]
    if "skipped" in compaction:
        print(f"compaction skipped: {compaction['skipped']}")
        return
    ratio = result["compaction_ratio"]
    print(f"kb compact: {compaction['seconds']} s, peak RSS {compaction['peak_rss_mb']} MB")
    print(f"pending / compacted query latency: p50 x{ratio['p50']}, p95 x{ratio['p95']}")


def _diff(a: float | None, b: float | None) -> float | None:
    return round(a - b, 3) if a is not None and b is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _cell(value: float | None) -> str:
    return f"{value:>7.3f}" if value is not None else f"{'-':>7}"


def main() -> int:
    args = parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="kb-bench-incremental-") as tmp:
        root = (args.data_dir or Path(tmp)).resolve()
        for chunks in args.chunks:
            try:
                result = one_size(chunks, args, root / f"chunks-{chunks}")
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print_table(result)
            results.append(result)
    print(json.dumps({"incremental": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
