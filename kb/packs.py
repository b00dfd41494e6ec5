"""Onboarding packs: a trainer's selection of documents and passages arranged in the consulting
lifecycle, with notes; suggested from a topic; exported as Markdown or DOCX, redacted by default."""

from __future__ import annotations

import io
from dataclasses import dataclass

import docx

from kb import catalog, store
from kb.access import Principal
from kb.errors import InvalidQueryError, NotFoundError
from kb.library import Library
from kb.models import Pack, PackItem, utcnow
from kb.redaction import Redactor
from kb.search import SearchService

DEFAULT_OUTLINE = [
    "前期准备与客户沟通",
    "服务流程设计与实施",
    "服务质量控制与评估",
    "服务交付与成果输出",
    "后续支持与持续改进",
    "案例分析与经验总结",
    "团队建设与培训",
    "服务规范与合规",
]
STAGE_SECTIONS = {
    "售前": 0,
    "诊断": 0,
    "方案设计": 1,
    "实施": 1,
    "交付": 3,
    "复盘": 5,
}
TOPIC_WORDS = [
    (2, ("质量", "满意度", "评估")),
    (6, ("培训", "带教", "团队", "新人")),
    (7, ("保密", "合规", "个人信息")),
    (4, ("持续改进", "回访", "维护")),
]
SUGGEST_PER_TYPE = {"sop": 4, "lesson": 4, "case": 3}


def create_pack(library: Library, *, title: str, audience: str = "", redact: bool = True) -> Pack:
    if not title.strip():
        raise InvalidQueryError("培训包需要一个标题")
    with library.session() as session:
        pack = Pack(
            title=title.strip(), audience=audience, outline=list(DEFAULT_OUTLINE), redact=redact
        )
        session.add(pack)
        session.commit()
        session.refresh(pack)
    return pack


def update_pack(
    library: Library,
    pack_id: int,
    *,
    title: str | None = None,
    audience: str | None = None,
    redact: bool | None = None,
) -> Pack:
    """Change a pack's title, audience or its default redaction."""
    with library.session() as session:
        pack = _pack(session, pack_id)
        if title is not None:
            if not title.strip():
                raise InvalidQueryError("培训包需要一个标题")
            pack.title = title.strip()
        if audience is not None:
            pack.audience = audience
        if redact is not None:
            pack.redact = redact
        pack.updated_at = utcnow()
        session.add(pack)
        session.commit()
        session.refresh(pack)
    return pack


def _pack(session, pack_id: int) -> Pack:
    pack = store.get_pack(session, pack_id=pack_id)
    if pack is None:
        raise NotFoundError(f"培训包 {pack_id} 不存在")
    return pack


def add_item(
    library: Library,
    pack_id: int,
    *,
    doc_id: str,
    section: str,
    viewer: Principal,
    chunk_id: int | None = None,
    note: str = "",
) -> PackItem:
    """Put a document (or one of its passages) at the end of a section of the pack."""
    catalog.get_document(library, doc_id, viewer=viewer)
    with library.session() as session:
        pack = _pack(session, pack_id)
        if section not in pack.outline:
            pack.outline = [*pack.outline, section]
            session.add(pack)
        position = len(store.pack_items(session, pack_id=pack_id))
        item = PackItem(
            pack_id=pack_id,
            section=section,
            position=position,
            doc_id=doc_id,
            chunk_id=chunk_id,
            note=note,
        )
        session.add(item)
        pack.updated_at = utcnow()
        session.commit()
        session.refresh(item)
    return item


def reorder(library: Library, pack_id: int, item_ids: list[int], *, viewer: Principal) -> None:
    """Give the pack's items the order of `item_ids` (items not listed keep their place after)."""
    _, shown = load_pack(library, pack_id, viewer=viewer)
    with library.session() as session:
        items = {i.id: i for i in store.pack_items(session, pack_id=pack_id)}
        if set(item_ids) - {i.id for i in shown}:
            raise InvalidQueryError("排序中有不属于这个培训包的条目")
        order = item_ids + [i for i in items if i not in item_ids]
        for position, item_id in enumerate(order):
            items[item_id].position = position
            session.add(items[item_id])
        session.commit()


def _section_for(document, topic: str) -> str:
    meta_text = f"{document.title} {' '.join(document.tags or [])}"
    for index, words in TOPIC_WORDS:
        if any(w in meta_text for w in words):
            return DEFAULT_OUTLINE[index]
    if document.type == "lesson" or (document.type == "case" and document.stage == "复盘"):
        return DEFAULT_OUTLINE[5]
    if document.type == "case":
        return DEFAULT_OUTLINE[5]
    return DEFAULT_OUTLINE[STAGE_SECTIONS.get(document.stage or "", 1)]


@dataclass
class SuggestedItem:
    section: str
    doc_id: str
    title: str
    type: str
    chunk_id: int
    heading: str
    reason: str


