"""A throwaway Milvus for the tests: `milvus-lite server` (the embedded edition's gRPC server,
the same client API as a cluster) on a free loopback port, and a fresh collection prefix per
test, so several processes of one test (a `kb serve`, a CLI) share it as they would a cluster."""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from pathlib import Path

from kb.errors import EngineUnavailableError
from kb.milvus_engine import MilvusConnection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TemporaryMilvus:
    """`start()` runs the server on data in `folder`; `new_prefix()` names a fresh library."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self._names = itertools.count()
        self._process: subprocess.Popen | None = None

    def start(self, wait: float = 60.0) -> TemporaryMilvus:
        command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(self.folder)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        log = (self.folder.parent / f"{self.folder.name}.log").open("w")
        self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + wait
        while True:
            try:
                MilvusConnection(self.uri, "", timeout=2).call("list_collections")
                return self
            except EngineUnavailableError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"milvus-lite server did not start, see {log.name}"
                    ) from None
                time.sleep(0.2)

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() the server first"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def new_prefix(self) -> str:
        return f"t{next(self._names)}"
