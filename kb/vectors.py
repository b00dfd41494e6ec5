"""Vector search over chunk vectors: an exact inner-product scan of a memory-mapped matrix, plus an
HNSW graph (FAISS) once a library is large enough; rows are in ascending chunk id order."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

MIN_SIMILARITY = 1e-6  # a neighbour sharing nothing with the query is no candidate
IDS_FILE = "ids.npy"
MATRIX_FILE = "matrix.npy"
GRAPH_FILE = "hnsw.faiss"
EXACT_BELOW = 0.05  # filters keeping fewer rows than this share are searched exactly


class ChunkRows:
    """Rows numbered in ascending chunk id: how many, which ids, and where given ids are."""

    _ids: np.ndarray

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self) -> np.ndarray:
        """The chunk ids held, in row order."""
        return self._ids

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._ids, chunk_ids)


class VectorIndex(ChunkRows):
    """Nearest chunks of a query vector, optionally restricted to a row mask."""

    def __init__(
        self, ids: np.ndarray, matrix: np.ndarray, graph: faiss.Index | None, ef_search: int
    ) -> None:
        self._ids = ids
        self._matrix = matrix
        self._graph = graph
        self.ef_search = ef_search

    @classmethod
    def build(
        cls,
        ids: np.ndarray,
        matrix: np.ndarray,
        *,
        graph_from: int,
        m: int = 32,
        ef_construction: int = 200,
        ef_search: int = 1024,
    ) -> VectorIndex:
        """Exact search only, or with an HNSW graph when there are at least `graph_from` rows."""
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        graph = None
        if len(ids) >= graph_from and len(ids):
            graph = faiss.IndexHNSWFlat(matrix.shape[1], m, faiss.METRIC_INNER_PRODUCT)
            graph.hnsw.efConstruction = ef_construction
            graph.add(matrix)
        return cls(ids.astype(np.int64), matrix, graph, ef_search)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / IDS_FILE, self._ids)
        np.save(folder / MATRIX_FILE, self._matrix)
        if self._graph is not None:
            faiss.write_index(self._graph, str(folder / GRAPH_FILE))

    @classmethod
    def load(cls, folder: Path, ef_search: int = 1024) -> VectorIndex:
        """The matrix is memory-mapped: processes serving one library share its pages."""
        graph_path = folder / GRAPH_FILE
        graph = faiss.read_index(str(graph_path)) if graph_path.exists() else None
        matrix = np.load(folder / MATRIX_FILE, mmap_mode="r")
        return cls(np.load(folder / IDS_FILE), matrix, graph, ef_search)

    @property
    def dim(self) -> int:
        return int(self._matrix.shape[1])

    @property
    def approximate(self) -> bool:
        return self._graph is not None

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given rows."""
        return np.asarray(self._matrix[rows])

    def vector(self, chunk_id: int) -> np.ndarray:
        return self.rows(self.rows_of(np.asarray([chunk_id])))[0]

    def scan(self, query: np.ndarray) -> np.ndarray:
        """The query's inner product with every row (an exact scan)."""
        return np.asarray(self._matrix @ np.asarray(query, dtype=np.float32).reshape(-1))

    def rows_at_least(self, query: np.ndarray, floor: float) -> np.ndarray:
        """Every row whose similarity to the query reaches the floor: an exact scan, or a range
        search of the HNSW graph (approximate) in a large library. Independent of any filter,
        so that a filtered query matches exactly the filtered part of the unfiltered matches."""
        if len(self) == 0:
            return np.zeros(0, dtype=np.int64)
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if self._graph is None:
            return np.flatnonzero(self.scan(query) >= floor)
        params = faiss.SearchParametersHNSW()
        params.efSearch = self.ef_search
        _, _, rows = self._graph.range_search(query.reshape(1, -1), floor, params=params)
        return np.unique(rows.astype(np.int64))

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, inner product) of the k nearest rows, among `allowed` rows if given."""
        if len(self) == 0 or k <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        if allowed is None:
            rows, scores = self._nearest(query, k, None)
        else:
            count = int(allowed.sum())
            if count == 0:
                return []
            if count < EXACT_BELOW * len(self):
                rows, scores = self._exact_subset(query, k, np.flatnonzero(allowed))
            elif self._graph is None:  # most rows allowed: scan them all, then mask
                scores = np.where(allowed, self.scan(query), -np.inf)
                rows, scores = _top(scores, min(k, count))
            else:
                rows, scores = self._nearest(query, k, allowed, share=count / len(self))
        return [
            (int(self._ids[r]), float(s))
            for r, s in zip(rows, scores, strict=True)
            if r >= 0 and s > MIN_SIMILARITY
        ]

    def _nearest(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None, share: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, len(self))
        if self._graph is None:
            return _top(self._matrix @ query, k)
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(self.ef_search, k, int(min(4 * k / share, 1024)))
        bitmap = np.packbits(allowed, bitorder="little") if allowed is not None else None
        if bitmap is not None:
            params.sel = faiss.IDSelectorBitmap(bitmap)  # `bitmap` outlives the search
        scores, rows = self._graph.search(query.reshape(1, -1), k, params=params)
        return rows[0], scores[0]

    def _exact_subset(
        self, query: np.ndarray, k: int, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        best, scores = _top(self._matrix[rows] @ query, min(k, len(rows)))
        return rows[best], scores


def _top(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions and values of the k largest scores, best first (ties in position order)."""
    best = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    best = best[np.lexsort((best, -scores[best]))]
    return best, scores[best]


