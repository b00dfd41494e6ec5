"""The index folder: a generation directory per build plus `manifest.json` naming the current one.

A build writes a fresh `gen-*` folder, then atomically replaces `manifest.json`; readers follow
the manifest, so a crash never leaves a half-written index in use. Nothing is pickled.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from kb.errors import IndexMismatchError, IndexMissingError
from kb.lexical import LexicalIndex
from kb.vectors import VectorIndex

FORMAT_VERSION = 2  # 2: vectors as a memory-mapped matrix plus an optional HNSW graph
MANIFEST = "manifest.json"
VECTORS_DIR = "vectors"
LEXICAL_DIR = "bm25"
KEEP_GENERATIONS = 2


@dataclass
class Manifest:
    """What an index build contains and how it was made."""

    format_version: int
    generation: str
    embedder: str
    dim: int
    documents: int
    chunks: int
    text_config: str
    built_at: str


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


def save_generation(
    data_dir: Path, manifest: Manifest, lexical: LexicalIndex, vectors: VectorIndex
) -> Manifest:
    """Write both indexes to a new generation folder and switch the manifest to it."""
    generation = f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    tmp = Path(tempfile.mkdtemp(dir=data_dir, prefix=".build-"))
    vectors.save(tmp / VECTORS_DIR)
    lexical.save(tmp / LEXICAL_DIR)
    os.replace(tmp, data_dir / generation)
    manifest.generation = generation
    manifest.format_version = FORMAT_VERSION
    write_atomic(data_dir / MANIFEST, json.dumps(asdict(manifest), ensure_ascii=False, indent=2))
    _drop_old_generations(data_dir, keep=generation)
    return manifest


def _drop_old_generations(data_dir: Path, keep: str) -> None:
    generations = sorted(
        (p for p in data_dir.glob("gen-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime,
    )
    for old in generations[: max(0, len(generations) - (KEEP_GENERATIONS - 1))]:
        shutil.rmtree(old, ignore_errors=True)
    for stale in data_dir.glob(".build-*"):
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)


def load_generation(
    data_dir: Path, embedder_id: str, ef_search: int = 1024
) -> tuple[Manifest, LexicalIndex, VectorIndex]:
    """Open the current indexes, refusing ones built for another embedder or format."""
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
    folder = data_dir / manifest.generation
    lexical = LexicalIndex.load(folder / LEXICAL_DIR)
    vectors = VectorIndex.load(folder / VECTORS_DIR, ef_search=ef_search)
    return manifest, lexical, vectors
