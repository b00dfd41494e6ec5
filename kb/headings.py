"""Chinese numbered headings in plain text: on their own line (第X章, 一、, （一）, 1.1 …) or run
straight into the body text, as in scraped pages (``…。1.2需求明確與目標設定需求明確應…``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUM = "[零一二三四五六七八九十百]+"
_LINE_STYLES = [
    ("chapter", re.compile(rf"^第\s*(?:{_CN_NUM}|\d+)\s*[章篇部分]+")),
    ("section", re.compile(rf"^第\s*(?:{_CN_NUM}|\d+)\s*节")),
    ("cn", re.compile(rf"^{_CN_NUM}\s*[、.．]")),
    ("cn_paren", re.compile(rf"^[（(]\s*{_CN_NUM}\s*[)）]")),
    ("dec3", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}(?![\d%])")),
    ("dec2", re.compile(r"^\d{1,2}\.\d{1,2}(?![\d.%])")),
    ("dec1", re.compile(r"^\d{1,2}\s*[、.．](?!\d)")),
    ("num_paren", re.compile(r"^[（(]\d{1,2}[)）]")),
]
_INLINE = re.compile(
    rf"第\s*({_CN_NUM}|\d+)\s*章|(?<![\d.A-Za-z/-])(\d{{1,2}})\.(\d{{1,2}})(?:\.(\d{{1,2}}))?(?![\d.%])"
    r"(?=[\u3400-\u9fff])"
)
_SENTENCE_END = "。！？；!?;"
_MAX_TITLE = 30


@dataclass
class Heading:
    """A heading found in a line of text: where its label starts, where the body starts."""

    style: str
    start: int
    title_end: int
    body_start: int


def cn_to_int(token: str) -> int:
    """``十二`` -> 12, ``3`` -> 3."""
    if token.isdigit():
        return int(token)
    total, current = 0, 0
    for ch in token:
        if ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            current = _CN_DIGITS.get(ch, 0)
    return total + current


def line_heading_style(line: str) -> str | None:
    """The numbering style of a short line that reads as a heading, or None."""
    stripped = line.strip()
    if not stripped or len(stripped) > 50 or stripped[-1] in "。；;，,：:":
        return None
    for style, pattern in _LINE_STYLES:
        if pattern.match(stripped):
            return style
    return None


def _has_sentence_end(text: str) -> bool:
    return any(ch in _SENTENCE_END for ch in text)


def _title_end(text: str, start: int, limit: int) -> int:
    """End of a run-on heading title: just before the body repeats the title's first words."""
    region = text[start:limit]
    best, best_len = -1, 1
    for pos in range(2, min(len(region), _MAX_TITLE + 1)):
        common = 0
        while pos + common < len(region) and region[common] == region[pos + common]:
            common += 1
        if common > best_len:
            best, best_len = pos, common
    if best > 0:
        return start + best
    if len(region) <= _MAX_TITLE and not _has_sentence_end(region):
        return limit
    return start


class _Sequence:
    """Tracks chapter/section numbers so that only the expected next number counts."""

    def __init__(self) -> None:
        self.chapter: int | None = None
        self.section = 0
        self.sub = 0

    def accept(self, match: re.Match[str]) -> str | None:
        if match.group(1):
            number = cn_to_int(match.group(1))
            if self.chapter is None or number == self.chapter + 1:
                self.chapter, self.section, self.sub = number, 0, 0
                return "chapter"
            return None
        major, minor = int(match.group(2)), int(match.group(3))
        sub = int(match.group(4)) if match.group(4) else None
        if self.chapter is not None and major != self.chapter:
            if major == self.chapter + 1 and minor == 1 and sub is None:
                self.chapter, self.section, self.sub = major, 1, 0
                return "dec2"
            return None
        if sub is None and minor == self.section + 1:
            self.chapter, self.section, self.sub = major, minor, 0
            return "dec2"
        if sub is not None and minor == self.section and sub == self.sub + 1:
            self.sub = sub
            return "dec3"
        return None


def _boundary_ok(text: str, pos: int, previous: Heading | None) -> bool:
    if pos == 0 or text[pos - 1] in _SENTENCE_END + "\n":
        return True
    if previous is None:
        return text[:pos].count("。") == 0 and pos <= 60
    return pos - previous.start <= 60 and not _has_sentence_end(text[previous.start : pos])


def find_inline_headings(text: str) -> list[Heading]:
    """Numbered headings run into body text, accepted only in numbering sequence."""
    sequence = _Sequence()
    found: list[Heading] = []
    for match in _INLINE.finditer(text):
        previous = found[-1] if found else None
        if not _boundary_ok(text, match.start(), previous):
            continue
        style = sequence.accept(match)
        if style:
            found.append(Heading(style, match.start(), match.end(), match.end()))
    for i, heading in enumerate(found):
        limit = found[i + 1].start if i + 1 < len(found) else len(text)
        region = text[heading.title_end : limit]
        if i + 1 < len(found) and len(region) <= _MAX_TITLE and not _has_sentence_end(region):
            end = limit
        else:
            end = _title_end(text, heading.title_end, limit)
        heading.title_end = heading.body_start = end
    return found
