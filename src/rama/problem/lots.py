"""Plans in whole units or lots: a problem's quantities rounded onto the lot grid.

The per-product LP is a network flow (docs/optimizer.md, "Whole units and lots"): when every
quantity it reads is a multiple of the lot, every basic optimal solution is a multiple of the
lot too, so no branch and bound is needed. :func:`on_lot_grid` rounds a problem's inputs onto
that grid, one documented rule per input; :func:`off_grid_inputs` names the inputs that are
not on it (``rama.optimize.solve`` refuses to snap a plan of such a problem).

Rounding rules (``lot`` units, ``L = lot``; a grid value is ``k L`` with integer ``k``):

- ``demand`` and the stochastic ``demand_points``: to the nearest grid value (halves up).
  Demand is a forecast, no bias either way.
- ``current_inventory``: down (default). Stock that is not a whole lot cannot be shipped or
  counted on as a lot; the plan never relies on stock the store does not have. Measured cost:
  on the full-scale synthetic problem (inventory on a 0.1 grid, median 4 units) this rule
  alone is ~96% of the cost of rounding to whole units (it discards ~0.45 units a pair,
  then made at the plant; benchmarks/bench_lots.py). ``inventory="nearest"`` is unbiased
  instead, at a risk: a plan may then ship up to half a lot the store does not have above its
  safety stock. Real counts of whole units are on the grid already: both rules agree.
- ``safety_stock``: up, so the C2 ship-out limit ``max(0, inv - ss)`` is a grid value that
  never exceeds the unrounded one (a plan never cuts into the real safety stock).
- ``max_capacity``: down (a plan never fills a store beyond its real capacity), but never
  below the grid value the store needs on its own: C5 asks ``inv - out - d + u <= cap`` with
  ``out <= max(0, inv - ss)``, so a store keeps at least ``min(inv, ss) - d``; after rounding
  ``inv`` down and ``ss`` up that may exceed the rounded capacity, which would make a feasible
  problem infeasible. The capacity is then raised to ``max(0, min(inv, ss) - d)`` (a grid
  value, at most 1.5 lots above the real capacity). Feasibility of the whole network (room
  at the receivers of forced shipments) is not re-established: a rounded problem that is
  infeasible raises :class:`rama.errors.InfeasibleError` with the pairs at fault, like any.
- ``max_production``: down (never plan more than the plant can make).
- ``inf`` (unlimited capacity or production) stays ``inf``; ``demand_std`` and every cost are
  unchanged (they are not quantities of the LP).

A stochastic problem (``demand_points``, :func:`rama.problem.stochastic_problem`) stores the
mean of its points as ``demand`` and ``cap + demand - mean`` as ``max_capacity``. Its grid
form is re-derived: ``A_cap = max_capacity + demand`` (C5's bound on the available stock)
rounded down (at least ``min(inv, ss)``, the same rule as above), the points rounded to the
nearest grid value and clipped at ``A_cap``, then ``demand`` = their mean and
``max_capacity = A_cap - mean`` as :func:`stochastic_problem` does. The LP then reads grid
values only: ``inv - d_1``, the segment widths ``d_k+1 - d_k`` and the room above the top
point ``A_cap - d_K``. The expected stockout and ending inventory of a stochastic plan are
means over the K points, multiples of ``lot / K``, not of the lot.

Floats: a value counts as a grid value within ``1e-9`` lots (``0.3 / 0.1`` is not exactly 3);
``round down`` and ``round up`` use that tolerance, so a value already on the grid stays put
and :func:`on_lot_grid` is idempotent.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from rama.problem.model import Problem
from rama.problem.stochastic import room_above_top, stochastic_problem

GRID_TOL = 1e-9  # lots: a value this close to a grid value is on the grid


def _check_lot(lot: float) -> float:
    lot = float(lot)
    if not (np.isfinite(lot) and lot > 0):
        raise ValueError(f"lot must be a finite number > 0 (units), got {lot!r}")
    return lot


def grid_nearest(x: np.ndarray, lot: float) -> np.ndarray:
    """``x`` (units) to the nearest multiple of ``lot``, halves up; ``inf`` stays."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.floor(x / lot + 0.5 + GRID_TOL) * lot
    return np.where(np.isinf(x), x, out)


