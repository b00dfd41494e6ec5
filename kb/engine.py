"""Where the search indexes live: one base class for the engine that holds them (local files, or
Milvus), so that the library writes and the search service reads through the same calls."""

from __future__ import annotations

import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kb.indexfiles import MANIFEST, Manifest, build_folder, file_lock, read_manifest
from kb.lexical import Postings
from kb.segments import Segment, load_index, merged_base, switch_compacted, write_base, write_delta
from kb.vectors import VectorIndex

if TYPE_CHECKING:
    from kb.library import Library

IndexRow = tuple[int, str, str, bytes]  # chunk id, doc id, tokens joined by spaces, embedding
COMPACT_LOCK_FILE = "compact.lock"


@dataclass
class Delta:
    """What a write changes besides adding rows: chunks that left, documents changed or removed."""

    tombstones: np.ndarray
    documents: list[dict[str, Any]] = field(default_factory=list)  # their fields, no text
    removed: list[str] = field(default_factory=list)


class LexicalSide(Protocol):
    """BM25 over the rows of an index (see `kb.lexical.LexicalIndex`)."""

    def top(
        self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[tuple[int, float]], np.ndarray, np.ndarray]: ...

    def scores(self, query_tokens: list[str]) -> np.ndarray: ...


class VectorSide(Protocol):
    """Vector search over the rows of an index (see `kb.vectors.SegmentedVectors`)."""

    def ids(self) -> np.ndarray: ...

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]: ...

    def rows_at_least(
        self, query: np.ndarray, floor: float, allowed: np.ndarray | None = None
    ) -> np.ndarray: ...

    def scores(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray: ...

    def scan(self, query: np.ndarray) -> np.ndarray: ...

    def vector(self, chunk_id: int) -> np.ndarray: ...


class PassageIndex(Protocol):
    """What a search snapshot holds of an engine: both sides over the same rows (ascending
    chunk id), the rows removed since the last merge, and the manifest it was read at."""

    manifest: Manifest
    lexical: LexicalSide
    vectors: VectorSide
    dead: np.ndarray


class IndexEngine(ABC):
    """Writes and opens the search indexes of a library; the database stays the source."""

    name: str
    follows_deltas = False  # whether a reader can load just the new deltas of a manifest
    merges_writes = True  # whether writes pile up as deltas that a compaction merges

    def __init__(self, library: Library) -> None:
        self.library = library

    @abstractmethod
    def manifest(self) -> Manifest | None:
        """What the current index holds, None when there is none yet."""

    @abstractmethod
    def signature(self) -> Any:
        """A value that changes whenever the index changes (readers compare it per request)."""

    @abstractmethod
    def build(self, manifest: Manifest, rows: Sequence[IndexRow]) -> Manifest:
        """A new index of every row, switched to at once."""

    @abstractmethod
    def add(self, manifest: Manifest, rows: Sequence[IndexRow], delta: Delta) -> Manifest:
        """New rows, and the removals and document changes of a write."""

    @abstractmethod
    def compact(self) -> Manifest | None:
        """Fold the writes since the last build into a new base; None when another merge runs
        or a rebuild replaced the index meanwhile."""

    @abstractmethod
    def open(self, chunk_doc: dict[int, str]) -> PassageIndex:
        """The current index for searching; `chunk_doc` is the database's passages."""

    def status(self) -> dict[str, Any]:
        """Whether the engine answers, for the health endpoint."""
        return {"engine": self.name, "ok": True}


class LocalEngine(IndexEngine):
    """BM25 postings and FAISS vectors as files in the data dir: a base plus delta segments."""

    name = "local"
    follows_deltas = True

    @property
    def data_dir(self) -> Path:
        return self.library.data_dir

    def manifest(self) -> Manifest | None:
        return read_manifest(self.data_dir)

    def signature(self) -> Any:
        try:
            stat = (self.data_dir / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def segment(self, rows: Sequence[IndexRow], graph_from: int) -> Segment:
        """A segment of rows in ascending chunk id, with an HNSW graph when it has at least
        `graph_from` rows."""
        shared: dict[str, str] = {}  # one string object per distinct token: memory at scale
        ids = [row[0] for row in rows]
        tokens = [[shared.setdefault(t, t) for t in row[2].split(" ") if t] for row in rows]
        matrix = embeddings(rows, self.library.embedder.dim)
        vectors = VectorIndex.build(np.asarray(ids, dtype=np.int64), matrix, graph_from=graph_from)
        segment = Segment(Postings.build(ids, tokens), vectors)
        segment.chunk_docs = [row[1] for row in rows]
        return segment

    def build(self, manifest: Manifest, rows: Sequence[IndexRow]) -> Manifest:
        segment = self.segment(rows, graph_from=self.library.settings.ann_threshold)
        segment.chunk_docs = []
        return write_base(self.data_dir, manifest, segment)

    def add(self, manifest: Manifest, rows: Sequence[IndexRow], delta: Delta) -> Manifest:
        segment = self.segment(rows, graph_from=len(rows) + 1)
        segment.tombstones, segment.documents = delta.tombstones, delta.documents
        segment.removed = delta.removed
        return write_delta(self.data_dir, manifest, segment)

    def compact(self) -> Manifest | None:
        """The deltas are merged from the segment files while readers and writers go on; deltas
        written meanwhile are carried over at the switch."""
        library = self.library
        with file_lock(self.data_dir / COMPACT_LOCK_FILE, wait=False) as taken:
            if not taken:
                return None
            index = load_index(self.data_dir, library.embedder.id, library.settings.ef_search)
            if not index.deltas:
                return index.manifest
            built = build_folder(self.data_dir)
            merged_base(index, graph_from=library.settings.ann_threshold).save(built)
            with library.write_lock():
                current = self.manifest()
                known = index.manifest.deltas
                if (
                    current is None
                    or current.generation != index.manifest.generation
                    or current.deltas[: len(known)] != known
                ):
                    shutil.rmtree(built, ignore_errors=True)
                    return None
                current.built_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                return switch_compacted(self.data_dir, current, index.manifest, built)

    def open(self, chunk_doc: dict[int, str]) -> PassageIndex:
        return load_index(self.data_dir, self.library.embedder.id, self.library.settings.ef_search)


def embeddings(rows: Sequence[IndexRow], dim: int) -> np.ndarray:
    """The rows' stored embeddings as one float32 matrix."""
    matrix = np.zeros((len(rows), dim), dtype=np.float32)
    for at, row in enumerate(rows):
        matrix[at] = np.frombuffer(row[3], dtype=np.float32)
    return matrix


def open_engine(library: Library) -> IndexEngine:
    """The engine the settings name (`KB_ENGINE`)."""
    if library.settings.engine == "milvus":
        from kb.milvus_engine import MilvusEngine

        return MilvusEngine(library)
    return LocalEngine(library)
