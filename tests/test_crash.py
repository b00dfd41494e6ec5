"""Crash safety: a real ingest, delta write or compaction killed with SIGKILL; the next start is
consistent and every document committed before the kill is found."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import select

from ingest.pipeline import ingest_paths
from kb import doctor
from kb.access import LOCAL
from kb.config import Settings
from kb.library import Library
from kb.models import Document
from kb.search import SearchService
from tests.conftest import process_env

ROOT = Path(__file__).resolve().parents[1]
KB = Path(sys.executable).parent / "kb"


def _kill_ingest_after(data_dir: Path, seconds: float) -> None:
    env = process_env()
    command = [
        str(KB),
        "--data-dir",
        str(data_dir),
        "--embedder",
        "hash",
        "ingest",
        str(ROOT / "corpus"),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_sigkill_during_ingest_then_consistent_start(tmp_path):
    rng = random.Random(20261125)
    data_dir = tmp_path / "index"
    for delay in sorted(rng.uniform(0.8, 4.5) for _ in range(3)):
        _kill_ingest_after(data_dir, delay)
        library = Library(Settings(data_dir=data_dir, embedder="hash"))
        with library.session() as session:
            committed = {d.id: d.title for d in session.exec(select(Document)).all()}
        service = SearchService(library)  # the next start recovers if the kill left work behind
        if not committed:
            continue
        service.snapshot()
        findings = doctor.check(library)
        assert {f.level for f in findings} <= {"ok", "warning"}, findings
        for doc_id, title in committed.items():
            hits = service.search(title, k=10, mode="lexical", by_doc=True, viewer=LOCAL).hits
            assert doc_id in {h.doc_id for h in hits}, (delay, doc_id)


def _kill_while_writing_a_segment(command: list[str], data_dir: Path, env: dict) -> bool:
    """Run a `kb` command and SIGKILL it the moment a segment folder of its own appears in the
    data dir (a delta or merged base being written); True if it was caught in the act."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    prefix = f".build-{process.pid}-"
    try:
        while process.poll() is None:
            if any(entry.name.startswith(prefix) for entry in os.scandir(data_dir)):
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
                return True
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _assert_consistent_and_complete(settings: Settings) -> None:
    """The next start recovers; kb doctor is clean and every committed document is found."""
    library = Library(settings)
    service = SearchService(library)
    service.snapshot()
    with library.session() as session:
        committed = {d.id: d.title for d in session.exec(select(Document)).all()}
    findings = doctor.check(library)
    assert {f.level for f in findings} == {"ok"}, findings
    for doc_id, title in committed.items():
        hits = service.search(title, k=10, mode="lexical", by_doc=True, viewer=LOCAL).hits
        assert doc_id in {h.doc_id for h in hits}, doc_id


def _write_batch(folder: Path, batch: int, files: int = 30) -> None:
    folder.mkdir(parents=True)
    for n in range(files):
        (folder / f"case-{batch}-{n}.md").write_text(
            f"---\nid: CASE-K-{batch}-{n:02d}\ntitle: 门店运营诊断 K{batch}X{n:02d}Z\n---\n\n"
            + f"批次{batch}第{n}号门店的客流、坪效与排班诊断。" * 20,
            encoding="utf-8",
        )


def _live_settings(data_dir: Path) -> tuple[Settings, dict[str, str]]:
    live = {"KB_COMPACT_SHARE": "100", "KB_COMPACT_DELTAS": "1000"}
    settings = Settings(data_dir=data_dir, embedder="hash", compact_share=100, compact_deltas=1000)
    return settings, {**process_env(), **live}


def test_sigkill_while_a_delta_is_written_three_times(tmp_path):
    data_dir = tmp_path / "index"
    settings, env = _live_settings(data_dir)
    assert not ingest_paths(Library(settings), [ROOT / "tests" / "data" / "library"]).partial
    caught = 0
    for batch in range(10):
        _write_batch(tmp_path / f"batch-{batch}", batch)
        command = [str(KB), "--data-dir", str(data_dir), "--embedder", "hash"]
        command += ["ingest", str(tmp_path / f"batch-{batch}")]
        caught += _kill_while_writing_a_segment(command, data_dir, env)
        _assert_consistent_and_complete(settings)
        if caught == 3:
            break
    assert caught == 3


def test_sigkill_during_a_compaction_three_times(tmp_path):
    data_dir = tmp_path / "index"
    settings, env = _live_settings(data_dir)
    library = Library(settings)
    ingest_paths(library, [ROOT / "corpus"])
    caught = 0
    for batch in range(10):
        _write_batch(tmp_path / f"batch-{batch}", batch, files=3)
        ingest_paths(library, [tmp_path / f"batch-{batch}"])
        deltas = library.manifest().deltas
        command = [str(KB), "--data-dir", str(data_dir), "--embedder", "hash", "compact"]
        caught += _kill_while_writing_a_segment(command, data_dir, env)
        if library.manifest().deltas:
            assert library.manifest().deltas == deltas  # the old generation stays in use
        _assert_consistent_and_complete(settings)
        if caught == 3:
            break
    assert caught == 3
    assert library.compact().deltas == []
    _assert_consistent_and_complete(settings)
