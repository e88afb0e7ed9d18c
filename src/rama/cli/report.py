"""``rama report``: a markdown report of a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rama.cli._app import command, console, friendly_errors


@command(
    "report",
    "Write RUN/report.md: data summary, forecast backtest, plan cost breakdown and service "
    "level, out-of-sample evaluation and scenarios (whichever stages ran).",
)
def report(
    run: Annotated[Path, typer.Option("--run", help="Run folder (from `rama run`).")],
) -> None:
    """Call :func:`rama.report.write_report` and say where the report is."""
    from rama.report import write_report

    with friendly_errors():
        result = write_report(run)
    console.print(f"report: {result.out_dir} ({result.lines} lines)")
