"""Filters on document fields: `industry=制造业`, `tags=供应链`, `date>=2022-01-01`, `type!=sop`."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from kb.errors import InvalidFilterError

_EXPR = re.compile(r"^\s*([\w\-.]+)\s*(>=|<=|!=|=|:|>|<)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Filter:
    """One condition on a document field."""

    field: str
    op: str
    value: str

    def matches(self, meta: dict[str, Any]) -> bool:
        actual = meta.get(self.field)
        values = (
            [str(v) for v in actual]
            if isinstance(actual, list)
            else ([] if actual is None else [str(actual)])
        )
        if self.op == "=":
            return self.value in values
        if self.op == "!=":
            return self.value not in values
        if not values:
            return False
        value = values[0]
        return {
            ">=": value >= self.value,
            "<=": value <= self.value,
            ">": value > self.value,
            "<": value < self.value,
        }[self.op]


def parse_filter(expression: str) -> Filter:
    match = _EXPR.match(expression)
    if not match or not match.group(3):
        raise InvalidFilterError(
            f"无法理解筛选条件 {expression!r}：请写成 字段=值，如 industry=制造业、date>=2022-01-01"
        )
    field, op, value = match.groups()
    return Filter(field, "=" if op == ":" else op, value)


def parse_filters(expressions: list[str] | None) -> list[Filter]:
    return [parse_filter(e) for e in expressions or []]


def document_matches(filters: list[Filter], meta: dict[str, Any]) -> bool:
    """Equal-field `=` conditions are OR-ed (facet style); everything else is AND-ed."""
    groups: dict[str, list[Filter]] = defaultdict(list)
    for item in filters:
        if item.op == "=":
            groups[item.field].append(item)
        elif not item.matches(meta):
            return False
    return all(any(f.matches(meta) for f in group) for group in groups.values())
