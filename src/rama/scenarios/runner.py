"""Run strategies in scenarios and score each on the same realized demand (one tidy table).

For every scenario the deterministic problem is rebuilt from the run's inputs
(:func:`rama.problem.scenario_problem`), every strategy decides, and each decision
is scored twice with the scenario's cost terms: against what the plan expected (the forecast
mean; the K demand points for the stochastic strategies) and against the realized demand
(the run's realized demand x the scenario's realized factor, when the week has happened)
and against independent draws of the scenario's forecast distribution (x the same factor;
:mod:`rama.evaluate.compare`), the same demand for every strategy of the scenario.

Scenarios whose plans see the same inputs (:meth:`Scenario.plan_key`: an unforeseen demand
shock and the base) form one group, solved once and scored on each scenario's demand.

Parallelism: ``workers = 0`` runs scenarios one at a time and lets each solve use the
optimizer's process pool (``optimize.threads``); ``workers = n`` starts ``n`` scenario processes
whose solves are single-threaded (pools are never nested). Workers are spawned (the
inputs are pickled once per worker): polars' thread pool does not survive a fork. A worker
that dies (the OOM killer, a segfault) is noticed at once: its unfinished groups run once
more in a fresh pool, and a second death raises :class:`rama.errors.WorkerError`
(:func:`rama.optimize.pool.run_in_pool`).
"""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

from rama import cluster
from rama.evaluate.compare import ScoringDemand, Solved, compare_strategies
from rama.optimize import write_plan
from rama.optimize.pool import kill_hook_for_tests, run_in_pool
from rama.problem import PlanningInputs, scenario_problem
from rama.progress import step
from rama.scenario_spec import Scenario
from rama.strategies import STRATEGY_FUNCTIONS, Decision, StrategyContext


def evaluate_scenario(
    inputs: PlanningInputs,
    scenario: Scenario,
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    plans_dir: Path | None = None,
    cache: dict[tuple[float, ...], Solved] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Decision]]:
    """One row per strategy (expected_* and realized_* figures) and the decisions.

    With ``cache``, a scenario whose plans see exactly what an earlier one's saw (an
    unforeseen demand shock and its base) reuses that scenario's decisions; the row names it
    in ``plans_from`` and its ``seconds`` are 0.
    """
    key = scenario.plan_key()
    solved = cache.get(key) if cache is not None else None
    if solved is None:
        solved = Solved(scenario.name, scenario_problem(inputs, scenario))
        if cache is not None:
            cache[key] = solved
    f = scenario.realized_factor
    actual = None if demand.realized is None else demand.realized * f
    # the draws of the scenario's own problem already carry its forecast factor (the Gamma
    # or cut Normal scales exactly with mean and std): only the part of the realized factor
    # the forecast did not see is applied, so a foreseen shock is drawn at f, never f^2
    seen = scenario.forecast_factor
    draws = solved.forecast_samples(demand.samples, ctx.distribution, demand.seed)
    simulated = draws * (f / seen) if seen > 0 else draws * 0.0
    rows: list[dict[str, Any]] = []
    multipliers = {f"x_{k}": v for k, v in scenario.multipliers().items()}
    for row in compare_strategies(solved, strategies, actual, ctx, simulated):
        rows.append({"scenario": scenario.name, "group": scenario.group, **row, **multipliers})
        dec = solved.decisions[row["strategy"]]
        if plans_dir is not None and dec.plan is not None:
            write_plan(dec.plan, plans_dir / scenario.name / row["strategy"])
    return rows, {name: solved.decisions[name] for name in strategies}


