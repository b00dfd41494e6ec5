"""JSON API: thin routes that validate, call a service in `kb` and shape the response."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ingest.pipeline import IngestReport
from kb import catalog, classify, suggestions
from kb.access import Principal
from kb.config import Settings
from kb.errors import DocumentError, NotFoundError
from kb.library import Library
from kb.models import (
    DocumentDetail,
    DocumentPage,
    Hit,
    LibraryStats,
    SimilarDocument,
    Suggestion,
)
from kb.similar import similar_documents
from kb.suggest_worker import SuggestionWorker
from web.auth import AdminDep, EditorDep, ViewerDep, maybe_principal
from web.deps import ClassifierDep, LibraryDep, ServiceDep, SettingsDep, SuggesterDep
from web.errors import RequestTooLargeError
from web.uploads import UPLOAD_DIR, WRITE_LOCK, ingest_uploads, save_upload


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


ERRORS = {status: {"model": ErrorBody} for status in (400, 404, 413, 415, 422, 503)}
router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)

MAX_UPLOAD_FILES = 50
MAX_ID = 2**31 - 1  # row ids are 32-bit integers in PostgreSQL: larger ones cannot exist
RowId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FilterParam = Annotated[
    list[str] | None,
    Query(description="筛选，可重复：`field:value`，如 `industry:制造业`、`date>=2022-01-01`"),
]


class SearchResponse(BaseModel):
    query: str
    mode: str
    total: int
    offset: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    took_ms: float
    weak_hits: list[Hit] = Field(
        default_factory=list,
        description="when nothing is relevant enough (total 0): the nearest passages, for a look",
    )


class UploadResult(BaseModel):
    filename: str
    status: Literal["added", "updated", "unchanged", "duplicate", "skipped", "failed"]
    doc_id: str | None
    chunks: int
    message: str


class UploadResponse(BaseModel):
    results: list[UploadResult]
    embed_seconds: float = 0.0
    index_seconds: float = Field(0.0, description="从嵌入完成到可检索的秒数")


class EngineStatus(BaseModel):
    engine: Literal["local", "milvus"]
    ok: bool
    uri: str | None = Field(None, description="Milvus 地址（不含凭据）")
    error: str | None = None


class Health(BaseModel):
    status: Literal["ok", "empty", "unavailable"]
    documents: int
    index: bool
    embedder: str
    engine: EngineStatus


class Deleted(BaseModel):
    deleted: str


@router.get("/search", response_model=SearchResponse, summary="混合检索")
def search(
    service: ServiceDep,
    viewer: ViewerDep,
    q: Annotated[str, Query(description="查询（中文简体或繁体）")],
    k: Annotated[int, Query(ge=1, le=100, description="每页条数")] = 10,
    mode: Annotated[Literal["hybrid", "lexical", "dense"], Query()] = "hybrid",
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    filter: FilterParam = None,
    by_doc: bool = False,
) -> SearchResponse:
    result = service.search(
        q, viewer=viewer, k=k, mode=mode, filters=filter, by_doc=by_doc, offset=offset
    )
    return SearchResponse(**result.model_dump(), offset=offset)


@router.get("/documents", response_model=DocumentPage, summary="文档列表")
def list_documents(
    library: LibraryDep,
    viewer: ViewerDep,
    filter: FilterParam = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_PAGE_SIZE)] = 20,
) -> DocumentPage:
    return catalog.list_documents(
        library, viewer=viewer, filters=filter, offset=offset, limit=limit
    )


@router.get("/documents/{doc_id}", response_model=DocumentDetail, summary="文档详情")
def get_document(library: LibraryDep, viewer: ViewerDep, doc_id: str) -> DocumentDetail:
    return catalog.document_detail(library, doc_id, viewer=viewer)


@router.get(
    "/documents/{doc_id}/file",
    summary="下载原始文件",
    response_class=FileResponse,
    responses={
        200: {
            "description": "原始文件",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
def get_document_file(library: LibraryDep, viewer: ViewerDep, doc_id: str) -> FileResponse:
    document = catalog.get_document(library, doc_id, viewer=viewer)
    path = Path(document.source)
    if not path.is_file():
        raise NotFoundError(f"文档 {doc_id} 的原始文件已不在 {path.name}：请重新导入")
    return FileResponse(path, filename=path.name)


@router.get("/documents/{doc_id}/similar", response_model=list[SimilarDocument], summary="相似案例")
def get_similar(
    service: ServiceDep,
    viewer: ViewerDep,
    doc_id: str,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[SimilarDocument]:
    return similar_documents(service, doc_id, viewer=viewer, k=k)


@router.delete("/documents/{doc_id}", response_model=Deleted, summary="删除文档")
def delete_document(library: LibraryDep, admin: AdminDep, doc_id: str) -> Deleted:
    catalog.get_document(library, doc_id, viewer=admin)
    with WRITE_LOCK:
        catalog.delete_document(library, doc_id)
    return Deleted(deleted=doc_id)


@router.post("/documents", response_model=UploadResponse, summary="上传并导入文件")
async def upload_documents(
    library: LibraryDep,
    settings: SettingsDep,
    suggester: SuggesterDep,
    editor: EditorDep,
    files: Annotated[list[UploadFile], File(description="一个或多个文件")],
) -> UploadResponse:
    results, report = await receive_uploads(library, settings, suggester, files, viewer=editor)
    if report is None:
        return UploadResponse(results=results)
    return UploadResponse(
        results=results, embed_seconds=report.embed_seconds, index_seconds=report.index_seconds
    )


async def receive_uploads(
    library: Library,
    settings: Settings,
    suggester: SuggestionWorker,
    files: list[UploadFile],
    *,
    viewer: Principal,
) -> tuple[list[dict], IngestReport | None]:
    """Save every upload (each within the size limit) and ingest them in one run; label
    suggestions for the stored documents follow in the background."""
    if len(files) > MAX_UPLOAD_FILES:
        raise RequestTooLargeError(f"一次最多上传 {MAX_UPLOAD_FILES} 个文件")
    folder = settings.data_dir / UPLOAD_DIR
    staged: list[tuple[Path, Path]] = []
    try:
        for upload in files:
            staged.append(await save_upload(upload, folder, settings.max_file_mb))
        names = [target.name for _, target in staged]
        if len(set(names)) != len(names):
            raise DocumentError("同一次上传中有重名的文件：请改名或分开上传")
    except Exception:
        for partial, _ in staged:
            partial.unlink(missing_ok=True)
        raise
    results, report = await run_in_threadpool(ingest_uploads, library, staged, viewer)
    if report is not None:
        suggester.submit(report.stored)
    return results, report


@router.get("/facets", response_model=dict[str, dict[str, int]], summary="全库分面计数")
def facets(
    service: ServiceDep, viewer: ViewerDep, filter: FilterParam = None
) -> dict[str, dict[str, int]]:
    return service.library_facets(viewer=viewer, filters=filter)


@router.get("/stats", response_model=LibraryStats, summary="库的规模与索引")
def stats(library: LibraryDep, viewer: ViewerDep) -> LibraryStats:
    return catalog.library_stats(library, viewer=viewer)


class Compacted(BaseModel):
    merged: bool = Field(description="False when another merge was running or a rebuild came first")
    generation: str
    deltas: list[str]
    documents: int
    chunks: int
    built_at: str


@router.post("/admin/compact", response_model=Compacted, summary="把增量段合并为新的基础索引")
def compact(library: LibraryDep, admin: AdminDep) -> Compacted:
    """Merge now instead of waiting for the thresholds (admin only)."""
    manifest = library.compact()
    shown = manifest or library.manifest()
    if shown is None:
        raise NotFoundError("还没有索引：请先导入文档")
    fields = {name: getattr(shown, name) for name in Compacted.model_fields if name != "merged"}
    return Compacted(merged=manifest is not None, **fields)


@router.get("/health", response_model=Health, summary="健康检查")
def health(library: LibraryDep, request: Request, response: Response) -> Health:
    """Answers without a key (for monitors); counts only what the caller, if any, may see.
    503 when the index engine does not answer (the body says why)."""
    viewer = maybe_principal(request)
    visible = catalog.visible_documents(library, viewer=viewer) if viewer else []
    index = library.manifest() is not None
    engine = EngineStatus(**library.index_engine.status())
    if not engine.ok:
        response.status_code = 503
    return Health(
        status="unavailable" if not engine.ok else "ok" if index else "empty",
        documents=len(visible),
        index=index,
        embedder=library.settings.embedder,
        engine=engine,
    )


class ClassifyRequest(BaseModel):
    text: Annotated[str, Field(min_length=1, max_length=20000, description="要分类的文本")]
    field: Annotated[str, Field(min_length=1, max_length=64, description="标签字段，如 industry")]


class PredictionOut(BaseModel):
    field: str
    label: str
    probability: float
    method: Literal["model", "knn", "zero-shot"]
    candidates: list[dict]
    neighbours: list[dict]


class SuggestionOut(BaseModel):
    id: int
    doc_id: str
    field: str
    label: str
    probability: float
    method: str
    candidates: list[dict]
    neighbours: list[dict]
    status: Literal["pending", "accepted", "rejected"]


class SuggestionStatus(BaseModel):
    pending_jobs: int
    last_trained_at: datetime | None
    last_training_seconds: float | None
    suggestions: int


@router.get("/labels", response_model=dict[str, dict[str, int]], summary="标签字段与计数")
def labels(
    library: LibraryDep, service: ServiceDep, viewer: ViewerDep
) -> dict[str, dict[str, int]]:
    return classify.label_fields(library, is_visible=service.visibility(viewer))


@router.post("/classify", response_model=PredictionOut, summary="预测一段文本的标签")
def classify_text(
    classifier: ClassifierDep, service: ServiceDep, viewer: ViewerDep, body: ClassifyRequest
) -> PredictionOut:
    is_visible = service.visibility(viewer)
    [prediction] = classifier.predict_texts(body.field, [body.text], is_visible=is_visible)
    return PredictionOut(**vars(prediction))


@router.get("/suggestions", response_model=list[SuggestionOut], summary="标签建议（待审核）")
def list_suggestions(
    library: LibraryDep,
    service: ServiceDep,
    viewer: ViewerDep,
    status: Literal["pending", "accepted", "rejected"] | None = "pending",
    field: str | None = None,
) -> list[SuggestionOut]:
    rows = suggestions.visible_suggestions(
        library, is_visible=service.visibility(viewer), status=status, field=field
    )
    return [SuggestionOut(**row.model_dump()) for row in rows]


@router.get(
    "/suggestions/status",
    response_model=SuggestionStatus,
    summary="标签建议的后台任务：排队数、上次训练时间与用时、已生成的建议数",
)
def suggestion_status(suggester: SuggesterDep, viewer: ViewerDep) -> SuggestionStatus:
    return SuggestionStatus(**vars(suggester.status()))


@router.post(
    "/suggestions/{suggestion_id}/{decision}",
    response_model=SuggestionOut,
    summary="接受或拒绝建议",
)
def decide_suggestion(
    library: LibraryDep,
    service: ServiceDep,
    suggester: SuggesterDep,
    editor: EditorDep,
    suggestion_id: RowId,
    decision: Literal["accept", "reject"],
) -> SuggestionOut:
    is_visible = service.visibility(editor)
    decided = decide(library, suggester, suggestion_id, decision, is_visible)
    return SuggestionOut(
        **decided.model_dump(exclude={"neighbours"}),
        neighbours=classify.visible_neighbours(decided.neighbours, is_visible),
    )


def decide(
    library: Library,
    suggester: SuggestionWorker,
    suggestion_id: int,
    decision: str,
    is_visible: Callable[[str], bool],
) -> Suggestion:
    """Accept or reject a suggestion. Accepting changes the labelled set: the worker retrains in
    the background; classifiers of other processes load the saved model or retrain when used."""
    action = suggestions.accept if decision == "accept" else suggestions.reject
    with WRITE_LOCK:
        decided = action(library, suggestion_id, is_visible=is_visible)
    if decision == "accept":
        suggester.submit()
    return decided
