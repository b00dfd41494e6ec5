"""Uploaded files: stored under the data dir (never served statically) with safe names, then run
through the same ingest pipeline as the command line."""

from __future__ import annotations

import re
import threading
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from ingest.pipeline import ingest_paths
from kb.errors import DocumentError
from kb.library import Library
from web.errors import RequestTooLargeError

UPLOAD_DIR = "uploads"
CHUNK = 1024 * 1024
_UNSAFE = re.compile(r"[^\w\u3400-\u9fff.\-()（） ]+")
WRITE_LOCK = threading.Lock()


def safe_name(filename: str | None) -> str:
    """The base name of an uploaded file, stripped of directories and odd characters."""
    raw = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = _UNSAFE.sub("_", raw).strip(" .")
    if not name or name.startswith("."):
        raise DocumentError(f"文件名 {filename!r} 不可用：请改成普通的文件名后再上传")
    return name[:120]


async def save_upload(upload: UploadFile, folder: Path, limit_bytes: int) -> tuple[Path, Path]:
    """Write an upload to a temporary file, refusing it past the size limit, then move it in."""
    name = safe_name(upload.filename)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.part"
    size = 0
    with partial.open("wb") as handle:
        while data := await upload.read(CHUNK):
            size += len(data)
            if size > limit_bytes:
                handle.close()
                partial.unlink(missing_ok=True)
                raise RequestTooLargeError(
                    f"{name}：超过上传大小上限 {limit_bytes / 1048576:g} MB（KB_MAX_FILE_MB）"
                )
            handle.write(data)
    return partial, folder / name


def ingest_uploads(library: Library, staged: list[tuple[Path, Path]]) -> list[dict]:
    """Move staged uploads into place and ingest them in one run; a file that fails is taken
    out again (and the file it replaced put back), so the library stays as it was."""
    with WRITE_LOCK:
        backups = {}
        for partial, target in staged:
            if target.exists():
                backups[target] = target.with_name(f".{target.name}.previous")
                target.replace(backups[target])
            partial.replace(target)
        report = ingest_paths(library, [target for _, target in staged])
        by_path = {Path(r.path): r for r in report.results}
        results = []
        for _, target in staged:
            result = by_path.get(target.resolve())
            ok = result is not None and result.status in ("added", "updated", "unchanged")
            backup = backups.get(target)
            if not ok:
                target.unlink(missing_ok=True)
                if backup:
                    backup.replace(target)
            elif backup:
                backup.unlink(missing_ok=True)
            results.append(
                {
                    "filename": target.name,
                    "status": result.status if result else "failed",
                    "doc_id": result.doc_id if result else None,
                    "chunks": result.chunks if result else 0,
                    "message": result.message if result else "未能处理",
                }
            )
    return results