class SegmentedVectors(ChunkRows):
    """The vector indexes of a base and its deltas as one, rows numbered across them in order
    (chunk ids ascend across segments: the database never reuses one)."""

    def __init__(self, parts: list[VectorIndex], dim: int) -> None:
        self.parts = parts
        self._dim = dim
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self._ids = (
            np.concatenate([p.ids() for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        )

    def extended(self, more: list[VectorIndex]) -> SegmentedVectors:
        return SegmentedVectors(self.parts + more, self._dim)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def approximate(self) -> bool:
        return any(p.approximate for p in self.parts)

    def _pieces(self, rows: np.ndarray):
        """Per segment: its index, the positions in `rows` it holds and their local rows."""
        part_of = np.searchsorted(self.offsets, rows, side="right") - 1
        for number, part in enumerate(self.parts):
            where = np.flatnonzero(part_of == number)
            if len(where):
                yield part, where, rows[where] - self.offsets[number]

    def matrix(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of the given rows."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.zeros((len(rows), self._dim), dtype=np.float32)
        for part, where, local in self._pieces(rows):
            out[where] = part.rows(local)
        return out

    def scores(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Inner products of each query vector with the given rows (queries x rows)."""
        return np.asarray(queries, dtype=np.float32) @ self.matrix(rows).T

    def vector(self, chunk_id: int) -> np.ndarray:
        return self.matrix(self.rows_of(np.asarray([chunk_id])))[0]

    def scan(self, query: np.ndarray) -> np.ndarray:
        """The query's inner product with every row (an exact scan)."""
        if not self.parts:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate([p.scan(query) for p in self.parts])

    def rows_at_least(
        self, query: np.ndarray, floor: float, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Every row reaching the floor, segment by segment (see VectorIndex.rows_at_least),
        among `allowed` rows if given."""
        found = [
            p.rows_at_least(query, floor) + o
            for p, o in zip(self.parts, self.offsets, strict=False)
        ]
        rows = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return rows if allowed is None else rows[allowed[rows]]

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """The k nearest allowed rows over every segment."""
        found: list[tuple[int, float]] = []
        for part, start, end in zip(self.parts, self.offsets, self.offsets[1:], strict=False):
            found += part.search(query, k, None if allowed is None else allowed[start:end])
        return sorted(found, key=lambda item: -item[1])[:k]
