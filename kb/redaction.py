"""Redaction for exports: client and organisation names, people's names, phone numbers, e-mail
addresses and ID-card numbers are masked, consistently within one export (the same client always
becomes the same alias), with a report of what was masked."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from kb.slots import find_slots

MASKS = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[邮箱已隐去]"),
    ("id_card", re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])"), "[身份证号已隐去]"),
    (
        "phone",
        re.compile(r"(?<!\d)(?:1[3-9]\d[- ]?\d{4}[- ]?\d{4}|0\d{2,3}-\d{7,8})(?!\d)"),
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

    def redact(self, text: str) -> str:
        """The text with every sensitive value replaced by its alias or a mask."""
        for kind, pattern, label in MASKS:
            text = pattern.sub(lambda m, k=kind, lb=label: self._mask(k, lb, m.group(0)), text)
        for variant in sorted(self.clients, key=len, reverse=True):
            if variant in text:
                key, industry = self.clients[variant]
                text = text.replace(variant, self._alias(key, "client", industry))
        out, cursor = [], 0
        for start, end, slot in find_slots(text):
            value = text[start:end]
            kind = {"人名": "person", "机构名称": "organisation"}.get(slot)
            if kind and not (kind == "organisation" and value in self.aliases.values()):
                out += [text[cursor:start], self._alias(value, kind)]
                cursor = end
        out.append(text[cursor:])
        return "".join(out)

    def report(self) -> list[dict]:
        """What was masked: kind, original, alias and how often (for the editor, not the export)."""
        return [
            {"kind": self.kinds[value], "original": value, "alias": self.aliases[value], "count": n}
            for value, n in self.counts.most_common()
        ]
