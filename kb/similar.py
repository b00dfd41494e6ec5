"""Similar documents: every visible document scored by how well its passages cover this one's,
relative to the library's typical pair, plus shared topic (industry, service type, tags, title
terms); explained first by the most similar passage pair."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from kb import store
from kb.access import Principal
from kb.catalog import get_document
from kb.models import SimilarDocument
from kb.search import SearchService
from kb.text import normalize_for_index

LABEL_FIELDS = ("type", "industry", "service_type", "stage", "client")
TOPIC_WEIGHTS = {"industry": 0.35, "service_type": 0.35, "tags": 0.2, "terms": 0.1}
CONTENT_WEIGHT = 0.6
TAGS_FOR_FULL_WEIGHT = 2
TERMS_FOR_FULL_WEIGHT = 2
COMMON_TERM_SHARE = 0.2  # title words in more documents than this share say nothing
PAIRS = 2
EXCERPT_CHARS = 120


def _norm_tags(meta: dict[str, Any]) -> dict[str, str]:
    return {normalize_for_index(str(t)): str(t) for t in meta.get("tags", [])}


def shared_labels(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Label fields with equal values, and the tags both carry (in either script)."""
    shared: dict[str, Any] = {f: a[f] for f in LABEL_FIELDS if a.get(f) and a.get(f) == b.get(f)}
    theirs = _norm_tags(b)
    tags = [tag for key, tag in _norm_tags(a).items() if key in theirs]
    if tags:
        shared["tags"] = tags
    return shared


def _coverage(service: SearchService, doc_id: str, viewer: Principal) -> dict[str, float]:
    """For each other visible document: the mean, over this document's passages, of the best
    cosine similarity to one of its passages."""
    snap = service.snapshot()
    ids = snap.doc_chunks.get(doc_id, [])
    if not ids:
        return {}
    own = np.stack([snap.vectors.vector(cid) for cid in ids])
    allowed = service.allowed_rows(snap, [], viewer)
    codes = snap.row_code.copy()
    codes[codes == snap.doc_codes[doc_id]] = -1
    if allowed is not None:
        codes[~allowed] = -1
    rows = np.flatnonzero(codes >= 0)
    if not len(rows):
        return {}
    rows = rows[np.argsort(codes[rows], kind="stable")]
    sims = snap.vectors.scores(own, rows)
    starts = np.flatnonzero(np.diff(codes[rows], prepend=-2))
    best = np.maximum.reduceat(sims, starts, axis=1).mean(axis=0)
    names = list(snap.doc_codes)
    return {names[codes[rows[s]]]: float(v) for s, v in zip(starts, best, strict=True)}


def _title_terms(service: SearchService, title: str) -> set[str]:
    words = service.library.text.words(normalize_for_index(title))
    return {w for w in words if len(w) > 1}


def _distinctive_terms(service: SearchService, titles: dict[str, str]) -> dict[str, set[str]]:
    """Title words of each document, leaving out those common across the library."""
    terms = {doc: _title_terms(service, title) for doc, title in titles.items()}
    counts: dict[str, int] = {}
    for words in terms.values():
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    limit = max(1, math.floor(COMMON_TERM_SHARE * len(terms)))
    return {doc: {w for w in words if counts[w] <= limit} for doc, words in terms.items()}


def _topic(labels: dict[str, Any], terms: list[str]) -> float:
    """0-1: shared industry, service type, tags and distinctive title words (never type)."""
    return (
        TOPIC_WEIGHTS["industry"] * ("industry" in labels)
        + TOPIC_WEIGHTS["service_type"] * ("service_type" in labels)
        + TOPIC_WEIGHTS["tags"] * min(1.0, len(labels.get("tags", [])) / TAGS_FOR_FULL_WEIGHT)
        + TOPIC_WEIGHTS["terms"] * min(1.0, len(terms) / TERMS_FOR_FULL_WEIGHT)
    )


def similar_documents(
    service: SearchService, doc_id: str, *, viewer: Principal, k: int = 5
) -> list[SimilarDocument]:
    """The k visible documents closest to `doc_id`. `score` (0-1) mixes content, measured
    against the typical pair (the median: 0 is typical, 1 identical), with shared topic."""
    get_document(service.library, doc_id, viewer=viewer)
    coverage = _coverage(service, doc_id, viewer)
    if not coverage:
        return []
    snap = service.snapshot()
    typical = float(np.median(list(coverage.values())))
    scale = max(1.0 - typical, 1e-6)
    titles = {d: snap.docs[d].title for d in [doc_id, *coverage]}
    terms = _distinctive_terms(service, titles)
    ranked = []
    for other, value in coverage.items():
        labels = shared_labels(snap.meta[doc_id], snap.meta[other])
        common = sorted(terms[doc_id] & terms[other])
        content = min(1.0, max(0.0, (value - typical) / scale))
        score = CONTENT_WEIGHT * content + (1 - CONTENT_WEIGHT) * _topic(labels, common)
        ranked.append((score, value, other, labels, common))
    ranked.sort(key=lambda item: (-item[0], -item[1]))
    return [_explain(service, doc_id, item) for item in ranked[:k]]


def _passage_pairs(service: SearchService, doc_id: str, other: str) -> list[dict[str, Any]]:
    snap = service.snapshot()
    ids, other_ids = snap.doc_chunks[doc_id], snap.doc_chunks[other]
    own = np.stack([snap.vectors.vector(cid) for cid in ids])
    sims = snap.vectors.scores(own, snap.vectors.rows_of(np.asarray(other_ids)))
    flat = np.argsort(-sims, axis=None)[:PAIRS]
    pairs_idx = [np.unravel_index(i, sims.shape) for i in flat]
    wanted = [ids[a] for a, _ in pairs_idx] + [other_ids[b] for _, b in pairs_idx]
    with service.library.session() as session:
        chunks = store.get_chunks(session, ids=wanted)

    def side(chunk_id: int) -> dict[str, Any]:
        chunk = chunks[chunk_id]
        return {"chunk_id": chunk_id, "heading": chunk.heading, "text": chunk.text[:EXCERPT_CHARS]}

    return [
        {
            "similarity": round(float(sims[a, b]), 4),
            "source": side(ids[a]),
            "target": side(other_ids[b]),
        }
        for a, b in pairs_idx
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
        reasons.append(f"标题共同词：{'、'.join(terms)}")
    return reasons


def _explain(service: SearchService, doc_id: str, item: tuple) -> SimilarDocument:
    score, value, other, labels, terms = item
    pairs = _passage_pairs(service, doc_id, other)
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
        shared_terms=terms,
        reasons=_reasons(pairs, labels, terms),
        passage_pairs=pairs,
        metadata=snap.meta[other],
    )
