"""Progress reporting for long work: a rich progress bar on a terminal, or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn


class Advance(Protocol):
    def __call__(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    """Opens a task with a total and yields a function that advances it."""

    def task(self, description: str, total: int) -> Iterator[Advance]: ...


class SilentReporter:
    """Reports nothing (services, tests)."""

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        yield lambda n=1: None


class BarReporter:
    """A rich progress bar per task, on stderr."""

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)

    @contextmanager
    def task(self, description: str, total: int) -> Iterator[Advance]:
        columns = (
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=self._console, transient=False) as progress:
            task_id = progress.add_task(description, total=total)
            yield lambda n=1: progress.advance(task_id, n)
