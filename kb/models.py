"""SQLModel tables (documents, chunks, library info) and the public schemas of search results."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

CORE_FIELDS = ("type", "title", "client", "industry", "service_type", "stage", "date")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Document(SQLModel, table=True):
    """A source file of the library, its front matter and its extracted text."""

    id: str = Field(primary_key=True)
    source: str = Field(index=True, unique=True)
    format: str
    title: str
    type: str = Field(default="case", index=True)
    client: str | None = None
    industry: str | None = Field(default=None, index=True)
    service_type: str | None = Field(default=None, index=True)
    stage: str | None = None
    date: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    confidentiality: str = "internal"
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    content_hash: str = Field(index=True)
    text: str = Field(sa_column=Column(Text))
    chunk_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Chunk(SQLModel, table=True):
    """A passage of a document: original text, heading path, offsets, tokens and vector."""

    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused: indexes keep them

    id: int | None = Field(default=None, primary_key=True)
    doc_id: str = Field(foreign_key="document.id", index=True)
    ordinal: int
    heading: str = ""
    start: int
    end: int
    text: str = Field(sa_column=Column(Text))
    tokens: str = Field(sa_column=Column(Text))
    embedding: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class LibraryInfo(SQLModel, table=True):
    """Key/value facts about the library (e.g. which embedder produced the stored vectors)."""

    key: str = Field(primary_key=True)
    value: str


class Hit(BaseModel):
    """One search result: a passage with its document's metadata."""

    doc_id: str
    chunk_id: int
    title: str
    source: str
    type: str
    heading: str
    text: str
    snippet: str
    score: float
    metadata: dict[str, Any]
    passages: list[dict[str, Any]] | None = None


class SearchResult(BaseModel):
    """Hits of a query; facets count every match in the unit of `total` (passages or documents)."""

    query: str
    mode: str
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    took_ms: float
    weak_hits: list[Hit] = []  # nearest passages, below the relevance floor, when total is 0


class SimilarDocument(BaseModel):
    """A document similar to another, with the reasons."""

    doc_id: str
    title: str
    type: str
    score: float = Field(description="0-1: content against the library's typical pair, and topic")
    percent: int = Field(description="score as 相似度 0-100")
    similarity: float = Field(description="mean best cosine of this document's passages")
    shared_labels: dict[str, Any]
    shared_terms: list[str] = Field(description="distinctive title words both share")
    reasons: list[str] = Field(description="why, most telling first: the passage pair")
    passage_pairs: list[dict[str, Any]]
    metadata: dict[str, Any]


class DocumentSummary(BaseModel):
    """A document in a listing."""

    doc_id: str
    title: str
    type: str
    source: str
    format: str
    chunk_count: int
    updated_at: datetime
    metadata: dict[str, Any]


class DocumentPage(BaseModel):
    """One page of a document listing."""

    total: int
    offset: int
    limit: int
    documents: list[DocumentSummary]


class ChunkOut(BaseModel):
    """A passage of a document as shown to users."""

    chunk_id: int
    ordinal: int
    heading: str
    start: int
    end: int
    text: str


class Section(BaseModel):
    """Consecutive passages under one heading path."""

    heading: str
    chunks: list[ChunkOut]


class DocumentDetail(DocumentSummary):
    """A document with its sections and passages."""

    content_hash: str
    created_at: datetime
    sections: list[Section]


class LibraryStats(BaseModel):
    """Size of the library and of its index."""

    documents: int
    chunks: int
    by_type: dict[str, int]
    embedder: str
    index: dict[str, Any] | None


class Suggestion(SQLModel, table=True):
    """A predicted label for a document that lacks it, waiting for a person's decision."""

    id: int | None = Field(default=None, primary_key=True)
    doc_id: str = Field(foreign_key="document.id", index=True)
    field: str = Field(index=True)
    label: str
    probability: float
    method: str
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    neighbours: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    status: str = Field(default="pending", index=True)  # pending | accepted | rejected
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class SavedTemplate(SQLModel, table=True):
    """A template kept for reuse: name, version, sources and its content."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    version: int = 1
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    markdown: str = Field(sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


class Pack(SQLModel, table=True):
    """An onboarding pack a trainer assembles from documents and passages."""

    id: int | None = Field(default=None, primary_key=True)
    title: str
    audience: str = ""
    outline: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    redact: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class PackItem(SQLModel, table=True):
    """A document or passage placed in a section of a pack, with an optional note."""

    id: int | None = Field(default=None, primary_key=True)
    pack_id: int = Field(foreign_key="pack.id", index=True)
    section: str
    position: int = 0
    doc_id: str = Field(foreign_key="document.id")
    chunk_id: int | None = None
    note: str = ""
