"""Keyword-only functions over a database session: the only place SQL lives."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session, SQLModel, col, create_engine, delete, func, select

from kb.errors import DatabaseUnavailableError
from kb.models import (
    Chunk,
    Document,
    LibraryInfo,
    Pack,
    PackItem,
    SavedTemplate,
    Suggestion,
    utcnow,
)


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets WAL, foreign keys and a busy timeout."""
    is_sqlite = url.startswith("sqlite")
    try:
        engine = create_engine(url, connect_args={"timeout": 30} if is_sqlite else {})
    except (ImportError, NoSuchModuleError, ArgumentError) as exc:
        raise DatabaseUnavailableError(
            f"无法使用数据库 {_safe_url(url)}（{exc}）：PostgreSQL 需要 pip install -e '.[pg]'，"
            "地址写成 postgresql+psycopg://用户:密码@主机/库名"
        ) from exc
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    try:
        SQLModel.metadata.create_all(engine)
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"连接不上数据库 {_safe_url(url)}：{str(exc.orig).strip()[:200]}；请检查地址和服务器"
        ) from exc
    return engine


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(无法解析的地址)"


def get_document(session: Session, *, doc_id: str) -> Document | None:
    return session.get(Document, doc_id)


def get_document_by_source(session: Session, *, source: str) -> Document | None:
    return session.exec(select(Document).where(Document.source == source)).first()


def find_document_by_hash(session: Session, *, content_hash: str) -> Document | None:
    return session.exec(select(Document).where(Document.content_hash == content_hash)).first()


def list_documents(session: Session) -> Sequence[Document]:
    return session.exec(select(Document).order_by(Document.id)).all()


def replace_document(session: Session, *, document: Document, chunks: list[Chunk]) -> None:
    """Insert or update a document and replace all its chunks (caller commits)."""
    existing = session.get(Document, document.id)
    session.exec(delete(Chunk).where(col(Chunk.doc_id) == document.id))
    if existing is not None:
        document.created_at = existing.created_at
        session.expunge(existing)
    document.updated_at = utcnow()
    document.chunk_count = len(chunks)
    session.merge(document)
    session.flush()
    session.add_all(chunks)


def delete_document(session: Session, *, doc_id: str) -> bool:
    """Delete a document and its chunks (caller commits); False if it did not exist."""
    document = session.get(Document, doc_id)
    if document is None:
        return False
    session.exec(delete(Chunk).where(col(Chunk.doc_id) == doc_id))
    session.exec(delete(Suggestion).where(col(Suggestion.doc_id) == doc_id))
    session.delete(document)
    return True


def get_chunks(session: Session, *, ids: Sequence[int]) -> dict[int, Chunk]:
    rows = session.exec(select(Chunk).where(col(Chunk.id).in_(list(ids)))).all()
    return {row.id: row for row in rows if row.id is not None}


def chunks_of_document(session: Session, *, doc_id: str) -> Sequence[Chunk]:
    query = select(Chunk).where(Chunk.doc_id == doc_id).order_by(col(Chunk.ordinal))
    return session.exec(query).all()


def iter_index_rows(
    session: Session, *, batch: int = 2000
) -> Iterator[tuple[int, str, str, bytes | None]]:
    """(chunk id, doc id, tokens, embedding) of every chunk, in id order, in batches."""
    last = -1
    while True:
        query = (
            select(Chunk.id, Chunk.doc_id, Chunk.tokens, Chunk.embedding)
            .where(col(Chunk.id) > last)
            .order_by(col(Chunk.id))
            .limit(batch)
        )
        rows = session.exec(query).all()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def chunk_ids_of(session: Session, *, doc_ids: Sequence[str]) -> list[int]:
    """The ids of every chunk of the given documents."""
    query = select(Chunk.id).where(col(Chunk.doc_id).in_(list(doc_ids)))
    return [i for i in session.exec(query).all() if i is not None]


def index_rows_of(
    session: Session, *, doc_ids: Sequence[str], after_id: int
) -> Sequence[tuple[int, str, str, bytes | None]]:
    """(chunk id, doc id, tokens, embedding) of the given documents' chunks past an id, in order."""
    query = (
        select(Chunk.id, Chunk.doc_id, Chunk.tokens, Chunk.embedding)
        .where(col(Chunk.doc_id).in_(list(doc_ids)), col(Chunk.id) > after_id)
        .order_by(col(Chunk.id))
    )
    return session.exec(query).all()


def chunk_locations(session: Session) -> Sequence[tuple[int, str, int]]:
    """(chunk id, doc id, ordinal) of every chunk."""
    return session.exec(select(Chunk.id, Chunk.doc_id, Chunk.ordinal)).all()


