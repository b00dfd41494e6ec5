"""Pages for trainers: a template distilled from the current search or facet, and the pack
builder (add from results, remove, reorder, sections, notes, export). Plain forms, no
JavaScript needed."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kb import catalog, packs, store, templates
from kb.access import Principal
from kb.errors import InvalidQueryError, NotFoundError
from kb.library import Library
from web.api import MAX_ID, RowId
from web.auth import EditorDep, ViewerDep
from web.deps import LibraryDep, ServiceDep
from web.templating import local_path, render

router = APIRouter(include_in_schema=False)
PLACED_PARAMS = ("added", "kept")


def _row_id(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and int(text) <= MAX_ID else None


def _placed(library: Library, viewer: Principal, params) -> packs.Placed | None:
    """The item named by `added=` (just added) or `kept=` (was there already) in the query."""
    for key in PLACED_PARAMS:
        item_id = _row_id(params.get(key))
        placed = packs.find_item(library, item_id, viewer=viewer) if item_id else None
        if placed:
            placed.added = key == "added"
            return placed
    return None


def add_to_pack_form(request: Request, library: Library, viewer: Principal) -> dict:
    """What the search page needs for “加入培训包”: no packs for viewers who may not edit them;
    else the packs (last changed first), the section of a hit's stage, and the confirmation
    of the item just added."""
    if not viewer.has_role("editor"):
        return {"packs": []}
    with library.session() as session:
        choices = sorted(store.list_packs(session), key=lambda p: p.updated_at, reverse=True)
    return {
        "packs": choices,
        "stage_section": packs.stage_section,
        "placed": _placed(library, viewer, request.query_params),
    }


def _with_param(path: str, key: str, value: int, fragment: str = "") -> str:
    """A local path with one confirmation parameter (replacing earlier ones) and a fragment."""
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in PLACED_PARAMS]
    query.append((key, str(value)))
    return f"{parts.path}?{urlencode(query)}" + (f"#{fragment}" if fragment else "")


@router.get("/templates/new", response_class=HTMLResponse)
def template_page(
    request: Request,
    library: LibraryDep,
    service: ServiceDep,
    viewer: ViewerDep,
    q: str = "",
    filter: Annotated[list[str] | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=50)] = None,
) -> HTMLResponse:
    sources = templates.select_documents(
        service, viewer=viewer, query=q or None, filters=filter, doc_type=type
    )
    template = templates.extract_template(library, sources.doc_ids, viewer=viewer)
    context = {
        "template": template,
        "markdown": templates.to_markdown(template),
        "chosen": sources,
        "q": q,
        "filters": filter or [],
        "view": "doc",
        "mode": "hybrid",
    }
    return render(request, "template.html", context)


@router.post("/templates/save")
def template_save(
    library: LibraryDep,
    editor: EditorDep,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    sources: Annotated[str, Form()],
) -> RedirectResponse:
    name = name.strip()
    if name in ("", "new"):
        raise InvalidQueryError("请给模板起一个名称（不能是 new）")
    template = templates.extract_template(library, sources.split(","), viewer=editor)
    saved = templates.save(library, name, template)
    target = f"/templates/{quote(saved.name, safe='')}?version={saved.version}&saved=1"
    return RedirectResponse(target, status_code=303)


@router.get("/templates/{name}", response_class=HTMLResponse)
def saved_template_page(
    request: Request,
    library: LibraryDep,
    viewer: ViewerDep,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    saved: bool = False,
) -> HTMLResponse:
    found = templates.fetch(library, name, version, viewer=viewer)
    context = {
        "saved_template": found,
        "template": found.content,
        "markdown": found.markdown,
        "just_saved": saved,
    }
    return render(request, "template.html", context)


@router.get("/packs", response_class=HTMLResponse)
def packs_page(
    request: Request, library: LibraryDep, viewer: ViewerDep, deleted: str = ""
) -> HTMLResponse:
    with library.session() as session:
        all_packs = list(store.list_packs(session))
    context = {
        "packs": all_packs,
        "templates": templates.visible_templates(library, viewer=viewer),
        "deleted": deleted,
        "can_edit": viewer.has_role("editor"),
    }
    return render(request, "packs.html", context)


@router.post("/packs")
def pack_create(
    library: LibraryDep,
    editor: EditorDep,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    audience: Annotated[str, Form(max_length=200)] = "",
) -> RedirectResponse:
    pack = packs.create_pack(library, title=title, audience=audience)
    return RedirectResponse(f"/packs/{pack.id}", status_code=303)


@router.get("/packs/{pack_id}", response_class=HTMLResponse)
def pack_page(
    request: Request,
    library: LibraryDep,
    viewer: ViewerDep,
    pack_id: RowId,
    removed: bool = False,
) -> HTMLResponse:
    pack, items = packs.load_pack(library, pack_id, viewer=viewer)
    titles = {i.doc_id: catalog.get_document(library, i.doc_id, viewer=viewer).title for i in items}
    context = {
        "pack": pack,
        "items": items,
        "titles": titles,
        "placed": _placed(library, viewer, request.query_params),
        "removed": removed,
        "can_edit": viewer.has_role("editor"),
    }
    return render(request, "pack.html", context)


@router.post("/packs/add")
def pack_add(
    library: LibraryDep,
    editor: EditorDep,
    target: Annotated[str, Form(pattern=r"^\d{1,10}:.+$", description="培训包编号:章节")],
    doc_id: Annotated[str, Form()],
    chunk_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    note: Annotated[str, Form(max_length=5000)] = "",
    back: Annotated[str, Form()] = "",
) -> RedirectResponse:
    number, _, section = target.partition(":")
    pack_id = _row_id(number)
    if pack_id is None:
        raise NotFoundError(f"培训包 {number} 不存在")
    placed = packs.add_item(
        library,
        pack_id,
        doc_id=doc_id,
        section=section,
        viewer=editor,
        chunk_id=chunk_id,
        note=note,
    )
    key = "added" if placed.added else "kept"
    if back:
        anchor = f"add-{chunk_id}" if chunk_id else ""
        page = _with_param(local_path(back), key, placed.item.id or 0, anchor)
    else:
        page = _with_param(f"/packs/{pack_id}", key, placed.item.id or 0)
    return RedirectResponse(page, status_code=303)


@router.post("/packs/{pack_id}/move/{item_id}/{direction}")
def pack_move(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: RowId,
    item_id: RowId,
    direction: Literal["up", "down"],
) -> RedirectResponse:
    _, items = packs.load_pack(library, pack_id, viewer=editor)
    order = [i.id for i in items]
    at = order.index(item_id) if item_id in order else -1
    swap = at - 1 if direction == "up" else at + 1
    if at >= 0 and 0 <= swap < len(order):
        order[at], order[swap] = order[swap], order[at]
        packs.reorder(library, pack_id, [i for i in order if i is not None], viewer=editor)
    return RedirectResponse(f"/packs/{pack_id}", status_code=303)


@router.post("/packs/{pack_id}/items/{item_id}/remove")
def pack_remove_item(
    library: LibraryDep, editor: EditorDep, pack_id: RowId, item_id: RowId
) -> RedirectResponse:
    packs.remove_item(library, pack_id, item_id, viewer=editor)
    return RedirectResponse(f"/packs/{pack_id}?removed=1", status_code=303)


@router.post("/packs/{pack_id}/sections")
def pack_add_section(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: RowId,
    name: Annotated[str, Form(min_length=1, max_length=100)],
) -> RedirectResponse:
    packs.add_section(library, pack_id, name)
    return RedirectResponse(f"/packs/{pack_id}", status_code=303)


@router.post("/packs/{pack_id}/sections/{number}/rename")
def pack_rename_section(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: RowId,
    number: RowId,
    name: Annotated[str, Form(min_length=1, max_length=100)],
) -> RedirectResponse:
    packs.rename_section(library, pack_id, number, name)
    return RedirectResponse(f"/packs/{pack_id}", status_code=303)


@router.post("/packs/{pack_id}/delete")
def pack_delete(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: RowId,
    confirm: Annotated[Literal["yes"], Form(description="确认删除")],
) -> RedirectResponse:
    title = packs.delete_pack(library, pack_id)
    return RedirectResponse(f"/packs?{urlencode({'deleted': title})}", status_code=303)
