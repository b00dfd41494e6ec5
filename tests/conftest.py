"""Shared fixtures: a library in a temporary data dir with the `hash` embedder, and the tiny
Chinese fixture documents under tests/data/library/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.keys import KeyStore
from kb.library import Library
from kb.search import SearchService
from web.app import create_app

DATA = Path(__file__).parent / "data"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_4641ec70bef78113.txt"


def process_env() -> dict[str, str]:
    """The environment for a `kb` subprocess, without the developer's own KB_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KB_")}


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "index", embedder="hash")


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
