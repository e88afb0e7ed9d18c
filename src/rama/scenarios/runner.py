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

import hashlib
import multiprocessing as mp
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from rama import cluster
from rama.evaluate.compare import ScoringDemand, Solved, compare_strategies
from rama.optimize import write_plan
from rama.optimize.pool import kill_hook_for_tests, run_in_pool
from rama.problem import PlanningInputs, scenario_problem
from rama.problem.stochastic import Forecast, forecast_of, is_scaled
from rama.progress import step
from rama.scenario_spec import Scenario
from rama.scenarios.reuse import SolveCache
from rama.strategies import STRATEGY_FUNCTIONS, Decision, StrategyContext
from rama.strategies.saved import load_decisions
from rama.strategies.score import Position, position


class PositionCache:
    """Positions (:func:`rama.strategies.score.position`) of the rule decisions (no LP plan:
    do nothing, order-up-to) under the forecast draws, by forecast factor, scale and the
    stock they leave: those decisions leave the same stock in every scenario that changes
    only costs or routes, scored on the same draws. LP decisions are computed afresh (a
    reused LP decision's only hit would not pay for hashing every LP stock). Holds
    at most ``size`` positions (4 floats per pair each), least recently used dropped."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._known: OrderedDict[tuple[float, float, bytes], Position] = OrderedDict()
        self.hits = 0

    def position(
        self, draws: np.ndarray, factor: float, scale: float, dec: Decision, avail: np.ndarray
    ) -> Position:
        """``dec``'s position, stock ``avail``, under ``draws`` (of ``factor``) x ``scale``."""
        if dec.plan is not None or self.size <= 0:
            return position(avail, draws, scale)
        stock = hashlib.blake2b(np.ascontiguousarray(avail).tobytes(), digest_size=16)
        key = (factor, scale, stock.digest())
        known = self._known.get(key)
        if known is not None:
            self._known.move_to_end(key)
            self.hits += 1
            return known
        out = self._known[key] = position(avail, draws, scale)
        while len(self._known) > self.size:
            self._known.popitem(last=False)
        return out


class DrawCache:
    """The forecast draws of the scenario problems, by forecast factor.

    A scenario's draws depend only on its problem's forecast (mean, std and quantile grid:
    the base's times the scenario's forecast factor, :func:`rama.problem.scenario_problem`),
    so two scenarios with one factor (the base, the disruptions, the cost grid: 1.0) draw
    exactly the same values: they are drawn once. The Gamma, the cut Normal and the empirical
    grid are scale families, so a problem whose forecast is exactly (relative 1e-12) the
    factor-1.0 one's times ``f`` (a foreseen demand shock) takes the factor-1.0 draws times
    ``f``: the same seeded draws, scaled, instead of ~6.5 s of new Gamma draws at 10x. Kept:
    the factor 1.0 and the last other (each ``n x S`` floats); ``positions``: the rule
    decisions' positions under them (:class:`PositionCache` of that size); ``solves``: the
    decisions of the strategies whose problem was identical in an earlier scenario
    (:class:`rama.scenarios.reuse.SolveCache`, the first problem's and ``solves`` others
    kept; 0 = off)."""

    def __init__(self, positions: int = 16, solves: int = 2) -> None:
        self._draws: dict[float, tuple[np.ndarray, int]] = {}
        self._unit: Forecast | None = None  # the forecast the factor-1.0 draws are of
        self.positions = PositionCache(positions)
        self.solves = SolveCache(solves)
        self.scaled = 0  # draws made by scaling the factor-1.0 ones

    def draws(self, solved: Solved, factor: float, demand: ScoringDemand, dist: str) -> np.ndarray:
        """``solved``'s draws (:meth:`Solved.forecast_samples`), reused when known."""
        known = self._draws.get(factor)
        if known is not None and solved.samples is None and known[0].shape[1] == demand.samples:
            solved.samples, solved.fallback_pairs = known
            return known[0]
        unit = self._draws.get(1.0)
        if (
            unit is not None
            and solved.samples is None
            and unit[0].shape[1] == demand.samples
            and self._unit is not None
            and factor >= 0
            and is_scaled(self._unit, forecast_of(solved.problem, dist == "empirical"), factor)
        ):
            out = solved.samples = unit[0] * factor
            solved.fallback_pairs = unit[1]
            self.scaled += 1
        else:
            out = solved.forecast_samples(demand.samples, dist, demand.seed)
        for f in [f for f in self._draws if f not in (1.0, factor)]:
            del self._draws[f]
        self._draws[factor] = (out, solved.fallback_pairs)
        if factor == 1.0:
            self._unit = forecast_of(solved.problem, dist == "empirical")
        return out


