"""Crash safety: a real ingest process killed with SIGKILL at several points; the next start is
consistent and every document committed before the kill is found."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import select

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
