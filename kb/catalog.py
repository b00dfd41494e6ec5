"""The document catalogue: listing with filters and paging, detail with sections, deletion,
library statistics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from itertools import groupby

from kb import store
from kb.access import Principal
from kb.errors import InvalidQueryError, NotFoundError
from kb.filters import document_matches, parse_filters
from kb.library import Library, mark_dirty
from kb.models import (
    ChunkOut,
    Document,
    DocumentDetail,
    DocumentPage,
    DocumentSummary,
    LibraryStats,
    Section,
)
from kb.search import document_metadata
from kb.sources import shown_source, source_roots

MAX_PAGE_SIZE = 100


def summarize(document: Document, *, roots: list[str], viewer: Principal) -> DocumentSummary:
    return DocumentSummary(
        doc_id=document.id,
        title=document.title,
        type=document.type,
        source=shown_source(document.source, roots, viewer),
        format=document.format,
        chunk_count=document.chunk_count,
        updated_at=document.updated_at,
        metadata=document_metadata(document),
    )


def visible_documents(library: Library, *, viewer: Principal) -> list[Document]:
    """Every document the viewer may see, by id."""
    with library.session() as session:
        documents = store.list_documents(session)
    return [d for d in documents if viewer.can_see(d.id, document_metadata(d))]


def visible_ids(library: Library, doc_ids: Iterable[str], *, viewer: Principal) -> set[str]:
    """Those of the ids that exist and that the viewer may see."""
    with library.session() as session:
        found = [store.get_document(session, doc_id=d) for d in set(doc_ids)]
    return {d.id for d in found if d is not None and viewer.can_see(d.id, document_metadata(d))}


def list_documents(
    library: Library,
    *,
    viewer: Principal,
    filters: list[str] | None = None,
    offset: int = 0,
    limit: int = 20,
) -> DocumentPage:
    """Visible documents passing the filters, by id, one page at a time."""
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise InvalidQueryError(f"limit 必须在 1 到 {MAX_PAGE_SIZE} 之间，offset 不能为负数")
    parsed = parse_filters(filters)
    documents = [
        d
        for d in visible_documents(library, viewer=viewer)
        if document_matches(parsed, document_metadata(d))
    ]
    with library.session() as session:
        roots = source_roots(session)
    page = [summarize(d, roots=roots, viewer=viewer) for d in documents[offset : offset + limit]]
    return DocumentPage(total=len(documents), offset=offset, limit=limit, documents=page)


def get_document(library: Library, doc_id: str, *, viewer: Principal) -> Document:
    """A document the viewer may see; one it may not see is reported exactly like a missing one."""
    with library.session() as session:
        document = store.get_document(session, doc_id=doc_id)
    if document is None or not viewer.can_see(document.id, document_metadata(document)):
        raise NotFoundError(f"文档 {doc_id} 不存在：请检查编号，或先检索再从结果进入")
    return document


def document_detail(library: Library, doc_id: str, *, viewer: Principal) -> DocumentDetail:
    """Metadata plus the passages grouped into sections by heading path."""
    document = get_document(library, doc_id, viewer=viewer)
    with library.session() as session:
        chunks = store.chunks_of_document(session, doc_id=doc_id)
        roots = source_roots(session)
    sections = [
        Section(
            heading=heading,
            chunks=[
                ChunkOut(
                    chunk_id=c.id or 0,
                    ordinal=c.ordinal,
                    heading=c.heading,
                    start=c.start,
                    end=c.end,
                    text=c.text,
                )
                for c in group
            ],
        )
        for heading, group in groupby(chunks, key=lambda c: c.heading)
    ]
    summary = summarize(document, roots=roots, viewer=viewer)
    return DocumentDetail(
        **summary.model_dump(),
        content_hash=document.content_hash,
        created_at=document.created_at,
        sections=sections,
    )


def delete_document(library: Library, doc_id: str) -> None:
    """Remove a document with its passages; a delta takes them out of the indexes."""
    with library.writing() as changes, library.session() as session:
        changes.replacing(session, doc_id)
        if not store.delete_document(session, doc_id=doc_id):
            raise NotFoundError(f"文档 {doc_id} 不存在，无法删除")
        mark_dirty(session, "delete")
        session.commit()
        changes.removed.add(doc_id)
        library.index_changes(changes)


def library_stats(library: Library, *, viewer: Principal) -> LibraryStats:
    """Counts over what the viewer may see; index totals only for those who see everything."""
    documents = visible_documents(library, viewer=viewer)
    manifest = library.manifest()
    index = None
    if manifest is not None:
        index = asdict(manifest)
        if not viewer.sees_everything:
            index.update(documents=len(documents), chunks=sum(d.chunk_count for d in documents))
    return LibraryStats(
        documents=len(documents),
        chunks=sum(d.chunk_count for d in documents),
        by_type=dict(Counter(d.type for d in documents)),
        embedder=library.settings.embedder,
        index=index,
    )
