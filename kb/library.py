"""The library: database, text pipeline, embedder and the derived indexes, opened once."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb import store
from kb.config import Settings
from kb.embed import Embedder, load_embedder
from kb.errors import IndexMismatchError
from kb.indexfiles import FORMAT_VERSION, Manifest, read_manifest, save_generation
from kb.lexical import LexicalIndex
from kb.progress import Reporter, SilentReporter
from kb.text import TextPipeline
from kb.vectors import VectorIndex

EMBEDDER_KEY = "embedder"
DIRTY_KEY = "index_dirty"
LOCK_FILE = "write.lock"


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

    @cached_property
    def embedder(self) -> Embedder:
        return load_embedder(self.settings.embedder)

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def manifest(self) -> Manifest | None:
        return read_manifest(self.data_dir)

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

    def build_indexes(self) -> Manifest:
        """Build BM25 and FAISS from the stored tokens and vectors; switch to them atomically."""
        ids: list[int] = []
        tokens: list[list[str]] = []
        vectors: list[np.ndarray] = []
        docs: set[str] = set()
        shared: dict[str, str] = {}  # one string object per distinct token: memory at scale
        dim = self.embedder.dim
        with self.session() as session:
            for chunk_id, doc_id, chunk_tokens, embedding in store.iter_index_rows(session):
                if embedding is None:
                    continue
                ids.append(chunk_id)
                docs.add(doc_id)
                split = chunk_tokens.split(" ") if chunk_tokens else []
                tokens.append([shared.setdefault(t, t) for t in split])
                vectors.append(np.frombuffer(embedding, dtype=np.float32))
        matrix = np.stack(vectors) if vectors else np.zeros((0, dim), dtype=np.float32)
        manifest = Manifest(
            format_version=0,
            generation="",
            embedder=self.embedder.id,
            dim=dim,
            documents=len(docs),
            chunks=len(ids),
            text_config=self.text.config_hash,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        )
        lexical = LexicalIndex.build(ids, tokens)
        vector_index = VectorIndex.build(
            np.asarray(ids, dtype=np.int64), matrix, graph_from=self.settings.ann_threshold
        )
        saved = save_generation(self.data_dir, manifest, lexical, vector_index)
        with self.session() as session:
            store.set_info(session, key=DIRTY_KEY, value="")
            session.commit()
        return saved

    @contextmanager
    def write_lock(self, wait: bool = True) -> Iterator[bool]:
        """An exclusive lock for writers, held through a file lock that the operating system
        releases if the process dies; yields False when `wait` is off and another writer runs."""
        handle = (self.data_dir / LOCK_FILE).open("a")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            handle.close()

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
        writer is at work (then it will build them itself). True when it rebuilt."""
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
