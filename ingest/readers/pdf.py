"""PDF reader: the text layer page by page, minus running headers and footers."""

from __future__ import annotations

import io
import logging
from collections import Counter

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ingest.readers import ReadResult
from kb.chunking import Block
from kb.cleaning import join_wrapped
from kb.errors import DocumentError
from kb.headings import line_heading_style

logging.getLogger("pypdf").setLevel(logging.ERROR)


def _drop_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Lines repeated on most pages (running headers/footers) are page furniture."""
    if len(pages) < 3:
        return pages
    counts = Counter(line for page in pages for line in set(page) if line)
    running = {line for line, n in counts.items() if n >= max(3, len(pages) * 0.6)}
    return [[line for line in page if line not in running] for page in pages]


_LINE_END = tuple("。！？；：!?;:」”）)")


def _unwrap(lines: list[str]) -> list[str]:
    """Join a page's lines that were wrapped by the layout (full-width lines not ending a
    sentence) so that paragraphs come back whole while short heading lines stay lines."""
    width = max((len(line) for line in lines), default=0)
    out: list[str] = []
    joining = False
    for line in lines:
        if joining and out and not line_heading_style(line):
            out[-1] = join_wrapped(out[-1] + "\n" + line)
        else:
            out.append(line)
        joining = bool(line) and len(line) >= 0.8 * width and not line.endswith(_LINE_END)
    return out


def read_pdf(data: bytes, name: str) -> ReadResult:
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"{name}：PDF 已加密，请先去除密码后再导入")
        pages = [(page.extract_text() or "").split("\n") for page in reader.pages]
    except DocumentError:
        raise
    except (PyPdfError, NotImplementedError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(f"{name}：PDF 文件已损坏或无法解析（{exc}）") from exc
    pages = _drop_running_lines([[line.strip() for line in page] for page in pages])
    pages = [_unwrap(page) for page in pages]
    text = "\n".join("\n".join(page) for page in pages).strip()
    if not text:
        return ReadResult(
            [],
            warnings=[f"{name}：PDF 没有文字层（可能是扫描件），未导入；请先做 OCR 再导入"],
        )
    return ReadResult([Block("text", text, plain=True)], title=_title(reader))


def _title(reader: PdfReader) -> str | None:
    """The document title from the PDF info dictionary; a damaged one is ignored."""
    try:
        return (reader.metadata.title if reader.metadata else None) or None
    except (PyPdfError, ValueError, KeyError, TypeError):
        return None
