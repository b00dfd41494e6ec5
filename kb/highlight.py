"""Snippets with query terms marked `<mark>…</mark>`, found on the normalised text (so a simplified
query marks traditional text) and cut from the original; everything else is HTML-escaped."""

from __future__ import annotations

import html

from kb.text import normalize_for_index


def _extend(normalized: str, start: int, end: int, term: str, query: str) -> tuple[int, int]:
    """Grow a match while the text keeps following the query (``成果`` -> ``成果包``)."""
    at = query.find(term)
    if at < 0:
        return start, end
    q_end = at + len(term)
    while end < len(normalized) and q_end < len(query) and normalized[end] == query[q_end]:
        end, q_end = end + 1, q_end + 1
    while start > 0 and at > 0 and normalized[start - 1] == query[at - 1]:
        start, at = start - 1, at - 1
    return start, end


def find_spans(text: str, terms: list[str], query: str = "") -> list[tuple[int, int]]:
    """Merged (start, end) spans of every occurrence of the terms, on the normalised text;
    with the query given, a match extends over what the text shares with the query around it."""
    normalized = normalize_for_index(text)
    query = normalize_for_index(query)
    spans = []
    for term in terms:
        start = normalized.find(term)
        while start != -1:
            spans.append(_extend(normalized, start, start + len(term), term, query))
            start = normalized.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def mark(text: str, spans: list[tuple[int, int]], start: int = 0, end: int | None = None) -> str:
    """Escaped text[start:end] with the spans inside it wrapped in <mark>."""
    end = len(text) if end is None else end
    out, cursor = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[cursor:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    out.append(html.escape(text[cursor:end]))
    return "".join(out)


def _best_window(text: str, spans: list[tuple[int, int]], width: int) -> int:
    """Start of the window of `width` chars covering the most distinct matched words."""
    best_start, best_score = 0, -1
    for s, _ in spans:
        start = max(0, min(s - width // 4, len(text) - width))
        covered = {text[a:b].lower() for a, b in spans if a >= start and b <= start + width}
        if len(covered) > best_score:
            best_start, best_score = start, len(covered)
    return best_start


def snippet(text: str, terms: list[str], width: int = 160, query: str = "") -> str:
    """A window of the text around the densest cluster of terms, terms marked."""
    spans = find_spans(text, terms, query)
    if len(text) <= width:
        return mark(text, spans)
    start = _best_window(text, spans, width) if spans else 0
    end = min(len(text), start + width)
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + mark(text, spans, start, end) + suffix
