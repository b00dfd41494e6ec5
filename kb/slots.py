"""Slots: the parts of a sentence that vary from case to case (organisations, people, places,
dates, durations, amounts, percentages, counts), found with patterns, jieba words and the
documents' own metadata, and replaced by `{{名称}}` placeholders. People and organisations need
strong evidence (a title, a role, a description with 某, a declared alias): jieba's dictionary tags
ordinary words as names (周转, 顾客, 高峰 are `nr`), so its tags alone prove nothing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from types import ModuleType

import jieba

from kb.text import normalize_for_index

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
    r"(?:[东南西北中华]{2}|[\u4e00-\u9fa5]{2,3}[省市])?某(?![些个一种次位天段项类时])"
    r"[\u4e00-\u9fa5]{1,15}?(股份有限公司|有限公司|公司|集团|银行|医院|学校|大学|学院|研究院|中心)"
)
_ALIAS = re.compile(
    r"(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2,8}(?=[（(]化名[）)])|(?<=化名[:：])[^）)，,、\s]+"
)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
    "莫孔向汤傅洪施翟葛牛齐柴滕殷邢祝詹俞倪欧卞鲁左裴耿庞颜季邬柳窦聂舒阎焦栾褚骆岳甄蒲柯穆靳晏申童"
)
# A form of address right after a surname names a person (吴先生, 赵总, 郑老师); a job title does
# only after a pause or a function word (向王经理汇报, not 客户方总监).
_ADDRESS = "先生|女士|小姐|老师|博士|教授|律师|医生|总"
_JOB = "经理|总监|主任|院长|校长|处长|部长|科长|主管|书记|行长"
_TITLED = re.compile(rf"[{SURNAMES}](?:({_ADDRESS})|{_JOB})")
# A role before a full name (项目经理 周健, 联系人：李婷, 董事长 韩立新, 由李娜负责).
_ROLES = (
    "经理|总监|总裁|负责人|联系人|联络人|对接人|合伙人|董事长|主任|院长|校长|处长|部长|科长|行长|主管|"
    "书记|会计师|顾问|专员|安全官|医疗官|ceo|cfo|coo|cio|cto|chro"
)
_ROLE_BEFORE = re.compile(rf"(?:{_ROLES})(?:[\s：:（(*]|为|是)*(?=[{SURNAMES}])")
_BY = re.compile(rf"由([{SURNAMES}][\u4e00-\u9fff]{{1,2}}?)(?:负责|牵头|担任|主持|带队|对接|统筹)")
# A three-character word jieba tags `nr` this often is ordinary (金字塔 425) or a famous name.
COMMON_NAME = 100
_CJK = re.compile(r"[\u4e00-\u9fff]+")
_PLACE = re.compile(r"..+(省|市|区|县|州)$")
REGIONS = {"华东", "华南", "华北", "华中", "西南", "西北", "东北", "长三角", "珠三角", "京津冀"}


def _spans(text: str, pattern: re.Pattern[str]) -> Iterable[tuple[int, int]]:
    return ((m.start(), m.end()) for m in pattern.finditer(text))


def _posseg() -> ModuleType:
    """jieba's part-of-speech tagger, imported on first use (loading it takes a moment)."""
    import jieba.posseg

    return jieba.posseg


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, tuple[tuple[int, int, str], ...]]:
    """The normalised text (simplified, one character per character) and its jieba words as
    (start, end, part-of-speech tag)."""
    norm = normalize_for_index(text)
    words, position = [], 0
    for word, flag in _posseg().cut(norm):
        words.append((position, position + len(word), flag))
        position += len(word)
    return norm, tuple(words)


def word_bounds(text: str) -> frozenset[int]:
    """The offsets at which a jieba word of the text starts or ends."""
    _, words = _words(text)
    return frozenset(p for start, end, _ in words for p in (start, end))


def _full_name(norm: str, start: int, words: dict[int, tuple[int, str]]) -> int | None:
    """The end of the full name starting at a word boundary `start`, if one does: two or three
    characters followed by a pause (项目经理 周健，), else a rare three-character word jieba takes
    for a name (总经理王建国委托)."""
    if start not in words:
        return None
    for length in (3, 2):
        name = norm[start : start + length]
        after = norm[start + length : start + length + 1]
        if _CJK.fullmatch(name) and not _CJK.match(after) and _may_be_name(name):
            return start + length
    end, flag = words[start]
    name = norm[start:end]
    common = jieba.dt.FREQ.get(name, 0) >= COMMON_NAME
    return end if len(name) == 3 and flag.startswith("nr") and not common else None


def _may_be_name(word: str) -> bool:
    """False for a dictionary word that is not a name (周期, 方式)."""
    return _posseg().dt.word_tag_tab.get(word, "nr").startswith("nr")


def _titled(
    norm: str, words: dict[int, tuple[int, str]], after_role: set[int]
) -> Iterable[tuple[int, int]]:
    """A surname with a form of address or a job title, as words of their own (not 提高总部),
    the surname not a preposition (向行长汇报), a job title only after a role or a pause (not
    客户方总监)."""
    ends = {end: flag for end, flag in words.values()} | {0: "x"}
    for m in _TITLED.finditer(norm):
        start, end = m.span()
        surname_end, flag = words.get(start, (0, "n"))
        if (start not in words and start not in after_role) or end not in ends:
            continue
        if surname_end == start + 1 and flag[0] in "pcud":
            continue
        if m.group(1) or start in after_role or ends.get(start, "n")[0] in "pcudrx":
            yield start, end


def person_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of people's names, found only on strong evidence: a form of address or a
    title next to a surname, or a role before a full name; every other occurrence of a full name
    so found is included."""
    norm, tokens = _words(text)
    words = {start: (end, flag) for start, end, flag in tokens}
    after_role = {m.end() for m in _ROLE_BEFORE.finditer(norm)}
    found = list(_titled(norm, words, after_role))
    names = {m.group(1) for m in _BY.finditer(norm) if m.start(1) in words}
    for start in after_role:
        end = _full_name(norm, start, words)
        if end:
            names.add(norm[start:end])
    for name in names:
        found += list(_spans(norm, re.compile(re.escape(name))))
    return found


def organisation_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of organisations named by description (华东某汽车零部件有限公司) or by an alias
    the text declares (星图科技（化名）, 化名：悦邻)."""
    norm, _ = _words(text)
    return list(_spans(norm, _ORG_SUFFIX)) + list(_spans(norm, _ALIAS))


def find_slots(text: str, known: dict[str, str] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, slot name) of the varying parts of a text, without overlaps, in order."""
    found: list[tuple[int, int, str]] = []
    for name, value in (known or {}).items():
        if value:
            found += [(s, e, name) for s, e in _spans(text, re.compile(re.escape(value)))]
    found += [(s, e, "机构名称") for s, e in organisation_spans(text)]
    found += [(s, e, "人名") for s, e in person_spans(text)]
    norm, words = _words(text)
    for start, end, flag in words:
        if flag == "ns" and (_PLACE.search(norm[start:end]) or norm[start:end] in REGIONS):
            found.append((start, end, "地点"))
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
