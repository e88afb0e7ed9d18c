"""``rama report``: the planner's HTML report of a run and its short markdown twin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from rama.cli._app import command, console, emit, friendly_errors, run_log


@command(
    "report",
    "Write RUN/report.html, one self-contained page for the planner (the week's plan, its "
    "costs, transfers, service levels, forecast, evaluation and scenarios as charts; opens "
    "offline), and RUN/report.md, its short text twin. Stages that are stale or have not run "
    "get a notice instead of their charts (docs/report.md).\n\nExamples:\n\n  rama report "
    "--run runs/default\n\n  rama --json report --run runs/default",
)
def report(
    run: Annotated[Path, typer.Option("--run", help="Run folder (from `rama run`).")],
) -> None:
    """Call :func:`rama.report.write_report` and say where the report is."""
    from rama.report import write_report
    from rama.run_state import clean_leftovers, run_lock

    with friendly_errors("report", run):
        if not (run / "manifest.json").is_file():
            write_report(run)  # the stage's own message: not a run folder
        with run_lock(run), run_log(run, "report"):
            clean_leftovers(run)
            result = write_report(run)
    console.print(
        f"report: {escape(str(result.out_dir))} ({result.size_bytes / 1e6:.2f} MB, "
        f"{result.charts} charts, {result.seconds:.1f} s); summary "
        f"{escape(str(result.markdown))}",
        highlight=False,
    )
    if result.notices:
        console.print(
            f"not shown (stage stale or not run, or a file missing): "
            f"{escape(', '.join(result.notices))}",
            highlight=False,
        )
    emit({"stage": "report", "result": result})
