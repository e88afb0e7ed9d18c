"""The strategies compared in one run, each a :class:`~rama.evaluate.score.Decision`.

- ``do_nothing``: current inventory only, no allocation, no transfer;
- ``order_up_to``: decentralized rule, each store orders ``max(0, forecast + safety stock -
  inventory)`` from the plant (capped by storage; scaled down pro rata when a product exceeds
  its production capacity), no transfers;
- ``decentralized_lp``: the planning LP without routes (each store supplied by the plant);
- ``centralized_lp``: the working plan's LP (every route);
- ``stochastic``: the LP with the expected holding + stockout cost of K demand points per
  pair (``rama.optimize.stochastic``);
- ``stochastic_fill_rate``: the stochastic LP at the lowest expected cost whose expected
  network fill rate meets ``stochastic.fill_rate_target`` (:mod:`rama.strategies.fill_rate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rama.evaluate.score import Decision
from rama.optimize import Plan, WarmStart, solve
from rama.problem import Problem
from rama.problem.stochastic import stochastic_problem
from rama.rules import demand_points
from rama.strategies.inputs import without_routes

StrategyFn = Callable[[Problem, "StrategyContext"], Decision]


class StrategyContext:
    """What a strategy may use besides the scenario's problem: config and solver options."""

    def __init__(self, stochastic: dict[str, Any], threads: int = 0, backend: str = "highs"):
        self.points = int(stochastic["points"])
        self.distribution = str(stochastic["distribution"])
        self.fill_rate_target = float(stochastic["fill_rate_target"])
        self.fill_rate_tolerance = float(stochastic["fill_rate_tolerance"])
        self.max_solves = int(stochastic["max_solves"])
        self.threads = threads
        self.backend = backend
        self._points: tuple[Problem, np.ndarray] | None = None
        self._reference: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._stochastic: tuple[Problem, Problem] | None = None
        self._stochastic_plan: tuple[Problem, Plan] | None = None
        # warm starts (rama.optimize.warm): reference bases per strategy, and whether solves
        # record their final bases into ``warm`` (the scenario runner's base solves do)
        self.warm: dict[str, WarmStart] = {}
        self.record_bases = False
        self.fill_rate_hint: float | None = None  # the reference's penalty raise ($/unit)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for scenario workers without the caches bound to one problem."""
        state = dict(self.__dict__)
        state.update(_points=None, _stochastic=None, _stochastic_plan=None)
        return state

    def demand_points(self, problem: Problem) -> np.ndarray:
        """K demand points per pair from the problem's forecast mean and std (cached).

        Both distributions are scale families, so a forecast that is the first one's mean and
        std times one factor ``f`` (a foreseen demand shock) gets the first points times ``f``
        instead of a new quantile computation (~0.6 s for 50,000 pairs x 20 points).
        """
        cached = self._points
        if cached is not None and cached[0] is problem:  # one problem at a time, held alive
            return cached[1]
        mean = problem.demand
        std = problem.store_products["demand_std"].to_numpy().astype(np.float64)
        pts = self._scaled_reference(mean, std)
        if pts is None:
            pts = demand_points(mean, std, self.points, self.distribution)
            self._reference = (mean, std, pts)
        self._points = (problem, pts)
        return pts

    def _scaled_reference(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray | None:
        ref = self._reference
        if ref is None or ref[0].shape != mean.shape:
            return None
        m0, s0, p0 = ref
        denom = float(np.dot(m0, m0))
        if denom <= 0:
            return None
        f = float(np.dot(mean, m0)) / denom
        same = np.allclose(mean, f * m0, rtol=1e-12, atol=0.0) and np.allclose(
            std, f * s0, rtol=1e-12, atol=0.0
        )
        return p0 * f if same and f >= 0 else None

    def stochastic(self, problem: Problem) -> Problem:
        """The stochastic problem of ``problem`` (cached for the last problem asked)."""
        cached = self._stochastic
        if cached is None or cached[0] is not problem:
            cached = self._stochastic = (
                problem,
                stochastic_problem(problem, self.demand_points(problem)),
            )
        return cached[1]

    def stochastic_plan(self, problem: Problem) -> Plan:
        """The solved stochastic plan of ``problem`` (cached: the fill-rate variant starts
        from it)."""
        cached = self._stochastic_plan
        if cached is None or cached[0] is not problem:
            plan = self.solve(self.stochastic(problem), "stochastic")
            cached = self._stochastic_plan = (problem, plan)
        return cached[1]

    def solve(self, problem: Problem, strategy: str, warm_from: str | None = None) -> Plan:
        """Solve with this context's backend and threads, warm-started from the reference
        bases of ``warm_from`` (default ``strategy``); records them when ``record_bases``."""
        plan = solve(
            problem,
            self.backend,
            self.threads,
            warm_start=self.warm.get(warm_from or strategy),
            record_basis=self.record_bases,
        )
        if self.record_bases and plan.basis is not None and len(plan.basis):
            self.warm[strategy] = plan.basis
        return plan

    def clipped_points(self, problem: Problem) -> np.ndarray:
        """The points the stochastic plan optimizes against (clipped at cap + demand)."""
        pts = self.stochastic(problem).demand_points
        assert pts is not None
        return pts


def do_nothing(problem: Problem, ctx: StrategyContext) -> Decision:
    return Decision.allocation_only("do_nothing", np.zeros(problem.n_pairs))


def order_up_to(problem: Problem, ctx: StrategyContext) -> Decision:
    """Order up to forecast + safety stock, within storage and production capacity."""
    inv, dem = problem.current_inventory, problem.demand
    target = np.minimum(dem + problem.safety_stock, dem + problem.max_capacity)
    want = np.maximum(target - inv, 0.0)
    p = problem.pair_product
    total = np.bincount(p, weights=want, minlength=problem.n_products)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(total > problem.max_production, problem.max_production / total, 1.0)
    return Decision.allocation_only("order_up_to", want * scale[p])


def decentralized_lp(problem: Problem, ctx: StrategyContext) -> Decision:
    plan = solve(without_routes(problem), ctx.backend, ctx.threads)
    return Decision.from_plan("decentralized_lp", plan)


def centralized_lp(problem: Problem, ctx: StrategyContext) -> Decision:
    plan = ctx.solve(problem, "centralized_lp")
    return Decision.from_plan("centralized_lp", plan)


def stochastic(problem: Problem, ctx: StrategyContext) -> Decision:
    plan = ctx.stochastic_plan(problem)
    return Decision.from_plan("stochastic", plan, points=ctx.points)


def stochastic_fill_rate(problem: Problem, ctx: StrategyContext) -> Decision:
    from rama.strategies.fill_rate import fill_rate_plan

    return fill_rate_plan(problem, ctx)


STRATEGY_FUNCTIONS: dict[str, StrategyFn] = {
    "do_nothing": do_nothing,
    "order_up_to": order_up_to,
    "decentralized_lp": decentralized_lp,
    "centralized_lp": centralized_lp,
    "stochastic": stochastic,
    "stochastic_fill_rate": stochastic_fill_rate,
}
STOCHASTIC = frozenset({"stochastic", "stochastic_fill_rate"})
