"""HTML reader: the main text and headings of a page, without scripts, navigation or footers."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag

from ingest.readers import ReadResult
from kb.chunking import Block
from kb.cleaning import join_wrapped

_NOISE = ["script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe"]
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_TEXT = {"p", "li", "pre", "blockquote", "dd", "dt", "figcaption"}


def _main_element(soup: BeautifulSoup) -> Tag:
    for selector in ("main", "article", "[role=main]", "body"):
        found = soup.select_one(selector)
        if isinstance(found, Tag):
            return found
    return soup


def _text(element: Tag) -> str:
    return join_wrapped(element.get_text())


def _blocks(root: Tag) -> list[Block]:
    blocks: list[Block] = []
    for element in root.find_all([*_HEADINGS, *_TEXT, "tr"]):
        if element.find_parent([*_TEXT, "tr"]):
            continue
        if element.name in _HEADINGS:
            blocks.append(Block("heading", _text(element), int(element.name[1])))
        elif element.name == "tr":
            cells = [_text(c) for c in element.find_all(["td", "th"])]
            blocks.append(Block("text", " | ".join(cells)))
        else:
            prefix = "- " if element.name == "li" else ""
            blocks.append(Block("text", prefix + _text(element)))
    if not blocks:
        blocks.append(Block("text", root.get_text("\n", strip=True), plain=True))
    return blocks


def read_html(data: bytes, name: str) -> ReadResult:
    soup = BeautifulSoup(data, "lxml")
    page_title = soup.find("title")
    for noise in soup.find_all(_NOISE):
        noise.decompose()
    main = _main_element(soup)
    title_tag = main.find("h1") or page_title
    title = _text(title_tag) if isinstance(title_tag, Tag) else None
    return ReadResult(_blocks(main), title=title or None)
