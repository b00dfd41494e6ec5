"""The search indexes on Milvus (`KB_ENGINE=milvus`): each passage's vector and BM25 weights in
one collection, the BM25 term statistics in another, both per generation. The database stays
the source: a rebuild writes a new generation from it without re-embedding, and the manifest
naming the current generation is kept in the database, so every server sees the same one."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from kb import store
from kb.engine import Delta, IndexEngine, IndexRow, embeddings
from kb.errors import EngineUnavailableError, IndexMismatchError, IndexMissingError
from kb.indexfiles import FORMAT_VERSION, Manifest
from kb.lexical import term_id, term_weight
from kb.milvus_search import GET_BATCH, PAGE, MilvusIndex

logger = logging.getLogger(__name__)

MANIFEST_KEY = "milvus_manifest"
INSERT_BATCH = 500
SEAL_ROWS = 2000  # rows written since the last seal after which a write seals (flushes) them
STATS_ID = -1  # the row of the term collection holding the row count and total length
DOC_ID_BYTES = 1024
INSTALL = "pip install -e '.[milvus]'"
# No keepalive pings on an idle connection: a server that allows few (milvus-lite's gRPC defaults)
# answers them with GOAWAY, and a request made at that moment fails.
GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}
CONNECT_ATTEMPTS = 2  # a connection closed by the server just as it is reused is retried once


def shown_uri(uri: str) -> str:
    """An address as it may appear in messages and logs: no user, password or query."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


class MilvusConnection:
    """One client per library, opened on first use; every failure becomes an
    `EngineUnavailableError` whose message names the address without credentials."""

    def __init__(self, uri: str, token: str, timeout: float) -> None:
        self.uri, self.token, self.timeout = uri, token, timeout
        self._client: Any = None
        self._lock = threading.Lock()
        for name in ("pymilvus", "milvus_lite"):  # we report their failures ourselves
            logging.getLogger(name).setLevel(logging.CRITICAL)

    @property
    def embedded(self) -> bool:
        return "://" not in self.uri

    def _reason(self, exc: Exception) -> str:
        text = str(getattr(exc, "message", "") or exc).strip().splitlines()
        reason = text[0] if text else type(exc).__name__
        reason = reason.replace(self.uri, shown_uri(self.uri))
        return reason.replace(self.token, "***") if self.token else reason

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Any:
        try:
            from pymilvus import MilvusClient
        except ImportError:
            raise EngineUnavailableError(
                f"Milvus 引擎需要 pymilvus 与 milvus-lite：{INSTALL}"
            ) from None
        failure: Exception | None = None
        for _ in range(1 if self.embedded else CONNECT_ATTEMPTS):
            try:
                return MilvusClient(
                    uri=self.uri, token=self.token, timeout=self.timeout, grpc_options=GRPC_OPTIONS
                )
            except Exception as exc:  # pymilvus raises several kinds; all mean the same here
                failure = exc
        raise self._unavailable(failure) from None

    def _unavailable(self, exc: Exception | None) -> EngineUnavailableError:
        reason = self._reason(exc) if exc else "?"
        if self.embedded:
            return EngineUnavailableError(
                f"无法打开嵌入式 Milvus Lite 数据 {self.uri}（{reason}）：它只允许一个"
                "进程使用；多个进程共用时请运行 milvus-lite server --data-dir <目录>，"
                "并设 KB_MILVUS_URI=http://127.0.0.1:19530"
            )
        return EngineUnavailableError(
            f"无法连接 Milvus {shown_uri(self.uri)}（{reason}）："
            "请确认服务已启动、地址与 KB_MILVUS_TOKEN 正确"
        )

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.client()
        try:
            return getattr(client, method)(*args, **kwargs)
        except Exception as exc:  # a lost server, a timeout, a refused request
            raise EngineUnavailableError(
                f"Milvus {shown_uri(self.uri)} 出错（{method}：{self._reason(exc)}）"
            ) from None


class TermStats:
    """BM25 statistics of a generation: rows, their total length, and per term its df."""

    def __init__(self, rows: int = 0, total_length: float = 0.0) -> None:
        self.rows, self.total_length = rows, total_length
        self.df: Counter[int] = Counter()

    @property
    def mean_length(self) -> float:
        return self.total_length / self.rows if self.rows else 1.0

    def add_rows(self, token_lists: Iterable[list[str]]) -> None:
        """Add rows to the statistics (their term frequencies are not kept: a large build
        counts them again a batch at a time as it writes)."""
        for tokens in token_lists:
            self.df.update(_term_counts(tokens).keys())
            self.total_length += len(tokens)
            self.rows += 1

    def records(self, terms: Sequence[int]) -> list[dict[str, Any]]:
        stats = {"id": STATS_ID, "count": self.rows, "length": self.total_length, "unit": [1, 0]}
        return [stats] + [
            {"id": int(t), "count": int(self.df[t]), "length": 0.0, "unit": [1.0, 0.0]}
            for t in terms
        ]