def chunk_texts(session: Session, *, after_id: int = -1, batch: int = 256) -> Sequence[Chunk]:
    query = select(Chunk).where(col(Chunk.id) > after_id).order_by(col(Chunk.id)).limit(batch)
    return session.exec(query).all()


def count_documents(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Document)).one()


def count_chunks(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Chunk)).one()


def get_info(session: Session, *, key: str) -> str | None:
    row = session.get(LibraryInfo, key)
    return row.value if row else None


def set_info(session: Session, *, key: str, value: str) -> None:
    session.merge(LibraryInfo(key=key, value=value))


def list_suggestions(
    session: Session,
    *,
    status: str | None = None,
    field: str | None = None,
    doc_id: str | None = None,
) -> Sequence[Suggestion]:
    query = select(Suggestion).order_by(col(Suggestion.id))
    if status:
        query = query.where(Suggestion.status == status)
    if field:
        query = query.where(Suggestion.field == field)
    if doc_id:
        query = query.where(Suggestion.doc_id == doc_id)
    return session.exec(query).all()


def get_suggestion(session: Session, *, suggestion_id: int) -> Suggestion | None:
    return session.get(Suggestion, suggestion_id)


def replace_pending_suggestion(session: Session, *, suggestion: Suggestion) -> None:
    """Store a suggestion in place of any pending one for the same document and field."""
    session.exec(
        delete(Suggestion).where(
            col(Suggestion.doc_id) == suggestion.doc_id,
            col(Suggestion.field) == suggestion.field,
            col(Suggestion.status) == "pending",
        )
    )
    session.add(suggestion)


def document_vectors(
    session: Session, *, doc_ids: Sequence[str] | None = None
) -> dict[str, list[bytes]]:
    """The stored passage vectors of some documents (all documents when doc_ids is None)."""
    query = select(Chunk.doc_id, Chunk.embedding)
    if doc_ids is not None:
        query = query.where(col(Chunk.doc_id).in_(list(doc_ids)))
    out: dict[str, list[bytes]] = {}
    for doc_id, embedding in session.exec(query).all():
        if embedding is not None:
            out.setdefault(doc_id, []).append(embedding)
    return out


def save_template(session: Session, *, template: SavedTemplate) -> SavedTemplate:
    """Store a template as the next version of its name (caller commits)."""
    latest = session.exec(
        select(func.max(SavedTemplate.version)).where(SavedTemplate.name == template.name)
    ).one()
    template.version = (latest or 0) + 1
    session.add(template)
    return template


def list_templates(session: Session) -> Sequence[SavedTemplate]:
    query = select(SavedTemplate).order_by(col(SavedTemplate.name), col(SavedTemplate.version))
    return session.exec(query).all()


def get_template(
    session: Session, *, name: str, version: int | None = None
) -> SavedTemplate | None:
    query = select(SavedTemplate).where(SavedTemplate.name == name)
    if version is not None:
        query = query.where(SavedTemplate.version == version)
    return session.exec(query.order_by(col(SavedTemplate.version).desc())).first()


def delete_template(session: Session, *, name: str) -> int:
    """Delete every version of a template (caller commits); how many were removed."""
    rows = session.exec(select(SavedTemplate).where(SavedTemplate.name == name)).all()
    for row in rows:
        session.delete(row)
    return len(rows)


def get_pack(session: Session, *, pack_id: int) -> Pack | None:
    return session.get(Pack, pack_id)


def list_packs(session: Session) -> Sequence[Pack]:
    return session.exec(select(Pack).order_by(col(Pack.id))).all()


def pack_items(session: Session, *, pack_id: int) -> Sequence[PackItem]:
    query = select(PackItem).where(PackItem.pack_id == pack_id)
    return session.exec(query.order_by(col(PackItem.position), col(PackItem.id))).all()


def delete_pack(session: Session, *, pack_id: int) -> None:
    """Delete a pack and its items (caller commits)."""
    session.exec(delete(PackItem).where(col(PackItem.pack_id) == pack_id))
    session.exec(delete(Pack).where(col(Pack.id) == pack_id))


def delete_orphan_chunks(session: Session) -> int:
    """Delete chunks whose document no longer exists (caller commits); how many."""
    known = select(Document.id)
    orphans = session.exec(select(Chunk.id).where(col(Chunk.doc_id).not_in(known))).all()
    if orphans:
        session.exec(delete(Chunk).where(col(Chunk.id).in_(list(orphans))))
    return len(orphans)


def chunks_without_embedding(session: Session) -> Sequence[Chunk]:
    return session.exec(select(Chunk).where(col(Chunk.embedding).is_(None))).all()
