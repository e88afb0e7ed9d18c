"""The fill-rate-target variant of the stochastic plan.

Target: expected network fill rate ``1 - sum E[stockout] / sum E[demand] >= target`` at the
lowest expected cost. The constraint couples the products; its Lagrangian, a multiplier
``lam`` ($/unit) on expected shortage, is the same as raising every stockout penalty by
``lam``, which keeps each product's LP separable. The expected fill rate is non-decreasing in
``lam``; the smallest ``lam`` meeting the target is found by a safeguarded secant search:

1. ``lam = 0`` (the stochastic plan): done if it meets the target within the tolerance;
2. a first guess: in a scenario sweep the base scenario's answer, else the closed-form
   no-route newsvendor (each pair stocks up to the ``(b + lam - c) / (b + lam + h)``
   quantile of its points; bisection, no LP);
3. full network solves, keeping a bracket ``[lo, hi]`` (fill below / at or above target)
   and stepping by regula falsi (clamped to the middle 80 % of the bracket, doubling ``hi``
   until the target is met), until ``|fill - target| <= stochastic.fill_rate_tolerance`` or
   ``stochastic.max_solves`` solves. The plan returned meets the target when any solve did
   (the one with the smallest ``lam``), else the highest fill reached.
"""

from __future__ import annotations

import numpy as np

from rama.optimize import Plan
from rama.problem import Problem, with_penalty
from rama.strategies.context import StrategyContext
from rama.strategies.decision import Decision

NAME = "stochastic_fill_rate"


def proxy_fill(problem: Problem, points: np.ndarray, lam: float) -> float:
    """Expected fill rate of the no-route newsvendor plan with penalties raised by ``lam``."""
    p = problem.pair_product
    h, b = problem.holding_cost[p], problem.stockout_penalty[p] + lam
    c = problem.manufacturing_cost[p] + problem.distribution_cost[problem.pair_store]
    k = points.shape[1]
    ratio = np.clip((b - c) / np.maximum(b + h, 1e-12), 0.0, 1.0)
    idx = np.clip(np.ceil(ratio * k - 1e-9).astype(np.int64) - 1, 0, k - 1)
    level = np.where(ratio > 0, points[np.arange(points.shape[0]), idx], 0.0)
    avail = np.maximum(problem.current_inventory, np.where(c < b, level, 0.0))
    short = np.maximum(points - avail[:, None], 0.0).mean(axis=1).sum()
    total = points.mean(axis=1).sum()
    return 1.0 - float(short) / float(total) if total > 0 else 1.0


def proxy_lambda(problem: Problem, points: np.ndarray, target: float) -> float:
    """Smallest ``lam`` whose proxy fill rate reaches ``target`` (bisection, $/unit)."""
    hi = max(1.0, float(problem.stockout_penalty.max(initial=1.0)))
    while proxy_fill(problem, points, hi) < target and hi < 1e6:
        hi *= 2.0
    lo = 0.0
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if proxy_fill(problem, points, mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def fill_rate_plan(problem: Problem, ctx: StrategyContext) -> Decision:
    """The stochastic plan meeting the fill-rate target at the lowest expected cost."""
    target, tol = ctx.fill_rate_target, ctx.fill_rate_tolerance
    points = ctx.demand_points(problem)

    def run(lam: float) -> Plan:
        if lam == 0:  # the stochastic strategy's plan (solved once per problem)
            return ctx.stochastic_plan(problem)
        raised = ctx.stochastic_of(with_penalty(problem, lam), points)
        # the matrix of the stochastic plan's LP: start from the reference's raised-penalty
        # bases when recorded (scenario sweeps), else from its stochastic plan's
        known = "stochastic_fill_rate" in ctx.warm
        return ctx.solve(raised, NAME, warm_from=NAME if known else "stochastic")

    history: list[tuple[float, float]] = []
    plans: dict[float, Plan] = {}

    def step(lam: float) -> float:
        plans[lam] = run(lam)
        fill = plans[lam].fill_rate
        history.append((lam, fill))
        return fill

    lo, f_lo = 0.0, step(0.0)
    hi: float | None = None
    f_hi = np.nan
    # first guess: the reference scenario's answer when there is one (scenario sweeps: the
    # base's), else the closed-form newsvendor proxy
    hint = ctx.fill_rate_hint
    lam = hint if hint else proxy_lambda(problem, ctx.clipped_points(problem), target)
    while abs(history[-1][1] - target) > tol and len(history) < ctx.max_solves:
        if f_lo >= target:  # lam = 0 already meets it
            break
        f = step(lam)
        if f >= target:
            hi, f_hi = lam, f
        else:
            lo, f_lo = lam, f
        if abs(f - target) <= tol:
            break
        if hi is None:
            lam = max(2.0 * lam, lam + 0.5)
            continue
        width = hi - lo
        guess = lo + (target - f_lo) * width / max(f_hi - f_lo, 1e-12)
        lam = float(np.clip(guess, lo + 0.1 * width, hi - 0.1 * width))
    meets = [(lam_, f) for lam_, f in history if f >= target - tol]
    # met (within tol): the lowest lam among them; else the highest fill reached
    chosen = min(meets)[0] if meets else max(history, key=lambda x: x[1])[0]
    plan = plans[chosen]
    if ctx.record_bases and meets:
        ctx.fill_rate_hint = chosen
    return Decision.from_plan(
        "stochastic_fill_rate",
        plan,
        fill_rate_target=target,
        penalty_raise=chosen,
        expected_fill_rate=plan.fill_rate,
        solves=len(history),
        search=[{"penalty_raise": a, "expected_fill_rate": b} for a, b in history],
    )
