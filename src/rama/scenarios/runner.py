"""Run strategies in scenarios and score each on the same realized demand (one tidy table).

For every scenario the deterministic problem is rebuilt from the run's inputs
(:func:`rama.strategies.inputs.scenario_problem`), every strategy decides, and each decision
is scored twice with the scenario's cost terms: against what the plan expected (the forecast
mean; the K demand points for the stochastic strategies) and against the realized demand
(the run's realized demand x the scenario's realized factor), the same vector for every
strategy of the scenario.

Parallelism: ``workers = 0`` runs scenarios one at a time and lets each solve use the
optimizer's process pool (``optimize.threads``); ``workers = n`` forks ``n`` scenario processes
whose solves are single-threaded (pools are never nested). Workers are spawned (the
inputs are pickled once per worker): polars' thread pool does not survive a fork.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path
from typing import Any

import numpy as np

from rama.evaluate.score import Decision, score
from rama.optimize import write_plan
from rama.scenarios.spec import Scenario
from rama.strategies.inputs import PlanningInputs, scenario_problem
from rama.strategies.plans import STOCHASTIC, STRATEGY_FUNCTIONS, StrategyContext

FIGURES = (
    "holding",
    "stockout",
    "transport",
    "manufacturing",
    "distribution",
    "total",
    "fill_rate",
    "cycle_service_level",
    "stockout_units",
)


def evaluate_scenario(
    inputs: PlanningInputs,
    scenario: Scenario,
    strategies: list[str],
    realized: np.ndarray,
    ctx: StrategyContext,
    plans_dir: Path | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Decision]]:
    """One row per strategy (expected_* and realized_* figures) and the decisions."""
    problem = scenario_problem(inputs, scenario)
    actual = realized * scenario.realized_factor
    rows: list[dict[str, Any]] = []
    decisions: dict[str, Decision] = {}
    for name in strategies:
        t0 = time.perf_counter()
        dec = STRATEGY_FUNCTIONS[name](problem, ctx)
        seconds = time.perf_counter() - t0
        view = ctx.clipped_points(problem) if name in STOCHASTIC else problem.demand
        exp, real = score(dec, problem, view), score(dec, problem, actual)
        row: dict[str, Any] = {"scenario": scenario.name, "group": scenario.group, "strategy": name}
        row.update({f"expected_{k}": exp[k] for k in FIGURES})
        row.update({f"realized_{k}": real[k] for k in FIGURES})
        row.update(
            {
                "realized_demand_units": real["demand_units"],
                "units_transferred": real["units_transferred"],
                "units_manufactured": real["units_manufactured"],
                "fill_rate_target": dec.info.get("fill_rate_target"),
                "penalty_raise": dec.info.get("penalty_raise"),
                "seconds": seconds,
            }
        )
        row.update({f"x_{k}": v for k, v in scenario.multipliers().items()})
        rows.append(row)
        decisions[name] = dec
        if plans_dir is not None and dec.plan is not None:
            write_plan(dec.plan, plans_dir / scenario.name / name)
    return rows, decisions


_SHARED: dict[str, Any] = {}


def _init(state: dict[str, Any]) -> None:
    _SHARED.update(state)


def _worker(scenario: Scenario) -> list[dict[str, Any]]:
    rows, _ = evaluate_scenario(
        _SHARED["inputs"],
        scenario,
        _SHARED["strategies"],
        _SHARED["realized"],
        _SHARED["ctx"],
        _SHARED["plans_dir"],
    )
    return rows


def run_all(
    inputs: PlanningInputs,
    scenarios: list[Scenario],
    strategies: list[str],
    realized: np.ndarray,
    ctx: StrategyContext,
    workers: int = 0,
    plans_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Every scenario x strategy row, in scenario order (see the module doc on workers)."""
    if workers <= 1 or len(scenarios) <= 1:
        out: list[dict[str, Any]] = []
        for sc in scenarios:
            out.extend(evaluate_scenario(inputs, sc, strategies, realized, ctx, plans_dir)[0])
        return out
    ctx.threads = 1  # single-threaded solves inside scenario workers
    state = {
        "inputs": inputs,
        "strategies": strategies,
        "realized": realized,
        "ctx": ctx,
        "plans_dir": plans_dir,
    }
    # spawn, not fork: polars' thread pool does not survive a fork (the children deadlock)
    with mp.get_context("spawn").Pool(
        min(workers, len(scenarios)), initializer=_init, initargs=(state,)
    ) as pool:
        parts = pool.map(_worker, scenarios, chunksize=1)
    return [r for part in parts for r in part]
