"""DOCX reader: heading styles become headings, tables are kept as `a | b` text rows."""

from __future__ import annotations

import io
import re
import zipfile

import docx
from docx.document import Document as DocxDocument
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.readers import ReadResult
from kb.chunking import Block
from kb.errors import DocumentError

_HEADING_STYLE = re.compile(r"(?:heading|标题|標題)\s*(\d)", re.IGNORECASE)


def _paragraph_block(paragraph: Paragraph) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = paragraph.style.name if paragraph.style is not None else ""
    if style.lower() == "title":
        return Block("heading", text, level=1)
    match = _HEADING_STYLE.search(style)
    if match:
        return Block("heading", text, level=int(match.group(1)))
    return Block("text", text)


def _table_block(table: Table) -> Block | None:
    rows = []
    for row in table.rows:
        unique = {id(cell._tc): cell for cell in row.cells}.values()
        cells = [cell.text.strip() for cell in unique]
        if any(cells):
            rows.append(" | ".join(cells))
    return Block("text", "\n".join(rows)) if rows else None


def _body_blocks(document: DocxDocument) -> list[Block]:
    blocks = []
    for item in document.iter_inner_content():
        block = _table_block(item) if isinstance(item, Table) else _paragraph_block(item)
        if block:
            blocks.append(block)
    return blocks


def read_docx(data: bytes, name: str) -> ReadResult:
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError) as exc:
        raise DocumentError(f"{name}：不是有效的 DOCX 文件（文件已损坏或格式不对）") from exc
    title = (document.core_properties.title or "").strip() or None
    return ReadResult(_body_blocks(document), title=title)
