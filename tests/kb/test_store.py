"""The store's keyword-only functions, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import Session

from kb import store
from kb.library import Library
from kb.models import Chunk, Document, Pack, PackItem, SavedTemplate, Suggestion
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES
TEXT = "華南某連鎖零售企業：門店人效提升 18%，顧客排隊縮短到 3 分鐘 🙂"


def make_document(doc_id: str, source: str, **fields) -> Document:
    return Document(
        id=doc_id,
        source=source,
        format="md",
        title=fields.pop("title", f"文档 {doc_id}"),
        content_hash=fields.pop("content_hash", f"hash-{doc_id}"),
        text=fields.pop("text", TEXT),
        tags=fields.pop("tags", ["门店运营", "客户体验"]),
        meta=fields.pop("meta", {"项目经理": "王五", "budget": 120}),
        **fields,
    )


def make_chunks(doc_id: str, count: int, dim: int = 8) -> list[Chunk]:
    rng = np.random.default_rng(len(doc_id) + count)
    return [
        Chunk(
            doc_id=doc_id,
            ordinal=i,
            heading=f"第{i}节",
            start=i * 10,
            end=i * 10 + 9,
            text=f"{TEXT} 第 {i} 段",
            tokens="门店 人效 顾客",
            embedding=rng.standard_normal(dim).astype(np.float32).tobytes(),
        )
        for i in range(count)
    ]


@pytest.fixture
def session(library: Library):
    with library.session() as opened:
        yield opened


def add(session: Session, doc_id: str, chunks: int = 3, **fields) -> Document:
    document = make_document(doc_id, f"/docs/{doc_id}.md", **fields)
    store.replace_document(session, document=document, chunks=make_chunks(doc_id, chunks))
    session.commit()
    return document


def test_documents_round_trip_with_json_unicode_and_vectors(session):
    add(session, "B-2", industry="零售", confidentiality="confidential")
    add(session, "A-1", chunks=2)
    document = store.get_document(session, doc_id="B-2")
    assert document.text == TEXT and document.tags == ["门店运营", "客户体验"]
    assert document.meta == {"项目经理": "王五", "budget": 120}
    assert document.chunk_count == 3 and document.confidentiality == "confidential"
    assert [d.id for d in store.list_documents(session)] == ["A-1", "B-2"]
    assert store.get_document_by_source(session, source="/docs/A-1.md").id == "A-1"
    assert store.find_document_by_hash(session, content_hash="hash-B-2").id == "B-2"
    chunks = store.chunks_of_document(session, doc_id="B-2")
    assert [c.ordinal for c in chunks] == [0, 1, 2]
    expected = make_chunks("B-2", 3)[1].embedding
    assert chunks[1].embedding == expected
    assert np.frombuffer(chunks[1].embedding, dtype=np.float32).shape == (8,)
    assert store.count_chunks(session) == 5


def test_replacing_a_document_replaces_its_chunks_and_keeps_created_at(session):
    add(session, "A-1", chunks=4)
    created = store.get_document(session, doc_id="A-1").created_at
    old_ids = {c.id for c in store.chunks_of_document(session, doc_id="A-1")}
    add(session, "A-1", chunks=2, title="新标题")
    document = store.get_document(session, doc_id="A-1")
    assert document.title == "新标题" and document.chunk_count == 2
    assert document.created_at == created
    new_ids = {c.id for c in store.chunks_of_document(session, doc_id="A-1")}
    assert len(new_ids) == 2 and not new_ids & old_ids
    assert store.count_chunks(session) == 2


def test_index_rows_come_in_id_order_across_batches(session):
    for n in range(5):
        add(session, f"D-{n}", chunks=7)
    rows = list(store.iter_index_rows(session, batch=4))
    ids = [row[0] for row in rows]
    assert len(ids) == 35 and ids == sorted(ids)
    assert {row[1] for row in rows} == {f"D-{n}" for n in range(5)}
    got = store.get_chunks(session, ids=[*ids[:3], 10**9])
    assert sorted(got) == ids[:3]
    locations = store.chunk_locations(session)
    assert len(locations) == 35
    assert len(store.chunk_texts(session, after_id=ids[9], batch=100)) == 25


def test_deleting_removes_chunks_and_suggestions(session):
    add(session, "A-1")
    add(session, "B-2")
    session.add(
        Suggestion(doc_id="A-1", field="industry", label="零售", probability=0.9, method="model")
    )
    session.commit()
    assert store.delete_document(session, doc_id="A-1")
    session.commit()
    assert not store.delete_document(session, doc_id="A-1")
    assert store.get_document(session, doc_id="A-1") is None
    assert store.count_chunks(session) == 3
    assert store.list_suggestions(session) == []
    assert store.delete_orphan_chunks(session) == 0


def test_an_uncommitted_change_is_lost_and_nothing_else(library):
    with library.session() as session:
        add(session, "KEEP")
    with library.session() as session:
        store.replace_document(
            session, document=make_document("LOST", "/docs/lost.md"), chunks=make_chunks("LOST", 2)
        )
        session.rollback()
    with library.session() as session:
        assert [d.id for d in store.list_documents(session)] == ["KEEP"]
        assert store.count_chunks(session) == 3


def test_library_info_and_missing_embeddings(session):
    store.set_info(session, key="embedder", value="hash-64")
    store.set_info(session, key="embedder", value="e5-small")
    session.commit()
    assert store.get_info(session, key="embedder") == "e5-small"
    assert store.get_info(session, key="nothing") is None
    chunks = make_chunks("A-1", 2)
    chunks[1].embedding = None
    store.replace_document(session, document=make_document("A-1", "/a.md"), chunks=chunks)
    session.commit()
    assert [c.ordinal for c in store.chunks_without_embedding(session)] == [1]


def test_a_new_suggestion_replaces_the_pending_one_only(session):
    add(session, "A-1")
    for label, status in (("零售", "rejected"), ("金融", "pending")):
        session.add(
            Suggestion(
                doc_id="A-1",
                field="industry",
                label=label,
                probability=0.5,
                method="knn",
                status=status,
            )
        )
    session.commit()
    store.replace_pending_suggestion(
        session,
        suggestion=Suggestion(
            doc_id="A-1",
            field="industry",
            label="能源",
            probability=0.8,
            method="model",
            candidates=[{"label": "能源", "probability": 0.8}],
        ),
    )
    session.commit()
    rows = store.list_suggestions(session, doc_id="A-1")
    assert sorted((r.label, r.status) for r in rows) == [("能源", "pending"), ("零售", "rejected")]
    [pending] = store.list_suggestions(session, status="pending", field="industry")
    assert pending.candidates == [{"label": "能源", "probability": 0.8}]
    assert store.get_suggestion(session, suggestion_id=pending.id).label == "能源"


def test_templates_are_versioned_by_name(session):
    for markdown in ("v1", "v2"):
        store.save_template(
            session,
            template=SavedTemplate(
                name="运营模板", sources=["A", "B"], content={}, markdown=markdown
            ),
        )
        session.commit()
    assert store.get_template(session, name="运营模板").markdown == "v2"
    assert store.get_template(session, name="运营模板", version=1).markdown == "v1"
    assert store.get_template(session, name="运营模板", version=9) is None
    assert [t.version for t in store.list_templates(session)] == [1, 2]
    assert store.delete_template(session, name="运营模板") == 2
    session.commit()
    assert store.list_templates(session) == []


def test_pack_items_come_in_position_order(session):
    add(session, "A-1")
    pack = Pack(title="新人培训", outline=["背景", "案例"])
    session.add(pack)
    session.commit()
    session.refresh(pack)
    for position, section in ((2, "案例"), (0, "背景"), (1, "案例")):
        session.add(PackItem(pack_id=pack.id, section=section, position=position, doc_id="A-1"))
    session.commit()
    assert [i.position for i in store.pack_items(session, pack_id=pack.id)] == [0, 1, 2]
    assert store.get_pack(session, pack_id=pack.id).outline == ["背景", "案例"]
    assert [p.title for p in store.list_packs(session)] == ["新人培训"]
    assert store.get_pack(session, pack_id=2**31 - 1) is None
