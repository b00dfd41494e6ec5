"""Document fields as arrays: per field, the (document, value) pairs of a snapshot, so that a
query's facet counts are one bincount over the documents it matched, and a filter is a mask."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from kb.filters import Filter


@dataclass
class FacetField:
    values: list[str]
    pair_doc: np.ndarray
    pair_value: np.ndarray


class FacetTable:
    """Value counts of the facet fields over any set of documents (given by document code)."""

    def __init__(self, metas: list[dict[str, Any]], fields: list[str]) -> None:
        self.documents = len(metas)
        self._metas = metas
        self.fields = {name: self._field(metas, name) for name in fields}
        self._columns: dict[str, FacetField] = dict(self.fields)
        self._firsts: dict[str, np.ndarray] = {}

    def column(self, name: str) -> FacetField:
        """Any field's (document, value) pairs, made on first use."""
        if name not in self._columns:
            self._columns[name] = self._field(self._metas, name)
        return self._columns[name]

    def _first_values(self, name: str) -> np.ndarray:
        """Each document's first value of a field as text (None where it has none)."""
        if name not in self._firsts:
            column = self.column(name)
            firsts = np.full(self.documents, None, dtype=object)
            for doc, value in zip(column.pair_doc[::-1], column.pair_value[::-1], strict=True):
                firsts[doc] = column.values[value]
            self._firsts[name] = firsts
        return self._firsts[name]

    def equals(self, name: str, value: str) -> np.ndarray:
        column = self.column(name)
        mask = np.zeros(self.documents, dtype=bool)
        if value in column.values:
            mask[column.pair_doc[column.pair_value == column.values.index(value)]] = True
        return mask

    def _condition(self, item: Filter) -> np.ndarray:
        if item.op == "=":
            return self.equals(item.field, item.value)
        if item.op == "!=":
            return ~self.equals(item.field, item.value)
        firsts = self._first_values(item.field)
        present = np.not_equal(firsts, None)
        compare = {">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less}
        out = np.zeros(self.documents, dtype=bool)
        out[present] = compare[item.op](firsts[present], item.value).astype(bool)
        return out

    def matching(self, filters: list[Filter]) -> np.ndarray:
        """Documents passing the filters, as a mask: `=` on one field is OR-ed (facet style),
        everything else AND-ed, as in `kb.filters.document_matches`."""
        mask = np.ones(self.documents, dtype=bool)
        alternatives: dict[str, np.ndarray] = {}
        for item in filters:
            if item.op == "=":
                found = self._condition(item)
                alternatives[item.field] = alternatives.get(item.field, found) | found
            else:
                mask &= self._condition(item)
        for found in alternatives.values():
            mask &= found
        return mask

    @staticmethod
    def _field(metas: list[dict[str, Any]], name: str) -> FacetField:
        codes: dict[str, int] = {}
        docs: list[int] = []
        values: list[int] = []
        for doc_code, meta in enumerate(metas):
            value = meta.get(name)
            items = value if isinstance(value, list) else [value]
            for item in dict.fromkeys(str(i) for i in items if i not in (None, "")):
                docs.append(doc_code)
                values.append(codes.setdefault(item, len(codes)))
        return FacetField(
            list(codes), np.asarray(docs, dtype=np.int64), np.asarray(values, dtype=np.int64)
        )

    def counts(self, doc_codes: np.ndarray) -> dict[str, dict[str, int]]:
        """Per field, how many of the items carry each value, most frequent first. An item is a
        document code; a document given n times (once per matching passage) counts n times."""
        per_doc = np.bincount(doc_codes[doc_codes >= 0], minlength=self.documents)
        out: dict[str, dict[str, int]] = {}
        for name, table in self.fields.items():
            tally = np.bincount(
                table.pair_value, weights=per_doc[table.pair_doc], minlength=len(table.values)
            ).astype(np.int64)
            order = sorted(np.flatnonzero(tally), key=lambda v: (-tally[v], table.values[v]))
            if order:
                out[name] = {table.values[v]: int(tally[v]) for v in order}
        return out
