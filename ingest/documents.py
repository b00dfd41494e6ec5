"""From one file to a prepared document: read, clean, chunk, tokenise (no embedding yet)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.frontmatter import read_sidecar
from ingest.readers import ReadResult, reader_for
from kb.access import normalize_level
from kb.chunking import Layout, chunk_layout, detect_structure, layout_blocks
from kb.errors import DocumentError, NoTextError
from kb.library import passage_for_index
from kb.models import CORE_FIELDS, Chunk, Document
from kb.text import TextPipeline, normalize_for_index

FOLDER_HINTS = [
    ("lesson", ("lesson", "教训", "复盘")),
    ("sop", ("sop", "规范", "制度", "流程")),
    ("case", ("case", "案例")),
]
TITLE_HINTS = [
    ("lesson", ("教训", "复盘", "经验")),
    ("case", ("案例", "项目")),
    ("sop", ("sop", "规范", "规程", "流程", "指引", "手册", "标准", "办法")),
]


@dataclass
class PreparedDocument:
    """A parsed document waiting for its chunk vectors."""

    document: Document
    chunks: list[Chunk]
    passages: list[str]
    warnings: list[str] = field(default_factory=list)


def file_digest(data: bytes, sidecar: bytes) -> str:
    return hashlib.sha256(data + b"\0" + sidecar).hexdigest()


def guess_type(path: Path, title: str) -> str:
    """case | sop | lesson from the folder names, else the title; `case` when nothing says."""
    folders = normalize_for_index(" ".join(path.parent.parts[-2:]))
    title = normalize_for_index(title)
    for text, hints in ((folders, FOLDER_HINTS), (title, TITLE_HINTS)):
        for doc_type, words in hints:
            if any(word in text for word in words):
                return doc_type
    return "case"


def _first_title(text: str, spans: list[Any]) -> str | None:
    """The document's first line of text when it is short enough to be its title."""
    if not spans:
        return None
    candidate = " ".join(text[spans[0].start : spans[0].end].split())
    return candidate if 0 < len(candidate) <= 60 else None


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    tags = meta.get("tags") or []
    meta["tags"] = [str(t) for t in (tags if isinstance(tags, list) else [tags])]
    return meta


def build_document(
    *, path: Path, doc_id: str, read: ReadResult, layout: Layout, digest: str, fmt: str
) -> Document:
    """The Document row: metadata from front matter, sidecar and reader, text from the layout."""
    meta = read.meta
    title = meta.get("title") or read.title or _first_title(layout.text, detect_structure(layout))
    title = str(title or path.stem)
    core = {name: meta.get(name) for name in CORE_FIELDS}
    return Document(
        id=doc_id,
        source=str(path),
        format=fmt,
        title=title,
        type=str(core["type"] or guess_type(path, title)),
        client=core["client"],
        industry=core["industry"],
        service_type=core["service_type"],
        stage=core["stage"],
        date=str(core["date"]) if core["date"] else None,
        tags=meta["tags"],
        confidentiality=normalize_level(meta.get("confidentiality")),
        meta={k: v for k, v in meta.items() if k != "id"},
        content_hash=digest,
        text=layout.text,
    )


def _read(path: Path, data: bytes) -> tuple[str, ReadResult]:
    fmt, reader = reader_for(path)
    if not data.strip():
        raise DocumentError(f"{path.name}：文件为空")
    read = reader(data, path.name)
    if not read.blocks:
        raise NoTextError("；".join(read.warnings) or f"{path.name}：没有可导入的文字内容")
    return fmt, read


def text_of_file(*, name: str, data: bytes) -> str:
    """The text of a file as ingest reads it (headings on lines of their own), for a text used
    without being stored (a case brief); DocumentError when it holds nothing usable."""
    _, read = _read(Path(name), data)
    return layout_blocks(read.blocks).text


def read_file(*, path: Path, data: bytes) -> tuple[str, ReadResult]:
    """(format, reader result) of a file; DocumentError when it holds nothing usable."""
    fmt, read = _read(path, data)
    sidecar_meta = read_sidecar(path)
    read.meta = _clean_meta({**read.meta, **sidecar_meta})
    return fmt, read


def prepare_document(
    *,
    path: Path,
    fmt: str,
    read: ReadResult,
    doc_id: str,
    digest: str,
    pipeline: TextPipeline,
    chunk_chars: int,
) -> PreparedDocument:
    """Clean, chunk and tokenise a read file."""
    layout = layout_blocks(read.blocks)
    if not layout.text.strip():
        raise DocumentError(f"{path.name}：没有可导入的文字内容")
    document = build_document(
        path=path, doc_id=doc_id, read=read, layout=layout, digest=digest, fmt=fmt
    )
    chunks, passages = [], []
    for piece in chunk_layout(layout, chunk_chars):
        heading = " > ".join(piece.heading_path)
        passage = passage_for_index(document.title, heading, piece.text)
        chunks.append(
            Chunk(
                doc_id=doc_id,
                ordinal=piece.ordinal,
                heading=heading,
                start=piece.start,
                end=piece.end,
                text=piece.text,
                tokens=" ".join(pipeline.index_tokens(passage)),
            )
        )
        passages.append(passage)
    return PreparedDocument(document, chunks, passages, read.warnings)


def derive_doc_id(path: Path, meta_id: Any) -> str:
    """The front-matter id, or a slug of the file name."""
    if meta_id:
        return str(meta_id).strip()
    return re.sub(r"[^\w\-.]+", "-", path.stem).strip("-") or "doc"
