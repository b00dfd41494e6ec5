"""Hybrid search service: lexical and dense candidates, fusion, filters, facets, highlights,
grouping by document. Loads the indexes once and follows the manifest when it changes."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from kb import store
from kb.access import Principal
from kb.engine import LexicalSide, PassageIndex, VectorSide
from kb.errors import InvalidQueryError
from kb.facets import FacetTable
from kb.filters import Filter, parse_filters
from kb.fusion import convex_fusion, rrf_fusion
from kb.highlight import snippet
from kb.indexfiles import Manifest, read_manifest
from kb.library import Library
from kb.models import Document, Hit, SearchResult
from kb.segments import IndexSet, Segment, load_deltas, load_index
from kb.sources import shown_source, source_roots

MODES = ("hybrid", "lexical", "dense")
PASSAGES_PER_DOC = 3
WEAK_HITS = 5  # nearest passages shown, folded, when nothing is relevant enough
SCAN_FROM = 8  # rank the tail from a full scan when it holds more than 1/8 of the rows


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
class Matches:
    """A query's matching passages best first, as index rows and the score shown for each, and
    the nearest passages below the relevance floor when nothing matched."""

    rows: np.ndarray
    scores: np.ndarray
    weak: list[tuple[int, float]]

    def page(self, ids: np.ndarray, start: int, stop: int) -> list[tuple[int, float]]:
        """(chunk id, score) of the ranked passages from `start` to `stop`."""
        rows, scores = self.rows[start:stop], self.scores[start:stop]
        return [(int(c), float(v)) for c, v in zip(ids[rows], scores, strict=True)]


@dataclass
class _Snapshot:
    """Indexes and document metadata of one manifest (a base and its deltas)."""

    index: PassageIndex
    docs: dict[str, Document]
    meta: dict[str, dict[str, Any]]
    chunk_doc: dict[int, str]
    doc_chunks: dict[str, list[int]]
    doc_codes: dict[str, int]
    row_code: np.ndarray  # per index row: its document's code, -1 when removed or unknown
    facet_table: FacetTable
    roots: list[str]
    visible_by_scope: dict[tuple, np.ndarray] = field(default_factory=dict)
    rows_by_scope: dict[tuple, np.ndarray] = field(default_factory=dict)

    @property
    def manifest(self) -> Manifest:
        return self.index.manifest

    @property
    def lexical(self) -> LexicalSide:
        return self.index.lexical

    @property
    def vectors(self) -> VectorSide:
        return self.index.vectors

    @cached_property
    def live_rows(self) -> np.ndarray | None:
        """Over index rows: those of present documents; None when that is every row."""
        live = self.row_code >= 0
        return None if live.all() else live

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


def assemble(
    index: PassageIndex,
    docs: dict[str, Document],
    meta: dict[str, dict[str, Any]],
    chunk_doc: dict[int, str],
    roots: list[str],
    facet_fields: list[str],
) -> _Snapshot:
    """A snapshot of an index and the documents its live rows belong to."""
    doc_chunks: dict[str, list[int]] = defaultdict(list)
    for chunk_id in sorted(chunk_doc):
        doc_chunks[chunk_doc[chunk_id]].append(chunk_id)
    doc_codes = {doc_id: code for code, doc_id in enumerate(docs)}
    ids = index.vectors.ids()
    row_code = np.fromiter(
        (doc_codes.get(chunk_doc.get(int(i), ""), -1) for i in ids), dtype=np.int64, count=len(ids)
    )
    row_code[index.dead] = -1
    table = FacetTable([meta[d] for d in docs], facet_fields)
    return _Snapshot(index, docs, meta, chunk_doc, doc_chunks, doc_codes, row_code, table, roots)


class SearchService:
    """`search`, `similar` and document access over a library; safe to share across threads."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.settings = library.settings
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._signature: tuple | None = None
        self.loads = {"full": 0, "deltas": 0, "merged": 0}  # how the snapshot followed

    def snapshot(self) -> _Snapshot:
        """The current indexes: when the manifest changed, the new deltas are loaded onto the
        snapshot, or the whole index when its base changed (a merge or rebuild) or when the
        engine keeps the passages itself (then only the database's documents are read)."""
        signature = self.library.index_engine.signature()
        with self._lock:
            if self._snapshot is None or signature != self._signature:
                self._snapshot = self._follow(self._snapshot)
                self._signature = signature
            return self._snapshot

    def _follow(self, current: _Snapshot | None) -> _Snapshot:
        if current is not None and self.library.index_engine.follows_deltas:
            try:
                newer = self._load_newer(current)
            except FileNotFoundError:  # a merge replaced the generation meanwhile
                newer = None
            if newer is not None:
                snapshot, how = newer
                self.loads[how] += 1
                return snapshot
        self.loads["full"] += 1
        try:
            return self._load()
        except FileNotFoundError:  # the generation just read was replaced: load the newer one
            return self._load()

    def _load(self) -> _Snapshot:
        self.library.recover()
        with self.library.session() as session:
            docs = {d.id: d for d in store.list_documents(session)}
            chunk_doc = {cid: did for cid, did, _ in store.chunk_locations(session)}
            roots = source_roots(session)
        index = self.library.index_engine.open(chunk_doc)
        meta = {doc_id: document_metadata(doc) for doc_id, doc in docs.items()}
        return assemble(index, docs, meta, chunk_doc, roots, self.settings.facet_fields)

    def _load_newer(self, snap: _Snapshot) -> tuple[_Snapshot, str] | None:
        """The snapshot brought up to the current manifest without reading the database's
        documents: new deltas onto its base ("deltas"), or the base a merge made of segments it
        already holds ("merged"); None when the index was rebuilt (load it whole)."""
        data_dir, ef_search = self.library.data_dir, self.settings.ef_search
        manifest = read_manifest(data_dir)
        if manifest is None:
            return None
        index = load_deltas(data_dir, snap.index, manifest, ef_search)
        if index is not None:
            return self._applied(snap, index, index.deltas[len(snap.index.deltas) :]), "deltas"
        known, merged = snap.manifest.deltas, manifest.merged_from
        if (
            not merged
            or merged["generation"] != snap.manifest.generation
            or known[: len(merged["deltas"])] != merged["deltas"]
        ):
            return None
        index = load_index(data_dir, self.library.embedder.id, ef_search)
        names = index.manifest.deltas
        unseen = [
            delta for name, delta in zip(names, index.deltas, strict=True) if name not in known
        ]
        return self._applied(snap, index, unseen), "merged"

    def _applied(self, snap: _Snapshot, index: IndexSet, deltas: list[Segment]) -> _Snapshot:
        """A snapshot of an index, its documents those of `snap` changed by the given deltas."""
        docs, meta, chunk_doc = dict(snap.docs), dict(snap.meta), dict(snap.chunk_doc)
        for delta in deltas:
            for doc_id in delta.removed:
                docs.pop(doc_id, None)
                meta.pop(doc_id, None)
            for fields in delta.documents:
                document = Document.model_validate({**fields, "text": ""})
                docs[document.id] = document
                meta[document.id] = document_metadata(document)
            for chunk_id in delta.tombstones:
                chunk_doc.pop(int(chunk_id), None)
            chunk_doc.update(zip(delta.postings.ids.tolist(), delta.chunk_docs, strict=True))
        with self.library.session() as session:
            roots = source_roots(session)
        return assemble(index, docs, meta, chunk_doc, roots, self.settings.facet_fields)

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
                return snap.live_rows
            if viewer.scope not in snap.rows_by_scope:
                snap.rows_by_scope[viewer.scope] = snap.row_mask(snap.visible_mask(viewer))
            return snap.rows_by_scope[viewer.scope]
        return snap.row_mask(self.matching_mask(snap, filters, viewer))

    @property
    def dense_floor(self) -> float:
        """Similarity below which a passage sharing no word with the query is no hit."""
        floor = self.settings.dense_floor
        return self.library.embedder.relevance_floor if floor is None else floor

    def candidates(
        self,
        snap: _Snapshot,
        query: str,
        *,
        mode: str,
        n: int,
        filters: list[Filter],
        viewer: Principal,
    ) -> Matches:
        """Every visible passage passing the filters that matches the query, best first. A
        passage matches when it shares a term with the query or (except in lexical mode) its
        vector reaches the dense floor; membership does not depend on n or on the filters beyond
        taking their part, so facet counts and totals agree."""
        allowed = self.allowed_rows(snap, filters, viewer)
        tokens = self.library.text.query_tokens(query)
        lexical, lexical_rows, lexical_scores = snap.lexical.top(tokens, n, allowed)
        matches = np.zeros(len(snap.row_code), dtype=bool)
        matches[lexical_rows] = True
        dense: list[tuple[int, float]] = []
        vector = None
        if mode != "lexical":
            vector = self.library.embedder.embed_query(query)
            dense = snap.vectors.search(vector, n, allowed)
            matches[snap.vectors.rows_at_least(vector, self.dense_floor, allowed)] = True
        matches &= snap.row_code >= 0 if allowed is None else allowed
        fused = self._fuse(mode, [] if mode == "dense" else lexical, dense)
        rows, scores = self._rank(snap, mode, fused, matches, lexical_scores, vector)
        weak = [] if matches.any() else dense[:WEAK_HITS]
        return Matches(rows, scores, weak)

    @staticmethod
    def _rank(
        snap: _Snapshot,
        mode: str,
        fused: list[tuple[int, float]],
        matches: np.ndarray,
        lexical_scores: np.ndarray,
        vector: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The matching rows best first, with their shown scores: the fused candidates that
        match, then the other matches in the mode's own order (BM25 score, vector similarity,
        or both in that order)."""
        rows = snap.vectors.rows_of(np.asarray([c for c, _ in fused], dtype=np.int64))
        fused_scores = np.asarray([score for _, score in fused], dtype=np.float64)
        keep = matches[rows] if len(rows) else np.zeros(0, dtype=bool)
        rows, fused_scores = rows[keep], fused_scores[keep]
        listed = np.zeros(len(matches), dtype=bool)
        listed[rows] = True
        rest = np.flatnonzero(matches & ~listed)
        if not len(rest):
            return rows, fused_scores
        lexical = lexical_scores[rest]
        if vector is None:
            similarity = np.zeros(len(rest))
        elif len(rest) > len(matches) // SCAN_FROM:  # one pass over the matrix beats gathering
            similarity = snap.vectors.scan(vector)[rest]
        else:
            similarity = snap.vectors.scores(vector.reshape(1, -1), rest)[0]
        keys = {"lexical": [lexical], "dense": [similarity]}.get(mode, [lexical, similarity])
        order = np.lexsort([-key for key in reversed(keys)])
        shown = {"lexical": lexical, "dense": similarity}.get(mode, np.zeros(len(rest)))
        return np.concatenate([rows, rest[order]]), np.concatenate([fused_scores, shown[order]])

    def _fuse(
        self, mode: str, lexical: list[tuple[int, float]], dense: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        if mode != "hybrid":
            return list(lexical or dense)
        weights = (self.settings.lexical_weight, self.settings.dense_weight)
        if self.settings.fusion == "convex":
            return convex_fusion(lexical, dense, weights)
        return rrf_fusion(lexical, dense, weights, self.settings.rrf_k)

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
        """The k best passages (or documents with `by_doc`) for a query, with facets counted in
        the same unit (passages, or documents with `by_doc`) over every match."""
        started = time.perf_counter()
        query = self.validate(query, k, mode, offset)
        parsed = parse_filters(filters)
        snap = self.snapshot()
        n = k * self.settings.candidates_factor
        found = self.candidates(snap, query, mode=mode, n=n, filters=parsed, viewer=viewer)
        codes = snap.row_code[found.rows]
        facets = snap.facet_table.counts(np.unique(codes) if by_doc else codes)
        ids = snap.vectors.ids()
        if by_doc:
            total, page = self._document_page(found, codes, ids, offset, k)
        else:
            total = len(found.rows)
            page = [[item] for item in found.page(ids, offset, offset + k)]
        hits = self._hits(snap, query, page, by_doc=by_doc, viewer=viewer)
        weak = [[item] for item in found.weak]  # only when nothing matched
        weak_hits = self._hits(snap, query, weak, by_doc=False, viewer=viewer) if weak else []
        took = (time.perf_counter() - started) * 1000
        return SearchResult(
            query=query,
            mode=mode,
            total=total,
            hits=hits,
            facets=facets,
            took_ms=took,
            weak_hits=weak_hits,
        )

    @staticmethod
    def _document_page(
        found: Matches, codes: np.ndarray, ids: np.ndarray, offset: int, k: int
    ) -> tuple[int, list[list[tuple[int, float]]]]:
        """The number of matching documents, and the page of them (ordered by their best
        passage) with up to PASSAGES_PER_DOC passages each, best first."""
        documents, first = np.unique(codes, return_index=True)
        shown = documents[np.argsort(first, kind="stable")][offset : offset + k]
        page = []
        for code in shown:
            at = np.flatnonzero(codes == code)[:PASSAGES_PER_DOC]
            page.append([(int(ids[found.rows[i]]), float(found.scores[i])) for i in at])
        return len(documents), page

    def library_facets(
        self, *, viewer: Principal, filters: list[str] | None = None
    ) -> dict[str, dict[str, int]]:
        """Facet counts over every visible document of the library that passes the filters."""
        snap = self.snapshot()
        mask = self.matching_mask(snap, parse_filters(filters), viewer)
        return snap.facet_table.counts(np.flatnonzero(mask))

    def _hits(
        self,
        snap: _Snapshot,
        query: str,
        page: list[list[tuple[int, float]]],
        *,
        by_doc: bool,
        viewer: Principal,
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
                    source=shown_source(doc.source, snap.roots, viewer),
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