def evaluate_scenario(
    inputs: PlanningInputs,
    scenario: Scenario,
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    plans_dir: Path | None = None,
    cache: dict[tuple[float, ...], Solved] | None = None,
    draws: DrawCache | None = None,
    preset: dict[str, Decision] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Decision]]:
    """One row per strategy (expected_* and realized_* figures) and the decisions.

    With ``cache``, a scenario whose plans see exactly what an earlier one's saw (an
    unforeseen demand shock and its base) reuses that scenario's decisions; the row names it
    in ``plans_from`` and its ``seconds`` are 0. With ``draws``, the forecast draws of a
    forecast factor already drawn are reused (:class:`DrawCache`), and so are the rule
    decisions' positions under them (:class:`PositionCache`), and a strategy whose problem
    is identical to one an earlier scenario solved reuses that decision (``seconds`` 0;
    :mod:`rama.scenarios.reuse`). ``preset``: decisions made on this very problem elsewhere
    (the evaluation stage's, :mod:`rama.strategies.saved`), used instead of solving.
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
    known_draws = draws if draws is not None else DrawCache(positions=0, solves=0)
    todo = [name for name in strategies if name not in solved.decisions]
    keys = known_draws.solves.keys(solved.problem, todo, ctx)
    reused = {**(preset or {}), **known_draws.solves.lookup(keys)}
    drawn = known_draws.draws(solved, seen, demand, ctx.distribution)
    rows: list[dict[str, Any]] = []
    multipliers = {f"x_{k}": v for k, v in scenario.multipliers().items()}
    scale = f / seen if seen > 0 else 0.0  # the draws x scale: drawn x (f / seen)
    known = known_draws.positions

    def sim_position(dec: Decision, avail: np.ndarray) -> Position:
        return known.position(drawn, seen, scale, dec, avail)

    for row in compare_strategies(
        solved,
        strategies,
        actual,
        ctx,
        drawn,
        simulated_scale=scale,
        sim_position=sim_position,
        known=reused,
    ):
        rows.append({"scenario": scenario.name, "group": scenario.group, **row, **multipliers})
        dec = solved.decisions[row["strategy"]]
        if plans_dir is not None and dec.plan is not None:
            write_plan(dec.plan, plans_dir / scenario.name / row["strategy"])
    known_draws.solves.store(keys, solved.decisions)
    return rows, {name: solved.decisions[name] for name in strategies}


def evaluate_group(
    inputs: PlanningInputs,
    group: list[Scenario],
    strategies: list[str],
    demand: ScoringDemand,
    ctx: StrategyContext,
    plans_dir: Path | None = None,
    draws: DrawCache | None = None,
    *,
    solved: Solved | None = None,
    preset: dict[str, Decision] | None = None,
) -> list[dict[str, Any]]:
    """Rows of scenarios sharing one plan key: solved once, scored on each one's demand;
    ``draws`` carries the forecast draws from group to group (:class:`DrawCache`);
    ``solved``: the group's problem when the caller built it, with ``preset`` decisions on
    it (:func:`evaluate_scenario`)."""
    cache: dict[tuple[float, ...], Solved] = {}
    if solved is not None:
        cache[group[0].plan_key()] = solved
    rows: list[dict[str, Any]] = []
    for k, sc in enumerate(group):
        given = preset if k == 0 else None  # the group's first scenario solves (or takes)
        part, _ = evaluate_scenario(
            inputs, sc, strategies, demand, ctx, plans_dir, cache, draws, given
        )
        rows.extend(part)
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
    draws: DrawCache | None = None,
    saved: Path | None = None,
    report: dict[str, Any] | None = None,
) -> tuple[list[list[dict[str, Any]]], list[list[Scenario]]]:
    """Record the base scenario's bases in ``ctx.warm``: by evaluating the base group (its
    rows are returned, the group removed) or, when the sweep has none, by solving the base
    problem's LPs alone. Every scenario then starts from the same bases, whatever the order.

    The base problem's decisions kept in ``saved`` (the evaluation stage's cold solves of the
    same problem, :mod:`rama.strategies.saved`) are taken instead of solved, their bases
    recorded as a solve would; ``report["from_evaluation"]`` names them."""
    base_key = Scenario("base").plan_key()
    first = next((g for g in groups if g[0].plan_key() == base_key), None)
    base = scenario_problem(inputs, first[0] if first is not None else Scenario("base"))
    ctx.record_bases = True
    try:
        kept = load_decisions(saved, base, [n for n in strategies if n != "do_nothing"], ctx)
        for name, dec in kept.items():
            plan = dec.plan
            assert plan is not None
            if name in WARM_STRATEGIES and plan.basis is not None and len(plan.basis):
                ctx.warm[name] = plan.basis
            if name == "stochastic":
                ctx.adopt_stochastic_plan(base, plan)
        if report is not None:
            report["from_evaluation"] = sorted(kept)
        if first is not None:
            solved = Solved(first[0].name, base)
            rows = evaluate_group(
                inputs, first, strategies, demand, ctx, plans_dir, draws, solved=solved, preset=kept
            )
            return [rows], [g for g in groups if g is not first]
        for name in WARM_STRATEGIES:
            if name in strategies and name not in kept:
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
        _SHARED.setdefault("draws", DrawCache()),  # one per worker process
    )


def _group_on_cluster(state: dict[str, Any], group: list[Scenario]) -> list[dict[str, Any]]:
    """A Dask task: one scenario group against the scattered inputs, with the draws, the
    rule positions and the reusable solves kept on the worker from group to group (one
    :class:`DrawCache` per worker thread, as one per process in the local pool)."""
    kill_hook_for_tests("scenarios", 0)
    return evaluate_group(
        state["inputs"],
        group,
        state["strategies"],
        state["demand"],
        state["ctx"],
        state["plans_dir"],
        cluster.kept(state["token"], DrawCache),
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
    saved: Path | None = None,
    report: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every scenario x strategy row, in scenario order (see the module doc on workers).

    Scenarios the plans cannot tell apart (same :meth:`Scenario.plan_key`) are solved once.
    With ``warm_start`` the base scenario is solved first (or, when it is not swept, its
    LPs alone; the base problem's decisions kept in ``saved`` are taken instead,
    :func:`_reference_solves`) and every other scenario's LPs start from its bases.
    """
    groups = plan_groups(scenarios)
    parts: list[list[dict[str, Any]]] = []
    draws = DrawCache()
    if warm_start and backend_records(ctx):
        parts, groups = _reference_solves(
            inputs, groups, strategies, demand, ctx, plans_dir, draws, saved, report
        )
    if cluster.active() is not None and len(groups) > 1:
        ctx.threads = 1  # single-threaded solves inside the Dask tasks
        del draws  # the base group's draws: the workers draw their own
        token = cluster.new_token()
        state = {
            "inputs": inputs,
            "strategies": strategies,
            "demand": demand,
            "ctx": ctx,
            "plans_dir": plans_dir,
            "token": token,
        }
        try:
            parts += cluster.map_tasks(
                _group_on_cluster,
                state,
                groups,
                stage="scenarios",
                noun="scenario groups",
                grows="size",
            )
        finally:
            cluster.forget(token)
    elif workers <= 1 or len(groups) <= 1:
        with step("scenarios: scenario groups", total=len(groups)) as advance:
            for g in groups:
                parts.append(evaluate_group(inputs, g, strategies, demand, ctx, plans_dir, draws))
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
