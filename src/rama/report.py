"""``rama report``: one markdown report of a run, assembled from what its stages wrote.

Each section appears when its stage ran: data (EDA), forecast backtest, plan (cost breakdown,
service level, largest transfers), out-of-sample evaluation and scenarios.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from rama.errors import StageInputError
from rama.io import write_text
from rama.layout import RunLayout
from rama.run_manifest import read_manifest


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if v.is_integer() and abs(v) >= 1e3:
            return f"{v:,.0f}"
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown_table(df: pl.DataFrame, max_rows: int = 40) -> list[str]:
    """``df`` as a markdown table (at most ``max_rows`` rows, then a count of the rest)."""
    cols = df.columns
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.head(max_rows).iter_rows():
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    if df.height > max_rows:
        lines.append(f"\n({df.height - max_rows:,} more rows in the file)")
    return [*lines, ""]


def _csv(path: Path) -> pl.DataFrame | None:
    return pl.read_csv(path, infer_schema_length=10000) if path.is_file() else None


def _json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _section(title: str, body: Sequence[str]) -> list[str]:
    return [f"## {title}", "", *body, ""] if body else []


def _kv(d: dict[str, Any], keys: Sequence[str]) -> list[str]:
    rows = [(k, d[k]) for k in keys if k in d and not isinstance(d[k], dict | list)]
    items = {"item": [k for k, _ in rows], "value": [_fmt(v) for _, v in rows]}
    return markdown_table(pl.DataFrame(items))


def _data_section(run: Path) -> list[str]:
    md = RunLayout(run).eda_markdown
    if not md.is_file():
        return []
    text = md.read_text(encoding="utf-8").splitlines()
    body = [line.replace("## ", "### ", 1) if line.startswith("## ") else line for line in text]
    return _section("Data", [line for line in body if not line.startswith("# ")])


def _forecast_section(run: Path) -> list[str]:
    body: list[str] = []
    fs = _json(RunLayout(run).forecast / "forecast_summary.json")
    if fs is not None:
        body += [
            f"Planning week {fs.get('first_day')} .. {fs.get('last_day')}; "
            f"{_fmt(fs.get('assumed_covariate_rows', 0))} forecast rows use assumed future "
            "covariates (no eval split for them: docs/forecast.md); "
            f"{_fmt(fs.get('stale_series', 0))} stale series forecast 0 "
            "(no data in forecast.stale_after_days).",
            "",
        ]
    metrics = _csv(RunLayout(run).forecast_metrics)
    if metrics is not None:
        body += ["Backtest (train on the train days, forecast the 7 eval days):", ""]
        body += markdown_table(metrics, max_rows=80)
    rec = RunLayout(run).recovery_summary
    recovery = _csv(rec)
    if recovery is not None:
        body += ["Demand recovered in stockout hours:", "", *markdown_table(recovery)]
    return _section("Forecast", body)


def _plan_section(run: Path) -> list[str]:
    plan = RunLayout(run).plan
    summary = _json(plan / "summary.json")
    if summary is None:
        return []
    body = _kv(summary, list(summary))
    costs = _csv(plan / "cost_breakdown.csv")
    if costs is not None:
        body += ["Cost breakdown ($ for the planning period):", "", *markdown_table(costs)]
    service = _csv(plan / "service_level.csv")
    if service is not None and "level" in service.columns:
        body += ["Fill rate by level:", ""]
        for level in ("network", "city"):
            part = service.filter(pl.col("level") == level)
            if part.height:
                body += markdown_table(part, max_rows=20)
    transfers = _csv(plan / "transfer_plan.csv")
    if transfers is not None and transfers.height and "quantity" in transfers.columns:
        body += ["Largest transfers:", ""]
        body += markdown_table(transfers.sort("quantity", descending=True), max_rows=10)
    return _section("Plan", body)


# Columns a planner reads first in the evaluation and scenario tables (the files hold all).
_KEY_COLUMNS = (
    "scenario",
    "strategy",
    "expected_total",
    "forecast_total",
    "realized_total",
    "expected_fill_rate",
    "forecast_fill_rate",
    "realized_fill_rate",
    "forecast_cycle_service_level",
    "realized_cycle_service_level",
    "units_transferred",
    "units_manufactured",
)


def _table_section(run: Path, folder: str, title: str) -> list[str]:
    base = run / folder
    if not base.is_dir():
        return []
    body: list[str] = []
    for path in sorted(base.glob("*.csv")):
        df = _csv(path)
        if df is not None and df.height <= 400:
            keep = [c for c in _KEY_COLUMNS if c in df.columns and df[c].null_count() < df.height]
            shown = df.select(keep) if len(keep) >= 3 else df
            body += [f"`{folder}/{path.name}` (key columns):", "", *markdown_table(shown, 60)]
    return _section(title, body)


def scenario_pivot(df: pl.DataFrame, value: str) -> pl.DataFrame:
    """One row per scenario (in run order), one column per strategy, of ``value``."""
    order = df.select("scenario").unique(maintain_order=True).with_row_index("order")
    wide = df.pivot(on="strategy", index="scenario", values=value, aggregate_function="first")
    return wide.join(order, on="scenario").sort("order").drop("order")


def _scenarios_section(run: Path) -> list[str]:
    df = _csv(RunLayout(run).scenario_table)
    if df is None or df.height == 0:
        return []
    strategies = df["strategy"].unique(maintain_order=True).to_list()
    live = "realized_total" not in df.columns or df["realized_total"].null_count() == df.height
    kind, what = (
        (
            "forecast",
            "on independent draws of the forecast distribution (the week has not happened)",
        )
        if live
        else ("realized", "on the demand that arrived")
    )
    cost = scenario_pivot(df, f"{kind}_total").with_columns(pl.col(strategies).round(0))
    cheapest = cost.select(strategies).to_numpy().argmin(axis=1)
    cost = cost.with_columns(pl.Series("cheapest", [strategies[k] for k in cheapest]))
    fill = scenario_pivot(df, f"{kind}_fill_rate")
    body = [
        f"{df['scenario'].n_unique()} scenarios x {len(strategies)} strategies, every plan scored "
        f"{what} (`scenarios/scenarios.csv` has every cost component, expected, forecast and "
        "realized, and the multipliers).",
        "",
        f"{kind.capitalize()} total cost ($):",
        "",
        *markdown_table(cost, 60),
        f"{kind.capitalize()} fill rate:",
        "",
        *markdown_table(fill, 60),
    ]
    return _section("Scenarios", body)


def build_report(run_dir: Path) -> str:
    """The markdown report of ``run_dir`` (sections for the stages that ran)."""
    run = Path(run_dir)
    manifest = read_manifest(run)
    lines = [
        "# rama run report",
        "",
        f"Run folder `{run.resolve()}`; data `{manifest.get('data_dir')}`; "
        f"stages {', '.join(manifest.get('stages', []))}.",
        "",
    ]
    for part in (
        _data_section(run),
        _forecast_section(run),
        _plan_section(run),
        _table_section(run, "evaluation", "Out-of-sample evaluation"),
        _scenarios_section(run),
    ):
        lines += part
    if len(lines) <= 5:
        raise StageInputError(f"{run}: no stage outputs to report; run `rama run` first")
    return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class ReportResult:
    """Where ``rama report`` wrote the report, and its length in lines."""

    out_dir: Path  # the report file
    lines: int


def write_report(run_dir: Path) -> ReportResult:
    """Write ``run_dir/report.md`` atomically; returns its path and size."""
    text = build_report(run_dir)
    path = write_text(text, RunLayout(run_dir).report)
    return ReportResult(path, text.count("\n"))
