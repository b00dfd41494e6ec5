"""Facet counting with arrays: per field, the (document, value) pairs of a snapshot, so that a
query's counts are one bincount over the documents it matched."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class FacetField:
    values: list[str]
    pair_doc: np.ndarray
    pair_value: np.ndarray


class FacetTable:
    """Value counts of the facet fields over any set of documents (given by document code)."""

    def __init__(self, metas: list[dict[str, Any]], fields: list[str]) -> None:
        self.documents = len(metas)
        self.fields = {name: self._field(metas, name) for name in fields}

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
        """Per field, how many of the documents carry each value, most frequent first."""
        selected = np.zeros(self.documents, dtype=bool)
        selected[doc_codes[doc_codes >= 0]] = True
        out: dict[str, dict[str, int]] = {}
        for name, table in self.fields.items():
            keep = selected[table.pair_doc]
            tally = np.bincount(table.pair_value[keep], minlength=len(table.values))
            order = sorted(np.flatnonzero(tally), key=lambda v: (-tally[v], table.values[v]))
            if order:
                out[name] = {table.values[v]: int(tally[v]) for v in order}
        return out
