"""Label suggestions: predicted labels for documents that lack a label field, kept apart from
human labels. Accepting one makes it a human label (re-applied when the file is ingested again);
rejecting drops it. Human labels are never overwritten."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlmodel import Session

from kb import store
from kb.classify import Classifier, label_descriptions, label_fields, visible_neighbours
from kb.errors import InvalidQueryError, NotFoundError
from kb.library import Library, mark_dirty
from kb.models import CORE_FIELDS, Document, Suggestion, utcnow
from kb.search import document_metadata


def suggest_for(
    library: Library,
    doc_ids: list[str],
    classifier: Classifier | None = None,
    *,
    stale_ok: bool = False,
) -> int:
    """Store a pending suggestion for every listed document lacking a suggest field (with
    `stale_ok`, from the model at hand even if labels changed since it was trained)."""
    if not doc_ids:
        return 0
    classifier = classifier or Classifier(library)
    stored = 0
    vectors = classifier.document_vectors()
    with library.session() as session:
        documents = {d: store.get_document(session, doc_id=d) for d in doc_ids}
        for field in library.settings.suggest_fields:
            missing = [
                d
                for d, doc in documents.items()
                if doc is not None and d in vectors and field not in document_metadata(doc)
            ]
            if not missing:
                continue
            matrix = np.stack([vectors[d] for d in missing])
            try:
                predictions = classifier.predict_vectors(field, matrix, stale_ok=stale_ok)
            except InvalidQueryError:
                continue  # no labelled examples and no label list for this field yet
            for doc_id, prediction in zip(missing, predictions, strict=True):
                store.replace_pending_suggestion(
                    session,
                    suggestion=Suggestion(
                        doc_id=doc_id,
                        field=field,
                        label=prediction.label,
                        probability=prediction.probability,
                        method=prediction.method,
                        candidates=prediction.candidates,
                        neighbours=prediction.neighbours,
                    ),
                )
                stored += 1
        session.commit()
    return stored


def set_label(document: Document, field: str, label: str) -> None:
    """Give a document a human label (a column for core fields, front matter otherwise)."""
    if field in CORE_FIELDS:
        setattr(document, field, label)
    document.meta = {**(document.meta or {}), field: label}


def reapply_accepted(session: Session, document: Document) -> None:
    """After a re-ingest: accepted labels come back unless the file now carries the field."""
    for suggestion in store.list_suggestions(session, status="accepted", doc_id=document.id):
        if suggestion.field not in document_metadata(document):
            set_label(document, suggestion.field, suggestion.label)


def visible_suggestions(
    library: Library,
    *,
    is_visible: Callable[[str], bool],
    status: str | None = "pending",
    field: str | None = None,
    doc_id: str | None = None,
) -> list[Suggestion]:
    """Suggestions on documents the viewer may see, explained only by documents it may see and
    naming only labels it can see on some document (or in labels.yaml)."""
    with library.session() as session:
        rows = store.list_suggestions(session, status=status, field=field, doc_id=doc_id)
    rows = [row for row in rows if is_visible(row.doc_id)]
    if not rows:
        return []
    described = label_descriptions(library)
    seen = label_fields(library, is_visible=is_visible)
    out = []
    for row in rows:
        known = set(seen.get(row.field, {})) | set(described.get(row.field, {}))
        if row.label not in known:
            continue
        update = {
            "neighbours": visible_neighbours(row.neighbours, is_visible),
            "candidates": [c for c in row.candidates if c["label"] in known],
        }
        out.append(row.model_copy(update=update))
    return out


def _pending(session: Session, suggestion_id: int, is_visible: Callable[[str], bool]) -> Suggestion:
    suggestion = store.get_suggestion(session, suggestion_id=suggestion_id)
    if suggestion is None or not is_visible(suggestion.doc_id):
        raise NotFoundError(f"建议 {suggestion_id} 不存在")
    if suggestion.status != "pending":
        raise InvalidQueryError(f"建议 {suggestion_id} 已经处理过（{suggestion.status}）")
    return suggestion


def accept(
    library: Library, suggestion_id: int, *, is_visible: Callable[[str], bool]
) -> Suggestion:
    """Turn a suggestion into a human label; search filters, facets and training then use it."""
    with library.writing() as changes, library.session() as session:
        suggestion = _pending(session, suggestion_id, is_visible)
        document = store.get_document(session, doc_id=suggestion.doc_id)
        if document is not None and suggestion.field not in document_metadata(document):
            set_label(document, suggestion.field, suggestion.label)
            session.add(document)
            mark_dirty(session, "label")
            changes.changed.add(document.id)
        suggestion.status, suggestion.decided_at = "accepted", utcnow()
        session.add(suggestion)
        session.commit()
        session.refresh(suggestion)
        library.index_changes(changes)
    return suggestion


def reject(
    library: Library, suggestion_id: int, *, is_visible: Callable[[str], bool]
) -> Suggestion:
    with library.session() as session:
        suggestion = _pending(session, suggestion_id, is_visible)
        suggestion.status, suggestion.decided_at = "rejected", utcnow()
        session.add(suggestion)
        session.commit()
        session.refresh(suggestion)
    return suggestion
