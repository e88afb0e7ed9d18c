"""The strategies compared in one run, each a :class:`~rama.strategies.Decision`.

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

import numpy as np

from rama.optimize import solve
from rama.problem import Problem, without_routes
from rama.strategies.context import StrategyContext
from rama.strategies.decision import Decision
from rama.strategies.fill_rate import fill_rate_plan

StrategyFn = Callable[[Problem, StrategyContext], Decision]


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
    plan = solve(without_routes(problem), ctx.backend, ctx.threads, lot=ctx.lot, check=ctx.check)
    return Decision.from_plan("decentralized_lp", plan)


def centralized_lp(problem: Problem, ctx: StrategyContext) -> Decision:
    plan = ctx.solve(problem, "centralized_lp")
    return Decision.from_plan("centralized_lp", plan)


def stochastic(problem: Problem, ctx: StrategyContext) -> Decision:
    plan = ctx.stochastic_plan(problem)
    return Decision.from_plan("stochastic", plan, points=ctx.points)


def stochastic_fill_rate(problem: Problem, ctx: StrategyContext) -> Decision:
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
