"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary folder
that listens on a unix socket only, and a fresh database per test."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from pathlib import Path

import psycopg

INSTALL_HINT = "PostgreSQL 服务器未安装：apt-get install postgresql（.ci/run 会安装并使用它）"


def server_binaries() -> Path:
    """The bin folder of the newest installed PostgreSQL server."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise RuntimeError(INSTALL_HINT)


class TemporaryPostgres:
    """`start()` makes and starts a cluster in `folder`; `new_database()` gives a URL each time."""

    def __init__(self, folder: Path, port: int = 55432) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = port
        self.bin = server_binaries()
        self._names = itertools.count()

    def _run(self, *command: str) -> None:
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_owner, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")

    def start(self) -> TemporaryPostgres:
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "kb",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = f"-k {self.folder} -p {self.port} -c listen_addresses='' -c fsync=off"
        log = str(self.folder / "server.log")
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", log, "-w", "start"
        )
        return self

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.folder), port=self.port, user="kb", dbname=database, autocommit=True
        )

    def new_database(self) -> str:
        """A SQLAlchemy URL of a new, empty database."""
        name = f"kb_test_{next(self._names)}"
        with self.connect() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://kb@/{name}?host={self.folder}&port={self.port}"
