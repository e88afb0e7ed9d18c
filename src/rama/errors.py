"""Typed exceptions. Every error says where (file, column, rows), what was expected,
what was found, and how to fix it.

Every error carries a machine-readable ``reason`` code (a short snake_case string such as
``"missing_column"`` or ``"negative"``; :data:`rama.schema.REASONS` lists the schema codes)
and its structured fields (``source``, ``column``, ``count``, ``examples``, ``fix``; None or
empty when they do not apply). Errors survive :mod:`pickle`, so one raised in a spawned
worker process reaches the parent as the same type with the same message and fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def _rebuild(cls: type[RamaError], args: tuple[Any, ...], state: dict[str, Any]) -> RamaError:
    """Unpickle an error without calling its ``__init__`` (whose signature varies)."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class RamaError(Exception):
    """Base class of every error rama raises on purpose.

    ``reason`` is a stable code for programs (the class default unless given); ``fix``, when
    given, is appended to the message as ``". Fix: ..."``.
    """

    reason: str = "error"
    source: str | None = None
    column: str | None = None
    count: int | None = None
    examples: Sequence[dict[str, Any]] = ()
    fix: str | None = None

    def __init__(self, *args: object, reason: str | None = None, fix: str | None = None) -> None:
        if reason is not None:
            self.reason = reason
        if fix is not None:
            self.fix = fix
            if args:
                args = (f"{args[0]}. Fix: {fix}", *args[1:])
        super().__init__(*args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ConfigError(RamaError):
    """A configuration key is unknown or its value is out of range."""

    reason = "invalid_config"


class DataValidationError(RamaError):
    """An input table breaks its schema.

    ``problem`` is what is wrong, ``reason`` its code (see :data:`rama.schema.REASONS`);
    ``examples`` holds a few failing rows (as dicts) and ``count`` how many rows fail.
    """

    reason = "invalid"

    def __init__(
        self,
        source: str,
        problem: str,
        *,
        reason: str | None = None,
        column: str | None = None,
        examples: Sequence[dict[str, Any]] = (),
        count: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.source = source
        self.problem = problem
        self.column = column
        self.examples = list(examples)
        self.count = count
        parts = [f"{source}"]
        if column is not None:
            parts.append(f"column {column!r}")
        msg = ": ".join([", ".join(parts), problem])
        if count is not None:
            msg += f" ({count} row{'s' if count != 1 else ''})"
        if self.examples:
            shown = "; ".join(str(e) for e in self.examples[:5])
            msg += f"; e.g. {shown}"
        super().__init__(msg, reason=reason, fix=fix)


class InfeasibleError(RamaError):
    """The optimisation model has no feasible plan; ``pairs`` names the culprits."""

    reason = "infeasible"

    def __init__(
        self, message: str, pairs: Sequence[dict[str, Any]] = (), *, reason: str | None = None
    ) -> None:
        self.pairs = list(pairs)
        super().__init__(message, reason=reason)


class PlanCheckError(RamaError):
    """An independent check of a written plan found a violated constraint or objective."""

    reason = "plan_check_failed"


class NotFittedError(RamaError, ValueError):
    """An estimator was used before ``fit``."""

    reason = "not_fitted"


class StageInputError(RamaError):
    """A pipeline stage is missing the output of an earlier stage."""

    reason = "missing_stage_input"


class WorkerError(RamaError):
    """A worker process of a parallel stage died (the OOM killer, a segfault) and the retry in
    a fresh pool lost one too; ``stage`` names the stage (``"optimize"``, ``"scenarios"``) and
    ``count`` how many tasks were left unfinished."""

    reason = "worker_died"

    def __init__(
        self, message: str, *, stage: str, count: int | None = None, fix: str | None = None
    ) -> None:
        self.stage = stage
        self.count = count
        super().__init__(message, fix=fix)
