"""The index folder: a generation directory per base build, its delta segments, and
`manifest.json` naming the current generation and its deltas in order.

A write puts a new folder in place (a base as `gen-*`, a delta inside its generation), then
atomically replaces `manifest.json`; readers follow the manifest, so a crash never leaves a
half-written index in use. Nothing is pickled.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import IndexMismatchError, IndexMissingError

FORMAT_VERSION = 3  # 3: a base plus delta segments, BM25 as postings scored across segments
MANIFEST = "manifest.json"
VECTORS_DIR = "vectors"
LEXICAL_DIR = "bm25"
KEEP_GENERATIONS = 2
BUILD_PREFIX = ".build-"


@dataclass
class Manifest:
    """What the current index contains and how it was made."""

    format_version: int
    generation: str
    embedder: str
    dim: int
    documents: int
    chunks: int
    text_config: str
    built_at: str
    deltas: list[str] = field(default_factory=list)
    delta_chunks: int = 0  # rows held by the deltas (tombstoned ones included)
    max_chunk_id: int = 0  # every later chunk has a larger id
    merged_from: dict[str, Any] | None = None  # the generation and deltas a merge made this of

    @property
    def state(self) -> str:
        """Changes with every write: the generation and its last delta."""
        return f"{self.generation}/{self.deltas[-1] if self.deltas else ''}"


def write_atomic(path: Path, content: str) -> None:
    """Write a text file through a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_manifest(data_dir: Path) -> Manifest | None:
    path = data_dir / MANIFEST
    if not path.exists():
        return None
    return Manifest(**json.loads(path.read_text(encoding="utf-8")))


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    manifest.format_version = FORMAT_VERSION
    write_atomic(data_dir / MANIFEST, json.dumps(asdict(manifest), ensure_ascii=False, indent=2))


def build_folder(data_dir: Path) -> Path:
    """A fresh folder to write a segment into, named after this process (see drop_leftovers)."""
    return Path(tempfile.mkdtemp(dir=data_dir, prefix=f"{BUILD_PREFIX}{os.getpid()}-"))


def new_generation_name() -> str:
    return f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"


def switch_generation(data_dir: Path, manifest: Manifest, built: Path) -> Manifest:
    """Move a built base folder into place as a new generation and point the manifest at it."""
    manifest.generation = new_generation_name()
    os.replace(built, data_dir / manifest.generation)
    write_manifest(data_dir, manifest)
    drop_old_generations(data_dir, keep=manifest.generation)
    return manifest


def drop_old_generations(data_dir: Path, keep: str) -> None:
    generations = sorted(
        (p for p in data_dir.glob("gen-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in generations[: max(0, len(generations) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    drop_leftovers(data_dir)


def leftovers(data_dir: Path) -> list[Path]:
    """Build folders of processes that died before finishing them."""
    found = []
    for folder in data_dir.glob(f"{BUILD_PREFIX}*"):
        pid = folder.name[len(BUILD_PREFIX) :].split("-")[0]
        if not pid.isdigit() or not _alive(int(pid)):
            found.append(folder)
    return found


def drop_leftovers(data_dir: Path) -> list[Path]:
    found = leftovers(data_dir)
    for folder in found:
        shutil.rmtree(folder, ignore_errors=True)
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checked_manifest(data_dir: Path, embedder_id: str) -> Manifest:
    """The current manifest, refusing an index built for another embedder or format."""
    manifest = read_manifest(data_dir)
    if manifest is None:
        raise IndexMissingError(f"{data_dir} 中还没有索引：请先运行 kb ingest <文件夹>")
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"索引格式版本为 {manifest.format_version}，当前程序需要 {FORMAT_VERSION}：请运行 kb rebuild"
        )
    if manifest.embedder != embedder_id:
        raise IndexMismatchError(
            f"索引由嵌入模型 {manifest.embedder} 构建，当前设置为 {embedder_id}："
            "请运行 kb rebuild 用当前模型重建索引（或改回 KB_EMBEDDER）"
        )
    return manifest


@contextmanager
def file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive lock on a file, released by the operating system if the process dies;
    yields False when `wait` is off and someone else holds it."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
