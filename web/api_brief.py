"""JSON API of the case brief: a pasted text (JSON) or an uploaded file (read as ingest reads
it, not stored) in; the brief, or its redacted Markdown / Word export, out."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from ingest.documents import text_of_file
from kb.access import Principal
from kb.brief import MAX_BRIEF_CHARS, Brief, make_brief
from kb.brief_export import brief_docx, brief_markdown
from kb.classify import Classifier
from kb.errors import InvalidQueryError
from kb.search import SearchService
from web.api import ERRORS
from web.auth import ViewerDep
from web.deps import ClassifierDep, ServiceDep, SettingsDep
from web.uploads import read_upload

router = APIRouter(prefix="/api", tags=["case brief"], responses=ERRORS)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class BriefRequest(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=MAX_BRIEF_CHARS)]


BRIEF_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": BriefRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    }
}


async def brief_text(request: Request, limit_mb: float) -> str:
    """The text of a brief request: `{"text": …}`, or a file uploaded as `file`."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidQueryError("请上传一个文件（表单字段 file），或以 JSON 发送 text")
        name, data = await read_upload(upload, limit_mb)
        return await run_in_threadpool(text_of_file, name=name, data=data)
    try:
        return BriefRequest.model_validate_json(await request.body()).text
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None


async def run_brief(
    service: SearchService, classifier: Classifier, text: str, viewer: Principal
) -> Brief:
    return await run_in_threadpool(make_brief, service, classifier, text, viewer=viewer)


@router.post("/brief", response_model=Brief, summary="案例简报", openapi_extra=BRIEF_BODY)
async def brief(
    request: Request,
    service: ServiceDep,
    classifier: ClassifierDep,
    settings: SettingsDep,
    viewer: ViewerDep,
) -> Brief:
    text = await brief_text(request, settings.max_file_mb)
    return await run_brief(service, classifier, text, viewer)


def export_response(brief_result: Brief, text: str, export_format: str, redact: bool) -> Response:
    """The brief as a download."""
    client = brief_result.client
    if export_format == "docx":
        content, report = brief_docx(brief_result, text, client=client, redact=redact)
        media, suffix = DOCX, "docx"
    else:
        markdown, report = brief_markdown(brief_result, text, client=client, redact=redact)
        content, media, suffix = markdown.encode("utf-8"), "text/markdown; charset=utf-8", "md"
    name = quote(f"案例简报.{suffix}")
    headers = {
        "Content-Disposition": f"attachment; filename=brief.{suffix}; filename*=UTF-8''{name}",
        "X-Redactions": str(sum(item["count"] for item in report)),
    }
    return Response(content, media_type=media, headers=headers)


@router.post(
    "/brief/export",
    summary="导出案例简报（Markdown 或 Word，默认脱敏）",
    openapi_extra=BRIEF_BODY,
    responses={200: {"content": {DOCX: {}, "text/markdown": {}}}},
)
async def export_brief(
    request: Request,
    service: ServiceDep,
    classifier: ClassifierDep,
    settings: SettingsDep,
    viewer: ViewerDep,
    format: Annotated[Literal["docx", "markdown"], Query(description="导出格式")] = "docx",
    redact: Annotated[bool, Query(description="脱敏（关闭需要编辑权限）")] = True,
) -> Response:
    if not redact:
        viewer.require("editor")
    text = await brief_text(request, settings.max_file_mb)
    result = await run_brief(service, classifier, text, viewer)
    return export_response(result, text, format, redact)
