"""Similar documents: every visible document scored by how well its passages cover this one's,
relative to how similar the library's other documents are, and by shared topic (industry,
service type, tags and the document's key terms); explained first by the most similar passage
pair."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from kb import store
from kb.access import Principal
from kb.catalog import get_document
from kb.models import Chunk, SimilarDocument
from kb.search import SearchService
from kb.text import normalize_for_index

LABEL_FIELDS = ("type", "industry", "service_type", "stage", "client")
CONTENT_WEIGHT = 0.5
FULL_CONTENT_Z = 3.0  # this many spreads above the typical pair counts as fully similar content
TOPIC_WEIGHTS = {"industry": 0.3, "service_type": 0.3, "tags": 0.15, "terms": 0.25}
CANDIDATE_TERMS = 60
KEY_TERMS = 20
COMMON_TERM_SHARE = 0.25  # words in more documents than this share are no key terms
SHOWN_TERMS = 5
PAIRS = 2
PAIR_TERM_BONUS = 0.01  # per key term both passages contain, when choosing the pairs
EXCERPT_CHARS = 120


@dataclass
class Source:
    """What similar documents are sought for: a stored document, or a text not in the library
    (a case brief), with its passages, their vectors and the labels it is compared by."""

    chunks: list[Chunk]
    vectors: np.ndarray | None
    meta: dict[str, Any]
    doc_id: str | None = None  # a stored document is never similar to itself


@dataclass
class _Context:
    """What one `similar_documents` call computes once about the source."""

    source: Source
    codes: np.ndarray  # per index row: document code of another candidate document, else -1
    names: list[str]  # document id by code
    key_terms: dict[str, float]  # key term -> weight (frequency here x rarity in the library)
    term_docs: dict[str, set[str]]  # key term -> visible documents containing it
    tag_weights: dict[str, float]  # normalised tag of the source -> rarity in the library


@lru_cache(maxsize=4096)
def _normal_tag(tag: str) -> str:
    """A tag as compared (tags are few and repeat across every document of a request)."""
    return normalize_for_index(tag)


def _norm_tags(meta: dict[str, Any]) -> dict[str, str]:
    return {_normal_tag(str(t)): str(t) for t in meta.get("tags", [])}


def shared_labels(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Label fields with equal values, and the tags both carry (in either script)."""
    shared: dict[str, Any] = {f: a[f] for f in LABEL_FIELDS if a.get(f) and a.get(f) == b.get(f)}
    theirs = _norm_tags(b)
    tags = [tag for key, tag in _norm_tags(a).items() if key in theirs]
    if tags:
        shared["tags"] = tags
    return shared


def stored_source(service: SearchService, doc_id: str) -> Source:
    """A stored document as the source: its indexed passages and their vectors."""
    snap = service.snapshot()
    with service.library.session() as session:
        chunks = list(store.chunks_of_document(session, doc_id=doc_id))
    chunks = [c for c in chunks if c.id in snap.chunk_doc]
    vectors = np.stack([snap.vectors.vector(c.id) for c in chunks]) if chunks else None
    return Source(chunks, vectors, snap.meta[doc_id], doc_id)


