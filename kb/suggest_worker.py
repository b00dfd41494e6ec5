"""Label suggestions off the write path: a write stores and indexes its documents, then hands
their ids to one background thread, which retrains a suggest field's classifier once its
labelled set changed and stores the suggestions. No upload or ingest waits for training."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from kb.classify import Classifier
from kb.library import Library, yield_to_requests
from kb.models import utcnow
from kb.suggestions import suggest_for

logger = logging.getLogger(__name__)

STOP_SECONDS = 10.0  # at shutdown, how long queued jobs may still run


@dataclass
class SuggestionRun:
    """What one round of suggesting did: suggestions stored, fields retrained and how long."""

    suggestions: int = 0
    trained: list[str] = field(default_factory=list)
    training_seconds: float = 0.0


@dataclass
class WorkerStatus:
    """The worker as a knowledge manager sees it."""

    pending_jobs: int
    last_trained_at: datetime | None
    last_training_seconds: float | None
    suggestions: int


def refresh_suggestions(
    library: Library, doc_ids: list[str], classifier: Classifier | None = None
) -> SuggestionRun:
    """Store a suggestion for every listed document lacking a suggest field at once, from the
    model at hand; then retrain the fields whose labelled set changed and, if any did, suggest
    again with the new model (suggestions are stored under the write lock, as other writes)."""
    classifier = classifier or Classifier(library)
    classifier.forget()  # the documents and labels just written
    classifier.document_vectors()
    run = SuggestionRun()
    if doc_ids:
        with library.write_lock():
            run.suggestions = suggest_for(library, doc_ids, classifier, stale_ok=True)
    started = time.perf_counter()
    run.trained = [f for f in library.settings.suggest_fields if classifier.refresh(f)]
    if run.trained:
        run.training_seconds = time.perf_counter() - started
        if doc_ids:
            with library.write_lock():
                run.suggestions = suggest_for(library, doc_ids, classifier)
    return run


class SuggestionWorker:
    """One background thread and a queue of jobs (document ids); `submit` returns at once.
    Jobs waiting together are done as one: one retraining, one pass over the documents."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.classifier = Classifier(library)
        self.last_trained_at: datetime | None = None
        self.last_training_seconds: float | None = None
        self.suggestions = 0
        self._jobs: list[list[str]] = []
        self._stopping = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="kb-suggestions", daemon=True)

    def start(self) -> SuggestionWorker:
        self._thread.start()
        return self

    def submit(self, doc_ids: Iterable[str] = ()) -> None:
        """Queue suggestions for these stored documents; with none, only retrain the fields
        whose labelled set changed (after a label was accepted)."""
        with self._changed:
            self._jobs.append(list(doc_ids))
            self._changed.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every submitted job is done; False when `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._jobs, timeout)

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Let the queued jobs finish (for at most `timeout` seconds) and end the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("label suggestions still running at shutdown: %s", self.status())

    def status(self) -> WorkerStatus:
        with self._changed:
            pending = len(self._jobs)
        return WorkerStatus(
            pending, self.last_trained_at, self.last_training_seconds, self.suggestions
        )

    def _loop(self) -> None:
        yield_to_requests()
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._jobs or self._stopping)
                if not self._jobs:
                    return
                taken = len(self._jobs)
                doc_ids = list(dict.fromkeys(d for job in self._jobs for d in job))
            self._work(doc_ids)
            with self._changed:
                del self._jobs[:taken]
                self._changed.notify_all()

    def _work(self, doc_ids: list[str]) -> None:
        """One round; a failure is logged and the next job goes on."""
        try:
            run = refresh_suggestions(self.library, doc_ids, self.classifier)
        except Exception:
            logger.exception("label suggestions failed for %d documents", len(doc_ids))
            return
        self.suggestions += run.suggestions
        if run.trained:
            self.last_trained_at = utcnow()
            self.last_training_seconds = round(run.training_seconds, 3)
            logger.info("retrained %s in %.1f s", ", ".join(run.trained), run.training_seconds)
