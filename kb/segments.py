"""Index segments: the base of a generation plus the deltas written since, each with its BM25
postings and vectors; a delta also lists the chunks it removes from earlier segments
(tombstones) and the metadata of the documents it changed. Loading, appending and merging."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from kb.indexfiles import (
    LEXICAL_DIR,
    VECTORS_DIR,
    Manifest,
    build_folder,
    checked_manifest,
    switch_generation,
    write_manifest,
)
from kb.lexical import LexicalIndex, Postings
from kb.vectors import IDS_FILE, SegmentedVectors, VectorIndex

TOMBSTONES = "tombstones.npy"
DOCUMENTS = "documents.json"


@dataclass
class Segment:
    """One segment as written: postings and vectors of the same rows, in ascending chunk id."""

    postings: Postings
    vectors: VectorIndex
    tombstones: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    documents: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunk_docs: list[str] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        self.postings.save(folder / LEXICAL_DIR)
        self.vectors.save(folder / VECTORS_DIR)
        np.save(folder / TOMBSTONES, self.tombstones)
        content = {"documents": self.documents, "removed": self.removed, "chunks": self.chunk_docs}
        (folder / DOCUMENTS).write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, ef_search: int) -> Segment:
        postings = Postings.load(folder / LEXICAL_DIR)
        vectors = VectorIndex.load(folder / VECTORS_DIR, ef_search=ef_search)
        if not np.array_equal(postings.ids, vectors.ids()):
            raise ValueError(f"{folder.name}：BM25 与向量的分块不一致")
        segment = cls(postings, vectors)
        if (folder / TOMBSTONES).exists():
            segment.tombstones = np.load(folder / TOMBSTONES)
            content = json.loads((folder / DOCUMENTS).read_text(encoding="utf-8"))
            segment.documents = content["documents"]
            segment.removed = content["removed"]
            segment.chunk_docs = content["chunks"]
        return segment


class IndexSet:
    """The segments of one manifest searched as one index: rows numbered across segments in
    order, and `dead` marking rows that a later delta removed."""

    def __init__(self, manifest: Manifest, segments: list[Segment], dim: int) -> None:
        self.manifest = manifest
        self.segments = segments
        parts = [segments[0], _joined(segments[1:], dim)] if len(segments) > 1 else segments
        self.lexical = LexicalIndex([s.postings for s in parts])
        self.vectors = SegmentedVectors([s.vectors for s in parts], dim)
        self.dead = self._dead_rows()

    def _dead_rows(self) -> np.ndarray:
        ids = self.vectors.ids()
        dead = np.zeros(len(ids), dtype=bool)
        start = 0
        for segment in self.segments:
            before = ids[:start]
            at = np.searchsorted(before, segment.tombstones)
            hit = at < len(before)
            hit[hit] = before[at[hit]] == segment.tombstones[hit]
            dead[at[hit]] = True
            start += len(segment.postings)
        return dead

    @property
    def deltas(self) -> list[Segment]:
        return self.segments[1:]

    def extended(self, manifest: Manifest, more: list[Segment]) -> IndexSet:
        return IndexSet(manifest, self.segments + more, self.vectors.dim)


def _joined(deltas: list[Segment], dim: int) -> Segment:
    """The deltas' rows as one exactly searched part, so that a query does its per-part work
    twice (base and deltas), however many deltas are pending."""
    postings = Postings.merge(
        [d.postings for d in deltas], [np.ones(len(d.postings), dtype=bool) for d in deltas]
    )
    matrix = np.concatenate([d.vectors.rows(np.arange(len(d.vectors))) for d in deltas])
    matrix = matrix.reshape(-1, dim)
    return Segment(postings, VectorIndex.build(postings.ids, matrix, graph_from=len(matrix) + 1))


def load_index(data_dir: Path, embedder_id: str, ef_search: int = 1024) -> IndexSet:
    """The current base and deltas, refusing an index of another embedder or format."""
    manifest = checked_manifest(data_dir, embedder_id)
    folder = data_dir / manifest.generation
    segments = [Segment.load(folder, ef_search)]
    segments += [Segment.load(folder / name, ef_search) for name in manifest.deltas]
    return IndexSet(manifest, segments, manifest.dim)


def load_deltas(
    data_dir: Path, index: IndexSet, manifest: Manifest, ef_search: int = 1024
) -> IndexSet | None:
    """The index extended by the deltas a newer manifest added to the same base, or None when
    the manifest is of another base (a compaction or rebuild: load it whole)."""
    known = index.manifest.deltas
    if manifest.generation != index.manifest.generation or manifest.deltas[: len(known)] != known:
        return None
    folder = data_dir / manifest.generation
    added = [Segment.load(folder / name, ef_search) for name in manifest.deltas[len(known) :]]
    return index.extended(manifest, added)


def write_base(data_dir: Path, manifest: Manifest, segment: Segment) -> Manifest:
    """Save a base segment as a new generation without deltas and switch to it."""
    built = build_folder(data_dir)
    segment.save(built)
    manifest.deltas, manifest.delta_chunks, manifest.merged_from = [], 0, None
    manifest.max_chunk_id = int(segment.postings.ids[-1]) if len(segment.postings) else 0
    return switch_generation(data_dir, manifest, built)


def write_delta(data_dir: Path, manifest: Manifest, segment: Segment) -> Manifest:
    """Save a delta into the current generation and append it to the manifest."""
    folder = data_dir / manifest.generation
    drop_unlisted_deltas(folder, manifest)
    name = f"delta-{len(manifest.deltas) + 1:06d}-{os.getpid()}-{os.urandom(3).hex()}"
    built = build_folder(data_dir)
    segment.save(built)
    os.replace(built, folder / name)
    manifest.deltas = [*manifest.deltas, name]
    manifest.delta_chunks += len(segment.postings)
    if len(segment.postings):
        manifest.max_chunk_id = int(segment.postings.ids[-1])
    write_manifest(data_dir, manifest)
    return manifest


def drop_unlisted_deltas(folder: Path, manifest: Manifest) -> list[str]:
    """Remove delta folders that no manifest lists (a writer died between the two steps)."""
    dropped = []
    for path in folder.glob("delta-*"):
        if path.name not in manifest.deltas:
            shutil.rmtree(path, ignore_errors=True)
            dropped.append(path.name)
    return dropped


def merged_base(index: IndexSet, graph_from: int) -> Segment:
    """One segment of every live row of an index (the work of a compaction)."""
    offsets = index.lexical.offsets
    keeps = [~index.dead[start:end] for start, end in pairwise(offsets)]
    postings = Postings.merge(index.lexical.parts, keeps)
    matrix = index.vectors.matrix(np.flatnonzero(~index.dead))
    vectors = VectorIndex.build(postings.ids, matrix, graph_from=graph_from)
    return Segment(postings, vectors)


def switch_compacted(
    data_dir: Path, current: Manifest, merged_from: Manifest, built: Path
) -> Manifest:
    """Make a merged base (of `merged_from`'s segments) the new generation, carrying over the
    deltas written since the merge began."""
    later = current.deltas[len(merged_from.deltas) :]
    old_folder = data_dir / current.generation
    for name in later:
        shutil.copytree(old_folder / name, built / name)
    later_rows = sum(len(np.load(built / n / VECTORS_DIR / IDS_FILE, mmap_mode="r")) for n in later)
    current.deltas, current.delta_chunks = later, later_rows
    current.merged_from = {"generation": merged_from.generation, "deltas": merged_from.deltas}
    return switch_generation(data_dir, current, built)
