"""The Milvus engine against a real milvus-lite server: the same answers as the local index
files, filters inside the Milvus query, incremental writes, rebuilds without re-embedding, and
clear errors (without credentials) when Milvus cannot be reached."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from ingest.pipeline import ingest_paths
from kb import doctor, milvus_search, store
from kb.access import LOCAL
from kb.config import Settings
from kb.errors import EngineUnavailableError
from kb.library import Library
from kb.milvus_engine import MilvusEngine, shown_uri
from kb.search import SearchService
from tests.conftest import DATA, api_client, process_env, write_case
from tests.milvus import TemporaryMilvus, free_port

QUERIES = ["供应链库存周转", "门店人效排班", "项目", "客户 数据 风险", "數字化轉型"]
SECRET_USER, SECRET_PASSWORD, SECRET_TOKEN = "kbuser", "s3cret-pass", "tok-9f8e7d"


def milvus_settings(folder: Path, milvus: TemporaryMilvus, **more) -> Settings:
    options = {"engine": "milvus", "milvus_uri": milvus.uri, "milvus_prefix": milvus.new_prefix()}
    return Settings(data_dir=folder / "index", embedder="hash", **{**options, **more})


@pytest.fixture
def pair(tmp_path, milvus, docs_dir) -> tuple[SearchService, SearchService]:
    """The fixture library indexed locally and in Milvus."""
    local = Library(Settings(data_dir=tmp_path / "local", embedder="hash"))
    remote = Library(milvus_settings(tmp_path / "m", milvus))
    for library in (local, remote):
        assert not ingest_paths(library, [docs_dir]).partial
    return SearchService(local), SearchService(remote)


def summary(result) -> tuple:
    hits = [(h.doc_id, h.chunk_id, round(h.score, 4), h.snippet) for h in result.hits]
    return hits, result.total, result.facets


@pytest.mark.parametrize("fusion", ["rrf", "convex"])
def test_every_mode_answers_as_the_local_index(pair, fusion):
    local, remote = pair
    for service in pair:
        service.library.settings.fusion = fusion
    for query in QUERIES:
        for mode in ("hybrid", "lexical", "dense"):
            for options in ({}, {"by_doc": True}, {"filters": ["type=case"]}, {"offset": 2}):
                expected = local.search(query, k=5, mode=mode, viewer=LOCAL, **options)
                found = remote.search(query, k=5, mode=mode, viewer=LOCAL, **options)
                assert summary(found) == summary(expected), (query, mode, options)
                if mode == "hybrid":
                    assert all(0 <= h.score <= 1 for h in found.hits)


def test_filters_and_visibility_go_into_the_milvus_query(pair, monkeypatch):
    _, remote = pair
    engine = remote.library.index_engine
    seen: list[str] = []
    call = engine.connection.call

    def recording(method, *args, **kwargs):
        if method == "search":
            seen.append(kwargs["filter"])
        return call(method, *args, **kwargs)

    monkeypatch.setattr(engine.connection, "call", recording)
    result = remote.search("项目", k=1, mode="dense", filters=["industry=金融"], viewer=LOCAL)
    assert [h.doc_id for h in result.hits] == ["LES-T-001"]
    assert seen and set(seen) == {'doc_id in ["LES-T-001"]'}


def test_totals_and_facets_are_exact_past_one_milvus_page(pair, monkeypatch):
    local, remote = pair
    expected = [local.search(q, k=3, mode="lexical", viewer=LOCAL) for q in QUERIES]
    monkeypatch.setattr(milvus_search, "PAGE", 2)  # most searches split into id ranges
    for query, wanted in zip(QUERIES, expected, strict=True):
        found = remote.search(query, k=3, mode="lexical", viewer=LOCAL)
        assert summary(found) == summary(wanted)
        assert found.total == wanted.total


def test_writes_are_incremental_and_the_database_agrees(pair, docs_dir):
    local, remote = pair
    library = remote.library
    before = library.manifest()
    write_case(docs_dir, "CASE-T-009", "风电场巡检排班", "风机巡检与检修人员的排班优化。")
    (docs_dir / "case-retail.md").unlink()
    for service in pair:
        report = ingest_paths(service.library, [docs_dir], prune=True)
        assert report.summary() == {"added": 1, "unchanged": 3, "pruned": 1}
    after = library.manifest()
    assert after.generation == before.generation and len(after.deltas) == 1
    with library.session() as session:
        stored = {row[0] for row in store.iter_index_rows(session)}
    assert set(library.index_engine.held_ids().tolist()) == stored
    found = remote.search("风机巡检", k=1, viewer=LOCAL)
    assert found.hits[0].doc_id == "CASE-T-009"
    assert (
        remote.search("门店人效排班", k=5, viewer=LOCAL).total
        == local.search("门店人效排班", k=5, viewer=LOCAL).total
    )
    assert "CASE-T-002" not in {h.doc_id for h in remote.search("门店", k=9, viewer=LOCAL).hits}


def test_rebuild_writes_a_new_generation_without_re_embedding(pair, monkeypatch):
    _, remote = pair
    library = remote.library
    first = library.manifest().generation
    expected = summary(remote.search("供应链", k=3, viewer=LOCAL))

    def refuse(*args, **kwargs):
        raise AssertionError("a rebuild must not embed again")

    monkeypatch.setattr(library.embedder, "embed_passages", refuse)
    second = library.rebuild().generation
    third = library.rebuild().generation
    assert len({first, second, third}) == 3
    collections = library.index_engine.connection.call("list_collections")
    ours = sorted(c for c in collections if c.startswith(library.settings.milvus_prefix + "_"))
    assert ours == sorted(
        name for generation in (second, third) for name in library.index_engine.names(generation)
    )  # the current and the previous generation; older ones are dropped
    assert summary(remote.search("供应链", k=3, viewer=LOCAL)) == expected


def test_doctor_compares_milvus_with_the_database_and_repairs_it(pair):
    _, remote = pair
    library = remote.library
    assert [f.level for f in doctor.check(library) if f.check == "index"] == ["ok"]
    engine = library.index_engine
    chunks, _ = engine.names(library.manifest().generation)
    engine.connection.call("delete", chunks, ids=[int(engine.held_ids()[0])])
    broken = [f for f in doctor.check(library) if f.level == "error"]
    assert [f.check for f in broken] == ["milvus"] and "缺 1，多 0" in broken[0].message
    doctor.repair(library)
    assert not [f for f in doctor.check(library) if f.level == "error"]


@pytest.fixture
def unreachable(tmp_path, milvus, docs_dir) -> Settings:
    """A library indexed in Milvus whose settings then name an address where nothing listens,
    with a user, password and token that must never be shown."""
    settings = milvus_settings(tmp_path, milvus)
    assert not ingest_paths(Library(settings), [docs_dir]).partial
    uri = f"http://{SECRET_USER}:{SECRET_PASSWORD}@127.0.0.1:{free_port()}"
    return settings.model_copy(
        update={"milvus_uri": uri, "milvus_token": SecretStr(SECRET_TOKEN), "milvus_timeout": 1.0}
    )


def assert_no_secret(text: str) -> None:
    for secret in (SECRET_USER, SECRET_PASSWORD, SECRET_TOKEN):
        assert secret not in text


def test_unreachable_milvus_is_a_clear_error_without_credentials(unreachable, docs_dir, caplog):
    library = Library(unreachable)
    with pytest.raises(EngineUnavailableError) as raised:
        SearchService(library).search("供应链", viewer=LOCAL)
    message = raised.value.message
    assert f"127.0.0.1:{unreachable.milvus_uri.rsplit(':', 1)[1]}" in message
    assert_no_secret(message)
    write_case(docs_dir, "CASE-T-009", "风电场巡检排班", "风机巡检排班。")
    with pytest.raises(EngineUnavailableError):
        ingest_paths(library, [docs_dir])
    with library.session() as session:  # the database kept the write; the index catches up later
        assert store.get_document(session, doc_id="CASE-T-009") is not None
    assert library.is_dirty()
    assert_no_secret(caplog.text)


def test_service_answers_503_and_health_says_why(unreachable, caplog):
    caplog.set_level(logging.INFO)
    with api_client(unreachable, raise_server_exceptions=False) as client:
        health = client.get("/api/health")
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "unavailable" and body["index"] is True
        assert body["engine"]["engine"] == "milvus" and body["engine"]["ok"] is False
        assert "无法连接 Milvus" in body["engine"]["error"]
        answer = client.get("/api/search", params={"q": "供应链"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "engine_unavailable"
        page = client.get("/", params={"q": "供应链"})
        assert page.status_code == 503 and "无法连接 Milvus" in page.text
        for text in (health.text, answer.text, page.text):
            assert_no_secret(text)
    assert "Traceback" not in caplog.text
    assert_no_secret(caplog.text)


def test_shown_uri_drops_credentials_and_query():
    assert shown_uri("https://u:p@milvus.example.com:19530/db?token=x") == (
        "https://milvus.example.com:19530/db"
    )
    assert shown_uri("/data/milvus.db") == "/data/milvus.db"


def test_embedded_milvus_lite_serves_one_process_and_says_how_to_share(tmp_path, docs_dir):
    settings = Settings(data_dir=tmp_path / "index", embedder="hash", engine="milvus")
    library = Library(settings)
    assert isinstance(library.index_engine, MilvusEngine)
    assert not ingest_paths(library, [docs_dir]).partial
    assert (tmp_path / "index" / "milvus.db").exists()
    hit = SearchService(library).search("供应链库存周转", k=1, viewer=LOCAL).hits[0]
    assert hit.doc_id == "CASE-T-001"
    env = {**process_env(), "KB_ENGINE": "milvus"}
    command = [str(Path(sys.executable).parent / "kb"), "--data-dir", str(tmp_path / "index")]
    other = subprocess.run(
        [*command, "--embedder", "hash", "search", "供应链"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert other.returncode != 0
    assert "milvus-lite server" in other.stderr + other.stdout
    assert "Traceback" not in other.stderr


def test_held_ids_match_rows_of_a_larger_library(tmp_path, milvus):
    folder = tmp_path / "docs"
    for number in range(40):
        write_case(folder, f"CASE-N-{number:03d}", f"案例{number}", f"第{number}个项目的库存分析。")
    library = Library(milvus_settings(tmp_path, milvus))
    assert not ingest_paths(library, [folder, DATA / "library"]).partial
    with library.session() as session:
        stored = np.asarray(sorted(row[0] for row in store.iter_index_rows(session)))
    assert np.array_equal(library.index_engine.held_ids(), stored)
    total = SearchService(library).search("库存", k=1, mode="lexical", by_doc=True, viewer=LOCAL)
    assert total.total == 42