def evaluate_group(
    inputs: PlanningInputs,
    group: list[Scenario],
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    plans_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Rows of scenarios sharing one plan key: solved once, scored on each one's demand."""
    cache: dict[tuple[float, ...], Solved] = {}
    rows: list[dict[str, Any]] = []
    for sc in group:
        rows.extend(evaluate_scenario(inputs, sc, strategies, demand, ctx, plans_dir, cache)[0])
    return rows


def plan_groups(scenarios: list[Scenario]) -> list[list[Scenario]]:
    """Scenarios grouped by plan key, in order of first appearance."""
    groups: dict[tuple[float, ...], list[Scenario]] = {}
    for sc in scenarios:
        groups.setdefault(sc.plan_key(), []).append(sc)
    return list(groups.values())


WARM_STRATEGIES = ("centralized_lp", "stochastic")


def backend_records(ctx: StrategyContext) -> bool:
    """Warm starts exist for the HiGHS backend only."""
    return ctx.backend == "highs"


def _reference_solves(
    inputs: PlanningInputs,
    groups: list[list[Scenario]],
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    plans_dir: Path | None,
) -> tuple[list[list[dict[str, Any]]], list[list[Scenario]]]:
    """Record the base scenario's bases in ``ctx.warm``: by evaluating the base group (its
    rows are returned, the group removed) or, when the sweep has none, by solving the base
    problem's LPs alone. Every scenario then starts from the same bases, whatever the order."""
    base_key = Scenario("base").plan_key()
    first = next((g for g in groups if g[0].plan_key() == base_key), None)
    ctx.record_bases = True
    try:
        if first is not None:
            rows = evaluate_group(inputs, first, strategies, demand, ctx, plans_dir)
            return [rows], [g for g in groups if g is not first]
        base = scenario_problem(inputs, Scenario("base"))
        for name in WARM_STRATEGIES:
            if name in strategies:
                STRATEGY_FUNCTIONS[name](base, ctx)
        return [], groups
    finally:
        ctx.record_bases = False


_SHARED: dict[str, Any] = {}


def _init(state: dict[str, Any]) -> None:
    _SHARED.update(state)


def _worker(group: list[Scenario]) -> list[dict[str, Any]]:
    kill_hook_for_tests("scenarios", _SHARED["attempt"])
    return evaluate_group(
        _SHARED["inputs"],
        group,
        _SHARED["strategies"],
        _SHARED["demand"],
        _SHARED["ctx"],
        _SHARED["plans_dir"],
    )


def _group_on_cluster(state: dict[str, Any], group: list[Scenario]) -> list[dict[str, Any]]:
    """A Dask task: one scenario group against the scattered inputs."""
    kill_hook_for_tests("scenarios", 0)
    return evaluate_group(
        state["inputs"],
        group,
        state["strategies"],
        state["demand"],
        state["ctx"],
        state["plans_dir"],
    )


def run_all(
    inputs: PlanningInputs,
    scenarios: list[Scenario],
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    workers: int = 0,
    plans_dir: Path | None = None,
    warm_start: bool = True,
) -> list[dict[str, Any]]:
    """Every scenario x strategy row, in scenario order (see the module doc on workers).

    Scenarios the plans cannot tell apart (same :meth:`Scenario.plan_key`) are solved once.
    With ``warm_start`` the base scenario is solved first (or, when it is not swept, its
    LPs alone) and every other scenario's LPs start from its bases.
    """
    groups = plan_groups(scenarios)
    parts: list[list[dict[str, Any]]] = []
    if warm_start and backend_records(ctx):
        parts, groups = _reference_solves(inputs, groups, strategies, demand, ctx, plans_dir)
    if cluster.active() is not None and len(groups) > 1:
        ctx.threads = 1  # single-threaded solves inside the Dask tasks
        state = {
            "inputs": inputs,
            "strategies": strategies,
            "demand": demand,
            "ctx": ctx,
            "plans_dir": plans_dir,
        }
        parts += cluster.map_tasks(
            _group_on_cluster, state, groups, stage="scenarios", noun="scenario groups"
        )
    elif workers <= 1 or len(groups) <= 1:
        with step("scenarios: scenario groups", total=len(groups)) as advance:
            for g in groups:
                parts.append(evaluate_group(inputs, g, strategies, demand, ctx, plans_dir))
                advance(1)
    else:
        ctx.threads = 1  # single-threaded solves inside scenario workers
        state = {
            "inputs": inputs,
            "strategies": strategies,
            "demand": demand,
            "ctx": ctx,
            "plans_dir": plans_dir,
        }
        parts += run_in_pool(
            _worker,
            groups,
            min(workers, len(groups)),
            # spawn, not fork: polars' thread pool does not survive a fork (children deadlock)
            mp.get_context("spawn"),
            _init,
            lambda attempt: ({**state, "attempt": attempt},),
            stage="scenarios",
            worker="a scenario worker process",
            doing="running",
            noun="scenario groups",
            fix="lower scenarios.workers (--workers), free memory, or run with --workers 0",
        )
    order = {sc.name: k for k, sc in enumerate(scenarios)}
    rows = [r for part in parts for r in part]
    return sorted(rows, key=lambda r: order[r["scenario"]])
