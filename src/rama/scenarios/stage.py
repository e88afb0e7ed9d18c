"""``rama scenarios``: every configured scenario x strategy into ``RUN/scenarios/``.

Writes atomically ``scenarios.parquet`` + ``scenarios.csv`` (one tidy row per scenario and
strategy: the scenario's multipliers ``x_*``, expected_*, forecast_* and realized_* (empty on
live data) cost components, fill rate, cycle service level, units transferred / manufactured,
seconds, ``plans_from``: the scenario whose plans were reused), ``summary.json``, and with
``write_plans`` one plan folder per scenario and optimizing strategy
(``plans/<scenario>/<strategy>/``).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from rama.config import Config
from rama.errors import ConfigError
from rama.evaluate import ScoringDemand, realized_demand
from rama.io import atomic_dir, require_file
from rama.layout import RunLayout
from rama.problem import load_inputs
from rama.run_manifest import record_stage, stage_key
from rama.scenario_spec import scenario_list
from rama.scenarios.reuse import REUSABLE
from rama.scenarios.runner import plan_groups, run_all
from rama.strategies import StrategyContext


@dataclass(frozen=True)
class ScenariosResult:
    """What ``rama scenarios`` wrote: the tidy table (scenario x strategy), the scenario and
    strategy names in order, where the realized demand came from, and ``summary``."""

    out_dir: Path
    table: pl.DataFrame
    scenarios: tuple[str, ...]
    strategies: tuple[str, ...]
    source: str
    seconds: float
    summary: Mapping[str, Any]

    @property
    def rows(self) -> int:
        return self.table.height


def run_scenarios(
    run_dir: Path,
    cfg: Config,
    *,
    write_plans: bool = False,
    workers: int | None = None,
    only: list[str] | None = None,
    truth: str | None = None,
    key: str | None = None,
) -> ScenariosResult:
    """Run ``[scenarios]`` (optionally ``only`` some names); write ``RUN/scenarios/``.

    ``key`` identifies what the rows are computed from (default: the stage's inputs digest,
    :func:`rama.run_manifest.stage_key`); it is written as ``computed_under``. With ``only``,
    the rows of the other scenarios already in the table are kept (and their plan folders),
    with ``stale`` true where they were computed under another key."""
    t0 = time.perf_counter()
    layout = RunLayout(run_dir)
    key = key or stage_key(layout.root, "scenarios", cfg.values)
    scfg = cfg["scenarios"]
    scenarios = scenario_list(scfg)
    if only:
        unknown = sorted(set(only) - {s.name for s in scenarios})
        if unknown:
            raise ConfigError(
                f"--only: unknown scenario(s) {unknown}; configured: "
                f"{', '.join(s.name for s in scenarios)}"
            )
        scenarios = [s for s in scenarios if s.name in only]
    if not scenarios:
        raise ConfigError("[scenarios]: no scenario selected; check scenarios.sets")
    require_file(layout.problem, "scenarios", "run `rama optimize --run RUN` first")
    inputs = load_inputs(layout.problem, cfg)
    realized, note = realized_demand(layout.root, cfg, inputs.base, truth)
    ctx = StrategyContext(
        dict(cfg["stochastic"]), int(cfg["optimize"]["threads"]), str(cfg["optimize"]["backend"])
    )
    n_workers = int(scfg["workers"]) if workers is None else workers
    report: dict[str, Any] = {}
    with atomic_dir(layout.scenarios) as tmp:
        rows = run_all(
            inputs,
            scenarios,
            list(scfg["strategies"]),
            ScoringDemand(realized, int(cfg["evaluate"]["samples"]), int(cfg["run"]["seed"])),
            ctx,
            n_workers,
            tmp / "plans" if write_plans else None,
            bool(scfg["warm_start"]),
            saved=layout.evaluation_decisions,
            report=report,
        )
        table = pl.DataFrame(rows, infer_schema_length=None).with_columns(
            pl.lit(key, dtype=pl.String).alias("computed_under")
        )
        if only:
            table = _merge_kept(table, layout, {s.name for s in scenarios}, tmp)
        table = table.with_columns(
            stale=pl.col("computed_under").ne_missing(pl.lit(key, dtype=pl.String))
        )
        table.write_parquet(tmp / "scenarios.parquet")
        table.write_csv(tmp / "scenarios.csv")
        summary: dict[str, Any] = {
            **note,
            "forecast_samples": int(cfg["evaluate"]["samples"]),
            "scenarios": list(dict.fromkeys(table["scenario"].to_list())),
            "computed": [s.name for s in scenarios],
            "stale_rows": int(table["stale"].sum()),
            "strategies": list(scfg["strategies"]),
            "rows": table.height,
            "plan_sets_solved": len(plan_groups(scenarios)),
            # decisions taken from an identical earlier problem (rama.scenarios.reuse)
            "solves_reused": table.filter(
                pl.col("strategy").is_in(sorted(REUSABLE))
                & pl.col("plans_from").eq(pl.col("scenario"))
                & pl.col("seconds").eq(0.0)
            ).height,
            "solve_seconds_by_strategy": {
                str(k): float(v)
                for k, v in table.group_by("strategy").agg(pl.col("seconds").sum()).iter_rows()
            },
            # the base problem's decisions the evaluation stage kept (rama.strategies.saved)
            "from_evaluation": report.get("from_evaluation", []),
            "workers": n_workers,
            "seconds": time.perf_counter() - t0,
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    record_stage(layout.root, "scenarios", cfg)
    return ScenariosResult(
        out_dir=layout.scenarios,
        table=table,
        scenarios=tuple(summary["scenarios"]),
        strategies=tuple(summary["strategies"]),
        source=str(summary["source"]),
        seconds=float(summary["seconds"]),
        summary=MappingProxyType(summary),
    )


def _merge_kept(
    table: pl.DataFrame, layout: RunLayout, computed: set[str], tmp: Path
) -> pl.DataFrame:
    """``table`` (the scenarios just computed) with the earlier table's rows of every other
    scenario appended, and their plan folders copied into ``tmp``."""
    old_path = layout.scenarios / "scenarios.parquet"
    if not old_path.is_file():
        return table
    old = pl.read_parquet(old_path).drop("stale", strict=False)
    kept = old.filter(~pl.col("scenario").is_in(sorted(computed)))
    if "computed_under" not in kept.columns:
        kept = kept.with_columns(pl.lit(None, dtype=pl.String).alias("computed_under"))
    old_plans = layout.scenarios / "plans"
    for name in kept["scenario"].unique().to_list():
        src = old_plans / str(name)
        if src.is_dir():
            shutil.copytree(src, tmp / "plans" / str(name))
    merged = pl.concat([kept, table], how="diagonal_relaxed")
    names = [*old["scenario"].to_list(), *table["scenario"].to_list()]
    rank = {n: i for i, n in enumerate(dict.fromkeys(names))}  # the earlier table's order
    return merged.sort(
        pl.col("scenario").replace_strict(rank, return_dtype=pl.Int64), maintain_order=True
    )
