"""Searching a Milvus generation with the same calls as the local index: rows are the
database's passages in ascending chunk id, a row mask becomes a filter expression on document
ids inside the Milvus query, and every match is fetched (past Milvus's topk) so totals and
facets count them all."""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.indexfiles import Manifest
from kb.lexical import bm25_idf, term_id
from kb.vectors import MIN_SIMILARITY

if TYPE_CHECKING:
    from kb.milvus_engine import MilvusEngine

PAGE = 16384  # the most rows one Milvus search returns (its topk limit)
GET_BATCH = 1000
RANGE_SLACK = 1e-6  # Milvus's range search keeps scores above the radius; we want at least


class MilvusIndex:
    """One generation as a snapshot sees it: the rows it knows and both search sides."""

    def __init__(self, engine: MilvusEngine, manifest: Manifest, chunk_doc: dict[int, str]) -> None:
        self.engine = engine
        self.manifest = manifest
        self.chunks, self.terms = engine.names(manifest.generation)
        self.ids = np.fromiter(sorted(chunk_doc), dtype=np.int64, count=len(chunk_doc))
        self.names = sorted(set(chunk_doc.values()))
        codes = {name: code for code, name in enumerate(self.names)}
        self.row_doc = np.fromiter(
            (codes[chunk_doc[int(i)]] for i in self.ids), dtype=np.int64, count=len(self.ids)
        )
        self.dead = np.zeros(len(self.ids), dtype=bool)
        self.ef_search = engine.library.settings.ef_search
        self.lexical = MilvusLexical(self)
        self.vectors = MilvusVectors(self)

    def expression(self, allowed: np.ndarray | None) -> str | None:
        """The Milvus filter of a row mask: "" for every row, None for none; the documents'
        ids as `in` or `not in`, whichever list is shorter."""
        if allowed is None:
            return ""
        codes = np.unique(self.row_doc[allowed])
        if not len(codes):
            return None
        if len(codes) == len(self.names):
            return ""
        inside = 2 * len(codes) <= len(self.names)
        listed = codes if inside else np.setdiff1d(np.arange(len(self.names)), codes)
        values = ", ".join(json.dumps(self.names[c], ensure_ascii=False) for c in listed)
        return f"doc_id {'in' if inside else 'not in'} [{values}]"

    def search(
        self, field: str, query: Any, limit: int, expression: str, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of up to `limit` best matches, best first, past Milvus's topk when
        asked; passages this snapshot does not know (written since) are left out."""
        search_params = {"metric_type": "IP", "params": params}
        ids, scores = self._page(field, query, min(limit, PAGE), expression, search_params)
        if len(ids) == PAGE and limit > PAGE:
            ids, scores = self._every(field, query, expression, search_params)
            best = np.lexsort((ids, -scores))[:limit]
            ids, scores = ids[best], scores[best]
        return self._known(ids, scores)

    def _page(
        self, field: str, query: Any, limit: int, expression: str, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        found = self.engine.connection.call(
            "search",
            self.chunks,
            data=[query],
            anns_field=field,
            limit=limit,
            filter=expression,
            search_params=params,
            output_fields=["id"],  # milvus-lite returns every field unless told
        )[0]
        ids = np.fromiter((hit["id"] for hit in found), dtype=np.int64, count=len(found))
        scores = np.fromiter((hit["distance"] for hit in found), dtype=np.float32, count=len(found))
        return ids, scores

    def _every(
        self, field: str, query: Any, expression: str, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every match: ranges of chunk ids searched apart, a range halved while its answer
        fills a whole page (exact, unlike Milvus's iterators, which lose ties at page ends)."""
        found_ids, found_scores = [], []
        ranges = [(0, len(self.ids))]
        while ranges:
            low, high = ranges.pop()
            within = f"id >= {self.ids[low]} and id <= {self.ids[high - 1]}"
            where = f"({expression}) and {within}" if expression else within
            ids, scores = self._page(field, query, PAGE, where, params)
            if len(ids) == PAGE and high - low > 1:
                middle = (low + high) // 2
                ranges += [(low, middle), (middle, high)]
            else:
                found_ids.append(ids)
                found_scores.append(scores)
        return np.concatenate(found_ids), np.concatenate(found_scores)

    def _known(self, ids: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.searchsorted(self.ids, ids)
        rows = np.minimum(rows, max(len(self.ids) - 1, 0))
        known = (self.ids[rows] == ids) if len(self.ids) else np.zeros(len(ids), dtype=bool)
        return rows[known], scores[known]

    def query_weights(self, tokens: list[str]) -> dict[int, float]:
        """The query as a sparse vector: each term's idf times its count (dot BM25 weights)."""
        counts = Counter(term_id(t) for t in tokens)
        stats = self.engine.stats(self.manifest.generation, sorted(counts))
        weights = {t: bm25_idf(stats.df[t], stats.rows) * n for t, n in counts.items()}
        return {t: w for t, w in weights.items() if w > 0}

    def fetch(self, rows: np.ndarray) -> np.ndarray:
        """The vectors of rows (zeros for a passage Milvus no longer holds)."""
        ids = self.ids[np.asarray(rows, dtype=np.int64)]
        found = self.engine.get(self.chunks, ids.tolist(), ["dense"])
        out = np.zeros((len(ids), self.manifest.dim), dtype=np.float32)
        for at, chunk_id in enumerate(ids.tolist()):
            if chunk_id in found:
                out[at] = found[chunk_id]["dense"]
        return out


class MilvusLexical:
    """BM25 through the passages' sparse weights: the same scores as `LexicalIndex`."""

    def __init__(self, index: MilvusIndex) -> None:
        self.index = index

    def top(
        self, query_tokens: list[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[list[tuple[int, float]], np.ndarray, np.ndarray]:
        """(chunk id, score) of the k best allowed rows, every matching allowed row, and the
        score of every row (0 outside the matches)."""
        index = self.index
        scores = np.zeros(len(index.ids), dtype=np.float32)
        expression = index.expression(allowed)
        weights = index.query_weights(query_tokens) if query_tokens else {}
        if expression is None or not weights or not len(index.ids):
            return [], np.zeros(0, dtype=np.int64), scores
        rows, values = index.search("sparse", weights, len(index.ids), expression, {})
        scores[rows] = values
        positive = np.flatnonzero(scores > 0)
        best = positive[np.lexsort((positive, -scores[positive]))][:k]
        return [(int(index.ids[r]), float(scores[r])) for r in best], positive, scores

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        return self.top(query_tokens, 0)[2]


class MilvusVectors:
    """Vector search in Milvus; similarities of given rows from their fetched vectors."""

    def __init__(self, index: MilvusIndex) -> None:
        self.index = index

    def ids(self) -> np.ndarray:
        return self.index.ids

    @property
    def approximate(self) -> bool:
        """Whether Milvus searches the vectors through an HNSW graph."""
        index = self.index
        described = index.engine.connection.call("describe_index", index.chunks, "dense")
        return described.get("index_type") == "HNSW"

    def rows_of(self, chunk_ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.index.ids, chunk_ids)

    def _params(self, k: int) -> dict[str, Any]:
        return {"ef": max(self.index.ef_search, min(k, PAGE))}

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        index = self.index
        expression = index.expression(allowed)
        if expression is None or k <= 0 or not len(index.ids):
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        rows, scores = index.search("dense", vector, k, expression, self._params(k))
        return [
            (int(index.ids[r]), float(s))
            for r, s in zip(rows, scores, strict=True)
            if s > MIN_SIMILARITY
        ]

    def rows_at_least(
        self, query: np.ndarray, floor: float, allowed: np.ndarray | None = None
    ) -> np.ndarray:
        """Every allowed row whose similarity reaches the floor (a range search)."""
        index = self.index
        expression = index.expression(allowed)
        if expression is None or not len(index.ids):
            return np.zeros(0, dtype=np.int64)
        vector = np.asarray(query, dtype=np.float32).reshape(-1)
        params = {**self._params(PAGE), "radius": floor - RANGE_SLACK}
        rows, scores = index.search("dense", vector, len(index.ids), expression, params)
        return np.sort(rows[scores >= floor])

    def scan(self, query: np.ndarray) -> np.ndarray:
        """The query's similarity with every row."""
        index = self.index
        out = np.zeros(len(index.ids), dtype=np.float32)
        if len(index.ids):
            vector = np.asarray(query, dtype=np.float32).reshape(-1)
            params = self._params(len(index.ids))
            rows, scores = index.search("dense", vector, len(index.ids), "", params)
            out[rows] = scores
        return out

    def scores(self, queries: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Inner products of each query vector with the given rows (queries x rows)."""
        return np.asarray(queries, dtype=np.float32) @ self.index.fetch(rows).T

    def vector(self, chunk_id: int) -> np.ndarray:
        return self.index.fetch(self.rows_of(np.asarray([chunk_id])))[0]
