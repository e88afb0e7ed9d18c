"""``rama evaluate``: every strategy of the base scenario scored on the realized demand.

Writes ``RUN/evaluation/`` atomically: ``evaluation.parquet`` + ``.csv`` (one row per
strategy: expected_* and realized_* cost components, fill rate, cycle service level, units
transferred and manufactured), ``summary.json`` (truth source, figures per strategy, the
fill-rate search) and, when ``RUN/plan/`` exists, the optimizer's written plan scored the
same way (strategy ``plan_folder``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.config import Config
from rama.evaluate.score import Decision, score
from rama.evaluate.truth import realized_demand
from rama.io import atomic_dir
from rama.problem import Problem
from rama.scenario_spec import Scenario
from rama.scenarios.runner import FIGURES, evaluate_scenario
from rama.strategies.inputs import load_inputs
from rama.strategies.plans import StrategyContext


def decision_from_plan_folder(problem: Problem, plan_dir: Path) -> Decision:
    """A written plan (``store_product_plan.csv``, ``transfer_plan.csv``) as a Decision."""
    sp = pl.read_csv(plan_dir / "store_product_plan.csv")
    tp = pl.read_csv(plan_dir / "transfer_plan.csv")
    keys = ["store_id", "product_id"]
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


def run_evaluation(
    run_dir: Path,
    cfg: Config,
    *,
    inventory_file: Path | None = None,
    truth: str | None = None,
    strategies: list[str] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Score every strategy (``evaluate.strategies``) of the base scenario; write
    ``RUN/evaluation/``; return the summary."""
    run_dir = Path(run_dir)
    inputs = load_inputs(run_dir, cfg, inventory_file)
    realized, note = realized_demand(run_dir, cfg, inputs.base, truth)
    names = list(strategies or cfg["evaluate"]["strategies"])
    ctx = StrategyContext(
        dict(cfg["stochastic"]),
        int(cfg["optimize"]["threads"]) if threads is None else threads,
        str(cfg["optimize"]["backend"]),
    )
    ctx.record_bases = True  # the fill-rate search starts its solves from the stochastic plan's
    rows, decisions = evaluate_scenario(inputs, Scenario("base", "base"), names, realized, ctx)
    plan_dir = run_dir / "plan"
    if (plan_dir / "store_product_plan.csv").is_file():
        dec = decision_from_plan_folder(inputs.base, plan_dir)
        exp, real = score(dec, inputs.base, inputs.base.demand), score(dec, inputs.base, realized)
        row: dict[str, Any] = {"scenario": "base", "group": "base", "strategy": "plan_folder"}
        row.update({f"expected_{k}": exp[k] for k in FIGURES})
        row.update({f"realized_{k}": real[k] for k in FIGURES})
        row.update(
            realized_demand_units=real["demand_units"],
            units_transferred=real["units_transferred"],
            units_manufactured=real["units_manufactured"],
        )
        rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None)
    summary: dict[str, Any] = {
        **note,
        "realized_demand_units": float(np.sum(realized)),
        "forecast_demand_units": float(inputs.base.demand.sum()),
        "strategies": {
            r["strategy"]: {k: v for k, v in r.items() if k not in ("scenario", "group")}
            for r in rows
        },
    }
    if "stochastic_fill_rate" in decisions:
        summary["fill_rate_search"] = decisions["stochastic_fill_rate"].info.get("search")
    with atomic_dir(run_dir / "evaluation") as tmp:
        table.write_parquet(tmp / "evaluation.parquet")
        table.write_csv(tmp / "evaluation.csv")
        import json

        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    from rama.run_manifest import update_manifest

    update_manifest(run_dir, stage="evaluate")
    summary["out_dir"] = str(run_dir / "evaluation")
    return summary