class MilvusEngine(IndexEngine):
    """Writes generations of the two collections; searching goes through `MilvusIndex`."""

    name = "milvus"
    merges_writes = False  # Milvus merges its own segments; `kb compact` re-weights by a rebuild

    def __init__(self, library) -> None:
        super().__init__(library)
        settings = library.settings
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        uri = settings.milvus_uri or str(library.data_dir / "milvus.db")
        self.connection = MilvusConnection(uri, token, settings.milvus_timeout)
        self.prefix = settings.milvus_prefix

    def names(self, generation: str) -> tuple[str, str]:
        """The passage and term collections of a generation."""
        return f"{self.prefix}_chunks_{generation}", f"{self.prefix}_terms_{generation}"

    def manifest(self) -> Manifest | None:
        with self.library.session() as session:
            saved = store.get_info(session, key=MANIFEST_KEY)
        return Manifest(**json.loads(saved)) if saved else None

    def signature(self) -> Any:
        manifest = self.manifest()
        return None if manifest is None else (manifest.generation, manifest.state)

    def _save(self, manifest: Manifest) -> Manifest:
        manifest.format_version = FORMAT_VERSION
        with self.library.session() as session:
            store.set_info(session, key=MANIFEST_KEY, value=json.dumps(asdict(manifest)))
            session.commit()
        return manifest

    def _create(self, generation: str, dim: int, graph: bool) -> None:
        from pymilvus import DataType, MilvusClient

        chunks, terms = self.names(generation)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=DOC_ID_BYTES)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        index = MilvusClient.prepare_index_params()
        if graph:
            index.add_index(
                "dense",
                index_type="HNSW",
                metric_type="IP",
                params={"M": 32, "efConstruction": 200},
            )
        else:
            index.add_index("dense", index_type="FLAT", metric_type="IP")
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        index.add_index("doc_id", index_type="INVERTED")
        self._open_collection(chunks, schema, index)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("count", DataType.INT64)
        schema.add_field("length", DataType.DOUBLE)
        schema.add_field("unit", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
        index = MilvusClient.prepare_index_params()
        index.add_index("unit", index_type="FLAT", metric_type="IP")
        self._open_collection(terms, schema, index)

    def _open_collection(self, name: str, schema: Any, index: Any) -> None:
        """Create a collection with its indexes and load it. The indexes are not waited for
        (pymilvus would poll every half second): a new collection is empty, and Milvus searches
        rows not indexed yet by brute force."""
        call = self.connection.call
        call("create_collection", name, schema=schema, consistency_level="Strong")
        call("create_index", name, index, sync=False)
        call("load_collection", name)

    def _insert(self, collection: str, records: list[dict[str, Any]], *, upsert: bool) -> None:
        method = "upsert" if upsert else "insert"
        for start in range(0, len(records), INSERT_BATCH):
            self.connection.call(method, collection, records[start : start + INSERT_BATCH])

    def _passages(self, rows: Sequence[IndexRow], stats: TermStats) -> Iterator[list[dict]]:
        """Insert records of rows, a batch at a time: vector and BM25 weights."""
        matrix = embeddings(rows, self.library.embedder.dim)
        mean = stats.mean_length
        for start in range(0, len(rows), INSERT_BATCH):
            batch = []
            for at in range(start, min(start + INSERT_BATCH, len(rows))):
                tokens = _tokens(rows[at])
                weights = {
                    t: float(term_weight(tf, len(tokens), mean))
                    for t, tf in _term_counts(tokens).items()
                }
                batch.append(
                    {
                        "id": rows[at][0],
                        "doc_id": rows[at][1],
                        "dense": matrix[at],
                        "sparse": weights,
                    }
                )
            yield batch

    def _write_rows(self, collection: str, rows: Sequence[IndexRow], stats: TermStats) -> None:
        with self.library.reporter.task("写入 Milvus", len(rows)) as advance:
            for batch in self._passages(rows, stats):
                self.connection.call("insert", collection, batch)
                advance(len(batch))

    def build(self, manifest: Manifest, rows: Sequence[IndexRow]) -> Manifest:
        generation = f"g{time.strftime('%Y%m%d%H%M%S')}{os.urandom(3).hex()}"
        graph = len(rows) >= self.library.settings.ann_threshold
        self._create(generation, self.library.embedder.dim, graph)
        chunks, terms = self.names(generation)
        stats = TermStats()
        stats.add_rows(_tokens(row) for row in rows)
        self._write_rows(chunks, rows, stats)
        self._insert(terms, stats.records(sorted(stats.df)), upsert=False)
        self._seal(generation)
        previous = self.manifest()
        manifest.generation = generation
        manifest.deltas, manifest.delta_chunks, manifest.merged_from = [], 0, None
        manifest.max_chunk_id = int(rows[-1][0]) if rows else 0
        saved = self._save(manifest)
        self._drop_generations(keep={generation, previous.generation if previous else ""})
        return saved

    def _seal(self, generation: str) -> None:
        """Flush a generation's new rows into sealed segments, which searches use through the
        built indexes (rows not yet sealed are scanned on every search). Done after a build
        and every SEAL_ROWS written rows, far below a cluster's flush rate limit."""
        for name in self.names(generation):
            self.connection.call("flush", name)

    def _drop_generations(self, keep: set[str]) -> None:
        """Collections of generations other than the current and the previous one (readers
        may still be on it for a moment)."""
        kept = {name for generation in keep for name in self.names(generation)}
        for name in self.connection.call("list_collections"):
            ours = name.startswith((f"{self.prefix}_chunks_g", f"{self.prefix}_terms_g"))
            if ours and name not in kept:
                self.connection.call("drop_collection", name)

    def add(self, manifest: Manifest, rows: Sequence[IndexRow], delta: Delta) -> Manifest:
        chunks, terms = self.names(manifest.generation)
        if len(delta.tombstones):
            self.connection.call("delete", chunks, ids=[int(i) for i in delta.tombstones])
        if rows:
            token_lists = [_tokens(row) for row in rows]
            touched = sorted({term_id(t) for tokens in token_lists for t in tokens})
            stats = self.stats(manifest.generation, touched)
            stats.add_rows(token_lists)
            self._write_rows(chunks, rows, stats)
            self._insert(terms, stats.records(touched), upsert=True)
        manifest.deltas = [*manifest.deltas, f"write-{len(manifest.deltas) + 1:06d}"]
        if (manifest.delta_chunks + len(rows)) // SEAL_ROWS > manifest.delta_chunks // SEAL_ROWS:
            self._seal(manifest.generation)
        manifest.delta_chunks += len(rows)
        if rows:
            manifest.max_chunk_id = int(rows[-1][0])
        return self._save(manifest)

    def stats(self, generation: str, terms: Sequence[int]) -> TermStats:
        """The generation's row count and total length, and the df of the given terms."""
        _, collection = self.names(generation)
        found = self.get(collection, [STATS_ID, *terms], ["count", "length"])
        head = found.pop(STATS_ID, {"count": 0, "length": 0.0})
        stats = TermStats(int(head["count"]), float(head["length"]))
        stats.df.update({t: int(record["count"]) for t, record in found.items()})
        return stats

    def get(self, collection: str, ids: Sequence[int], fields: list[str]) -> dict[int, dict]:
        """Records by primary key, a batch at a time (missing ones are left out)."""
        found: dict[int, dict] = {}
        for start in range(0, len(ids), GET_BATCH):
            batch = [int(i) for i in ids[start : start + GET_BATCH]]
            for record in self.connection.call("get", collection, ids=batch, output_fields=fields):
                found[int(record["id"])] = record
        return found

    def compact(self) -> Manifest | None:
        """A rebuild from the database: BM25 weights and statistics of the current rows."""
        return self.library.build_indexes()

    def open(self, chunk_doc: dict[int, str]) -> MilvusIndex:
        manifest = self.manifest()
        if manifest is None:
            raise IndexMissingError("Milvus 中还没有索引：请先运行 kb ingest <文件夹>")
        if manifest.embedder != self.library.embedder.id:
            raise IndexMismatchError(
                f"索引由嵌入模型 {manifest.embedder} 构建，当前设置为 {self.library.embedder.id}："
                "请运行 kb rebuild 用当前模型重建索引（或改回 KB_EMBEDDER）"
            )
        return MilvusIndex(self, manifest, chunk_doc)

    def held_ids(self) -> np.ndarray:
        """Every chunk id of the current generation's passage collection."""
        manifest = self.manifest()
        if manifest is None:
            return np.zeros(0, dtype=np.int64)
        chunks, _ = self.names(manifest.generation)
        iterator = self.connection.call(
            "query_iterator", chunks, batch_size=PAGE, filter="id >= 0", output_fields=["id"]
        )
        held: list[int] = []
        while batch := iterator.next():
            held += [int(r["id"]) for r in batch]
        iterator.close()
        return np.unique(np.asarray(held, dtype=np.int64))

    def status(self) -> dict[str, Any]:
        try:
            collections = self.connection.call("list_collections")
        except EngineUnavailableError as exc:
            return {"engine": self.name, "ok": False, "error": exc.message}
        manifest = self.manifest()
        ready = manifest is None or self.names(manifest.generation)[0] in collections
        status = {"engine": self.name, "ok": ready, "uri": shown_uri(self.connection.uri)}
        if not ready:
            status["error"] = "Milvus 中缺少当前索引的集合：请运行 kb rebuild"
        return status


def _tokens(row: IndexRow) -> list[str]:
    return [t for t in row[2].split(" ") if t]


def _term_counts(tokens: list[str]) -> Counter[int]:
    return Counter(term_id(t) for t in tokens)
