"""JSON API for templates and onboarding packs (thin routes over kb.templates and kb.packs)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from kb import packs, store, templates
from kb.access import Principal
from kb.errors import NotFoundError
from kb.models import Pack, PackItem, SavedTemplate
from web.api import ERRORS, MAX_ID, RowId
from web.auth import EditorDep, ViewerDep
from web.deps import LibraryDep, ServiceDep

router = APIRouter(prefix="/api", tags=["templates and packs"], responses=ERRORS)
PackId = Annotated[int, Path(ge=1, le=MAX_ID, description="培训包编号")]
FilterParam = Annotated[list[str] | None, Field(description="筛选，如 service_type=运营优化")]


class TemplateRequest(BaseModel):
    doc_ids: list[str] | None = None
    query: Annotated[str | None, Field(max_length=1000)] = None
    filters: FilterParam = None
    doc_type: Annotated[
        str | None, Field(max_length=50, description="来源的文档类型；缺省时取检索结果中最多的类型")
    ] = None
    min_support: Annotated[float, Field(ge=0, le=1)] = templates.SUPPORT_THRESHOLD
    save_as: Annotated[str | None, Field(max_length=100)] = None


class TemplateOut(BaseModel):
    sources: list[str]
    front_matter: dict[str, str]
    sections: list[dict]
    optional: list[dict]
    slots: list[str]
    markdown: str
    doc_type: str | None = None
    types: dict[str, int] = {}
    saved: dict | None = None


class SavedTemplateOut(BaseModel):
    name: str
    version: int
    sources: list[str]
    markdown: str


class RenderRequest(BaseModel):
    values: dict[str, str] = {}


class PackRequest(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=200)]
    audience: Annotated[str, Field(max_length=200)] = ""
    redact: bool = True


class ItemRequest(BaseModel):
    doc_id: str
    section: Annotated[str, Field(min_length=1, max_length=100)]
    chunk_id: Annotated[int | None, Field(ge=1, le=MAX_ID)] = None
    note: Annotated[str, Field(max_length=5000)] = ""


class SectionRequest(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]


class OrderRequest(BaseModel):
    item_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]]


class PackOut(BaseModel):
    id: int
    title: str
    audience: str
    outline: list[str]
    redact: bool
    items: list[dict]


class ItemAdded(PackOut):
    item: dict
    added: bool
    message: str


def _saved_out(saved: SavedTemplate) -> SavedTemplateOut:
    return SavedTemplateOut(
        name=saved.name, version=saved.version, sources=saved.sources, markdown=saved.markdown
    )


@router.post("/templates", response_model=TemplateOut, summary="提炼模板（可同时保存）")
def extract(
    library: LibraryDep, service: ServiceDep, viewer: ViewerDep, body: TemplateRequest
) -> TemplateOut:
    if body.save_as:
        viewer.require("editor")
    sources = templates.select_documents(
        service,
        viewer=viewer,
        doc_ids=body.doc_ids,
        query=body.query,
        filters=body.filters,
        doc_type=body.doc_type,
    )
    template = templates.extract_template(
        library, sources.doc_ids, viewer=viewer, threshold=body.min_support
    )
    saved = templates.save(library, body.save_as, template) if body.save_as else None
    return TemplateOut(
        **template.to_json(),
        markdown=templates.to_markdown(template),
        doc_type=sources.doc_type,
        types=sources.types,
        saved=_saved_out(saved).model_dump() if saved else None,
    )


@router.get("/templates", response_model=list[SavedTemplateOut], summary="已保存的模板")
def list_templates(library: LibraryDep, viewer: ViewerDep) -> list[SavedTemplateOut]:
    return [_saved_out(t) for t in templates.visible_templates(library, viewer=viewer)]


@router.get(
    "/templates/{name}", response_model=SavedTemplateOut, summary="取一个模板（默认最新版）"
)
def get_template(
    library: LibraryDep,
    viewer: ViewerDep,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> SavedTemplateOut:
    return _saved_out(templates.fetch(library, name, version, viewer=viewer))


@router.post("/templates/{name}/render", response_model=SavedTemplateOut, summary="由模板新建文档")
def render_template(
    library: LibraryDep, viewer: ViewerDep, name: str, body: RenderRequest
) -> SavedTemplateOut:
    saved = templates.fetch(library, name, viewer=viewer)
    out = _saved_out(saved)
    out.markdown = templates.new_document(saved, body.values)
    return out


@router.delete("/templates/{name}", response_model=dict[str, int], summary="删除模板（全部版本）")
def delete_template(library: LibraryDep, editor: EditorDep, name: str) -> dict[str, int]:
    templates.fetch(library, name, viewer=editor)
    with library.session() as session:
        removed = store.delete_template(session, name=name)
        session.commit()
    if not removed:
        raise NotFoundError(f"模板 {name} 不存在")
    return {"deleted_versions": removed}


def _pack_out(library: LibraryDep, pack_id: int, viewer: Principal) -> PackOut:
    pack, items = packs.load_pack(library, pack_id, viewer=viewer)
    return PackOut(
        id=pack.id or 0,
        title=pack.title,
        audience=pack.audience,
        outline=pack.outline,
        redact=pack.redact,
        items=[_item(i) for i in items],
    )


def _item(item: PackItem) -> dict:
    return item.model_dump(include={"id", "section", "position", "doc_id", "chunk_id", "note"})


@router.get("/packs/suggest", response_model=list[dict], summary="按主题建议培训包内容")
def suggest_pack(
    service: ServiceDep,
    viewer: ViewerDep,
    topic: Annotated[str, Query(min_length=1, max_length=200)],
) -> list[dict]:
    return [vars(item) for item in packs.suggest(service, topic, viewer=viewer)]


@router.post("/packs", response_model=PackOut, summary="新建培训包")
def create_pack(library: LibraryDep, editor: EditorDep, body: PackRequest) -> PackOut:
    pack: Pack = packs.create_pack(
        library, title=body.title, audience=body.audience, redact=body.redact
    )
    return _pack_out(library, pack.id or 0, editor)


@router.get("/packs", response_model=list[PackOut], summary="培训包列表")
def list_packs(library: LibraryDep, viewer: ViewerDep) -> list[PackOut]:
    with library.session() as session:
        ids = [p.id for p in store.list_packs(session)]
    return [_pack_out(library, i, viewer) for i in ids if i is not None]


@router.get("/packs/{pack_id}", response_model=PackOut, summary="培训包详情")
def get_pack(library: LibraryDep, viewer: ViewerDep, pack_id: PackId) -> PackOut:
    return _pack_out(library, pack_id, viewer)


class PackUpdate(BaseModel):
    title: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    audience: Annotated[str | None, Field(max_length=200)] = None
    redact: bool | None = None


@router.patch("/packs/{pack_id}", response_model=PackOut, summary="修改标题、对象或是否脱敏")
def update_pack(
    library: LibraryDep, editor: EditorDep, pack_id: PackId, body: PackUpdate
) -> PackOut:
    packs.update_pack(
        library, pack_id, title=body.title, audience=body.audience, redact=body.redact
    )
    return _pack_out(library, pack_id, editor)


@router.delete("/packs/{pack_id}", response_model=dict[str, int | str], summary="删除培训包")
def delete_pack(library: LibraryDep, editor: EditorDep, pack_id: PackId) -> dict[str, int | str]:
    return {"deleted": pack_id, "title": packs.delete_pack(library, pack_id)}


@router.post(
    "/packs/{pack_id}/items",
    response_model=ItemAdded,
    summary="加入文档或段落（已在包里的不重复加入，added 为 false）",
)
def add_item(
    library: LibraryDep, editor: EditorDep, pack_id: PackId, body: ItemRequest
) -> ItemAdded:
    placed = packs.add_item(
        library,
        pack_id,
        doc_id=body.doc_id,
        section=body.section,
        viewer=editor,
        chunk_id=body.chunk_id,
        note=body.note,
    )
    return ItemAdded(
        **_pack_out(library, pack_id, editor).model_dump(),
        item=_item(placed.item),
        added=placed.added,
        message=placed.message(),
    )


@router.delete("/packs/{pack_id}/items/{item_id}", response_model=PackOut, summary="移除条目")
def remove_item(library: LibraryDep, editor: EditorDep, pack_id: PackId, item_id: RowId) -> PackOut:
    packs.remove_item(library, pack_id, item_id, viewer=editor)
    return _pack_out(library, pack_id, editor)


@router.post("/packs/{pack_id}/sections", response_model=PackOut, summary="在大纲末尾加一个章节")
def add_section(
    library: LibraryDep, editor: EditorDep, pack_id: PackId, body: SectionRequest
) -> PackOut:
    packs.add_section(library, pack_id, body.name)
    return _pack_out(library, pack_id, editor)


@router.patch(
    "/packs/{pack_id}/sections/{number}",
    response_model=PackOut,
    summary="章节改名（number 从 1 起；章节里的条目随之移动）",
)
def rename_section(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: PackId,
    number: Annotated[int, Path(ge=1, le=1000, description="章节序号，从 1 起")],
    body: SectionRequest,
) -> PackOut:
    packs.rename_section(library, pack_id, number, body.name)
    return _pack_out(library, pack_id, editor)


@router.post("/packs/{pack_id}/order", response_model=PackOut, summary="调整顺序")
def reorder(library: LibraryDep, editor: EditorDep, pack_id: PackId, body: OrderRequest) -> PackOut:
    packs.reorder(library, pack_id, body.item_ids, viewer=editor)
    return _pack_out(library, pack_id, editor)


@router.get(
    "/packs/{pack_id}/export",
    summary="导出（默认脱敏）",
    response_class=Response,
    responses={
        200: {
            "description": "DOCX 或 Markdown 文件；X-Redacted-Items 为脱敏项数",
            "content": {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                    "schema": {"type": "string", "format": "binary"}
                },
                "text/markdown": {"schema": {"type": "string"}},
            },
        }
    },
)
def export(
    library: LibraryDep,
    viewer: ViewerDep,
    pack_id: PackId,
    format: Literal["docx", "md"] = "docx",
    redact: bool | None = None,
) -> Response:
    if redact is False:
        viewer.require("editor")
    if format == "docx":
        data, report = packs.export_docx(library, pack_id, viewer=viewer, redact=redact)
        media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    else:
        text, report = packs.export_markdown(library, pack_id, viewer=viewer, redact=redact)
        data, media = text.encode("utf-8"), "text/markdown; charset=utf-8"
    headers = {
        "Content-Disposition": f'attachment; filename="pack-{pack_id}.{format}"',
        "X-Redacted-Items": str(len(report)),
    }
    return Response(data, media_type=media, headers=headers)
