"""Redaction for exports: client and organisation names, people's names, phone numbers, e-mail
addresses and ID-card numbers are masked, consistently within one export (the same client always
becomes the same alias), with a report of what was masked."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kb.slots import organisation_spans, person_spans, word_bounds

MASKS = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[邮箱已隐去]"),
    ("id_card", re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"), "[身份证号已隐去]"),
    (
        "phone",
        re.compile(
            r"(?<!\d)(?:1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-\d{3,4}-?\d{4}|400-?\d{3}-?\d{4})(?!\d)"
        ),
        "[电话已隐去]",
    ),
]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Redactor:
    """Masks sensitive values; one instance per export keeps the aliases consistent."""

    clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # variant -> (key, industry)
    aliases: dict[str, str] = field(default_factory=dict)  # original (or client key) -> alias
    kinds: dict[str, str] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    people: set[str] = field(default_factory=set)  # names seen with evidence, masked everywhere

    def add_client(self, name: str | None, industry: str | None) -> None:
        """Register a client (front matter `client`) with its short form and alias (化名)."""
        if not name:
            return
        base = re.sub(r"[（(]化名.*?[）)]", "", name).strip()
        alias = re.search(r"化名[:：]\s*([^）)，,]+)", name)
        for variant in filter(None, [name, base, alias.group(1).strip() if alias else None]):
            self.clients.setdefault(variant, (name, industry or ""))

    def _alias(self, key: str, kind: str, industry: str = "") -> str:
        if key not in self.aliases:
            n = sum(1 for k in self.kinds.values() if k == kind)
            letter = LETTERS[n % 26] + (str(n // 26) if n >= 26 else "")
            names = {
                "client": f"某{industry}企业{letter}",
                "organisation": f"某机构{letter}",
                "person": f"人员{letter}",
            }
            self.aliases[key], self.kinds[key] = names[kind], kind
        self.counts[key] += 1
        return self.aliases[key]

    def _mask(self, kind: str, label: str, value: str) -> str:
        self.aliases[value], self.kinds[value] = label, kind
        self.counts[value] += 1
        return label

    def learn(self, texts: Iterable[str]) -> None:
        """Remember the people the texts name on evidence, to mask every mention of them (also
        one that comes before the evidence)."""
        for text in texts:
            self.people.update(text[start:end] for start, end in person_spans(text))

    def redact(self, text: str) -> str:
        """The text with every sensitive value replaced by its alias or a mask."""
        for kind, pattern, label in MASKS:
            text = pattern.sub(lambda m, k=kind, lb=label: self._mask(k, lb, m.group(0)), text)
        self.learn([text])
        spans = self._client_spans(text)
        spans += [(s, e, "organisation") for s, e in organisation_spans(text)]
        for name in self.people:
            spans += [(m.start(), m.end(), "person") for m in re.finditer(re.escape(name), text)]
        return _splice(text, spans, self._replacement)

    def _client_spans(self, text: str) -> list[tuple[int, int, str]]:
        """Where the text names a registered client; a two-character alias only as a word of its
        own (速达, but not in 迅速达成)."""
        bounds = word_bounds(text)
        return [
            (m.start(), m.end(), "client")
            for variant in self.clients
            for m in re.finditer(re.escape(variant), text)
            if len(variant) > 2 or {m.start(), m.end()} <= bounds
        ]

    def _replacement(self, value: str, kind: str) -> str:
        if kind == "client":
            key, industry = self.clients[value]
            return self._alias(key, kind, industry)
        return self._alias(value, kind)

    def report(self) -> list[dict]:
        """What was masked: kind, original, alias and how often (for the editor, not the export)."""
        return [
            {"kind": self.kinds[value], "original": value, "alias": self.aliases[value], "count": n}
            for value, n in self.counts.most_common()
        ]


def _splice(
    text: str, spans: list[tuple[int, int, str]], replace: Callable[[str, str], str]
) -> str:
    """The text with each (start, end, kind) span replaced by `replace(value, kind)`; of
    overlapping spans the one that starts first wins, then the longest, then a client."""
    out, cursor = [], 0
    for start, end, kind in sorted(spans, key=lambda f: (f[0], f[0] - f[1], f[2] != "client")):
        if start >= cursor:
            out += [text[cursor:start], replace(text[start:end], kind)]
            cursor = end
    out.append(text[cursor:])
    return "".join(out)