def grid_down(x: np.ndarray, lot: float) -> np.ndarray:
    """``x`` (units) down to a multiple of ``lot`` (within ``GRID_TOL`` lots); ``inf`` stays."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.floor(x / lot + GRID_TOL) * lot
    return np.where(np.isinf(x), x, out)


def grid_up(x: np.ndarray, lot: float) -> np.ndarray:
    """``x`` (units) up to a multiple of ``lot`` (within ``GRID_TOL`` lots); ``inf`` stays."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.ceil(x / lot - GRID_TOL) * lot + 0.0  # no -0.0
    return np.where(np.isinf(x), x, out)


def off_grid(x: np.ndarray, lot: float, tol: float = GRID_TOL) -> np.ndarray:
    """Mask of the finite values of ``x`` further than ``tol`` lots from the lot grid."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        k = x / lot
        return np.asarray(np.isfinite(x) & (np.abs(k - np.round(k)) > tol))


def _storage_rule(a_cap: np.ndarray, inv: np.ndarray, ss: np.ndarray, lot: float) -> np.ndarray:
    """C5's bound on the available stock ``A_cap = cap + d`` rounded down, but at least the
    stock the store cannot ship (``min(inv, ss)``, grid values); ``inf`` stays."""
    return np.asarray(np.maximum(grid_down(a_cap, lot), np.minimum(inv, ss)))


def on_lot_grid(problem: Problem, lot: float, inventory: str = "down") -> Problem:
    """``problem`` with every quantity input on multiples of ``lot`` units (module doc).

    Costs, ids and routes are unchanged; deterministic and stochastic problems alike.
    ``inventory``: ``"down"`` (default) or ``"nearest"``, the rule for current inventory.

    Examples
    --------
    >>> import polars as pl
    >>> from rama.problem import make_problem
    >>> sp = pl.DataFrame({"store_id": [1, 2], "product_id": [1, 1],
    ...     "demand": [2.5, 6.4], "demand_std": [0.0, 0.0], "current_inventory": [10.7, 0.9],
    ...     "safety_stock": [1.2, 0.0], "max_capacity": [20.9, float("inf")]})
    >>> pr = pl.DataFrame({"product_id": [1], "holding_cost": [0.5],
    ...     "stockout_penalty": [2.5], "manufacturing_cost": [1.0], "max_production": [7.9]})
    >>> st = pl.DataFrame({"store_id": [1, 2], "distribution_cost": [0.5, 0.5]})
    >>> pb = on_lot_grid(make_problem(sp, pr, st, [[0.0, 0.25], [0.25, 0.0]]), 1.0)
    >>> pb.demand.tolist(), pb.current_inventory.tolist(), pb.safety_stock.tolist()
    ([3.0, 6.0], [10.0, 0.0], [2.0, 0.0])
    >>> pb.max_capacity.tolist(), pb.max_production.tolist()
    ([20.0, inf], [7.0])
    """
    lot = _check_lot(lot)
    if inventory not in ("down", "nearest"):
        raise ValueError(f'inventory must be "down" or "nearest", got {inventory!r}')
    rule = grid_down if inventory == "down" else grid_nearest
    inv = rule(problem.current_inventory, lot)
    ss = grid_up(problem.safety_stock, lot)
    products = problem.products.with_columns(max_production=grid_down(problem.max_production, lot))
    if problem.demand_points is None:
        d = grid_nearest(problem.demand, lot)
        need = np.maximum(np.minimum(inv, ss) - d, 0.0)  # C5 with the most shipped out
        cap = np.maximum(grid_down(problem.max_capacity, lot), need)  # inf stays inf
        sp = problem.store_products.with_columns(
            pl.Series("demand", d),
            pl.Series("current_inventory", inv),
            pl.Series("safety_stock", ss),
            pl.Series("max_capacity", cap),
        )
        return replace(problem, store_products=sp, products=products)
    # stochastic: re-derive from C5's bound on the available stock (module doc)
    a_cap = problem.max_capacity + problem.demand
    pts = grid_nearest(problem.demand_points, lot)
    a_cap = _storage_rule(a_cap, inv, ss, lot)
    sp = problem.store_products.with_columns(
        pl.Series("demand", np.zeros(problem.n_pairs)),
        pl.Series("current_inventory", inv),
        pl.Series("safety_stock", ss),
        pl.Series("max_capacity", a_cap),
    )
    base = replace(problem, store_products=sp, products=products, demand_points=None)
    return stochastic_problem(base, pts)


def off_grid_inputs(problem: Problem, lot: float) -> list[str]:
    """Names of the LP inputs of ``problem`` that are not on the ``lot`` grid (empty: the
    lot-grid LP's basic solutions are lot multiples, docs/optimizer.md)."""
    lot = _check_lot(lot)
    checks: dict[str, np.ndarray] = {
        "current_inventory": problem.current_inventory,
        "safety_stock": problem.safety_stock,
        "max_production": problem.max_production,
        "max_transfer_out": problem.max_transfer_out,
    }
    if problem.demand_points is None:
        checks["demand"] = problem.demand
        checks["max_capacity"] = problem.max_capacity
    else:
        checks["demand_points"] = problem.demand_points
        # room above the top point: cap + mean - d_K carries the mean's float rounding
        checks["room_above_top"] = room_above_top(problem)
    loose = {"room_above_top": 1e-6}
    return [k for k, v in checks.items() if off_grid(v, lot, loose.get(k, GRID_TOL)).any()]


ROUNDING_COST_MAX_PAIRS = 100_000
"""``plan.rounding_cost = "auto"`` solves the continuous plan up to this many pairs."""


def rounding_cost_skipped(setting: str, n_pairs: int, lot: float) -> str | None:
    """Why the continuous plan beside a lot plan is not solved (None: it is solved).

    ``setting`` is ``plan.rounding_cost``: ``"always"``, ``"never"``, or ``"auto"`` (solved
    for at most :data:`ROUNDING_COST_MAX_PAIRS` store-product pairs: it is one more solve
    as long as the lot plan's, for a figure that is a few hundredths of a percent on
    FreshRetailNet's default). ``lot <= 0``: there is no rounding, nothing is solved.

    >>> rounding_cost_skipped("auto", 50_000, 0.1) is None
    True
    >>> print(rounding_cost_skipped("auto", 500_000, 0.1))  # doctest: +NORMALIZE_WHITESPACE
    plan.rounding_cost = "auto" and 500,000 store-product pairs > 100,000: the continuous
    plan was not solved; set plan.rounding_cost = "always" to solve it (one more solve as
    long as the plan's)
    >>> rounding_cost_skipped("never", 10, 1.0)
    'plan.rounding_cost = "never": the continuous plan was not solved'
    """
    if setting not in ("auto", "always", "never"):
        raise ValueError(f'plan.rounding_cost must be "auto", "always" or "never", got {setting!r}')
    if lot <= 0 or setting == "always":
        return None
    if setting == "never":
        return 'plan.rounding_cost = "never": the continuous plan was not solved'
    if n_pairs <= ROUNDING_COST_MAX_PAIRS:
        return None
    return (
        f'plan.rounding_cost = "auto" and {n_pairs:,} store-product pairs > '
        f"{ROUNDING_COST_MAX_PAIRS:,}: the continuous plan was not solved; set "
        'plan.rounding_cost = "always" to solve it (one more solve as long as the plan\'s)'
    )
