"""kb doctor: checks database against both indexes; repairs without re-embedding documents."""

from sqlmodel import select

from kb import doctor
from kb.indexfiles import read_manifest
from kb.models import Chunk


def levels(findings):
    return {f.check: f.level for f in findings}


def test_a_consistent_library_is_ok(ingested):
    assert set(levels(doctor.check(ingested)).values()) == {"ok"}


def test_missing_vectors_broken_index_and_leftovers_are_found_and_repaired(ingested, monkeypatch):
    with ingested.session() as session:
        chunk = session.exec(select(Chunk)).first()
        chunk.embedding = None
        session.add(chunk)
        session.commit()
    manifest = read_manifest(ingested.data_dir)
    (ingested.data_dir / manifest.generation / "vectors" / "matrix.npy").write_bytes(b"broken")
    (ingested.data_dir / ".build-crashed").mkdir()
    found = levels(doctor.check(ingested))
    assert (
        found["vectors"] == "error"
        and found["index"] == "error"
        and found["leftovers"] == "warning"
    )
    calls = []
    original = ingested.embedder.embed_passages
    monkeypatch.setattr(
        ingested.embedder,
        "embed_passages",
        lambda texts, **kw: calls.append(len(texts)) or original(texts, **kw),
    )
    actions = doctor.repair(ingested)
    assert calls == [1]  # only the chunk that lacked a vector, no document re-embedded
    assert any("补算" in a for a in actions) and any("重建" in a for a in actions)
    assert set(levels(doctor.check(ingested)).values()) == {"ok"}


def test_index_out_of_step_with_the_database(ingested):
    with ingested.session() as session:
        session.delete(session.exec(select(Chunk)).first())
        session.commit()
    found = levels(doctor.check(ingested))
    assert found["bm25"] == "error" and found["vectors"] == "error"
    doctor.repair(ingested)
    assert set(levels(doctor.check(ingested)).values()) == {"ok"}
