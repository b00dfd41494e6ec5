"""BM25 over stored jieba tokens, kept per segment as postings (term frequencies) and scored with
statistics of all segments together, so that a base plus deltas scores as one index."""

from __future__ import annotations

import json
import math
import zlib
from array import array
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

POSTINGS_FORMAT = 1
K1, B = 1.5, 0.75  # Lucene's BM25 (as bm25s computes it)
ARRAYS = {
    "ids": "chunk_ids",
    "indptr": "indptr",
    "rows": "rows",
    "tfs": "tfs",
    "lengths": "lengths",
}


def bm25_idf(df: int, rows: int) -> float:
    """Lucene's inverse document frequency of a term held by `df` of `rows` rows."""
    return math.log(1 + (rows - df + 0.5) / (df + 0.5)) if df else 0.0


def term_weight(tf, length, mean_length: float):
    """A row's BM25 weight of a term before idf: tf / (tf + k1 (1 - b + b len / mean len))."""
    return tf / (tf + K1 * (1 - B + B * length / mean_length))


def term_id(term: str) -> int:
    """A term as a dimension of a sparse vector (32 bits, below Milvus's reserved 2**32 - 1)."""
    return zlib.crc32(term.encode("utf-8")) % 0xFFFFFFFF


class Postings:
    """One segment's postings: for each term of its vocabulary, the rows holding it and how
    often (a CSC matrix as three arrays), plus every row's length in tokens."""

    def __init__(
        self,
        ids: np.ndarray,
        vocab: dict[str, int],
        indptr: np.ndarray,
        rows: np.ndarray,
        tfs: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.ids = ids
        self.vocab = vocab
        self.indptr = indptr
        self.rows = rows
        self.tfs = tfs
        self.lengths = lengths

    @classmethod
    def build(cls, ids: Sequence[int], token_lists: Sequence[Sequence[str]]) -> Postings:
        vocab: dict[str, int] = {}
        terms, rows, tfs = array("i"), array("i"), array("f")
        lengths = np.zeros(len(token_lists), dtype=np.float32)
        for row, tokens in enumerate(token_lists):
            counts = Counter(tokens)
            terms.extend(vocab.setdefault(t, len(vocab)) for t in counts)
            tfs.extend(counts.values())
            rows.extend([row] * len(counts))
            lengths[row] = len(tokens)
        term_array = np.frombuffer(terms, dtype=np.int32)
        order = np.argsort(term_array, kind="stable")  # rows stay ascending within a term
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_array, minlength=len(vocab)), out=indptr[1:])
        return cls(
            np.asarray(ids, dtype=np.int64),
            vocab,
            indptr,
            np.frombuffer(rows, dtype=np.int32)[order],
            np.frombuffer(tfs, dtype=np.float32)[order],
            lengths,
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in ARRAYS:
            np.save(folder / f"{ARRAYS[name]}.npy", getattr(self, name))
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        (folder / "vocab.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        (folder / "postings.json").write_text(
            json.dumps({"format": POSTINGS_FORMAT, "k1": K1, "b": B}), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> Postings:
        info = json.loads((folder / "postings.json").read_text(encoding="utf-8"))
        if info.get("format") != POSTINGS_FORMAT:
            raise ValueError(f"postings format {info.get('format')} in {folder}")
        terms = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        arrays = {
            name: np.load(folder / f"{file}.npy", mmap_mode="r") for name, file in ARRAYS.items()
        }
        arrays["ids"] = np.asarray(arrays["ids"])
        return cls(vocab={t: i for i, t in enumerate(terms)}, **arrays)

    def __len__(self) -> int:
        return len(self.ids)

    def df(self, term: str) -> int:
        """How many rows hold the term."""
        at = self.vocab.get(term)
        return 0 if at is None else int(self.indptr[at + 1] - self.indptr[at])

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequencies) of a term."""
        at = self.vocab.get(term)
        if at is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        start, end = int(self.indptr[at]), int(self.indptr[at + 1])
        return np.asarray(self.rows[start:end]), np.asarray(self.tfs[start:end])

    @classmethod
    def merge(cls, parts: Sequence[Postings], keeps: Sequence[np.ndarray]) -> Postings:
        """One segment of the kept rows of several, in order (a compaction), without re-reading
        any text: the arrays are concatenated and re-sorted by term of a shared vocabulary."""
        vocab: dict[str, int] = {}
        terms, rows, tfs, ids, lengths = [], [], [], [], []
        offset = 0
        for part, keep in zip(parts, keeps, strict=True):
            local = sorted(part.vocab, key=part.vocab.__getitem__)
            to_shared = np.fromiter((vocab.setdefault(t, len(vocab)) for t in local), np.int64)
            new_row = np.cumsum(keep) - 1 + offset
            entry_terms = np.repeat(np.arange(len(local)), np.diff(np.asarray(part.indptr)))
            entry_rows = np.asarray(part.rows)
            kept = keep[entry_rows]
            terms.append(to_shared[entry_terms[kept]])
            rows.append(new_row[entry_rows[kept]])
            tfs.append(np.asarray(part.tfs)[kept])
            ids.append(part.ids[keep])
            lengths.append(np.asarray(part.lengths)[keep])
            offset += int(keep.sum())
        term_array = np.concatenate(terms) if terms else np.zeros(0, dtype=np.int64)
        order = np.argsort(term_array, kind="stable")
        used = np.bincount(term_array, minlength=len(vocab))
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(used, out=indptr[1:])
        merged = cls(
            np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
            vocab,
            indptr,
            np.concatenate(rows)[order].astype(np.int32) if rows else np.zeros(0, np.int32),
            np.concatenate(tfs)[order] if tfs else np.zeros(0, np.float32),
            np.concatenate(lengths) if lengths else np.zeros(0, np.float32),
        )
        return merged.without_unused_terms()

    def without_unused_terms(self) -> Postings:
        """The same postings with terms that no row holds any more left out of the vocabulary."""
        counts = np.diff(self.indptr)
        if counts.all():
            return self
        terms = sorted(self.vocab, key=self.vocab.__getitem__)
        kept = np.flatnonzero(counts)
        indptr = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(counts[kept], out=indptr[1:])
        vocab = {terms[t]: i for i, t in enumerate(kept)}
        return Postings(self.ids, vocab, indptr, self.rows, self.tfs, self.lengths)


class LexicalIndex:
    """BM25 scores of every row of a list of segments (rows numbered across them in order);
    document frequencies, row count and mean length are those of all segments together."""

    def __init__(self, parts: list[Postings]) -> None:
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.ids = np.concatenate([p.ids for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        total_length = sum(float(np.sum(p.lengths, dtype=np.float64)) for p in parts)
        self.mean_length = total_length / len(self.ids) if len(self.ids) else 1.0

    def extended(self, more: list[Postings]) -> LexicalIndex:
        return LexicalIndex(self.parts + more)

    def idf(self, term: str) -> float:
        return bm25_idf(sum(p.df(term) for p in self.parts), len(self.ids))

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score per row (0 where no query token occurs)."""
        out = np.zeros(len(self.ids), dtype=np.float32)
        for term in query_tokens:
            idf = self.idf(term)
            if not idf:
                continue
            for part, offset in zip(self.parts, self.offsets, strict=False):
                rows, tfs = part.postings(term)
                if not len(rows):
                    continue
                lengths = np.asarray(part.lengths)[rows]
                out[rows + offset] += idf * term_weight(tfs, lengths, self.mean_length)
        return out

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
