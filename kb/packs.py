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
from kb.text import normalize_for_index

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
STAGE_WORDS = [
    (0, ("售前", "诊断", "调研", "启动", "立项")),
    (1, ("方案", "设计", "实施", "推进", "落地")),
    (2, ("评估", "验收", "质控")),
    (3, ("交付", "成果")),
    (4, ("运维", "维护", "回访", "改进", "后续")),
    (5, ("复盘", "总结")),
    (6, ("培训", "带教")),
    (7, ("合规", "保密")),
]
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


def delete_pack(library: Library, pack_id: int) -> str:
    """Delete a pack with its items; its title."""
    with library.session() as session:
        title = _pack(session, pack_id).title
        store.delete_pack(session, pack_id=pack_id)
        session.commit()
    return title


def _section_name(name: str, outline: list[str]) -> str:
    name = name.strip()
    if not name:
        raise InvalidQueryError("章节需要一个名称")
    if name in outline:
        raise InvalidQueryError(f"培训包里已有章节〈{name}〉：请换一个名称")
    return name


def add_section(library: Library, pack_id: int, name: str) -> Pack:
    """Add a section at the end of the pack's outline."""
    with library.session() as session:
        pack = _pack(session, pack_id)
        pack.outline = [*pack.outline, _section_name(name, pack.outline)]
        pack.updated_at = utcnow()
        session.add(pack)
        session.commit()
        session.refresh(pack)
    return pack


def rename_section(library: Library, pack_id: int, number: int, name: str) -> Pack:
    """Rename the pack's section at `number` (1 is the first), its items with it."""
    with library.session() as session:
        pack = _pack(session, pack_id)
        if not 1 <= number <= len(pack.outline):
            raise NotFoundError(f"培训包 {pack_id} 没有第 {number} 个章节")
        old, new = pack.outline[number - 1], _section_name(name, pack.outline)
        pack.outline = [new if s == old else s for s in pack.outline]
        for item in store.pack_items(session, pack_id=pack_id):
            if item.section == old:
                item.section = new
                session.add(item)
        pack.updated_at = utcnow()
        session.add(pack)
        session.commit()
        session.refresh(pack)
    return pack


def stage_section(stage: str | None, outline: list[str]) -> str | None:
    """The outline section of a document's stage (诊断 -> 前期准备与客户沟通, 交付 -> 服务交付与成果
    输出), found in a renamed outline by its place; None when the stage names none."""
    text = normalize_for_index(stage or "")
    index = next((i for i, words in STAGE_WORDS if any(w in text for w in words)), None)
    if index is None:
        return None
    if DEFAULT_OUTLINE[index] in outline:
        return DEFAULT_OUTLINE[index]
    return outline[index] if index < len(outline) else None


@dataclass
class Placed:
    """Where an item is: its pack's title and the item; `added` is False when it was there."""

    pack_title: str
    item: PackItem
    added: bool = True

    def message(self) -> str:
        where = f"《{self.pack_title}》的〈{self.item.section}〉"
        return f"已加入{where}" if self.added else f"{where}里已有这一条，没有重复加入"


def add_item(
    library: Library,
    pack_id: int,
    *,
    doc_id: str,
    section: str,
    viewer: Principal,
    chunk_id: int | None = None,
    note: str = "",
) -> Placed:
    """Put a document (or one of its passages) at the end of a section of the pack; one that is
    already in the pack stays where it is (nothing is added twice)."""
    catalog.get_document(library, doc_id, viewer=viewer)
    with library.session() as session:
        pack = _pack(session, pack_id)
        items = store.pack_items(session, pack_id=pack_id)
        same = [i for i in items if i.doc_id == doc_id and i.chunk_id == chunk_id]
        if same:
            return Placed(pack.title, same[0], added=False)
        if section not in pack.outline:
            pack.outline = [*pack.outline, section]
        item = PackItem(
            pack_id=pack_id,
            section=section,
            position=len(items),
            doc_id=doc_id,
            chunk_id=chunk_id,
            note=note,
        )
        session.add(item)
        pack.updated_at = utcnow()
        session.add(pack)
        session.commit()
        session.refresh(item)
        return Placed(pack.title, item)


def find_item(library: Library, item_id: int, *, viewer: Principal) -> Placed | None:
    """An item the viewer may see, with its pack's title; None when there is none."""
    with library.session() as session:
        item = session.get(PackItem, item_id)
        pack = store.get_pack(session, pack_id=item.pack_id) if item else None
    if item is None or pack is None:
        return None
    if not catalog.visible_ids(library, [item.doc_id], viewer=viewer):
        return None
    return Placed(pack.title, item)


def remove_item(library: Library, pack_id: int, item_id: int, *, viewer: Principal) -> PackItem:
    """Take an item out of the pack; the removed item."""
    placed = find_item(library, item_id, viewer=viewer)
    if placed is None or placed.item.pack_id != pack_id:
        raise NotFoundError(f"培训包 {pack_id} 里没有条目 {item_id}")
    with library.session() as session:
        item = session.get(PackItem, item_id)
        pack = _pack(session, pack_id)
        session.delete(item)
        pack.updated_at = utcnow()
        session.add(pack)
        session.commit()
    return placed.item


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
    if document.type in ("lesson", "case"):
        return DEFAULT_OUTLINE[5]
    return stage_section(document.stage, DEFAULT_OUTLINE) or DEFAULT_OUTLINE[1]


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
