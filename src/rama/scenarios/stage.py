"""``rama scenarios``: every configured scenario x strategy into ``RUN/scenarios/``.

Writes atomically ``scenarios.parquet`` + ``scenarios.csv`` (one tidy row per scenario and
strategy: the scenario's multipliers ``x_*``, expected_* and realized_* cost components, fill
rate, cycle service level, units transferred / manufactured, seconds, ``plans_from``: the
scenario whose plans were reused), ``summary.json``, and
with ``write_plans`` one plan folder per scenario and optimizing strategy
(``plans/<scenario>/<strategy>/``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import polars as pl

from rama.config import Config
from rama.errors import ConfigError
from rama.evaluate.truth import realized_demand
from rama.io import atomic_dir
from rama.scenario_spec import scenario_list
from rama.scenarios.runner import plan_groups, run_all
from rama.strategies.inputs import load_inputs
from rama.strategies.plans import StrategyContext


def run_scenarios(
    run_dir: Path,
    cfg: Config,
    *,
    inventory_file: Path | None = None,
    write_plans: bool = False,
    workers: int | None = None,
    only: list[str] | None = None,
    truth: str | None = None,
) -> dict[str, Any]:
    """Run ``[scenarios]`` (optionally ``only`` some names); write ``RUN/scenarios/``."""
    t0 = time.perf_counter()
    run_dir = Path(run_dir)
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
    inputs = load_inputs(run_dir, cfg, inventory_file)
    realized, note = realized_demand(run_dir, cfg, inputs.base, truth)
    ctx = StrategyContext(
        dict(cfg["stochastic"]), int(cfg["optimize"]["threads"]), str(cfg["optimize"]["backend"])
    )
    n_workers = int(scfg["workers"]) if workers is None else workers
    with atomic_dir(run_dir / "scenarios") as tmp:
        rows = run_all(
            inputs,
            scenarios,
            list(scfg["strategies"]),
            realized,
            ctx,
            n_workers,
            tmp / "plans" if write_plans else None,
            bool(scfg["warm_start"]),
        )
        table = pl.DataFrame(rows, infer_schema_length=None)
        table.write_parquet(tmp / "scenarios.parquet")
        table.write_csv(tmp / "scenarios.csv")
        summary: dict[str, Any] = {
            **note,
            "scenarios": [s.name for s in scenarios],
            "strategies": list(scfg["strategies"]),
            "rows": table.height,
            "plan_sets_solved": len(plan_groups(scenarios)),
            "solve_seconds_by_strategy": {
                str(k): float(v)
                for k, v in table.group_by("strategy").agg(pl.col("seconds").sum()).iter_rows()
            },
            "workers": n_workers,
            "seconds": time.perf_counter() - t0,
        }
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    from rama.run_manifest import update_manifest

    update_manifest(run_dir, stage="scenarios")
    summary["out_dir"] = str(run_dir / "scenarios")
    summary["table"] = table
    return summary
