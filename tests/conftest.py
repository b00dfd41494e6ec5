"""Shared fixtures: a library in a temporary data dir with the `hash` embedder, and the tiny
Chinese fixture documents under tests/data/library/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb.config import Settings
from kb.library import Library
from kb.search import SearchService

DATA = Path(__file__).parent / "data"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_4641ec70bef78113.txt"


def process_env() -> dict[str, str]:
    """The environment for a `kb` subprocess, without the developer's own KB_* settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KB_")}


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
