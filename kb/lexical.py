"""BM25 over stored jieba tokens (bm25s), saved as plain files beside the chunk ids."""

from __future__ import annotations

import logging
from pathlib import Path

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    """BM25 scores of every chunk for a tokenised query; row i is chunk `ids[i]`."""

    def __init__(self, bm25: bm25s.BM25 | None, ids: np.ndarray) -> None:
        self._bm25 = bm25
        self.ids = ids

    @classmethod
    def build(cls, ids: list[int], token_lists: list[list[str]]) -> LexicalIndex:
        if not ids:
            return cls(None, np.zeros(0, dtype=np.int64))
        bm25 = bm25s.BM25()
        bm25.index(token_lists, show_progress=False)
        return cls(bm25, np.asarray(ids, dtype=np.int64))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "chunk_ids.npy", self.ids)
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        ids = np.load(folder / "chunk_ids.npy")
        if len(ids) == 0:
            return cls(None, ids)
        bm25 = bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)
        return cls(bm25, ids)

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score per row (0 where no query token occurs)."""
        known = [t for t in query_tokens if self._bm25 is not None and t in self._bm25.vocab_dict]
        if not known or self._bm25 is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def top(
        self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[tuple[int, float]], np.ndarray, np.ndarray]:
        """(chunk id, score) of the k best rows with a positive score among allowed rows, every
        matching row (a query's matches, which facets count) and the score of every row."""
        scores = self.scores(query_tokens)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        positive = np.flatnonzero(scores > 0)
        if len(positive) > k:
            positive_best = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        else:
            positive_best = positive
        best = positive_best[np.argsort(-scores[positive_best], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in best], positive, scores
