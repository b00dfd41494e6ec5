"""The browser page: server-rendered search, document, upload pages that work as plain GET/POST
forms; the JSON API serves the same data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from kb import catalog, suggestions
from kb.similar import similar_documents
from web.api import RowId, decide, receive_uploads
from web.auth import EditorDep, ViewerDep
from web.deps import LibraryDep, ServiceDep, SettingsDep, SuggesterDep
from web.pages_library import add_to_pack_form
from web.passages import render_passage
from web.templating import local_path, query_string, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 10
SHOWN_FIELDS = ("type", "industry", "service_type", "stage", "date", "client", "confidentiality")


def _toggle(filters: list[str], item: str) -> list[str]:
    return [f for f in filters if f != item] if item in filters else [*filters, item]


def _search_url(q: str, mode: str, view: str, filters: list[str], page: int = 1) -> str:
    params = [("q", q), ("mode", mode if mode != "hybrid" else ""), ("view", view)]
    params += [("filter", f) for f in filters] + [("page", str(page) if page > 1 else "")]
    return "/search?" + query_string(params)


@router.get("/", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    service: ServiceDep,
    library: LibraryDep,
    viewer: ViewerDep,
    q: str = "",
    mode: str = "hybrid",
    filter: Annotated[list[str] | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100)] = 1,
    view: Literal["doc", "passage"] = "doc",
) -> HTMLResponse:
    filters = filter or []
    by_doc = view == "doc"
    context = {"q": q, "mode": mode, "filters": filters, "page": page, "view": view}
    if q.strip():
        offset = (page - 1) * PAGE_SIZE
        result = service.search(
            q,
            viewer=viewer,
            k=PAGE_SIZE,
            mode=mode,
            filters=filters,
            by_doc=by_doc,
            offset=offset,
        )
        context.update(result=result, facets=result.facets, pages=-(-result.total // PAGE_SIZE))
    else:
        context.update(
            result=None,
            facets=(
                service.library_facets(viewer=viewer, filters=filters) if library.manifest() else {}
            ),
            stats=catalog.library_stats(library, viewer=viewer),
        )
    context.update(add_to_pack_form(request, library, viewer))
    context["back"] = _search_url(q, mode, view, filters, page)
    context["facet_url"] = lambda item: _search_url(q, mode, view, _toggle(filters, item))
    context["page_url"] = lambda n: _search_url(q, mode, view, filters, n)
    context["view_url"] = lambda v: _search_url(q, mode, v, filters)
    return render(request, "search.html", context)


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    library: LibraryDep,
    service: ServiceDep,
    viewer: ViewerDep,
    doc_id: str,
    q: str = "",
    chunk: int | None = None,
) -> HTMLResponse:
    detail = catalog.document_detail(library, doc_id, viewer=viewer)
    terms = library.text.highlight_terms(q) if q.strip() else []
    marked = {
        c.chunk_id: render_passage(c.text, terms, q)
        for section in detail.sections
        for c in section.chunks
    }
    context = {
        "doc": detail,
        "q": q,
        "chunk": chunk,
        "marked": marked,
        "fields": [(f, detail.metadata[f]) for f in SHOWN_FIELDS if f in detail.metadata],
        "similar": similar_documents(service, doc_id, viewer=viewer, k=5),
        "suggestions": suggestions.visible_suggestions(
            library, is_visible=service.visibility(viewer), doc_id=doc_id
        ),
    }
    return render(request, "document.html", context)


@router.get("/upload", response_class=HTMLResponse)
def upload_form(request: Request, editor: EditorDep) -> HTMLResponse:
    return render(request, "upload.html", {"results": None})


@router.post("/upload", response_class=HTMLResponse)
async def upload_submit(
    request: Request,
    library: LibraryDep,
    settings: SettingsDep,
    suggester: SuggesterDep,
    editor: EditorDep,
    files: Annotated[list[UploadFile], File()],
) -> HTMLResponse:
    results, _ = await receive_uploads(library, settings, suggester, files, viewer=editor)
    return render(request, "upload.html", {"results": results})


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    library: LibraryDep,
    service: ServiceDep,
    suggester: SuggesterDep,
    viewer: ViewerDep,
) -> HTMLResponse:
    pending = suggestions.visible_suggestions(library, is_visible=service.visibility(viewer))
    titles = {
        s.doc_id: catalog.get_document(library, s.doc_id, viewer=viewer).title for s in pending
    }
    context = {"pending": pending, "titles": titles, "worker": suggester.status()}
    return render(request, "review.html", context)


@router.post("/review/{suggestion_id}/{decision}")
def review_decision(
    library: LibraryDep,
    service: ServiceDep,
    suggester: SuggesterDep,
    editor: EditorDep,
    suggestion_id: RowId,
    decision: Literal["accept", "reject"],
    back: Annotated[str, Form()] = "/review",
) -> RedirectResponse:
    decide(library, suggester, suggestion_id, decision, service.visibility(editor))
    return RedirectResponse(local_path(back, "/review"), status_code=303)
