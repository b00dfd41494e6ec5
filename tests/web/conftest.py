"""A real `kb serve` (uvicorn) process on a free loopback port, over the fixture library."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kb.keys import KeyStore
from tests.conftest import DATA, process_env

KB = Path(sys.executable).parent / "kb"
HIT_FIELDS = {
    "doc_id",
    "chunk_id",
    "title",
    "source",
    "type",
    "heading",
    "text",
    "snippet",
    "score",
    "metadata",
}


class ServerURL(str):
    """The base URL of a running server, carrying the admin key made for it."""

    admin_key: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    data_dir: Path, corpus: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[ServerURL]:
    """A `kb serve` process over data_dir (ingesting corpus first when empty), with more serve
    options and environment variables if given; its base URL, with an admin key in
    `.admin_key`."""
    port = free_port()
    env = {**process_env(), **(env or {})}
    command = [
        str(KB),
        "--data-dir",
        str(data_dir),
        "--embedder",
        "hash",
        "serve",
        "--port",
        str(port),
        "--corpus",
        str(corpus),
        *options,
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = KeyStore(data_dir / "keys.json")
    admin_key = keys.add(f"test-admin-{len(keys.entries())}", "admin")
    log_path = data_dir.parent / f"server-{port}.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.admin_key = admin_key
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text(encoding="utf-8"))
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    """Base URL of a server started with an empty data dir (so it ingests the fixtures first)."""
    root = tmp_path_factory.mktemp("live")
    with running_server(root / "index", DATA / "library") as base:
        yield base
