"""Where a document came from, as shown to its readers: the path relative to the folder it was
ingested from (recorded at each ingest), never the absolute path on the server."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePath

from sqlmodel import Session

from kb import store
from kb.access import Principal

ROOTS_KEY = "source_roots"


def source_roots(session: Session) -> list[str]:
    """The folders documents were ingested from, longest first."""
    stored = store.get_info(session, key=ROOTS_KEY)
    return json.loads(stored) if stored else []


def remember_roots(session: Session, *, folders: Iterable[Path]) -> None:
    """Add ingest folders to the library's list of source roots."""
    roots = set(source_roots(session)) | {str(folder) for folder in folders}
    store.set_info(session, key=ROOTS_KEY, value=json.dumps(sorted(roots, key=len, reverse=True)))


def shown_source(source: str, roots: list[str], viewer: Principal) -> str:
    """What a viewer is shown: the full path only for the data directory's owner (the CLI)."""
    return source if viewer.owner else display_source(source, roots)


def display_source(source: str, roots: list[str]) -> str:
    """The source relative to the deepest ingest folder holding it, else its file name."""
    path = PurePath(source)
    for root in roots:
        if path.is_relative_to(root):
            return path.relative_to(root).as_posix()
    return path.name
