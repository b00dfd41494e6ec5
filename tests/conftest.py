"""Shared fixtures: a library in a temporary data dir with the `hash` embedder, and the tiny
Chinese fixture documents under tests/data/library/."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.keys import KeyStore
from kb.library import Library
from kb.search import SearchService
from tests.milvus import TemporaryMilvus
from tests.pg import TemporaryPostgres
from web.app import create_app

DATA = Path(__file__).parent / "data"
CORPUS = Path(__file__).resolve().parents[1] / "corpus"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_4641ec70bef78113.txt"


def process_env() -> dict[str, str]:
    """The environment for a `kb` subprocess, without the developer's own KB_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KB_")}


def write_case(folder: Path, doc_id: str, title: str, body: str, **meta: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    fields = "".join(f"{key}: {value}\n" for key, value in meta.items())
    path = folder / f"{doc_id}.md"
    path.write_text(
        f"---\nid: {doc_id}\ntitle: {title}\n{fields}---\n\n## 背景\n\n{body}\n", encoding="utf-8"
    )
    return path


def make_key(settings: Settings, role: str = "admin", grants: list[str] | None = None) -> str:
    """A new key of the role in the settings' keys file (named after the role and grants)."""
    name = (
        f"{role}-{'-'.join(grants or []) or 'plain'}-{len(KeyStore(settings.keys_path).entries())}"
    )
    return KeyStore(settings.keys_path).add(name, role, grants or [])


def api_client(settings: Settings, role: str | None = "admin", **options) -> TestClient:
    """An in-process client of the service that sends a key of the role (None: no key)."""
    client = TestClient(create_app(settings), **options)
    if role:
        client.headers["Authorization"] = f"Bearer {make_key(settings, role)}"
    return client


@pytest.fixture(scope="session")
def postgres() -> Iterator[TemporaryPostgres]:
    """One PostgreSQL server for the whole run, started the first time a test asks for it (in
    its own folder: the server's user cannot enter pytest's private temporary folders)."""
    folder = Path(tempfile.mkdtemp(prefix="kb-pg-"))
    server = TemporaryPostgres(folder).start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def milvus() -> Iterator[TemporaryMilvus]:
    """One Milvus server (milvus-lite) for the whole run, started the first time a test asks."""
    folder = Path(tempfile.mkdtemp(prefix="kb-milvus-"))
    server = TemporaryMilvus(folder / "data").start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """Where a test's library lives: "sqlite" (the default: SQLite and index files),
    "postgresql" (a real PostgreSQL server) or "milvus" (SQLite and the indexes in Milvus)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> str | None:
    """None (SQLite in the data dir) unless the backend is "postgresql"."""
    if backend == "postgresql":
        return request.getfixturevalue("postgres").new_database()
    return None


@pytest.fixture
def engine_options(request: pytest.FixtureRequest, backend: str) -> dict[str, str]:
    """Settings of the index engine: local files unless the backend is "milvus"."""
    if backend != "milvus":
        return {}
    server = request.getfixturevalue("milvus")
    return {"engine": "milvus", "milvus_uri": server.uri, "milvus_prefix": server.new_prefix()}


BOTH_DATABASES = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
EVERY_BACKEND = pytest.mark.parametrize(
    "backend", ["sqlite", "postgresql", "milvus"], indirect=True
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module's `BACKENDS` list runs each of its tests that uses a library on each backend
    (a test marked `backends(...)` runs on those only)."""
    marker = metafunc.definition.get_closest_marker("backends")
    backends = marker.args if marker else getattr(metafunc.module, "BACKENDS", None)
    if backends and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, engine_options: dict[str, str]) -> Settings:
    return Settings(
        data_dir=tmp_path / "index", embedder="hash", database_url=database_url, **engine_options
    )


@pytest.fixture
def library(settings: Settings) -> Library:
    return Library(settings)


@pytest.fixture
def docs_dir(tmp_path: Path) -> Path:
    """A writable copy of the fixture library."""
    target = tmp_path / "docs"
    shutil.copytree(DATA / "library", target)
    return target


@pytest.fixture
def ingested(library: Library, docs_dir: Path) -> Library:
    report = ingest_paths(library, [docs_dir])
    assert not report.partial, report.results
    return library


@pytest.fixture
def service(ingested: Library) -> SearchService:
    return SearchService(ingested)


@pytest.fixture(scope="session")
def e5_corpus(tmp_path_factory: pytest.TempPathFactory) -> SearchService:
    """The bundled corpus embedded once with the default e5 model (for real_embedder tests)."""
    library = Library(Settings(data_dir=tmp_path_factory.mktemp("e5") / "index", embedder="e5"))
    assert not ingest_paths(library, [CORPUS]).partial
    return SearchService(library)
