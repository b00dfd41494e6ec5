"""Similar documents: nearest by passage vectors, explained by shared labels and the most
similar passage pairs."""

from __future__ import annotations

from typing import Any

import numpy as np

from kb import store
from kb.access import Principal
from kb.catalog import get_document
from kb.models import SimilarDocument
from kb.search import SearchService

LABEL_FIELDS = ("type", "industry", "service_type", "stage", "client")
LABEL_BOOST = 0.02
CANDIDATE_CHUNKS = 200
PAIRS = 2


def shared_labels(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Label fields with equal values, and the tags both carry."""
    shared: dict[str, Any] = {f: a[f] for f in LABEL_FIELDS if a.get(f) and a.get(f) == b.get(f)}
    tags = [t for t in a.get("tags", []) if t in set(b.get("tags", []))]
    if tags:
        shared["tags"] = tags
    return shared


def _doc_vectors(service: SearchService, doc_id: str) -> tuple[list[int], np.ndarray]:
    snap = service.snapshot()
    ids = snap.doc_chunks.get(doc_id, [])
    if not ids:
        return [], np.zeros((0, snap.vectors.dim), dtype=np.float32)
    return ids, np.stack([snap.vectors.vector(cid) for cid in ids])


def similar_documents(
    service: SearchService, doc_id: str, *, viewer: Principal, k: int = 5
) -> list[SimilarDocument]:
    """The k visible documents closest to `doc_id`: coverage of its passages by theirs, plus
    shared labels."""
    get_document(service.library, doc_id, viewer=viewer)
    snap = service.snapshot()
    ids, vectors = _doc_vectors(service, doc_id)
    if not ids:
        return []
    centroid = vectors.mean(axis=0)
    centroid /= np.linalg.norm(centroid) or 1.0
    allowed = service.allowed_rows(snap, [], viewer)
    near = snap.vectors.search(centroid, CANDIDATE_CHUNKS, allowed)
    candidates = list(
        dict.fromkeys(snap.chunk_doc[c] for c, _ in near if snap.chunk_doc[c] != doc_id)
    )
    results = []
    for other in candidates[: k * 4]:
        other_ids, other_vectors = _doc_vectors(service, other)
        sims = vectors @ other_vectors.T
        coverage = float(sims.max(axis=1).mean())
        labels = shared_labels(snap.meta[doc_id], snap.meta[other])
        boost = LABEL_BOOST * sum(1 for f in ("industry", "service_type", "type") if f in labels)
        results.append((coverage + boost, other, labels, sims, other_ids))
    results.sort(key=lambda item: -item[0])
    return [_explain(service, doc_id, ids, item) for item in results[:k]]


def _explain(service: SearchService, doc_id: str, ids: list[int], item: tuple) -> SimilarDocument:
    score, other, labels, sims, other_ids = item
    snap = service.snapshot()
    flat = np.argsort(-sims, axis=None)[:PAIRS]
    pairs_idx = [np.unravel_index(i, sims.shape) for i in flat]
    wanted = [ids[a] for a, _ in pairs_idx] + [other_ids[b] for _, b in pairs_idx]
    with service.library.session() as session:
        chunks = store.get_chunks(session, ids=wanted)
    pairs = [
        {
            "similarity": round(float(sims[a, b]), 4),
            "source": {
                "chunk_id": ids[a],
                "heading": chunks[ids[a]].heading,
                "text": chunks[ids[a]].text[:120],
            },
            "target": {
                "chunk_id": other_ids[b],
                "heading": chunks[other_ids[b]].heading,
                "text": chunks[other_ids[b]].text[:120],
            },
        }
        for a, b in pairs_idx
    ]
    document = snap.docs[other]
    return SimilarDocument(
        doc_id=other,
        title=document.title,
        type=document.type,
        score=round(score, 4),
        shared_labels=labels,
        passage_pairs=pairs,
        metadata=snap.meta[other],
    )
