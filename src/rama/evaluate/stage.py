"""``rama evaluate``: every strategy of the base scenario scored on draws of the forecast
distribution and, when the planning week has happened, on its realized demand.

Writes ``RUN/evaluation/`` atomically: ``evaluation.parquet`` + ``.csv`` (one row per
strategy: expected_*, forecast_* and realized_* cost components, fill rate, cycle service
level, units transferred and manufactured; realized_* empty on live data),
``summary.json`` (truth source, how the forecast draws were made, figures per strategy, the
fill-rate search), ``decisions/`` (the LP decisions solved from a cold start, which the
scenario sweep's base group takes instead of solving them again;
:mod:`rama.strategies.saved`) and, when ``RUN/plan/`` exists, the optimizer's written plan
scored the same way (strategy ``plan_folder``). See :mod:`rama.evaluate.compare`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl

from rama.config import Config
from rama.evaluate.compare import Solved, compare_strategies, score_row
from rama.evaluate.truth import realized_demand
from rama.io import atomic_dir, read_csv_text, require_file
from rama.layout import RunLayout
from rama.problem import Problem, load_inputs
from rama.progress import step
from rama.run_manifest import record_stage
from rama.scenario_spec import Scenario
from rama.schema import TableSchema, id_column, nonneg, require_columns, validate
from rama.strategies import Decision, StrategyContext
from rama.strategies.saved import save_decisions

PLAN_ROWS = TableSchema(
    "store_product_plan",
    (
        id_column("store_id"),
        id_column("product_id"),
        nonneg("transfer_in", "units"),
        nonneg("transfer_out", "units"),
        nonneg("allocated", "units"),
    ),
    id_columns=("store_id", "product_id"),
    allow_extra_columns=True,
    keep_dtypes=True,
)


def decision_from_plan_folder(problem: Problem, plan_dir: Path) -> Decision:
    """A written plan (``store_product_plan.csv``, ``transfer_plan.csv``) as a Decision."""
    sp = read_csv_text(plan_dir / "store_product_plan.csv", "plan table")
    tp = read_csv_text(plan_dir / "transfer_plan.csv", "plan table")
    keys = ["store_id", "product_id"]
    require_columns(sp, [*keys, "transfer_in", "transfer_out", "allocated"], str(plan_dir))
    require_columns(tp, ["cost", "quantity"], str(plan_dir))
    sp = validate(sp, PLAN_ROWS, str(plan_dir / "store_product_plan.csv"))
    tp = tp.with_columns(pl.col("cost", "quantity").cast(pl.Float64, strict=False))
    joined = (
        problem.store_products.select(keys)
        .with_row_index("pos")
        .join(
            sp.select(*keys, "transfer_in", "transfer_out", "allocated").with_columns(
                pl.col(keys).cast(pl.Int64)
            ),
            on=keys,
            how="left",
        )
        .sort("pos")
        .fill_null(0.0)
    )
    cost = float(tp["cost"].sum()) if tp.height else 0.0
    qty = float(tp["quantity"].sum()) if tp.height else 0.0
    col = {c: joined[c].cast(pl.Float64).to_numpy() for c in ("transfer_in", "transfer_out")}
    return Decision(
        "plan_folder",
        joined["allocated"].cast(pl.Float64).to_numpy(),
        col["transfer_in"],
        col["transfer_out"],
        cost,
        qty,
        None,
        {"plan_dir": str(plan_dir)},
    )


SAMPLES_RULE = (
    "evaluate.samples independent draws per pair of the forecast's horizon distribution "
    "(stochastic.distribution: Gamma matched on mean and std, Normal cut at 0, or the "
    "forecast's empirical quantile grid of the horizon total, with the Gamma for a pair "
    "without a grid row), from numpy's default_rng(SeedSequence([run.seed, 2])); the "
    "stochastic plan's points are the (k - 0.5)/K quantiles of the same distribution, so no "
    "draw is a point it optimized on"
)


@dataclass(frozen=True)
class EvaluationResult:
    """What ``rama evaluate`` wrote: the table (one row per strategy), each strategy's figures
    by name, where the realized demand came from, and ``summary`` (``summary.json``)."""

    out_dir: Path
    table: pl.DataFrame
    strategies: Mapping[str, Mapping[str, Any]]  # strategy -> expected_* / realized_* ...
    truth: str  # "latent", "sales" or "none" (live data: scored on forecast draws only)
    source: str  # the realized demand's file and window, in words
    realized_demand_units: float | None  # None: live data, no actuals yet
    forecast_demand_units: float
    summary: Mapping[str, Any]
    # realized demand coverage (None on live data): pairs scored on realized demand, pairs
    # excluded (no_actuals + missing_days: never scored as zero demand), the forecast days the
    # truth lacks entirely; reasons in summary["exclusion_rule"]
    pairs_scored: int | None = None
    pairs_excluded: int | None = None
    pairs_without_actuals: int | None = None
    pairs_missing_days: int | None = None
    days_missing: tuple[str, ...] = ()


def run_evaluation(
    run_dir: Path,
    cfg: Config,
    *,
    truth: str | None = None,
    strategies: list[str] | None = None,
    threads: int | None = None,
) -> EvaluationResult:
    """Score every strategy (``evaluate.strategies``) on the run's problem (``RUN/problem/``,
    as the optimize stage wrote it: same inventory, same costs); write ``RUN/evaluation/``;
    return the summary."""
    layout = RunLayout(run_dir)
    require_file(layout.problem, "evaluate", "run `rama optimize --run RUN` first")
    inputs = load_inputs(layout.problem, cfg)
    realized, note = realized_demand(layout.root, cfg, inputs.base, truth)
    names = list(strategies or cfg["evaluate"]["strategies"])
    ctx = StrategyContext(
        dict(cfg["stochastic"]),
        int(cfg["optimize"]["threads"]) if threads is None else threads,
        str(cfg["optimize"]["backend"]),
    )
    ctx.record_bases = True  # the fill-rate search starts its solves from the stochastic plan's
    solved = Solved("base", inputs.base)
    n_samples = int(cfg["evaluate"]["samples"])
    simulated = solved.forecast_samples(n_samples, ctx.distribution, int(cfg["run"]["seed"]))
    base = Scenario("base", "base")
    multipliers = {f"x_{k}": v for k, v in base.multipliers().items()}
    with step("evaluate: solving and scoring the strategies", total=len(names)) as advance:
        rows = [
            {"scenario": base.name, "group": base.group, **row, **multipliers}
            for row in compare_strategies(solved, names, realized, ctx, simulated, advance)
        ]
    if (layout.plan / "store_product_plan.csv").is_file():
        dec = decision_from_plan_folder(inputs.base, layout.plan)
        row = score_row(dec, inputs.base, realized, simulated)
        rows.append({"scenario": "base", "group": "base", **row})
    table = pl.DataFrame(rows, infer_schema_length=None)
    summary: dict[str, Any] = {
        **note,
        "forecast_samples": n_samples,
        "forecast_samples_rule": SAMPLES_RULE,
        "distribution": ctx.distribution,
        "distribution_fallback_pairs": solved.fallback_pairs,
        "realized_demand_units": None if realized is None else float(np.nansum(realized)),
        "forecast_demand_units": float(inputs.base.demand.sum()),
        "strategies": {
            r["strategy"]: {k: v for k, v in r.items() if k not in ("scenario", "group")}
            for r in rows
        },
    }
    if "stochastic_fill_rate" in solved.decisions:
        summary["fill_rate_search"] = solved.decisions["stochastic_fill_rate"].info.get("search")
    with atomic_dir(layout.evaluation) as tmp:
        table.write_parquet(tmp / "evaluation.parquet")
        table.write_csv(tmp / "evaluation.csv")
        # the cold LP solves, for the scenario sweep's base group (rama.strategies.saved)
        summary["decisions_kept"] = save_decisions(
            tmp / layout.evaluation_decisions.name, inputs.base, solved.decisions, ctx
        )
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    record_stage(layout.root, "evaluate", cfg)
    return EvaluationResult(
        out_dir=layout.evaluation,
        table=table,
        strategies=MappingProxyType(summary["strategies"]),
        truth=str(summary["truth"]),
        source=str(summary["source"]),
        realized_demand_units=summary["realized_demand_units"],
        forecast_demand_units=summary["forecast_demand_units"],
        summary=MappingProxyType(summary),
        pairs_scored=_opt_int(summary.get("pairs_scored")),
        pairs_excluded=_opt_int(summary.get("pairs_excluded")),
        pairs_without_actuals=_opt_int(summary.get("pairs_without_actuals")),
        pairs_missing_days=_opt_int(summary.get("pairs_missing_days")),
        days_missing=tuple(str(d) for d in summary.get("days_missing") or ()),
    )


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)