def _context(
    service: SearchService,
    source: Source,
    viewer: Principal,
    candidates: np.ndarray | None = None,
) -> _Context:
    """`candidates`, over document codes, narrows the documents that may be returned."""
    snap = service.snapshot()
    codes = snap.row_code.copy()
    allowed = service.allowed_rows(snap, [], viewer)
    if allowed is not None:
        codes[~allowed] = -1
    names = list(snap.doc_codes)
    visible = len(np.unique(codes[codes >= 0])) or 1
    if source.doc_id is not None:
        codes[codes == snap.doc_codes[source.doc_id]] = -1
    if candidates is not None:
        codes[(codes >= 0) & ~candidates[np.maximum(codes, 0)]] = -1
    counts = Counter(
        word
        for chunk in source.chunks
        for word in service.library.text.words(normalize_for_index(chunk.text))
        if len(word) > 1
    )
    key_terms: dict[str, float] = {}
    term_docs: dict[str, set[str]] = {}
    for word, count in counts.most_common(CANDIDATE_TERMS):
        docs = {names[c] for c in np.unique(codes[snap.lexical.scores([word]) > 0]) if c >= 0}
        if len(docs) + 1 <= COMMON_TERM_SHARE * visible:
            key_terms[word] = count * math.log(visible / (len(docs) + 1))
            term_docs[word] = docs
    kept = sorted(key_terms, key=lambda w: -key_terms[w])[:KEY_TERMS]
    return _Context(
        source,
        codes,
        names,
        {w: key_terms[w] for w in kept},
        {w: term_docs[w] for w in kept},
        _tag_weights(snap.meta, source.meta, {names[c] for c in np.unique(codes[codes >= 0])}),
    )


def _tag_weights(
    meta: dict[str, dict[str, Any]], own: dict[str, Any], others: set[str]
) -> dict[str, float]:
    """Each tag of the source, weighted by how few of the other documents carry it."""
    carried = Counter(tag for other in others for tag in _norm_tags(meta[other]))
    return {tag: math.log((len(others) + 1) / (carried[tag] + 1)) for tag in _norm_tags(own)}


def _coverage(service: SearchService, ctx: _Context) -> dict[str, float]:
    """For each other visible document: the mean, over this document's passages, of the best
    cosine similarity to one of its passages."""
    rows = np.flatnonzero(ctx.codes >= 0)
    if ctx.source.vectors is None or not len(rows):
        return {}
    rows = rows[np.argsort(ctx.codes[rows], kind="stable")]
    sims = service.snapshot().vectors.scores(ctx.source.vectors, rows)
    starts = np.flatnonzero(np.diff(ctx.codes[rows], prepend=-2))
    best = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
    return {ctx.names[ctx.codes[rows[s]]]: float(v) for s, v in zip(starts, best, strict=True)}


def _shared_terms(ctx: _Context, other: str) -> list[str]:
    """The key terms of the source document that the other one contains, weightiest first."""
    return [w for w in ctx.key_terms if other in ctx.term_docs[w]]


def _share(weights: dict[str, float], shared: list[str]) -> float:
    """The part of the total weight that the shared items carry (0-1)."""
    total = sum(weights.values())
    return sum(weights[w] for w in shared) / total if total else 0.0


def _topic(ctx: _Context, labels: dict[str, Any], terms: list[str]) -> float:
    """0-1: shared industry, service type, tags and key terms, the rarer the more (type is no
    topic)."""
    tags = [_normal_tag(str(t)) for t in labels.get("tags", [])]
    return (
        TOPIC_WEIGHTS["industry"] * ("industry" in labels)
        + TOPIC_WEIGHTS["service_type"] * ("service_type" in labels)
        + TOPIC_WEIGHTS["tags"] * _share(ctx.tag_weights, tags)
        + TOPIC_WEIGHTS["terms"] * _share(ctx.key_terms, terms)
    )


def similar_documents(
    service: SearchService, doc_id: str, *, viewer: Principal, k: int = 5
) -> list[SimilarDocument]:
    """The k visible documents closest to `doc_id`. `score` (0-1) mixes content, measured
    against the library (0: the median document, 1: three standard deviations above), with
    shared topic."""
    get_document(service.library, doc_id, viewer=viewer)
    return similar_to(service, stored_source(service, doc_id), viewer=viewer, k=k)


