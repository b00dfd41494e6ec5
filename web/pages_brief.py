"""The case brief page: a large text box and a file upload (a plain POST form), the brief laid
out in sections with links to every source, 加入培训包 on each item, and the export."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from ingest.documents import text_of_file
from kb.brief import MAX_BRIEF_CHARS, BriefPassage
from kb.errors import InvalidQueryError
from web.api_brief import export_response, run_brief
from web.auth import ViewerDep
from web.deps import ClassifierDep, LibraryDep, ServiceDep, SettingsDep
from web.pages_library import add_to_pack_form
from web.templating import render
from web.uploads import read_upload

router = APIRouter(include_in_schema=False)


def _section(step: BriefPassage) -> str:
    return step.section


TextField = Annotated[str, Form(max_length=MAX_BRIEF_CHARS)]
FileField = Annotated[UploadFile | None, File()]


async def _text(text: str, file: UploadFile | None, limit_mb: float) -> str:
    """The pasted text, or the uploaded file's when one is chosen."""
    if file is not None and file.filename:
        name, data = await read_upload(file, limit_mb)
        return await run_in_threadpool(text_of_file, name=name, data=data)
    if not text.strip():
        raise InvalidQueryError("请粘贴一段文字（客户情况、需求说明或会议纪要），或选择一个文件")
    return text


@router.get("/brief", response_class=HTMLResponse)
def brief_form(request: Request) -> HTMLResponse:
    return render(request, "brief.html", {"brief": None, "text": ""})


@router.post("/brief", response_class=HTMLResponse)
async def brief_page(
    request: Request,
    library: LibraryDep,
    service: ServiceDep,
    classifier: ClassifierDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    text: TextField = "",
    file: FileField = None,
) -> HTMLResponse:
    source = await _text(text, file, settings.max_file_mb)
    result = await run_brief(service, classifier, source, viewer)
    context = {
        "brief": result,
        "text": source,
        "can_unredact": viewer.has_role("editor"),
        "step_sections": [(name, list(steps)) for name, steps in groupby(result.steps, _section)],
    }
    context.update(add_to_pack_form(request, library, viewer))
    return render(request, "brief.html", context)


@router.post("/brief/export")
async def brief_export(
    service: ServiceDep,
    classifier: ClassifierDep,
    viewer: ViewerDep,
    text: TextField,
    format: Annotated[Literal["docx", "markdown"], Form()] = "docx",
    redact: Annotated[bool, Form()] = False,
) -> Response:
    if not redact:
        viewer.require("editor")
    result = await run_brief(service, classifier, text, viewer)
    return export_response(result, text, format, redact)
