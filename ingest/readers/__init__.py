"""Readers turn a file's bytes into blocks (headings, text) plus metadata; one module a format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.chunking import Block
from kb.errors import UnsupportedFileError


@dataclass
class ReadResult:
    """What a reader found in a file."""

    blocks: list[Block]
    meta: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    encoding: str | None = None


Reader = Callable[[bytes, str], ReadResult]


def _registry() -> dict[str, tuple[str, Reader]]:
    from ingest.readers import docx, html, markdown, pdf, text

    return {
        ".md": ("markdown", markdown.read_markdown),
        ".markdown": ("markdown", markdown.read_markdown),
        ".txt": ("text", text.read_text),
        ".text": ("text", text.read_text),
        ".docx": ("docx", docx.read_docx),
        ".pdf": ("pdf", pdf.read_pdf),
        ".html": ("html", html.read_html),
        ".htm": ("html", html.read_html),
    }


SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".text", ".docx", ".pdf", ".html", ".htm")


def check_supported(path: Path) -> None:
    """UnsupportedFileError for a type no reader handles (without importing any reader)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        kinds = "、".join(SUPPORTED_SUFFIXES)
        raise UnsupportedFileError(f"不支持的文件类型 {suffix or '（无扩展名）'}：支持 {kinds}")


def reader_for(path: Path) -> tuple[str, Reader]:
    """(format name, reader) for a path; UnsupportedFileError for other types."""
    check_supported(path)
    return _registry()[path.suffix.lower()]
