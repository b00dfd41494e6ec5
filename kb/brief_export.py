"""A case brief as a Markdown or Word document: the input, each part in order and the sources
listed, redacted as pack exports are (clients, people, phone numbers, e-mails, ID numbers)."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field

import docx

from kb.brief import Brief, BriefPassage
from kb.redaction import Redactor

_TAGS = re.compile(r"</?mark>")
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # Word cannot hold these


def plain(marked: str) -> str:
    """Text of an excerpt the brief gives as HTML (escaped, words in <mark>)."""
    return html.unescape(_TAGS.sub("", marked))


@dataclass
class _Part:
    """A section of the export: a heading and its paragraphs (a paragraph may be a heading)."""

    title: str
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (kind, text): h / p / quote

    def add(self, kind: str, text: str) -> None:
        if text:
            self.blocks.append((kind, text))


def _reference(passage: BriefPassage) -> str:
    return f"来源：{passage.doc_id} · {passage.title}" + (
        f" · {passage.heading}" if passage.heading else ""
    )


def _labels_part(brief: Brief) -> _Part:
    part = _Part("一、项目判断")
    for label in brief.labels:
        sure = "" if label.confident else "（把握不大，请核实）"
        others = "、".join(f"{c['label']} {c['probability']:.0%}" for c in label.candidates[1:])
        part.add("p", f"{label.name}：{label.label}（{label.probability:.0%}）{sure}")
        part.add("p", f"其他可能：{others}" if others else "")
        evidence = "、".join(f"{e['title']}（{e['label']}）" for e in label.evidence)
        part.add("p", f"依据：最接近的已标注文档 {evidence}" if evidence else "")
    part.add("p", f"库中的空白：{brief.gaps}" if brief.gaps else "")
    for note in brief.notes:
        part.add("p", note)
    return part


def _cases_part(brief: Brief) -> _Part:
    part = _Part("二、相似案例")
    for n, item in enumerate(brief.cases, start=1):
        case = item.case
        part.add("h", f"{n}. {case.title}（相似度 {case.percent}）")
        part.add("p", "理由：" + "；".join(case.reasons))
        for pair in item.pairs:
            part.add("quote", f"本次：{plain(pair['sentence'])}")
            part.add("quote", f"案例（{pair['heading']}）：{plain(pair['passage'])}")
        if item.outcome is not None:
            part.add("p", f"成效（{item.outcome.heading}）：{plain(item.outcome.text)}")
        part.add("p", f"来源：{case.doc_id} · {case.title}")
    return part


def _steps_part(brief: Brief) -> _Part:
    part = _Part("三、怎么做（SOP）")
    section = None
    for step in brief.steps:
        if step.section != section:
            section = step.section
            part.add("h", section)
        part.add("p", f"{step.title} › {step.heading}：{plain(step.text)}")
        part.add("p", _reference(step))
    return part


def _pitfalls_part(brief: Brief) -> _Part:
    part = _Part("四、以前踩过的坑")
    for pitfall in brief.pitfalls:
        part.add("h", pitfall.title)
        part.add("p", f"{pitfall.heading.split(' > ')[-1]}：{plain(pitfall.text)}")
        part.add("p", f"建议：{plain(pitfall.remedy)}" if pitfall.remedy else "")
        part.add("p", _reference(pitfall))
    return part


def _draft_part(brief: Brief) -> _Part:
    part = _Part("五、方案骨架")
    draft = brief.draft
    if draft is None:
        part.add("p", "库中可见的相似案例不足两篇，无法提炼骨架")
        return part
    origin = f"已保存的模板「{draft.template}」" if draft.origin == "saved" else "相似案例"
    part.add("p", f"来自{origin}（{'、'.join(draft.sources)}）")
    for line in draft.markdown.splitlines():
        part.add("p", line)
    return part


def _sources(brief: Brief) -> list[str]:
    seen: dict[str, str] = {}
    for item in brief.cases:
        seen.setdefault(item.case.doc_id, item.case.title)
    for passage in [*brief.steps, *brief.pitfalls]:
        seen.setdefault(passage.doc_id, passage.title)
    return [f"{doc_id} · {title}" for doc_id, title in seen.items()]


def _parts(brief: Brief, text: str, client: str | None, redactor: Redactor | None):
    """(title, parts, sources) of the export, redacted when a redactor is given."""
    parts = [_Part("客户情况（原文）", [("p", p) for p in text.split("\n") if p.strip()])]
    parts += [
        _labels_part(brief),
        _cases_part(brief),
        _steps_part(brief),
        _pitfalls_part(brief),
        _draft_part(brief),
    ]
    title = f"案例简报：{client or '新客户'}"
    sources = _sources(brief)
    if redactor is None:
        return title, parts, sources
    redactor.add_client(client, next((x.label for x in brief.labels if x.field == "industry"), ""))
    for item in brief.cases:
        redactor.add_client(item.case.metadata.get("client"), item.case.metadata.get("industry"))
    redactor.learn(text for part in parts for _, text in part.blocks)
    for part in parts:
        part.blocks = [(kind, redactor.redact(value)) for kind, value in part.blocks]
    return redactor.redact(title), parts, [redactor.redact(s) for s in sources]


def brief_markdown(
    brief: Brief, text: str, *, client: str | None, redact: bool = True
) -> tuple[str, list[dict]]:
    """The brief as Markdown, and what redaction masked."""
    redactor = Redactor() if redact else None
    title, parts, sources = _parts(brief, text, client, redactor)
    lines = [f"# {title}", ""]
    for part in parts:
        lines += [f"## {part.title}", ""]
        for kind, value in part.blocks:
            prefix = {"h": "### ", "quote": "> ", "p": ""}[kind]
            lines += [prefix + value, ""]
    lines += ["## 资料来源", ""] + [f"- {s}" for s in sources] + [""]
    return "\n".join(lines), (redactor.report() if redactor else [])


def brief_docx(
    brief: Brief, text: str, *, client: str | None, redact: bool = True
) -> tuple[bytes, list[dict]]:
    """The brief as a Word document, and what redaction masked."""
    redactor = Redactor() if redact else None
    title, parts, sources = _parts(brief, _NOT_XML.sub("", text), client, redactor)
    for part in parts:
        part.blocks = [(kind, _NOT_XML.sub("", value)) for kind, value in part.blocks]
    title, sources = _NOT_XML.sub("", title), [_NOT_XML.sub("", s) for s in sources]
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, level=0)
    for part in parts:
        document.add_heading(part.title, level=1)
        for kind, value in part.blocks:
            if kind == "h":
                document.add_heading(value, level=2)
            else:
                document.add_paragraph(value, style="Quote" if kind == "quote" else None)
    document.add_heading("资料来源", level=1)
    for source in sources:
        document.add_paragraph(source, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), (redactor.report() if redactor else [])
