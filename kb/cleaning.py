"""Cleaning of extracted text before storage: stray pinyin and scraped-page furniture.

The rules are deliberately conservative; each one names what it removes:

* stray pinyin: a parenthesised run of lowercase latin letters with at least one
  tone mark, right after a CJK character, as in ``服務(wù)`` -> ``服務``;
* page counters: a line that ends in ``第N頁/页`` and is short, or ``N/M`` alone;
* reading prompts: ``已閱讀N頁…`` / ``下載本文檔`` / ``文檔簡介`` alone on a line;
* copyright notices of document-sharing sites: a line starting ``版權說明`` / ``版权声明``;
* tip blocks: a line ``溫馨提示`` and the bullet lines that follow it;
* comment widgets at the very end: ``評論``, ``0/150``, ``提交評論`` lines.

Furniture lines are matched on the simplified form, so both scripts are covered.
"""

from __future__ import annotations

import re
import unicodedata

import opencc

_T2S = opencc.OpenCC("t2s")
_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PINYIN = re.compile(
    rf"(?<=[\u3400-\u9fff])[(（](?=[a-zü{_TONED}]{{1,7}}[)）])[a-zü]*[{_TONED}][a-zü{_TONED}]*[)）]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\ufeff]")
_PAGE_COUNTER = re.compile(r"^.{0,80}第\s*\d+\s*页$|^\d+\s*/\s*\d+$|^-\s*\d+\s*-$")
_PROMPT = re.compile(r"^(已阅读\d+页.*|下载本文档|文档简介|还剩\d+页未读.*|继续免费阅读)$")
_COPYRIGHT = re.compile(r"^(版权说明|版权声明)[:：]")
_TIP_HEAD = re.compile(r"^温馨提示[:：]?$")
_BULLET = re.compile(r"^([•·●\-*]|\d+[.、])")
_TAIL_WIDGET = re.compile(r"^(评论|提交评论|\d+/\d+|发表评论)$")


_WRAP = re.compile(r"[ \t]*\n\s*")
_WIDE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def join_wrapped(text: str) -> str:
    """Undo hard line wraps inside a paragraph: no space between CJK characters, one otherwise."""

    def joiner(match: re.Match[str]) -> str:
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        return "" if _WIDE.match(before) or _WIDE.match(after) else " "

    return _WRAP.sub(joiner, text.strip())


def remove_stray_pinyin(text: str) -> str:
    """Drop pinyin glosses such as ``(wù)`` that scrapers leave after characters."""
    return _PINYIN.sub("", text)


def _simplified_line(line: str) -> str:
    return _T2S.convert(unicodedata.normalize("NFKC", line).strip())


def _is_furniture(simple: str) -> bool:
    return bool(_PAGE_COUNTER.match(simple) or _PROMPT.match(simple) or _COPYRIGHT.match(simple))


def _drop_tip_blocks(lines: list[str], simple: list[str]) -> list[bool]:
    keep = [True] * len(lines)
    i = 0
    while i < len(lines):
        if _TIP_HEAD.match(simple[i]):
            keep[i] = False
            j = i + 1
            while j < len(lines) and (not simple[j] or _BULLET.match(simple[j])):
                keep[j] = False
                j += 1
            i = j
        else:
            i += 1
    return keep


def _drop_tail_widgets(simple: list[str], keep: list[bool]) -> None:
    for i in range(len(simple) - 1, -1, -1):
        if not simple[i] or _TAIL_WIDGET.match(simple[i]):
            keep[i] = False
        else:
            break


def remove_page_furniture(text: str) -> str:
    """Remove page counters, reading prompts, copyright and tip blocks of scraped pages."""
    lines = text.split("\n")
    simple = [_simplified_line(line) for line in lines]
    keep = _drop_tip_blocks(lines, simple)
    _drop_tail_widgets(simple, keep)
    kept = [
        line for line, s, k in zip(lines, simple, keep, strict=True) if k and not _is_furniture(s)
    ]
    return "\n".join(kept)


def clean_text(text: str) -> str:
    """The stored form of extracted text: the original script, minus scraping debris."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = remove_stray_pinyin(text)
    text = remove_page_furniture(text)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
