"""Progress of long steps, reported to whoever listens (a shared leaf).

Stages wrap every step that may take more than a second in :func:`step`; the command line
installs a Rich reporter with :func:`set_reporter`, and without one (library use, tests,
worker processes) a step costs nothing.

>>> with step("fitting", total=3) as advance:
...     for _ in range(3):
...         advance(1)
>>> seen = []
>>> class Log:
...     def start(self, name, total):
...         seen.append(("start", name, total)); return 0
...     def advance(self, task, amount):
...         seen.append(("advance", task, amount))
...     def finish(self, task):
...         seen.append(("finish", task))
>>> previous = set_reporter(Log())
>>> with step("solving", total=2) as advance:
...     advance(2)
>>> _ = set_reporter(previous)
>>> seen
[('start', 'solving', 2), ('advance', 0, 2), ('finish', 0)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

__all__ = ["Reporter", "get_reporter", "set_reporter", "step"]


class Reporter(Protocol):
    """What a progress display implements (the CLI's is Rich)."""

    def start(self, name: str, total: float | None) -> int:
        """Open a task named ``name`` with ``total`` units (None: unknown); its id."""
        ...

    def advance(self, task: int, amount: float) -> None:
        """``amount`` more units of ``task`` are done."""
        ...

    def finish(self, task: int) -> None:
        """``task`` ended (done or failed)."""
        ...


_reporter: Reporter | None = None


def set_reporter(reporter: Reporter | None) -> Reporter | None:
    """Install ``reporter`` (None: none); returns the one it replaces."""
    global _reporter
    previous, _reporter = _reporter, reporter
    return previous


def get_reporter() -> Reporter | None:
    """The installed reporter, or None."""
    return _reporter


def _nothing(amount: float = 1.0) -> None:
    return None


@contextmanager
def step(name: str, total: float | None = None) -> Iterator[Callable[[float], None]]:
    """A long step named ``name`` (e.g. "forecast: fitting LightGBM") of ``total`` units
    (None: unknown, shown as a spinner); yields ``advance(amount)``."""
    reporter = _reporter
    if reporter is None:
        yield _nothing
        return
    task = reporter.start(name, total)

    def advance(amount: float = 1.0) -> None:
        reporter.advance(task, amount)

    try:
        yield advance
    finally:
        reporter.finish(task)
