"""Markdown reader: front matter, then markdown-it-py tokens -> heading and text blocks."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from ingest.encoding import decode_text
from ingest.frontmatter import split_front_matter
from ingest.readers import ReadResult
from kb.chunking import Block

_MD = MarkdownIt("commonmark").enable("table")


def _inline_text(token: Token) -> str:
    """Plain text of an inline token (markup such as ** and links dropped)."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def _blocks(tokens: list[Token]) -> list[Block]:
    blocks: list[Block] = []
    row: list[str] = []
    list_depth = 0
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            blocks.append(Block("heading", _inline_text(tokens[i + 1]), level=int(token.tag[1])))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "inline" and tokens[i - 1].type == "paragraph_open":
            prefix = "- " if list_depth else ""
            blocks.append(Block("text", prefix + _inline_text(token)))
        elif token.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(_inline_text(token))
        elif token.type == "tr_close":
            blocks.append(Block("text", " | ".join(row)))
            row = []
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("text", token.content))
    return _merge_list_items(blocks)


def _merge_list_items(blocks: list[Block]) -> list[Block]:
    """Consecutive list items and table rows become one text block (one line each)."""
    merged: list[Block] = []
    for block in blocks:
        previous = merged[-1] if merged else None
        joinable = block.kind == "text" and (block.text.startswith("- ") or " | " in block.text)
        if (
            previous
            and joinable
            and previous.kind == "text"
            and (previous.text.startswith("- ") or " | " in previous.text)
        ):
            previous.text += "\n" + block.text
        else:
            merged.append(Block(block.kind, block.text, block.level))
    return merged


def read_markdown(data: bytes, name: str) -> ReadResult:
    text, encoding = decode_text(data, name)
    meta, body = split_front_matter(text, name)
    return ReadResult(_blocks(_MD.parse(body)), meta, encoding=encoding)
