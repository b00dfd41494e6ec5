"""Structure-aware chunking: blocks from a reader -> document text + chunks with heading paths,
ordinals and character offsets; sentences packed up to a size, never cut unless too long alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.cleaning import clean_text
from kb.headings import find_inline_headings, line_heading_style

BLOCK_SEPARATOR = "\n\n"
_SENTENCE = re.compile(r"[^。！？；!?;\n]*(?:[。！？；!?;]+[”’」』）)\"']*|\n|$)")
_SOFT_BREAK = re.compile(r"[，,、：:]")


@dataclass
class Block:
    """A unit a reader produces: a heading (with level) or a run of body text."""

    kind: str  # "heading" | "text"
    text: str
    level: int = 0
    plain: bool = False  # plain-text source: look for numbered headings inside


@dataclass
class Span:
    """A block placed in the document text (start/end are character offsets)."""

    kind: str
    start: int
    end: int
    level: int = 0
    plain: bool = False


@dataclass
class Chunk:
    """A passage of a document with where it sits in the document."""

    ordinal: int
    heading_path: list[str]
    start: int
    end: int
    text: str


@dataclass
class Layout:
    """The extracted document text and its structure."""

    text: str
    spans: list[Span] = field(default_factory=list)


def layout_blocks(blocks: list[Block]) -> Layout:
    """Clean every block and join them into the document's stored text, recording offsets."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    for block in blocks:
        cleaned = clean_text(block.text)
        if block.kind == "heading":
            cleaned = " ".join(cleaned.split())
        if not cleaned:
            continue
        if parts:
            pos += len(BLOCK_SEPARATOR)
        spans.append(Span(block.kind, pos, pos + len(cleaned), block.level, block.plain))
        parts.append(cleaned)
        pos += len(cleaned)
    return Layout(BLOCK_SEPARATOR.join(parts), spans)


def _split_plain_span(text: str, span: Span) -> list[tuple[str, int, int, str]]:
    """(kind, start, end, style) pieces of a plain-text span, headings found by numbering."""
    pieces: list[tuple[str, int, int, str]] = []
    line_start = span.start
    for line in text[span.start : span.end].split("\n"):
        line_end = line_start + len(line)
        style = line_heading_style(line)
        if style:
            pieces.append(("heading", line_start, line_end, style))
        else:
            cursor = line_start
            for heading in find_inline_headings(line):
                h_start = line_start + heading.start
                if h_start > cursor:
                    pieces.append(("text", cursor, h_start, ""))
                pieces.append(("heading", h_start, line_start + heading.title_end, heading.style))
                cursor = line_start + heading.body_start
            if line_end > cursor:
                pieces.append(("text", cursor, line_end, ""))
        line_start = line_end + 1
    return pieces


def detect_structure(layout: Layout) -> list[Span]:
    """Spans with numbered headings of plain-text blocks turned into heading spans."""
    styles: list[str] = []
    explicit = any(s.kind == "heading" for s in layout.spans)
    out: list[Span] = []
    for span in layout.spans:
        if not (span.plain and span.kind == "text"):
            out.append(span)
            continue
        for kind, start, end, style in _split_plain_span(layout.text, span):
            if kind == "text":
                out.append(Span("text", start, end))
                continue
            if style not in styles:
                styles.append(style)
            level = styles.index(style) + (7 if explicit else 1)
            out.append(Span("heading", start, end, level))
    return out


def sentence_spans(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as offsets; a sentence over max_chars is split softly."""
    out: list[tuple[int, int]] = []
    for match in _SENTENCE.finditer(text, start, end):
        s, e = match.start(), match.end()
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        while e - s > max_chars:
            cut = s + max_chars
            soft = [m.end() for m in _SOFT_BREAK.finditer(text, s + max_chars // 2, cut)]
            cut = soft[-1] if soft else cut
            out.append((s, cut))
            s = cut
        if e > s:
            out.append((s, e))
    return out


_NUMBER_LABEL = re.compile(
    r"^(第\s*[\d一二三四五六七八九十百]+\s*[章节篇]|\d+(?:\.\d+)+)(?=[^\s.\d])"
)


def _heading_label(text: str, span: Span) -> str:
    """The heading as shown in a path, with a space after a run-on number (``1.1 标题``)."""
    return _NUMBER_LABEL.sub(r"\1 ", " ".join(text[span.start : span.end].split()))


def _pack(sentences: list[tuple[int, int]], max_chars: int) -> list[list[tuple[int, int]]]:
    """Group a section's sentences into balanced runs of at most max_chars each."""
    total = sentences[-1][1] - sentences[0][0]
    target = total / max(1, -(-total // max_chars))
    groups: list[list[tuple[int, int]]] = [[]]
    for sentence in sentences:
        group = groups[-1]
        if group and (sentence[1] - group[0][0] > max_chars or sentence[0] - group[0][0] >= target):
            groups.append([])
        groups[-1].append(sentence)
    return groups


def chunk_layout(layout: Layout, max_chars: int = 400) -> list[Chunk]:
    """Pack sentences under the same heading path into chunks of at most max_chars."""
    chunks: list[Chunk] = []
    stack: list[tuple[int, str]] = []
    current: list[tuple[int, int]] = []

    def flush() -> None:
        if current:
            path = [label for _, label in stack]
            for group in _pack(current, max_chars):
                start, end = group[0][0], group[-1][1]
                chunks.append(Chunk(len(chunks), path, start, end, layout.text[start:end]))
            current.clear()

    for span in detect_structure(layout):
        if span.kind == "heading":
            flush()
            while stack and stack[-1][0] >= span.level:
                stack.pop()
            stack.append((span.level, _heading_label(layout.text, span)))
            continue
        current.extend(sentence_spans(layout.text, span.start, span.end, max_chars))
    flush()
    return chunks


def chunk_text(text: str, max_chars: int = 400) -> list[Chunk]:
    """A typed or pasted text (not stored) cut as a plain-text document would be; a text that
    is only a heading is one chunk; nothing for a text that cleaning leaves blank."""
    layout = layout_blocks([Block("text", text, plain=True)])
    if not layout.text.strip():
        return []
    return chunk_layout(layout, max_chars) or [Chunk(0, [], 0, len(layout.text), layout.text)]
