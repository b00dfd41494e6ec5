"""FAISS vector index with 64-bit ids equal to chunk ids (exact inner product)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

MIN_SIMILARITY = 1e-6  # a neighbour sharing nothing with the query is no candidate


class VectorIndex:
    """Nearest chunks of a query vector, optionally restricted to a set of chunk ids."""

    def __init__(self, index: faiss.Index) -> None:
        self._index = index

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int) -> VectorIndex:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if len(ids):
            index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), ids.astype(np.int64)
            )
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> VectorIndex:
        return cls(faiss.read_index(str(path)))

    @property
    def dim(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """The chunk ids held by the index."""
        return faiss.vector_to_array(self._index.id_map)

    def vector(self, chunk_id: int) -> np.ndarray:
        return self._index.reconstruct(int(chunk_id))

    def search(
        self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, inner product) of the k nearest chunks."""
        if len(self) == 0 or k <= 0:
            return []
        params = None
        if allowed_ids is not None:
            if len(allowed_ids) == 0:
                return []
            selector = faiss.IDSelectorBatch(allowed_ids.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)
        k = min(k, len(self))
        scores, ids = self._index.search(query.reshape(1, -1).astype(np.float32), k, params=params)
        return [
            (int(i), float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if i != -1 and s > MIN_SIMILARITY
        ]
