"""Hybrid search service: lexical and dense candidates, fusion, filters, facets, highlights,
grouping by document. Loads the indexes once and follows the manifest when it changes."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kb import store
from kb.access import Principal
from kb.errors import InvalidQueryError
from kb.facets import FacetTable
from kb.filters import Filter, parse_filters
from kb.fusion import convex_fusion, rrf_fusion
from kb.highlight import snippet
from kb.indexfiles import MANIFEST, Manifest, load_generation
from kb.lexical import LexicalIndex
from kb.library import Library
from kb.models import Document, Hit, SearchResult
from kb.vectors import VectorIndex

MODES = ("hybrid", "lexical", "dense")
PASSAGES_PER_DOC = 3


def document_metadata(document: Document) -> dict[str, Any]:
    """Every front-matter field of a document plus its core columns."""
    meta = dict(document.meta or {})
    meta.update(
        type=document.type,
        title=document.title,
        client=document.client,
        industry=document.industry,
        service_type=document.service_type,
        stage=document.stage,
        date=document.date,
        tags=list(document.tags or []),
        confidentiality=document.confidentiality,
    )
    return {k: v for k, v in meta.items() if v not in (None, "", [])}


@dataclass
class _Snapshot:
    """Indexes and document metadata of one index generation."""

    manifest: Manifest
    lexical: LexicalIndex
    vectors: VectorIndex
    docs: dict[str, Document]
    meta: dict[str, dict[str, Any]]
    chunk_doc: dict[int, str]
    doc_chunks: dict[str, list[int]]
    doc_codes: dict[str, int]
    row_code: np.ndarray
    facet_table: FacetTable
    visible_by_scope: dict[tuple, np.ndarray] = field(default_factory=dict)
    rows_by_scope: dict[tuple, np.ndarray] = field(default_factory=dict)

    def visible_mask(self, viewer: Principal) -> np.ndarray:
        """Over document codes: which documents a principal may see."""
        if viewer.scope not in self.visible_by_scope:
            self.visible_by_scope[viewer.scope] = np.fromiter(
                (viewer.can_see(d, meta) for d, meta in self.meta.items()),
                dtype=bool,
                count=len(self.meta),
            )
        return self.visible_by_scope[viewer.scope]

    def row_mask(self, doc_mask: np.ndarray) -> np.ndarray:
        """Over index rows: the rows of the documents in a document mask."""
        return np.append(doc_mask, False)[self.row_code]  # code -1 (no document) -> False


class SearchService:
    """`search`, `similar` and document access over a library; safe to share across threads."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.settings = library.settings
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._manifest_mtime = 0.0

    def snapshot(self) -> _Snapshot:
        """The current indexes, reloaded when another process has built a new generation."""
        path = self.library.data_dir / MANIFEST
        mtime = path.stat().st_mtime if path.exists() else 0.0
        with self._lock:
            if self._snapshot is None or mtime != self._manifest_mtime:
                self._snapshot = self._load()
                self._manifest_mtime = mtime
            return self._snapshot

    def _load(self) -> _Snapshot:
        self.library.recover()
        manifest, lexical, vectors = load_generation(
            self.library.data_dir, self.library.embedder.id, self.settings.ef_search
        )
        with self.library.session() as session:
            docs = {d.id: d for d in store.list_documents(session)}
            chunk_doc = {cid: did for cid, did, _ in store.chunk_locations(session)}
        meta = {doc_id: document_metadata(doc) for doc_id, doc in docs.items()}
        doc_chunks: dict[str, list[int]] = defaultdict(list)
        for chunk_id in sorted(chunk_doc):
            doc_chunks[chunk_doc[chunk_id]].append(chunk_id)
        doc_codes = {doc_id: code for code, doc_id in enumerate(docs)}
        row_code = np.fromiter(
            (doc_codes.get(chunk_doc.get(int(i), ""), -1) for i in lexical.ids),
            dtype=np.int64,
            count=len(lexical.ids),
        )
        table = FacetTable([meta[d] for d in docs], self.settings.facet_fields)
        return _Snapshot(
            manifest,
            lexical,
            vectors,
            docs,
            meta,
            chunk_doc,
            doc_chunks,
            doc_codes,
            row_code,
            table,
        )

    def visibility(self, viewer: Principal) -> Callable[[str], bool]:
        """Whether the viewer may see a document id (unknown ids are not visible)."""
        if self.library.manifest() is None:
            return lambda _doc_id: False  # an empty library
        snap = self.snapshot()
        if viewer.sees_everything:
            return snap.docs.__contains__
        mask, codes = snap.visible_mask(viewer), snap.doc_codes
        return lambda doc_id: doc_id in codes and bool(mask[codes[doc_id]])

    def validate(self, query: str, k: int, mode: str, offset: int = 0) -> str:
        query = (query or "").strip()
        if not query:
            raise InvalidQueryError("查询为空：请输入要查找的内容")
        if len(query) > self.settings.max_query_chars:
            raise InvalidQueryError(
                f"查询有 {len(query)} 个字符，超过上限 {self.settings.max_query_chars}：请缩短后再试"
            )
        if not 1 <= k <= self.settings.max_k:
            raise InvalidQueryError(f"k 必须在 1 到 {self.settings.max_k} 之间")
        if offset < 0:
            raise InvalidQueryError("offset 不能为负数")
        if mode not in MODES:
            raise InvalidQueryError(f"未知的检索模式 {mode!r}：可用 {', '.join(MODES)}")
        return query

    @staticmethod
    def matching_mask(snap: _Snapshot, filters: list[Filter], viewer: Principal) -> np.ndarray:
        """Over document codes: documents the viewer may see that pass the filters."""
        mask = snap.facet_table.matching(filters)
        return mask if viewer.sees_everything else mask & snap.visible_mask(viewer)

    def allowed_rows(
        self, snap: _Snapshot, filters: list[Filter], viewer: Principal
    ) -> np.ndarray | None:
        """The row mask (rows of both indexes) of visible documents passing the filters; None
        when every row is allowed."""
        if not filters:
            if viewer.sees_everything:
                return None
            if viewer.scope not in snap.rows_by_scope:
                snap.rows_by_scope[viewer.scope] = snap.row_mask(snap.visible_mask(viewer))
            return snap.rows_by_scope[viewer.scope]
        return snap.row_mask(self.matching_mask(snap, filters, viewer))

    def candidates(
        self,
        snap: _Snapshot,
        query: str,
        *,
        mode: str,
        n: int,
        filters: list[Filter],
        viewer: Principal,
    ) -> tuple[list[tuple[int, float]], np.ndarray]:
        """Fused (chunk id, score) candidates, best first, and the rows of the matching chunks:
        every visible chunk sharing a term with the query plus the dense candidates."""
        allowed = self.allowed_rows(snap, filters, viewer)
        lexical: list[tuple[int, float]] = []
        dense: list[tuple[int, float]] = []
        matched = [np.zeros(0, dtype=np.int64)]
        if mode in ("hybrid", "lexical"):
            tokens = self.library.text.query_tokens(query)
            lexical, lexical_rows = snap.lexical.top(tokens, n, allowed)
            matched.append(lexical_rows)
        if mode in ("hybrid", "dense"):
            vector = self.library.embedder.embed_query(query)
            dense = snap.vectors.search(vector, n, allowed)
            matched.append(snap.vectors.rows_of(np.asarray([c for c, _ in dense], dtype=np.int64)))
        matched = np.concatenate(matched)
        if mode != "hybrid":
            return lexical or dense, matched
        weights = (self.settings.lexical_weight, self.settings.dense_weight)
        if self.settings.fusion == "convex":
            return convex_fusion(lexical, dense, weights), matched
        return rrf_fusion(lexical, dense, weights, self.settings.rrf_k), matched

    def search(
        self,
        query: str,
        *,
        viewer: Principal,
        k: int = 10,
        mode: str = "hybrid",
        filters: list[str] | None = None,
        by_doc: bool = False,
        offset: int = 0,
    ) -> SearchResult:
        """The k best passages (or documents with `by_doc`) for a query, with facets."""
        started = time.perf_counter()
        query = self.validate(query, k, mode, offset)
        parsed = parse_filters(filters)
        snap = self.snapshot()
        n = k * self.settings.candidates_factor  # one pool for every page of this query
        ranked, matched = self.candidates(
            snap, query, mode=mode, n=n, filters=parsed, viewer=viewer
        )
        facets = snap.facet_table.counts(np.unique(snap.row_code[matched]))
        groups = self._group(snap, ranked) if by_doc else [[item] for item in ranked]
        page = groups[offset : offset + k]
        hits = self._hits(snap, query, page, by_doc)
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            query=query, mode=mode, total=len(groups), hits=hits, facets=facets, took_ms=took
        )

    @staticmethod
    def _group(snap: _Snapshot, ranked: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
        by_doc: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for chunk_id, score in ranked:
            by_doc[snap.chunk_doc[chunk_id]].append((chunk_id, score))
        return [items[:PASSAGES_PER_DOC] for items in by_doc.values()]

    def library_facets(
        self, *, viewer: Principal, filters: list[str] | None = None
    ) -> dict[str, dict[str, int]]:
        """Facet counts over every visible document of the library that passes the filters."""
        snap = self.snapshot()
        mask = self.matching_mask(snap, parse_filters(filters), viewer)
        return snap.facet_table.counts(np.flatnonzero(mask))

    def _hits(
        self, snap: _Snapshot, query: str, page: list[list[tuple[int, float]]], by_doc: bool
    ) -> list[Hit]:
        ids = [chunk_id for group in page for chunk_id, _ in group]
        with self.library.session() as session:
            chunks = store.get_chunks(session, ids=ids)
        terms = self.library.text.highlight_terms(query)
        width = self.settings.snippet_chars
        hits = []
        for found in page:
            group = [
                (cid, score)
                for cid, score in found
                if cid in chunks and chunks[cid].doc_id == snap.chunk_doc.get(cid)
            ]
            if not group:
                continue  # replaced by an ingest in another process since the index was read
            best_id, best_score = group[0]
            chunk = chunks[best_id]
            doc = snap.docs[chunk.doc_id]
            passages = None
            if by_doc:
                passages = [
                    {
                        "chunk_id": cid,
                        "heading": chunks[cid].heading,
                        "score": score,
                        "snippet": snippet(chunks[cid].text, terms, width, query),
                    }
                    for cid, score in group
                ]
            hits.append(
                Hit(
                    doc_id=doc.id,
                    chunk_id=best_id,
                    title=doc.title,
                    source=doc.source,
                    type=doc.type,
                    heading=chunk.heading,
                    text=chunk.text,
                    snippet=snippet(chunk.text, terms, width, query),
                    score=best_score,
                    metadata=snap.meta[doc.id],
                    passages=passages,
                )
            )
        return hits
