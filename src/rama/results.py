"""The shape every stage result shares: frozen, typed, and saying where the stage wrote.

Each stage entry point returns its own frozen dataclass (``PrepareResult``,
``ForecastResult``, ``OptimizeResult``, ``EvaluationResult``, ``ScenariosResult``,
``ReportResult``, ``GenerateResult``) with typed fields; the command line reads those fields,
never string keys. A shared leaf: it imports no stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class StageResult(Protocol):
    """What :mod:`rama.pipeline` needs of any stage's result."""

    @property
    def out_dir(self) -> Path:
        """The folder (or file) the stage wrote."""
        ...
