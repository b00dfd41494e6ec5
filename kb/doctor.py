"""Health checks of a library: database, vector index and BM25 index against each other, and
repairs that need no re-embedding of stored documents (indexes are rebuilt from the database)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb import store
from kb.errors import KBError
from kb.indexfiles import Manifest, drop_leftovers, leftovers
from kb.library import EMBEDDER_KEY, Library
from kb.milvus_engine import MilvusEngine
from kb.segments import IndexSet, drop_unlisted_deltas, load_index


@dataclass
class Finding:
    """One check: `ok`, `warning` or `error`, with what was found."""

    level: str
    check: str
    message: str


def _stored_ids(library: Library) -> tuple[set[int], set[int], set[str]]:
    """(chunk ids with vectors, chunk ids without, doc ids of chunks)."""
    with_vectors, without, docs = set(), set(), set()
    with library.session() as session:
        for chunk_id, doc_id, _, embedding in store.iter_index_rows(session):
            (with_vectors if embedding is not None else without).add(chunk_id)
            docs.add(doc_id)
    return with_vectors, without, docs


def check(library: Library) -> list[Finding]:
    """Everything that can be checked without changing anything."""
    findings: list[Finding] = []
    with library.session() as session:
        documents = store.list_documents(session)
        stored_embedder = store.get_info(session, key=EMBEDDER_KEY)
    with_vectors, without, chunk_docs = _stored_ids(library)
    findings.append(
        Finding(
            "ok", "database", f"{len(documents)} 篇文档，{len(with_vectors) + len(without)} 个分块"
        )
    )
    if without:
        findings.append(Finding("error", "vectors", f"{len(without)} 个分块没有向量（导入中断？）"))
    orphans = chunk_docs - {d.id for d in documents}
    if orphans:
        findings.append(Finding("error", "orphans", f"{len(orphans)} 篇已不存在的文档还留有分块"))
    missing = [d.id for d in documents if not Path(d.source).exists()]
    if missing:
        findings.append(
            Finding(
                "warning",
                "sources",
                f"{len(missing)} 篇文档的源文件已不在：{'、'.join(missing[:5])}",
            )
        )
    findings += _check_indexes(library, with_vectors, stored_embedder)
    stale = leftovers(library.data_dir)
    if stale:
        findings.append(
            Finding("warning", "leftovers", f"{len(stale)} 个未完成的索引构建目录（崩溃残留）")
        )
    return findings


def _check_indexes(
    library: Library, chunk_ids: set[int], stored_embedder: str | None
) -> list[Finding]:
    manifest = library.manifest()
    if manifest is None:
        level = "error" if chunk_ids else "ok"
        return [Finding(level, "index", "还没有索引" + ("，但库中已有分块" if chunk_ids else ""))]
    if stored_embedder and stored_embedder != manifest.embedder:
        return [
            Finding(
                "error", "embedder", f"库中向量来自 {stored_embedder}，索引来自 {manifest.embedder}"
            )
        ]
    if isinstance(library.index_engine, MilvusEngine):
        return _check_milvus(library.index_engine, manifest, chunk_ids)
    try:
        index = load_index(library.data_dir, manifest.embedder)
    except (KBError, OSError, RuntimeError, ValueError, KeyError) as exc:
        return [Finding("error", "index", f"索引文件无法打开：{exc}")]
    findings = _check_segments(library, index)
    live = ~index.dead
    for name, ids in (("bm25", index.lexical.ids[live]), ("vectors", index.vectors.ids()[live])):
        held = {int(i) for i in ids}
        if held != chunk_ids:
            findings.append(
                Finding(
                    "error",
                    name,
                    f"{name} 索引与数据库不一致：缺 {len(chunk_ids - held)}，多 {len(held - chunk_ids)}",
                )
            )
    if not any(f.level == "error" for f in findings):
        findings.append(
            Finding(
                "ok",
                "index",
                f"索引与数据库一致（{manifest.generation}，{len(index.deltas)} 个增量段，"
                f"{int(index.dead.sum())} 个已删除分块待合并，{manifest.embedder}）",
            )
        )
    return findings


def _check_milvus(engine: MilvusEngine, manifest: Manifest, chunk_ids: set[int]) -> list[Finding]:
    """The current generation's passage collection holds exactly the database's chunks."""
    status = engine.status()
    if not status["ok"]:
        return [Finding("error", "milvus", status["error"])]
    try:
        held = {int(i) for i in engine.held_ids()}
    except KBError as exc:
        return [Finding("error", "milvus", exc.message)]
    if held != chunk_ids:
        return [
            Finding(
                "error",
                "milvus",
                f"Milvus 集合与数据库不一致：缺 {len(chunk_ids - held)}，多 {len(held - chunk_ids)}",
            )
        ]
    return [
        Finding(
            "ok",
            "index",
            f"Milvus 索引与数据库一致（{status['uri']}，{manifest.generation}，"
            f"{len(manifest.deltas)} 次增量写入，{manifest.embedder}）",
        )
    ]


def _check_segments(library: Library, index: IndexSet) -> list[Finding]:
    """Each delta's rows come after every earlier row, its tombstones name earlier rows, and no
    delta folder lies outside the manifest."""
    findings = []
    ids = index.vectors.ids()
    if len(ids) > 1 and not (np.diff(ids) > 0).all():
        findings.append(Finding("error", "segments", "分段中的分块编号没有严格递增"))
    start = len(index.segments[0].postings)
    for number, segment in enumerate(index.deltas, start=1):
        unknown = np.setdiff1d(segment.tombstones, ids[:start])
        if len(unknown):
            findings.append(
                Finding(
                    "warning",
                    "tombstones",
                    f"增量段 {number} 的 {len(unknown)} 个删除标记指向不存在的分块",
                )
            )
        start += len(segment.postings)
    folder = library.data_dir / index.manifest.generation
    unlisted = [p.name for p in folder.glob("delta-*") if p.name not in index.manifest.deltas]
    if unlisted:
        findings.append(
            Finding("warning", "segments", f"{len(unlisted)} 个未登记的增量段（写入中断的残留）")
        )
    return findings


def repair(library: Library) -> list[str]:
    """Fix what can be fixed: drop orphan chunks, embed only chunks that lack a vector, rebuild
    both indexes from the database, remove leftovers of interrupted builds."""
    actions = []
    with library.session() as session:
        removed = store.delete_orphan_chunks(session)
        session.commit()
    if removed:
        actions.append(f"删除了 {removed} 个孤立分块")
    embedded = library.embed_missing()
    if embedded:
        actions.append(f"为 {embedded} 个缺少向量的分块补算了向量")
    manifest = library.manifest()
    if manifest is not None and (library.data_dir / manifest.generation).is_dir():
        for name in drop_unlisted_deltas(library.data_dir / manifest.generation, manifest):
            actions.append(f"删除了未登记的增量段 {name}")
    manifest = library.build_indexes()
    actions.append(f"从数据库重建了索引（{manifest.documents} 篇，{manifest.chunks} 个分块）")
    for leftover in drop_leftovers(library.data_dir):
        actions.append(f"删除了残留目录 {leftover.name}")
    return actions