def suggest(service: SearchService, topic: str, *, viewer: Principal) -> list[SuggestedItem]:
    """SOPs, lessons learned and representative cases for a topic, placed in the outline."""
    picked: list[SuggestedItem] = []
    for doc_type, count in SUGGEST_PER_TYPE.items():
        result = service.search(
            topic, viewer=viewer, k=count, by_doc=True, filters=[f"type={doc_type}"]
        )
        for hit in result.hits:
            document = catalog.get_document(service.library, hit.doc_id, viewer=viewer)
            picked.append(
                SuggestedItem(
                    section=_section_for(document, topic),
                    doc_id=hit.doc_id,
                    title=hit.title,
                    type=hit.type,
                    chunk_id=hit.chunk_id,
                    heading=hit.heading,
                    reason=f"与“{topic}”最相关的{ {'sop': 'SOP', 'lesson': '经验教训', 'case': '案例'}[doc_type] }",
                )
            )
    order = {name: i for i, name in enumerate(DEFAULT_OUTLINE)}
    return sorted(picked, key=lambda item: order[item.section])


@dataclass
class ExportEntry:
    """One item of a pack as it goes out: title, where it comes from, text and note."""

    title: str
    reference: str
    text: str
    note: str


def _entries(
    library: Library,
    pack: Pack,
    items: list[PackItem],
    redactor: Redactor | None,
    viewer: Principal,
):
    """(section, entries) in outline order, redacted when a redactor is given."""
    documents = {i.doc_id: catalog.document_detail(library, i.doc_id, viewer=viewer) for i in items}
    if redactor:
        for detail in documents.values():
            redactor.add_client(detail.metadata.get("client"), detail.metadata.get("industry"))
            redactor.learn(c.text for s in detail.sections for c in s.chunks)
    clean = redactor.redact if redactor else (lambda text: text)
    sections = []
    for section in pack.outline:
        entries = []
        for item in (i for i in items if i.section == section):
            detail = documents[item.doc_id]
            chunks = [c for s in detail.sections for c in s.chunks]
            chosen = [c for c in chunks if c.chunk_id == item.chunk_id] or chunks
            heading = chosen[0].heading if item.chunk_id and chosen else ""
            text = "\n\n".join(clean(c.text) for c in chosen)
            reference = f"{detail.doc_id} · {detail.source.rsplit('/', 1)[-1]}" + (
                f" · {heading}" if heading else ""
            )
            entries.append(ExportEntry(clean(detail.title), reference, text, clean(item.note)))
        if entries:
            sections.append((section, entries))
    return sections


def load_pack(library: Library, pack_id: int, *, viewer: Principal) -> tuple[Pack, list[PackItem]]:
    """A pack and, in order, its items on documents the viewer may see; NotFoundError when the
    pack does not exist."""
    with library.session() as session:
        pack = _pack(session, pack_id)
        items = list(store.pack_items(session, pack_id=pack_id))
    visible = catalog.visible_ids(library, [i.doc_id for i in items], viewer=viewer)
    return pack, [i for i in items if i.doc_id in visible]


def export_markdown(
    library: Library, pack_id: int, *, viewer: Principal, redact: bool | None = None
) -> tuple[str, list[dict]]:
    """The pack as Markdown (table of contents, sections, sources) and the redaction report."""
    pack, items = load_pack(library, pack_id, viewer=viewer)
    redactor = Redactor() if (pack.redact if redact is None else redact) else None
    sections = _entries(library, pack, items, redactor, viewer)
    lines = [
        f"# {pack.title}",
        "",
        f"面向：{pack.audience}" if pack.audience else "",
        "",
        "## 目录",
        "",
    ]
    lines += [f"{n}. {name}" for n, (name, _) in enumerate(sections, start=1)] + [""]
    for n, (name, entries) in enumerate(sections, start=1):
        lines += [f"## {n}. {name}", ""]
        for entry in entries:
            lines += [f"### {entry.title}", "", f"> 来源：{entry.reference}", ""]
            lines += [f"**培训说明**：{entry.note}", ""] if entry.note else []
            lines += [entry.text, ""]
    return "\n".join(lines), (redactor.report() if redactor else [])


def export_docx(
    library: Library, pack_id: int, *, viewer: Principal, redact: bool | None = None
) -> tuple[bytes, list[dict]]:
    """The pack as a Word document with a table of contents and source references."""
    pack, items = load_pack(library, pack_id, viewer=viewer)
    redactor = Redactor() if (pack.redact if redact is None else redact) else None
    sections = _entries(library, pack, items, redactor, viewer)
    document = docx.Document()
    document.core_properties.title = pack.title
    document.add_heading(pack.title, level=0)
    if pack.audience:
        document.add_paragraph(f"面向：{pack.audience}")
    document.add_heading("目录", level=1)
    for n, (name, entries) in enumerate(sections, start=1):
        document.add_paragraph(f"{n}. {name}（{len(entries)} 篇）")
    for n, (name, entries) in enumerate(sections, start=1):
        document.add_heading(f"{n}. {name}", level=1)
        for entry in entries:
            document.add_heading(entry.title, level=2)
            document.add_paragraph(f"来源：{entry.reference}")
            if entry.note:
                document.add_paragraph(f"培训说明：{entry.note}")
            for paragraph in entry.text.split("\n\n"):
                document.add_paragraph(paragraph)
    document.add_heading("资料来源", level=1)
    for _, entries in sections:
        for entry in entries:
            document.add_paragraph(entry.reference, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue(), (redactor.report() if redactor else [])
