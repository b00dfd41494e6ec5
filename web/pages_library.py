"""Pages for trainers: a template distilled from the current search or facet, and the pack
builder (add from results, reorder, notes, export). Plain forms, no JavaScript needed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from kb import catalog, packs, store, templates
from web.api import MAX_ID, RowId
from web.auth import EditorDep, ViewerDep
from web.deps import LibraryDep, ServiceDep
from web.templating import local_path, render

router = APIRouter(include_in_schema=False)


@router.get("/templates/new", response_class=HTMLResponse)
def template_page(
    request: Request,
    library: LibraryDep,
    service: ServiceDep,
    viewer: ViewerDep,
    q: str = "",
    filter: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    ids = templates.select_documents(service, viewer=viewer, query=q or None, filters=filter)
    template = templates.extract_template(library, ids, viewer=viewer)
    context = {
        "template": template,
        "markdown": templates.to_markdown(template),
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
    template = templates.extract_template(library, sources.split(","), viewer=editor)
    saved = templates.save(library, name, template)
    return RedirectResponse(f"/packs?saved={saved.name}&version={saved.version}", status_code=303)


@router.get("/packs", response_class=HTMLResponse)
def packs_page(
    request: Request, library: LibraryDep, viewer: ViewerDep, saved: str = "", version: int = 0
) -> HTMLResponse:
    with library.session() as session:
        all_packs = list(store.list_packs(session))
    saved_templates = templates.visible_templates(library, viewer=viewer)
    context = {"packs": all_packs, "templates": saved_templates, "saved": saved, "version": version}
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
    request: Request, library: LibraryDep, viewer: ViewerDep, pack_id: RowId
) -> HTMLResponse:
    pack, items = packs.load_pack(library, pack_id, viewer=viewer)
    titles = {i.doc_id: catalog.get_document(library, i.doc_id, viewer=viewer).title for i in items}
    return render(request, "pack.html", {"pack": pack, "items": items, "titles": titles})


@router.post("/packs/add")
def pack_add(
    library: LibraryDep,
    editor: EditorDep,
    pack_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    doc_id: Annotated[str, Form()],
    section: Annotated[str, Form()],
    chunk_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    note: Annotated[str, Form(max_length=5000)] = "",
    back: Annotated[str, Form()] = "",
) -> RedirectResponse:
    packs.add_item(
        library,
        pack_id,
        doc_id=doc_id,
        section=section,
        viewer=editor,
        chunk_id=chunk_id,
        note=note,
    )
    return RedirectResponse(local_path(back, f"/packs/{pack_id}"), status_code=303)


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
