"""Slots: the parts of a sentence that vary from case to case (organisations, people, places,
dates, durations, amounts, percentages, counts), found with patterns, jieba part-of-speech tags
and the documents' own metadata, and replaced by `{{名称}}` placeholders."""

from __future__ import annotations

import re
from collections.abc import Iterable

import jieba.posseg as posseg

SLOT_PATTERNS = [
    (
        "项目周期",
        re.compile(
            r"(历时|为期|周期|用时|耗时)\s*\d+(\.\d+)?\s*(个)?\s*(年|个月|月|周|天|个工作日)"
        ),
    ),
    (
        "日期",
        re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月(\s*\d{1,2}\s*日)?|\d{4}-\d{1,2}-\d{1,2}|\d{4}\s*年"),
    ),
    ("金额", re.compile(r"\d[\d,]*(\.\d+)?\s*(亿|万|千)?\s*元")),
    ("百分比", re.compile(r"\d[\d,]*(\.\d+)?\s*[%％]")),
    ("时长", re.compile(r"\d[\d,]*(\.\d+)?\s*(个)?\s*(年|个月|周|天|小时|分钟|个工作日)")),
    ("数量", re.compile(r"\d[\d,]*(\.\d+)?\s*(家|人|名|个|项|次|台|份|条|所|间|辆|吨)")),
]
_ORG_SUFFIX = re.compile(
    r"(?:[东南西北中华]{2}|[\u4e00-\u9fa5]{2,3}[省市])?某[\u4e00-\u9fa5]{1,15}?"
    r"(股份有限公司|有限公司|公司|集团|银行|医院|学校|大学|学院|研究院|中心)"
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
_PLACE = re.compile(r"..+(省|市|区|县|州)$")
REGIONS = {"华东", "华南", "华北", "华中", "西南", "西北", "东北", "长三角", "珠三角", "京津冀"}
_PERSON_TITLE = re.compile(rf"[{SURNAMES}](先生|女士|总|经理|老师)")


def _spans(text: str, pattern: re.Pattern[str]) -> Iterable[tuple[int, int]]:
    return ((m.start(), m.end()) for m in pattern.finditer(text))


def find_slots(text: str, known: dict[str, str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, slot name) of the varying parts of a text, without overlaps, in order."""
    found: list[tuple[int, int, str]] = []
    for name, value in (known or {}).items():
        if value:
            found += [(s, e, name) for s, e in _spans(text, re.compile(re.escape(value)))]
    found += [(s, e, "机构名称") for s, e in _spans(text, _ORG_SUFFIX)]
    found += [(s, e, "人名") for s, e in _spans(text, _PERSON_TITLE)]
    position = 0
    for word, flag in posseg.cut(text):
        if flag == "nt" and len(word) >= 3:
            found.append((position, position + len(word), "机构名称"))
        elif flag in ("nr", "nrfg") and 2 <= len(word) <= 3 and word[0] in SURNAMES:
            found.append((position, position + len(word), "人名"))
        elif flag == "ns" and (_PLACE.search(word) or word in REGIONS):
            found.append((position, position + len(word), "地点"))
        position += len(word)
    for name, pattern in SLOT_PATTERNS:
        found += [(s, e, name) for s, e in _spans(text, pattern)]
    chosen: list[tuple[int, int, str]] = []
    for start, end, name in sorted(found, key=lambda f: (f[0], -(f[1] - f[0]))):
        if not chosen or start >= chosen[-1][1]:
            chosen.append((start, end, name))
    return chosen


def fill_slots(text: str, known: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """The text with its varying parts replaced by `{{slot}}`, and the slot names used."""
    out, cursor, names = [], 0, []
    for start, end, name in find_slots(text, known):
        out.append(text[cursor:start])
        out.append("{{" + name + "}}")
        names.append(name)
        cursor = end
    out.append(text[cursor:])
    return "".join(out), names
