"""Suggestions off the write path: an ingest never waits for the classifier; the background
worker retrains once per change of the labelled set and then suggests."""

import logging
import threading
from collections import Counter
from pathlib import Path

import pytest

from ingest.pipeline import ingest_paths
from kb import store, suggest_worker, suggestions
from kb.access import LOCAL
from kb.classify import Classifier
from kb.search import SearchService
from kb.suggest_worker import SuggestionWorker
from tests.kb.test_classify import HEALTH, RETAIL, write_docs

PATIENCE = 60  # seconds a blocked step may wait before the test gives up (never a measurement)
CASE = (
    "---\nid: {id}\ntitle: 新案例\n{label}---\n\n某医院门诊患者等待时间长，医保结算窗口排队{n}。\n"
)


class Training:
    """Classifier training that counts its fields and, while `blocked`, waits for `release`."""

    def __init__(self, blocked: bool) -> None:
        self.fields: Counter[str] = Counter()
        self.started = threading.Event()
        self.release = threading.Event()
        if not blocked:
            self.release.set()


def watch_training(monkeypatch, blocked: bool) -> Training:
    training = Training(blocked)
    original = Classifier._train

    def train(self, field_name, examples, fingerprint):
        training.started.set()
        assert training.release.wait(PATIENCE), "training was waited for"
        training.fields[field_name] += 1
        return original(self, field_name, examples, fingerprint)

    monkeypatch.setattr(Classifier, "_train", train)
    return training


@pytest.fixture
def labelled(library, tmp_path):
    folder = tmp_path / "labelled"
    write_docs(folder, HEALTH, "医疗健康", 0)
    write_docs(folder, RETAIL, "零售", 100)
    ingest_paths(library, [folder])
    return library, tmp_path / "new"


@pytest.fixture
def worker(labelled):
    running = SuggestionWorker(labelled[0]).start()
    yield running
    running.stop()


def add_case(library, folder: Path, n: int, industry: str | None = None) -> list[str]:
    """Ingest one new health case (labelled when `industry` is given); the stored ids."""
    folder.mkdir(exist_ok=True)
    label = f"industry: {industry}\n" if industry else ""
    path = folder / f"new-{n}.md"
    path.write_text(CASE.format(id=f"NEW-{n:03d}", label=label, n=n), encoding="utf-8")
    return ingest_paths(library, [path]).stored


def pending_for(library) -> dict[str, str]:
    with library.session() as session:
        rows = store.list_suggestions(session, status="pending", field="industry")
    return {row.doc_id: row.label for row in rows}


def test_an_unlabelled_ingest_returns_and_is_searchable_while_training_is_blocked(
    labelled, worker, monkeypatch
):
    library, folder = labelled
    training = watch_training(monkeypatch, blocked=True)
    worker.submit()  # the labelled set is new: the worker starts training, and blocks
    assert training.started.wait(PATIENCE)
    stored = add_case(library, folder, 1)
    worker.submit(stored)
    assert stored == ["NEW-001"] and not training.release.is_set()
    hits = SearchService(library).search("门诊 医保结算", viewer=LOCAL).hits
    assert "NEW-001" in {hit.doc_id for hit in hits}
    assert pending_for(library) == {} and worker.status().pending_jobs == 2
    training.release.set()
    assert worker.wait_idle(PATIENCE)
    assert pending_for(library) == {"NEW-001": "医疗健康"}
    status = worker.status()
    assert status.pending_jobs == 0 and status.suggestions == 1
    assert status.last_trained_at is not None and status.last_training_seconds is not None


def test_training_runs_once_per_change_of_the_labelled_set_not_per_upload(
    labelled, worker, monkeypatch
):
    library, folder = labelled
    training = watch_training(monkeypatch, blocked=False)
    for n in range(1, 4):
        worker.submit(add_case(library, folder, n))
        assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 1
    assert set(pending_for(library)) == {"NEW-001", "NEW-002", "NEW-003"}
    first = worker.status().last_trained_at
    worker.submit(add_case(library, folder, 4, industry="医疗健康"))
    assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 2 and worker.status().last_trained_at != first
    suggestion = next(
        s for s in suggestions.visible_suggestions(library, is_visible=lambda _d: True)
    )
    suggestions.accept(library, suggestion.id, is_visible=lambda _d: True)
    worker.submit()
    assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 3
    worker.submit()
    assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 3


def test_after_a_label_change_the_suggestion_comes_from_the_model_at_hand_then_is_refreshed(
    labelled, worker, monkeypatch
):
    library, folder = labelled
    worker.submit(add_case(library, folder, 1))
    assert worker.wait_idle(PATIENCE)  # a model exists now
    training = watch_training(monkeypatch, blocked=True)
    add_case(library, folder, 2, industry="医疗健康")  # the labelled set changed
    worker.submit(add_case(library, folder, 3))
    assert training.started.wait(PATIENCE)  # retraining is under way, and blocked
    assert pending_for(library)["NEW-003"] == "医疗健康"  # suggested without waiting for it
    training.release.set()
    assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 1 and pending_for(library)["NEW-003"] == "医疗健康"


def test_jobs_waiting_together_share_one_training(labelled, worker, monkeypatch):
    library, folder = labelled
    training = watch_training(monkeypatch, blocked=True)
    worker.submit()
    assert training.started.wait(PATIENCE)
    for n in range(1, 3):
        worker.submit(add_case(library, folder, n, industry="医疗健康"))
    worker.submit(add_case(library, folder, 3))
    training.release.set()
    assert worker.wait_idle(PATIENCE)
    assert training.fields["industry"] == 2  # the first labelled set, then the one with both
    assert pending_for(library) == {"NEW-003": "医疗健康"}


def test_a_failing_job_is_logged_and_the_next_one_goes_on(labelled, worker, monkeypatch, caplog):
    library, folder = labelled
    original = suggest_worker.suggest_for
    failures = iter([RuntimeError("数据库暂时不可用")])

    def flaky(*args, **kwargs):
        failure = next(failures, None)
        if failure:
            raise failure
        return original(*args, **kwargs)

    monkeypatch.setattr(suggest_worker, "suggest_for", flaky)
    with caplog.at_level(logging.ERROR, logger="kb.suggest_worker"):
        worker.submit(add_case(library, folder, 1))
        assert worker.wait_idle(PATIENCE)
    assert "label suggestions failed" in caplog.text and pending_for(library) == {}
    worker.submit(add_case(library, folder, 2))
    assert worker.wait_idle(PATIENCE)
    assert set(pending_for(library)) == {"NEW-002"} and worker.status().suggestions == 1


def test_stop_finishes_the_queued_jobs_and_ends_the_thread(labelled):
    library, folder = labelled
    worker = SuggestionWorker(library).start()
    worker.submit(add_case(library, folder, 1))
    worker.stop(timeout=PATIENCE)
    assert not worker._thread.is_alive()
    assert pending_for(library) == {"NEW-001": "医疗健康"}
