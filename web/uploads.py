"""Uploaded files: stored under the data dir (never served statically) with safe names, then run
through the same ingest pipeline as the command line; a file that fails leaves nothing behind."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from ingest.pipeline import IngestReport, ingest_paths
from kb import catalog, store
from kb.access import Principal
from kb.errors import DocumentError
from kb.library import Library
from kb.search import document_metadata
from web.errors import RequestTooLargeError

UPLOAD_DIR = "uploads"
CHUNK = 1024 * 1024
MAX_NAME_BYTES = 200
OK_STATUSES = ("added", "updated", "unchanged")
_UNSAFE = re.compile(r"[^\w\u3400-\u9fff.\-()（） ]+")
WRITE_LOCK = threading.Lock()


def safe_name(filename: str | None) -> str:
    """The base name of an uploaded file: no directories or odd characters, at most
    MAX_NAME_BYTES in UTF-8 with its extension kept."""
    raw = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = _UNSAFE.sub("_", raw).strip(" .")
    if not name or name.startswith("."):
        raise DocumentError(f"文件名 {filename!r} 不可用：请改成普通的文件名后再上传")
    stem, suffix = os.path.splitext(name)
    budget = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode("utf-8", errors="ignore")
    return stem + suffix


async def _pieces(upload: UploadFile, name: str, limit_mb: float) -> AsyncIterator[bytes]:
    """The upload's content a piece at a time; RequestTooLargeError past the size limit."""
    size = 0
    while data := await upload.read(CHUNK):
        size += len(data)
        if size > limit_mb * 1024 * 1024:
            raise RequestTooLargeError(
                f"{name}：超过上传大小上限 {limit_mb:g} MB（可用 KB_MAX_FILE_MB 调整）"
            )
        yield data


async def read_upload(upload: UploadFile, limit_mb: float) -> tuple[str, bytes]:
    """(safe name, content) of an upload read into memory within the size limit (a file that
    is only read, never stored)."""
    name = safe_name(upload.filename)
    return name, b"".join([piece async for piece in _pieces(upload, name, limit_mb)])


async def save_upload(upload: UploadFile, folder: Path, limit_mb: float) -> tuple[Path, Path]:
    """(temporary file, final path) of an upload written within the size limit."""
    name = safe_name(upload.filename)
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    partial = Path(temporary)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for piece in _pieces(upload, name, limit_mb):
                handle.write(piece)
    except RequestTooLargeError:
        partial.unlink(missing_ok=True)
        raise
    return partial, folder / name


def _failed(target: Path, message: str) -> dict:
    return {
        "filename": target.name,
        "status": "failed",
        "doc_id": None,
        "chunks": 0,
        "message": f"{target.name}：{message}",
    }


def _result(target: Path, result, viewer: Principal, library: Library) -> dict:
    if result is None:
        return _failed(target, "未能处理")
    if result.doc_id and not catalog.visible_ids(library, [result.doc_id], viewer=viewer):
        if result.status == "duplicate":
            return {
                **_failed(target, "与库中已有的文档内容相同，未重复导入"),
                "status": "duplicate",
            }
        if result.status not in OK_STATUSES:
            return _failed(target, "未能导入")
    return {
        "filename": target.name,
        "status": result.status,
        "doc_id": result.doc_id,
        "chunks": result.chunks,
        "message": result.message,
    }


def _owned_by_unseen(library: Library, target: Path, viewer: Principal) -> bool:
    """Whether the file an upload would replace belongs to a document the viewer cannot see."""
    with library.session() as session:
        document = store.get_document_by_source(session, source=str(target.resolve()))
    return document is not None and not viewer.can_see(document.id, document_metadata(document))


def ingest_uploads(
    library: Library, staged: list[tuple[Path, Path]], viewer: Principal
) -> tuple[list[dict], IngestReport | None]:
    """Move staged uploads into place and ingest them in one run; a file that fails is taken
    out again and the file it replaced put back, so the library stays as it was. A file may not
    replace one of a document the uploader cannot see."""
    with WRITE_LOCK:
        refused = {t: p for p, t in staged if _owned_by_unseen(library, t, viewer)}
        for partial in refused.values():
            partial.unlink(missing_ok=True)
        staged = [(p, t) for p, t in staged if t not in refused]
        results, report = _ingest_staged(library, staged, viewer)
    clash = "库中已有同名文件，且你无权替换：请改名后再上传"
    return [*results, *(_failed(t, clash) for t in refused)], report


def _ingest_staged(
    library: Library, staged: list[tuple[Path, Path]], viewer: Principal
) -> tuple[list[dict], IngestReport | None]:
    targets = [target for _, target in staged]
    if not targets:
        return [], None
    backups: dict[Path, Path] = {}
    try:
        for partial, target in staged:
            if target.exists():
                backups[target] = target.with_name(f".{target.name}.previous")
                target.replace(backups[target])
            partial.replace(target)
        report = ingest_paths(library, targets)
    except BaseException:
        _restore(targets, backups, keep=set())
        raise
    by_path = {Path(r.path): r for r in report.results}
    results = [_result(t, by_path.get(t.resolve()), viewer, library) for t in targets]
    kept = {t for t, r in zip(targets, results, strict=True) if r["status"] in OK_STATUSES}
    _restore(targets, backups, keep=kept)
    return results, report


def _restore(targets: list[Path], backups: dict[Path, Path], keep: set[Path]) -> None:
    """Remove uploads not kept and put back what they replaced; drop backups of kept ones."""
    for target in targets:
        backup = backups.get(target)
        if target in keep:
            if backup:
                backup.unlink(missing_ok=True)
            continue
        target.unlink(missing_ok=True)
        if backup and backup.exists():
            backup.replace(target)
