"""The library: database, text pipeline, embedder and the derived indexes, opened once."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb import store
from kb.config import Settings
from kb.embed import Embedder, load_embedder
from kb.engine import Delta, IndexEngine, open_engine
from kb.errors import IndexMismatchError
from kb.indexfiles import FORMAT_VERSION, Manifest, drop_leftovers, file_lock
from kb.progress import Reporter, SilentReporter
from kb.text import TextPipeline

logger = logging.getLogger(__name__)

EMBEDDER_KEY = "embedder"
DIRTY_KEY = "index_dirty"
LOCK_FILE = "write.lock"
BACKGROUND_NICE = 10


@dataclass
class Changes:
    """What a write did to the database, for the delta that makes it searchable."""

    changed: set[str] = field(default_factory=set)  # documents added, replaced or relabelled
    removed: set[str] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)  # chunk ids that left the database

    def replacing(self, session: Session, doc_id: str) -> None:
        """Before a document's passages are replaced or deleted: remember their chunk ids."""
        self.dropped.update(store.chunk_ids_of(session, doc_ids=[doc_id]))

    def __bool__(self) -> bool:
        return bool(self.changed or self.removed or self.dropped)


def yield_to_requests() -> None:
    """Lower the calling thread's CPU priority (Linux nice is per thread): background merges
    and training then leave the cores to the requests of the same process."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        logger.debug("could not lower the priority of a background thread")


def mark_dirty(session: Session, reason: str) -> None:
    """Record, in the transaction of a change, that the indexes lag the database until the
    change is indexed (a crash in between is then repaired by a rebuild)."""
    store.set_info(session, key=DIRTY_KEY, value=reason)


def passage_for_index(title: str, heading: str, text: str) -> str:
    """What gets tokenised and embedded for a chunk: its title and heading path give context
    (the title is left out when the passage already begins with it)."""
    if title and text.startswith(title):
        title = ""
    return "\n".join(part for part in (title, heading, text) if part)


class Library:
    """Entry point of the core: `Library(settings)` then ingest, rebuild or search."""

    def __init__(self, settings: Settings | None = None, reporter: Reporter | None = None) -> None:
        self.settings = settings or Settings()
        self.data_dir = self.settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.reporter: Reporter = reporter or SilentReporter()
        self.engine: Engine = store.make_engine(self.settings.db_url)
        self.text = TextPipeline(self.data_dir)
        self.compact_in_background = False  # a server merges deltas in a thread of its own
        self._compactor: threading.Thread | None = None
        self._held = threading.local()

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embedder)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @cached_property
    def index_engine(self) -> IndexEngine:
        return open_engine(self)

    def manifest(self) -> Manifest | None:
        return self.index_engine.manifest()

    def check_stored_vectors(self, session: Session) -> None:
        """Refuse to mix vectors of two embedders in one library."""
        stored = store.get_info(session, key=EMBEDDER_KEY)
        if stored and stored != self.embedder.id and store.count_chunks(session) > 0:
            raise IndexMismatchError(
                f"库中向量由 {stored} 生成，当前嵌入模型为 {self.embedder.id}："
                "请运行 kb rebuild 用当前模型重建"
            )
        store.set_info(session, key=EMBEDDER_KEY, value=self.embedder.id)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        with self.reporter.task("嵌入", len(texts)) as advance:
            return self.embedder.embed_passages(
                texts, batch_size=self.settings.embed_batch_size, progress=advance
            )

    def _new_manifest(self, documents: int, chunks: int) -> Manifest:
        return Manifest(
            format_version=FORMAT_VERSION,
            generation="",
            embedder=self.embedder.id,
            dim=self.embedder.dim,
            documents=documents,
            chunks=chunks,
            text_config=self.text.config_hash,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )

    def build_indexes(self) -> Manifest:
        """Build a new base (BM25 postings and vectors) from every stored chunk, without deltas;
        switch to it atomically."""
        with self.write_lock(), self.session() as session:
            rows = [r for r in store.iter_index_rows(session) if r[3] is not None]
            documents = len({row[1] for row in rows})
            saved = self.index_engine.build(self._new_manifest(documents, len(rows)), rows)
            store.set_info(session, key=DIRTY_KEY, value="")
            session.commit()
        return saved

    def index_changes(self, changes: Changes) -> Manifest:
        """Make committed changes searchable: a delta with the new passages and metadata of the
        changed documents and tombstones for the chunks that left, or a new base when there is
        no usable index yet or the change is as large as a merge would be."""
        with self.write_lock():
            manifest = self.manifest()
            if manifest is None or manifest.format_version != FORMAT_VERSION:
                return self.build_indexes()
            if not changes:
                return manifest
            with self.session() as session:
                rows = store.index_rows_of(
                    session, doc_ids=sorted(changes.changed), after_id=manifest.max_chunk_id
                )
                documents = [store.get_document(session, doc_id=d) for d in sorted(changes.changed)]
                totals = (store.count_documents(session), store.count_chunks(session))
            large = len(rows) > self.settings.compact_share * max(manifest.chunks, 1)
            if large or any(r[3] is None for r in rows):
                return self.build_indexes()
            delta = Delta(
                np.asarray(sorted(changes.dropped), dtype=np.int64),
                [d.model_dump(mode="json", exclude={"text"}) for d in documents if d],
                sorted(changes.removed),
            )
            manifest.documents, manifest.chunks = totals
            manifest = self.index_engine.add(manifest, rows, delta)
            with self.session() as session:
                store.set_info(session, key=DIRTY_KEY, value="")
                session.commit()
        self._after_write(manifest)
        return manifest

    def compaction_due(self, manifest: Manifest) -> bool:
        if not self.index_engine.merges_writes:
            return False
        share = manifest.delta_chunks > self.settings.compact_share * max(manifest.chunks, 1)
        return bool(manifest.deltas) and (
            len(manifest.deltas) >= self.settings.compact_deltas or share
        )

    def _after_write(self, manifest: Manifest) -> None:
        if not self.compaction_due(manifest):
            return
        if not self.compact_in_background:
            self.compact()
        elif self._compactor is None or not self._compactor.is_alive():
            self._compactor = threading.Thread(
                target=self._compact_logged, name="kb-compact", daemon=True
            )
            self._compactor.start()

    def wait_for_compaction(self, timeout: float) -> bool:
        """Wait for a background merge started by this library; False if still running."""
        if self._compactor is not None:
            self._compactor.join(timeout)
        return self._compactor is None or not self._compactor.is_alive()

    def _compact_logged(self) -> None:
        yield_to_requests()
        try:
            self.compact()
        except Exception:  # a failed merge leaves the deltas in use; the next write retries
            logger.exception("background compaction failed")

    def compact(self) -> Manifest | None:
        """Merge the writes since the last build into a new base while readers and writers go
        on (see the engine's `compact`)."""
        return self.index_engine.compact()

    @contextmanager
    def writing(self) -> Iterator[Changes]:
        """Hold the write lock for a change, after bringing the indexes up to date if an
        earlier write was interrupted; record the change, then `index_changes` it."""
        with self.write_lock():
            if self.is_dirty():
                self.embed_missing()
                self.build_indexes()
            yield Changes()

    @contextmanager
    def write_lock(self, wait: bool = True) -> Iterator[bool]:
        """An exclusive lock for writers, held through a file lock that the operating system
        releases if the process dies; yields False when `wait` is off and another writer runs.
        A thread that holds it may take it again."""
        if getattr(self._held, "depth", 0):
            self._held.depth += 1
            try:
                yield True
            finally:
                self._held.depth -= 1
            return
        with file_lock(self.data_dir / LOCK_FILE, wait=wait) as taken:
            if not taken:
                yield False
                return
            self._held.depth = 1
            try:
                yield True
            finally:
                self._held.depth = 0

    def is_dirty(self) -> bool:
        """True when documents changed after the last index build (e.g. an ingest was killed),
        or the index on disk has an older format (rebuilt from the database, no re-embedding)."""
        manifest = self.manifest()
        if manifest is not None and manifest.format_version != FORMAT_VERSION:
            return True
        with self.session() as session:
            return bool(store.get_info(session, key=DIRTY_KEY))

    def recover(self) -> bool:
        """After a crash: embed what lacks a vector and rebuild the indexes, unless another
        writer is at work (then it will build them itself). True when it rebuilt. Folders
        left by writers that died are removed."""
        drop_leftovers(self.data_dir)
        if not self.is_dirty():
            return False
        with self.write_lock(wait=False) as locked:
            if not locked or not self.is_dirty():
                return False
            self.embed_missing()
            self.build_indexes()
            return True

    def reembed_all(self) -> int:
        """Embed every stored chunk again with the current embedder (after a model change)."""
        with self.session() as session:
            total = store.count_chunks(session)
            done, last = 0, -1
            with self.reporter.task("重新嵌入", total) as advance:
                while batch := store.chunk_texts(session, after_id=last):
                    titles = {c.doc_id: self._title(session, c.doc_id) for c in batch}
                    texts = [passage_for_index(titles[c.doc_id], c.heading, c.text) for c in batch]
                    vectors = self.embedder.embed_passages(
                        texts, batch_size=self.settings.embed_batch_size
                    )
                    for chunk, vector in zip(batch, vectors, strict=True):
                        chunk.embedding = vector.astype(np.float32).tobytes()
                        session.add(chunk)
                    last = batch[-1].id or last
                    done += len(batch)
                    advance(len(batch))
            store.set_info(session, key=EMBEDDER_KEY, value=self.embedder.id)
            session.commit()
        return done

    def embed_missing(self) -> int:
        """Embed only the chunks that have no vector (e.g. after an interrupted ingest)."""
        with self.session() as session:
            chunks = list(store.chunks_without_embedding(session))
            if not chunks:
                return 0
            titles = {c.doc_id: self._title(session, c.doc_id) for c in chunks}
            texts = [passage_for_index(titles[c.doc_id], c.heading, c.text) for c in chunks]
            for chunk, vector in zip(chunks, self.embed_passages(texts), strict=True):
                chunk.embedding = vector.astype(np.float32).tobytes()
                session.add(chunk)
            session.commit()
        return len(chunks)

    def retokenize_all(self) -> int:
        """Recompute every chunk's tokens (after the user dictionary or synonyms changed)."""
        with self.session() as session:
            done, last = 0, -1
            titles: dict[str, str] = {}
            while batch := store.chunk_texts(session, after_id=last):
                for chunk in batch:
                    if chunk.doc_id not in titles:
                        titles[chunk.doc_id] = self._title(session, chunk.doc_id)
                    passage = passage_for_index(titles[chunk.doc_id], chunk.heading, chunk.text)
                    chunk.tokens = " ".join(self.text.index_tokens(passage))
                    session.add(chunk)
                last = batch[-1].id or last
                done += len(batch)
            session.commit()
        return done

    @staticmethod
    def _title(session: Session, doc_id: str) -> str:
        document = store.get_document(session, doc_id=doc_id)
        return document.title if document else ""

    def rebuild(self) -> Manifest:
        """Re-embed if the embedder changed, then rebuild both indexes."""
        with self.session() as session:
            stored = store.get_info(session, key=EMBEDDER_KEY)
        if stored != self.embedder.id:
            self.reembed_all()
        return self.build_indexes()
