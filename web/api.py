"""JSON API: thin routes that validate, call a service in `kb` and shape the response."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel

from kb import catalog
from kb.config import Settings
from kb.errors import DocumentError, NotFoundError
from kb.library import Library
from kb.models import DocumentDetail, DocumentPage, Hit, LibraryStats, SimilarDocument
from kb.similar import similar_documents
from web.deps import LibraryDep, ServiceDep, SettingsDep
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


class UploadResult(BaseModel):
    filename: str
    status: Literal["added", "updated", "unchanged", "duplicate", "skipped", "failed"]
    doc_id: str | None
    chunks: int
    message: str


class UploadResponse(BaseModel):
    results: list[UploadResult]


class Health(BaseModel):
    status: str
    documents: int
    index: bool
    embedder: str


class Deleted(BaseModel):
    deleted: str


@router.get("/search", response_model=SearchResponse, summary="混合检索")
def search(
    service: ServiceDep,
    q: Annotated[str, Query(description="查询（中文简体或繁体）")],
    k: Annotated[int, Query(ge=1, le=100, description="每页条数")] = 10,
    mode: Annotated[Literal["hybrid", "lexical", "dense"], Query()] = "hybrid",
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    filter: FilterParam = None,
    by_doc: bool = False,
) -> SearchResponse:
    result = service.search(q, k=k, mode=mode, filters=filter, by_doc=by_doc, offset=offset)
    return SearchResponse(**result.model_dump(), offset=offset)


@router.get("/documents", response_model=DocumentPage, summary="文档列表")
def list_documents(
    library: LibraryDep,
    filter: FilterParam = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=catalog.MAX_PAGE_SIZE)] = 20,
) -> DocumentPage:
    return catalog.list_documents(library, filters=filter, offset=offset, limit=limit)


@router.get("/documents/{doc_id}", response_model=DocumentDetail, summary="文档详情")
def get_document(library: LibraryDep, doc_id: str) -> DocumentDetail:
    return catalog.document_detail(library, doc_id)


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
def get_document_file(library: LibraryDep, doc_id: str) -> FileResponse:
    document = catalog.get_document(library, doc_id)
    path = Path(document.source)
    if not path.is_file():
        raise NotFoundError(f"文档 {doc_id} 的原始文件已不在 {path.name}：请重新导入")
    return FileResponse(path, filename=path.name)


@router.get("/documents/{doc_id}/similar", response_model=list[SimilarDocument], summary="相似案例")
def get_similar(
    service: ServiceDep, doc_id: str, k: Annotated[int, Query(ge=1, le=50)] = 5
) -> list[SimilarDocument]:
    return similar_documents(service, doc_id, k)


@router.delete("/documents/{doc_id}", response_model=Deleted, summary="删除文档")
def delete_document(library: LibraryDep, doc_id: str) -> Deleted:
    with WRITE_LOCK:
        catalog.delete_document(library, doc_id)
    return Deleted(deleted=doc_id)


@router.post("/documents", response_model=UploadResponse, summary="上传并导入文件")
async def upload_documents(
    library: LibraryDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="一个或多个文件")],
) -> UploadResponse:
    return UploadResponse(results=await receive_uploads(library, settings, files))


async def receive_uploads(
    library: Library, settings: Settings, files: list[UploadFile]
) -> list[dict]:
    """Save every upload (each within the size limit) and ingest them in one run."""
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
    return await run_in_threadpool(ingest_uploads, library, staged)


@router.get("/facets", response_model=dict[str, dict[str, int]], summary="全库分面计数")
def facets(service: ServiceDep, filter: FilterParam = None) -> dict[str, dict[str, int]]:
    return service.library_facets(filter)


@router.get("/stats", response_model=LibraryStats, summary="库的规模与索引")
def stats(library: LibraryDep) -> LibraryStats:
    return catalog.library_stats(library)


@router.get("/health", response_model=Health, summary="健康检查")
def health(library: LibraryDep) -> Health:
    stats = catalog.library_stats(library)
    return Health(
        status="ok" if stats.index else "empty",
        documents=stats.documents,
        index=stats.index is not None,
        embedder=stats.embedder,
    )
