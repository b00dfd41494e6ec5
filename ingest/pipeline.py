"""Incremental ingest: discover files, skip unchanged ones, embed the rest in batches, store each
file in its own transaction, prune vanished files, rebuild the indexes once."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.documents import (
    PreparedDocument,
    derive_doc_id,
    file_digest,
    prepare_document,
    read_file,
)
from ingest.frontmatter import SIDECAR_SUFFIX, sidecar_path
from ingest.readers import check_supported
from kb import store
from kb.errors import DocumentError, KBError, NoTextError, UnsupportedFileError
from kb.library import Changes, Library, mark_dirty
from kb.sources import remember_roots
from kb.suggestions import reapply_accepted

logger = logging.getLogger(__name__)

STATUSES = ("added", "updated", "unchanged", "duplicate", "skipped", "failed", "pruned")


@dataclass
class FileResult:
    """What happened to one file."""

    path: str
    status: str
    doc_id: str | None = None
    chunks: int = 0
    message: str = ""


@dataclass
class IngestReport:
    """Per-file results of one ingest run and how long it took."""

    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0  # spent embedding passages
    index_seconds: float = 0.0  # from the end of embedding to the change being searchable
    indexed: bool = False

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def partial(self) -> bool:
        return self.count("failed") > 0

    def summary(self) -> dict[str, int]:
        return {status: self.count(status) for status in STATUSES if self.count(status)}

    @property
    def stored(self) -> list[str]:
        """Ids of the documents added or updated: the caller asks for their label suggestions
        once the run returned (their change is searchable by then)."""
        return [r.doc_id for r in self.results if r.status in ("added", "updated") and r.doc_id]


STORE_EVERY = 256  # passages embedded before their documents are committed
QUEUE_FILES = 64  # prepared files waiting for the embedder (bounds memory)


def _groups(prepared: Iterable, size: int) -> Iterator[list]:
    """Consecutive files whose passages add up to about `size`, so that work is committed as
    it goes (a crash loses at most one group) while embedding still runs in large batches."""
    group: list = []
    count = 0
    for entry in prepared:
        group.append(entry)
        count += len(entry[0].passages)
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Files under the given paths (hidden ones and sidecars left out), plus problems found."""
    files: list[Path] = []
    problems: list[FileResult] = []
    for root in paths:
        if root.is_file():
            files.append(root.resolve())
        elif root.is_dir():
            for folder, dirs, names in os.walk(root, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if not name.startswith(".") and not name.endswith(SIDECAR_SUFFIX):
                        files.append((Path(folder) / name).resolve())
        else:
            problems.append(FileResult(str(root), "failed", message=f"{root}：路径不存在"))
    return list(dict.fromkeys(files)), problems


class Ingestor:
    """Runs one ingest over a library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.settings = library.settings
        self.report = IngestReport()
        self._seen_hashes: dict[str, str] = {}
        self._seen_ids: dict[str, str] = {}
        self.changes = Changes()

    def run(self, paths: list[Path], *, prune: bool = False) -> IngestReport:
        with self.library.writing() as changes:
            self.changes = changes
            return self._run(paths, prune=prune)

    def _run(self, paths: list[Path], *, prune: bool) -> IngestReport:
        started = time.perf_counter()
        files, problems = discover(paths)
        with self.library.session() as session:
            folders = [
                p.resolve() if p.is_dir() else p.resolve().parent for p in paths if p.exists()
            ]
            remember_roots(session, folders=folders)
            session.commit()
        self.report.results.extend(problems)
        self._prepare_and_store(files)
        if prune:
            self._prune([p.resolve() for p in paths if p.is_dir()])
        if self.changes or self.library.manifest() is None:
            indexing = time.perf_counter()
            self.library.index_changes(self.changes)
            self.report.index_seconds = time.perf_counter() - indexing
            self.report.indexed = True
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _prepare_and_store(self, files: list[Path]) -> None:
        """Read, clean, segment and chunk files in a thread while this one embeds and commits
        the previous group: segmentation stays off the embedding's path, and memory holds a few
        groups, not the whole batch."""
        ready: queue.Queue = queue.Queue(maxsize=QUEUE_FILES)
        failure: list[BaseException] = []
        stop = threading.Event()
        with self.library.reporter.task("导入文件", len(files)) as advance:

            def produce() -> None:
                try:
                    with self.library.session() as session:
                        for path in files:
                            if stop.is_set():
                                return
                            item = self._prepare_reporting(session, path)
                            if item:
                                ready.put(item)
                            else:
                                advance()
                except BaseException as exc:  # handed to the consuming thread
                    failure.append(exc)
                finally:
                    ready.put(None)

            reader = threading.Thread(target=produce, name="ingest-reader", daemon=True)
            reader.start()
            try:
                self._store_all(iter(ready.get, None), advance)
            finally:
                stop.set()
                while reader.is_alive():  # unblock a reader waiting on a full queue
                    with contextlib.suppress(queue.Empty):
                        ready.get(timeout=0.1)
        if failure:
            raise failure[0]

    def _prepare_reporting(self, session, path: Path) -> tuple[PreparedDocument, bool] | None:
        """`_prepare`, with a file that cannot be read recorded in the report instead."""
        try:
            return self._prepare(session, path)
        except (UnsupportedFileError, NoTextError) as exc:
            self.report.results.append(FileResult(str(path), "skipped", message=exc.message))
        except KBError as exc:
            self.report.results.append(FileResult(str(path), "failed", message=exc.message))
        except OSError as exc:
            message = f"{path.name}：无法读取（{exc.strerror or exc}）"
            self.report.results.append(FileResult(str(path), "failed", message=message))
        except Exception as exc:  # a reader library failing on a malformed file
            logger.warning("unexpected error reading %s", path, exc_info=True)
            message = f"{path.name}：文件无法解析（{type(exc).__name__}: {exc}）"
            self.report.results.append(FileResult(str(path), "failed", message=message))
        return None

    def _prepare(self, session, path: Path) -> tuple[PreparedDocument, bool] | None:
        check_supported(path)
        limit = self.settings.max_file_mb * 1024 * 1024
        if path.stat().st_size > limit:
            raise DocumentError(
                f"{path.name}：文件大小 {path.stat().st_size / 1048576:.3g} MB 超过上限 "
                f"{self.settings.max_file_mb:g} MB（可用 KB_MAX_FILE_MB 调整）"
            )
        data = path.read_bytes()
        side = sidecar_path(path)
        digest = file_digest(data, side.read_bytes() if side.is_file() else b"")
        existing = store.get_document_by_source(session, source=str(path))
        if existing is not None and existing.content_hash == digest:
            self._remember(existing.id, digest, path)
            self.report.results.append(FileResult(str(path), "unchanged", existing.id))
            return None
        duplicate = self._duplicate_of(session, digest, path)
        if duplicate:
            message = f"内容与 {duplicate} 完全相同，未重复导入"
            self.report.results.append(FileResult(str(path), "duplicate", message=message))
            return None
        fmt, read = read_file(path=path, data=data)
        doc_id = self._doc_id(session, path, read.meta.get("id"))
        item = prepare_document(
            path=path,
            fmt=fmt,
            read=read,
            doc_id=doc_id,
            digest=digest,
            pipeline=self.library.text,
            chunk_chars=self.settings.chunk_chars,
        )
        self._remember(doc_id, digest, path)
        return item, existing is not None

    def _remember(self, doc_id: str, digest: str, path: Path) -> None:
        self._seen_hashes.setdefault(digest, str(path))
        self._seen_ids.setdefault(doc_id, str(path))

    def _duplicate_of(self, session, digest: str, path: Path) -> str | None:
        if digest in self._seen_hashes and self._seen_hashes[digest] != str(path):
            return self._seen_hashes[digest]
        other = store.find_document_by_hash(session, content_hash=digest)
        if other is not None and other.source != str(path) and Path(other.source).exists():
            return other.source
        return None

    def _doc_id(self, session, path: Path, meta_id: object) -> str:
        doc_id = derive_doc_id(path, meta_id)
        holder = self._seen_ids.get(doc_id)
        existing = store.get_document(session, doc_id=doc_id)
        if existing is not None and existing.source != str(path) and Path(existing.source).exists():
            holder = existing.source
        if holder and holder != str(path):
            if meta_id:
                raise DocumentError(
                    f"{path.name}：id {doc_id} 已被 {holder} 使用，请修改 front matter 的 id"
                )
            doc_id = f"{doc_id}-{file_digest(str(path).encode(), b'')[:6]}"
        return doc_id

    def _store_all(self, prepared: Iterator[tuple[PreparedDocument, bool]], advance) -> None:
        """Embed prepared documents in groups of about STORE_EVERY passages, committing each
        document as soon as its group is embedded."""
        checked = False
        for group in _groups(prepared, STORE_EVERY):
            if not checked:
                with self.library.session() as session:
                    self.library.check_stored_vectors(session)
                    session.commit()
                checked = True
            passages = [p for item, _ in group for p in item.passages]
            embedding = time.perf_counter()
            vectors = self.library.embedder.embed_passages(
                passages, batch_size=self.settings.embed_batch_size
            )
            self.report.embed_seconds += time.perf_counter() - embedding
            offset = 0
            for item, existed in group:
                count = len(item.chunks)
                self._store_one(item, existed, vectors[offset : offset + count])
                offset += count
                advance()

    def _store_one(self, item: PreparedDocument, existed: bool, vectors: np.ndarray) -> None:
        document = item.document
        for chunk, vector in zip(item.chunks, vectors, strict=True):
            chunk.embedding = vector.astype(np.float32).tobytes()
        with self.library.session() as session:
            previous = store.get_document_by_source(session, source=document.source)
            if previous is not None and previous.id != document.id:
                self.changes.replacing(session, previous.id)
                store.delete_document(session, doc_id=previous.id)
                self.changes.removed.add(previous.id)
            reapply_accepted(session, document)
            self.changes.replacing(session, document.id)
            store.replace_document(session, document=document, chunks=item.chunks)
            mark_dirty(session, "ingest")
            session.commit()
        self.changes.changed.add(document.id)
        self.changes.removed.discard(document.id)
        status = "updated" if existed else "added"
        message = "；".join(item.warnings)
        self.report.results.append(
            FileResult(document.source, status, document.id, len(item.chunks), message)
        )

    def _prune(self, roots: list[Path]) -> None:
        with self.library.session() as session:
            for document in store.list_documents(session):
                source = Path(document.source)
                inside = any(source.is_relative_to(root) for root in roots)
                if inside and not source.exists():
                    self.changes.replacing(session, document.id)
                    store.delete_document(session, doc_id=document.id)
                    mark_dirty(session, "prune")
                    self.changes.removed.add(document.id)
                    self.report.results.append(FileResult(document.source, "pruned", document.id))
            session.commit()


def ingest_paths(library: Library, paths: list[Path], *, prune: bool = False) -> IngestReport:
    """Ingest files and folders into the library; see `IngestReport` for the outcome."""
    return Ingestor(library).run(paths, prune=prune)