def similar_to(
    service: SearchService,
    source: Source,
    *,
    viewer: Principal,
    k: int = 5,
    candidates: np.ndarray | None = None,
) -> list[SimilarDocument]:
    """The k visible documents (among `candidates`, a mask over document codes) closest to a
    source, scored and explained as `similar_documents` does."""
    ctx = _context(service, source, viewer, candidates)
    coverage = _coverage(service, ctx)
    if not coverage:
        return []
    meta = service.snapshot().meta
    values = np.asarray(list(coverage.values()))
    typical = float(np.median(values))
    scale = FULL_CONTENT_Z * max(float(values.std()), 1e-6)
    ranked = []
    for other, value in coverage.items():
        labels = shared_labels(source.meta, meta[other])
        terms = _shared_terms(ctx, other)
        content = min(1.0, max(0.0, (value - typical) / scale))
        score = CONTENT_WEIGHT * content + (1 - CONTENT_WEIGHT) * _topic(ctx, labels, terms)
        ranked.append((score, value, other, labels, terms))
    ranked.sort(key=lambda item: (-item[0], -item[1]))
    return [_explain(service, ctx, item) for item in ranked[:k]]


def _passage_pairs(service: SearchService, ctx: _Context, other: str) -> list[dict[str, Any]]:
    """The most similar passage pairs; shared key terms break near ties of the vectors."""
    snap = service.snapshot()
    with service.library.session() as session:
        theirs = [
            c for c in store.chunks_of_document(session, doc_id=other) if c.id in snap.chunk_doc
        ]
    sims = snap.vectors.scores(
        ctx.source.vectors, snap.vectors.rows_of(np.asarray([c.id for c in theirs]))
    )
    terms = _shared_terms(ctx, other)
    mine = [{t for t in terms if t in normalize_for_index(c.text)} for c in ctx.source.chunks]
    yours = [{t for t in terms if t in normalize_for_index(c.text)} for c in theirs]
    bonus = np.array([[len(a & b) for b in yours] for a in mine], dtype=np.float32)
    order = np.argsort(-(sims + PAIR_TERM_BONUS * bonus), axis=None)[:PAIRS]

    def side(chunk: Chunk) -> dict[str, Any]:
        excerpt = chunk.text[:EXCERPT_CHARS]
        return {
            "chunk_id": chunk.id,
            "ordinal": chunk.ordinal,
            "heading": chunk.heading,
            "text": excerpt,
        }

    return [
        {
            "similarity": round(float(sims[a, b]), 4),
            "source": side(ctx.source.chunks[a]),
            "target": side(theirs[b]),
            "shared_terms": sorted(mine[a] & yours[b], key=terms.index),
        }
        for a, b in (np.unravel_index(i, sims.shape) for i in order)
    ]


def _section(heading: str) -> str:
    return heading.split(" > ")[-1] or "正文"


def _reasons(pairs: list[dict[str, Any]], labels: dict[str, Any], terms: list[str]) -> list[str]:
    """Why, most telling first: the passage pair, then shared topic; type is never a reason."""
    reasons = []
    if pairs:
        best = pairs[0]
        reasons.append(
            f"相似段落：{_section(best['source']['heading'])} ↔ "
            f"{_section(best['target']['heading'])}（{best['similarity']:.2f}）"
        )
    named = {"industry": "相同行业", "service_type": "相同服务类型", "stage": "相同阶段"}
    reasons += [f"{name}：{labels[f]}" for f, name in named.items() if f in labels]
    if labels.get("tags"):
        reasons.append(f"相同标签：{'、'.join(labels['tags'])}")
    if terms:
        reasons.append(f"共同关键词：{'、'.join(terms[:SHOWN_TERMS])}")
    return reasons


def _explain(service: SearchService, ctx: _Context, item: tuple) -> SimilarDocument:
    score, value, other, labels, terms = item
    pairs = _passage_pairs(service, ctx, other)
    snap = service.snapshot()
    document = snap.docs[other]
    return SimilarDocument(
        doc_id=other,
        title=document.title,
        type=document.type,
        score=round(score, 4),
        percent=round(100 * score),
        similarity=round(value, 4),
        shared_labels=labels,
        shared_terms=terms[:SHOWN_TERMS],
        reasons=_reasons(pairs, labels, terms),
        passage_pairs=pairs,
        metadata=snap.meta[other],
    )
