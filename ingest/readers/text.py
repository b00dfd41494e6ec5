"""Plain-text reader: encoding detection, optional front matter, numbered headings found later."""

from __future__ import annotations

from ingest.encoding import decode_text
from ingest.frontmatter import split_front_matter
from ingest.readers import ReadResult
from kb.chunking import Block


def read_text(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data, name)
    meta, body = split_front_matter(text, name)
    return ReadResult([Block("text", body, plain=True)], meta, encoding=encoding)
