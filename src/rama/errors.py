"""Typed exceptions. Every error says where (file, column, rows), what was expected,
what was found, and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RamaError(Exception):
    """Base class of every error rama raises on purpose."""


class ConfigError(RamaError):
    """A configuration key is unknown or its value is out of range."""


class DataValidationError(RamaError):
    """An input table breaks its schema.

    Carries the failing rows (``examples``: a few, as dicts) and ``count`` (how many rows).
    """

    def __init__(
        self,
        source: str,
        problem: str,
        *,
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
        self.fix = fix
        parts = [f"{source}"]
        if column is not None:
            parts.append(f"column {column!r}")
        msg = ": ".join([", ".join(parts), problem])
        if count is not None:
            msg += f" ({count} row{'s' if count != 1 else ''})"
        if self.examples:
            shown = "; ".join(str(e) for e in self.examples[:5])
            msg += f"; e.g. {shown}"
        if fix:
            msg += f". Fix: {fix}"
        super().__init__(msg)


class InfeasibleError(RamaError):
    """The optimisation model has no feasible plan; ``pairs`` names the culprits."""

    def __init__(self, message: str, pairs: Sequence[dict[str, Any]] = ()) -> None:
        self.pairs = list(pairs)
        super().__init__(message)


class PlanCheckError(RamaError):
    """An independent check of a written plan found a violated constraint or objective."""


class NotFittedError(RamaError, ValueError):
    """An estimator was used before ``fit``."""


class StageInputError(RamaError):
    """A pipeline stage is missing the output of an earlier stage."""
