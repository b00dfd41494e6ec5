"""Redaction benchmark on the bundled corpus: what a redacted pack export changes.

Ingests the corpus into a temporary library (hash embedder), puts every document into one pack,
exports it as Markdown with and without redaction (the product's own export path) and aligns
the two exports line by line: each span the redacted export replaced is classified as a planted
secret (phone, e-mail, ID number, a client's name, short form or alias from front matter, a
client named by description such as 华东某工程机械股份有限公司, or a person's name planted in the
corpus) or as a false replacement. Then every planted secret is looked up in the redacted export.

    python bench/redaction.py [--corpus DIR] [--json]

Prints passages, replaced spans, planted secrets masked and missed, and every false replacement.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.pipeline import ingest_paths  # noqa: E402
from kb import packs, store  # noqa: E402
from kb.access import LOCAL  # noqa: E402
from kb.config import Settings  # noqa: E402
from kb.library import Library  # noqa: E402

DEFAULT_CORPUS = ROOT / "corpus"
# The people named in corpus/, found by reading it (grep for 先生/女士/老师/总, 经理/总监/负责人/
# 联系人/对接人/董事长/行长 followed by a name, and the contact lines with phones and e-mails).
PLANTED_PEOPLE = frozenset(
    """吴晓东 周健 周启明 周海 孙一凡 方宇 曹静 李娜 李婷 杨帆 梁文博 赵敏 钱蕾 陈建华 黄思远 徐国庆
    韩立新 沈建国 鄭國華 何先生 何女士 冯先生 刘先生 刘女士 劉先生 吴先生 吴女士 周先生 周女士 孙先生
    孙女士 徐先生 林先生 林女士 林總 梁先生 王女士 许先生 赵先生 赵女士 赵总 邓先生 邓女士 郑女士
    郑老师 钱先生 陈女士 陈总 韩先生 马女士 高先生 黄先生 黃先生 黃總 黃醫生""".split()
)
CONTACTS = [
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("phone", re.compile(r"(?<!\d)(?:\+?86[- ]?)?(?:1\d{2}|0\d{2,3})(?:[- ]?\d{3,4}){2}(?!\d)")),
    ("id_card", re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")),
]
DESCRIBED = re.compile(
    r"^.{0,8}某.{1,20}(公司|集团|集團|银行|銀行|医院|醫院|学校|大学|学院|研究院|中心)$"
)


@dataclass
class Result:
    """What the redacted export changed, by kind, and what it left in."""

    documents: int = 0
    passages: int = 0
    replaced: Counter = field(default_factory=Counter)  # kind -> spans
    masked: Counter = field(default_factory=Counter)  # planted secret -> occurrences masked
    missed: Counter = field(default_factory=Counter)  # planted secret -> occurrences left
    false: list[tuple[str, str]] = field(default_factory=list)  # (original span, context)


def client_variants(client: str | None) -> set[str]:
    """A front-matter client, its name without the alias note, and the alias (化名)."""
    if not client:
        return set()
    alias = re.search(r"化名[:：]\s*([^）)，,]+)", client)
    base = re.sub(r"[（(]化名.*?[）)]", "", client).strip()
    return {client, base} | ({alias.group(1).strip()} if alias else set())


def planted(text: str, clients: set[str]) -> Counter:
    """Every planted secret of a text and how often it occurs."""
    found = Counter({v: text.count(v) for v in clients | PLANTED_PEOPLE if v in text})
    for _, pattern in CONTACTS:
        found.update(m.group(0) for m in pattern.finditer(text))
    return found


def kind_of(span: str, clients: set[str]) -> str | None:
    """The kind of planted secret a replaced span is, or None for an ordinary word."""
    for kind, pattern in CONTACTS:
        if pattern.fullmatch(span):
            return kind
    if span in clients:
        return "client"
    if DESCRIBED.match(span):
        return "described client"
    return "person" if span in PLANTED_PEOPLE else None


def replaced_spans(plain: str, redacted: str, aliases: list[str]) -> list[str] | None:
    """The spans of the plain line that the redacted line replaced by aliases (None: no fit)."""
    alternation = "|".join(re.escape(a) for a in sorted(aliases, key=len, reverse=True))
    parts = re.split(f"({alternation})", redacted)
    pattern = "".join(re.escape(p) if i % 2 == 0 else "(.+?)" for i, p in enumerate(parts))
    match = re.fullmatch(pattern, plain, flags=re.S)
    return list(match.groups()) if match else None


def export_pair(library: Library) -> tuple[str, str, list[str]]:
    """The Markdown export of a pack holding every document, plain and redacted, and the
    aliases the redacted one used."""
    pack = packs.create_pack(library, title="全部样例")
    with library.session() as session:
        ids = [d.id for d in store.list_documents(session)]
    for doc_id in ids:
        packs.add_item(library, pack.id, doc_id=doc_id, section="案例分析与经验总结", viewer=LOCAL)
    plain, _ = packs.export_markdown(library, pack.id, viewer=LOCAL, redact=False)
    redacted, report = packs.export_markdown(library, pack.id, viewer=LOCAL, redact=True)
    return plain, redacted, sorted({r["alias"] for r in report})


def measure(corpus: Path, data_dir: Path) -> Result:
    """Ingest the corpus into data_dir, export it both ways and compare."""
    library = Library(Settings(data_dir=data_dir, embedder="hash", suggest_fields=[]))
    ingest_paths(library, [corpus])
    result = Result()
    with library.session() as session:
        documents = store.list_documents(session)
        result.documents, result.passages = len(documents), store.count_chunks(session)
        clients = set().union(*(client_variants(d.client) for d in documents))
    plain, redacted, aliases = export_pair(library)
    for before, after in zip(plain.splitlines(), redacted.splitlines(), strict=True):
        if before == after:
            continue
        spans = replaced_spans(before, after, aliases)
        if spans is None:
            result.false.append(("(line not aligned)", before[:120]))
            continue
        for span in spans:
            kind = kind_of(span, clients)
            result.replaced[kind or "false"] += 1
            if kind is None:
                at = before.find(span)
                result.false.append((span, before[max(0, at - 15) : at + len(span) + 15]))
    before_count, after_count = planted(plain, clients), planted(redacted, clients)
    for secret, n in before_count.items():
        result.masked[secret] = n - after_count.get(secret, 0)
        if after_count.get(secret):
            result.missed[secret] = after_count[secret]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = measure(args.corpus, Path(folder))
    figures = {
        "documents": result.documents,
        "passages": result.passages,
        "replaced_spans": sum(result.replaced.values()),
        "replaced_by_kind": dict(result.replaced),
        "planted_secrets": len(result.masked),
        "planted_masked": sum(1 for s in result.masked if s not in result.missed),
        "planted_missed": dict(result.missed),
        "false_replacements": len(result.false),
    }
    if not args.json:
        print(f"documents {result.documents}, passages {result.passages}")
        print(f"replaced spans {figures['replaced_spans']}: {dict(result.replaced)}")
        print(
            f"planted secrets {figures['planted_secrets']} (distinct), masked everywhere "
            f"{figures['planted_masked']}, missed {len(result.missed)}: {dict(result.missed)}"
        )
        print(f"false replacements {len(result.false)}")
        for span, context in result.false:
            print(f"  {span!r:>16}  in  …{context.strip()}…")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
