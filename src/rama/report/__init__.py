"""``rama report``: ``RUN/report.html``, the planner's self-contained report, and
``RUN/report.md``, the short text twin of its first screen (docs/report.md).

Sections follow the stage states of the run manifest (:func:`rama.run_manifest.stage_states`):
a stage that is stale or has not run gets a notice instead of its charts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from rama.errors import StageInputError
from rama.io import write_text
from rama.layout import RunLayout
from rama.report.html import render
from rama.report.markdown import render_markdown
from rama.report.sections import Content, build_content
from rama.run_manifest import manifest_path

__all__ = ["REPORT_HTML", "ReportResult", "build_content", "scenario_pivot", "write_report"]

REPORT_HTML = RunLayout(Path(".")).report_html.name


@dataclass(frozen=True)
class ReportResult:
    """Where ``rama report`` wrote the report, its size and what it holds."""

    out_dir: Path  # RUN/report.html
    markdown: Path  # RUN/report.md
    size_bytes: int
    charts: int
    notices: tuple[str, ...]  # sections shown as a notice (stage not run, stale, file missing)
    seconds: float


def write_report(run_dir: Path) -> ReportResult:
    """Write ``run_dir/report.html`` and ``run_dir/report.md`` atomically."""
    t0 = time.perf_counter()
    run = Path(run_dir)
    if not manifest_path(run).is_file():
        raise StageInputError(
            f"{manifest_path(run)} not found: {run} is not a run folder; run "
            f"`rama run --out {run}` first"
        )
    content: Content = build_content(run)
    page = render(content)
    html_path = write_text(page, RunLayout(run).report_html)
    md_path = write_text(render_markdown(content), RunLayout(run).report)
    notices = tuple(
        s.key for s in content.sections if s.notices and len(s.notices) == len(s.elements)
    )
    return ReportResult(
        out_dir=html_path,
        markdown=md_path,
        size_bytes=len(page.encode("utf-8")),
        charts=content.charts,
        notices=notices,
        seconds=time.perf_counter() - t0,
    )


def scenario_pivot(df: pl.DataFrame, value: str) -> pl.DataFrame:
    """One row per scenario (in run order), one column per strategy, of ``value``."""
    order = df.select("scenario").unique(maintain_order=True).with_row_index("order")
    wide = df.pivot(on="strategy", index="scenario", values=value, aggregate_function="first")
    return wide.join(order, on="scenario").sort("order").drop("order")
