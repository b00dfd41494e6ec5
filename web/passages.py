"""Passage text as HTML for the document page: Markdown (lists, tables, emphasis) rendered by
markdown-it-py with raw HTML off (it shows as text) and images off (no remote loads), and the
query terms marked inside the text."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from kb.highlight import find_spans, mark

CELL = " | "  # how ingest stores a table row: its cells joined by this


def _marked_text(self, tokens: list[Token], idx: int, options, env: dict) -> str:
    """A text token, escaped, with the query terms in <mark>."""
    text = tokens[idx].content
    return mark(text, find_spans(text, env["terms"], env["query"]) if env["terms"] else [])


_MD = MarkdownIt("js-default", {"breaks": True}).disable("image")
_MD.add_render_rule("text", _marked_text)


def _table(rows: list[str]) -> list[str]:
    """Stored table rows (the first is the header) as a Markdown table, blank lines around."""
    header, *body = (f"| {row} |" for row in rows)
    delimiter = "|" + " --- |" * (rows[0].count(CELL) + 1)
    return ["", header, delimiter, *body, ""]


def restore_tables(text: str) -> str:
    """Runs of two or more `a | b | c` lines back as Markdown tables; other lines unchanged."""
    lines = text.split("\n")
    out: list[str] = []
    start = 0
    while start < len(lines):
        end = start
        while end < len(lines) and CELL in lines[end]:
            end += 1
        if end - start >= 2:
            out += _table(lines[start:end])
            start = end
        else:
            out.append(lines[start])
            start += 1
    return "\n".join(out)


def render_passage(text: str, terms: list[str], query: str = "") -> Markup:
    """The passage as safe HTML, with the terms (of `query`) marked."""
    return Markup(_MD.render(restore_tables(text), {"terms": terms, "query": query}))
