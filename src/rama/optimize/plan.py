"""The optimizer's output in memory: a typed :class:`Plan` and its cost breakdown.

A backend returns a :class:`RawSolution` (solver values); :func:`polish` turns it into a plan
whose constraints hold to rounding: negative noise and transfers below ``1e-9`` units are
dropped, ``ending_inventory`` is recomputed from C1, ``manufacture`` from C3, and where both
ending inventory and stockout (or allocation) are positive at one pair the overlap is removed
(it only adds cost). The objective is then recomputed from the polished values. For a
stochastic problem (``demand_points``) stockout and ending inventory are the *expected* values
of the available stock over the demand points (C1 then holds with ``demand`` = their mean).

Lot plans (``lot > 0``, the problem on the lot grid, :mod:`rama.problem.lots`): every basic
solution of the LP is a lot multiple (docs/optimizer.md, "Whole units and lots"), so each
solver value within ``SNAP_TOL`` lots of the grid is snapped exactly onto it before the
polish, and C1's ending inventory (and the manufacture, the sum of the allocations) onto it
after; a value further off raises :class:`PlanCheckError` (the claim failed: never hidden).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from rama.errors import PlanCheckError
from rama.optimize.warm import WarmStart
from rama.problem.model import Problem
from rama.problem.stochastic import expected_position
from rama.rules import COST_COMPONENTS as COMPONENTS

QTY_EPS = 1e-9  # units; smaller solver values are noise
SNAP_TOL = 1e-6  # lots: a lot plan's solver value this close to the grid is snapped onto it


@dataclass
class RawSolution:
    """Backend values: per pair (``problem.store_products`` order), per product, per route."""

    ending_inventory: np.ndarray
    stockout: np.ndarray
    allocate: np.ndarray
    manufacture: np.ndarray
    t_from: np.ndarray  # pair position of the sending store
    t_to: np.ndarray  # pair position of the receiving store
    t_qty: np.ndarray
    t_cost: np.ndarray  # $/unit
    min_reduced_cost: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    basis: WarmStart | None = None  # final simplex bases, when recorded
    # marginal values from the LP's duals (HiGHS only; None otherwise), $ saved per unit
    production_value: np.ndarray | None = None  # per product: +1 unit of max_production
    storage_value: np.ndarray | None = None  # per pair: +1 unit of max_capacity


@dataclass(frozen=True, eq=False)
class Plan:
    """An optimal plan for ``problem`` (arrays aligned with its tables)."""

    problem: Problem
    backend: str
    status: str
    allocate: np.ndarray  # per pair (units)
    stockout: np.ndarray
    ending_inventory: np.ndarray
    transfer_in: np.ndarray
    transfer_out: np.ndarray
    manufacture: np.ndarray  # per product (units)
    t_from: np.ndarray  # pair positions
    t_to: np.ndarray
    t_qty: np.ndarray
    t_cost: np.ndarray
    solve_seconds: float
    min_reduced_cost: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    basis: WarmStart | None = None  # the solve's final bases (rama.optimize.warm), if recorded
    lot_size: float = 0.0  # units; > 0: every quantity is a multiple of it (0 = continuous)
    # $ the optimum would fall by per unit of extra capacity (the LP's duals; None = unknown)
    production_value: np.ndarray | None = None  # per product: +1 unit of max_production (C4)
    storage_value: np.ndarray | None = None  # per pair: +1 unit of max_capacity (C5)

    def cost_breakdown(self) -> dict[str, float]:
        """Objective components ($) and their total."""
        pb = self.problem
        p = pb.pair_product
        parts = {
            "holding": float(np.dot(pb.holding_cost[p], self.ending_inventory)),
            "stockout": float(np.dot(pb.stockout_penalty[p], self.stockout)),
            "transport": float(np.dot(self.t_cost, self.t_qty)),
            "manufacturing": float(np.dot(pb.manufacturing_cost, self.manufacture)),
            "distribution": float(np.dot(pb.distribution_cost[pb.pair_store], self.allocate)),
        }
        parts["total"] = float(sum(parts[c] for c in COMPONENTS))
        return parts

    @property
    def objective(self) -> float:
        return self.cost_breakdown()["total"]

    @property
    def fill_rate(self) -> float:
        """Network fill rate 1 - stockout / demand (1.0 when there is no demand)."""
        d = float(self.problem.demand.sum())
        return 1.0 - float(self.stockout.sum()) / d if d > 0 else 1.0

    def summary(self) -> dict[str, Any]:
        """The figures written to summary.json."""
        costs = self.cost_breakdown()
        out: dict[str, Any] = {
            "status": self.status,
            "backend": self.backend,
            "objective": costs["total"],
            "costs": costs,
            "fill_rate": self.fill_rate,
            "units_demanded": float(self.problem.demand.sum()),
            "units_stocked_out": float(self.stockout.sum()),
            "units_transferred": float(self.t_qty.sum()),
            "units_manufactured": float(self.manufacture.sum()),
            "number_of_transfers": int(self.t_qty.size),
            "solve_seconds": self.solve_seconds,
            "n_stores": self.problem.n_stores,
            "n_products": self.problem.n_products,
            "n_store_products": self.problem.n_pairs,
            "min_reduced_cost": self.min_reduced_cost,
        }
        if self.lot_size > 0:
            out["lot_size"] = self.lot_size
        out.update(self.stats)
        return out


def snap(x: np.ndarray, lot: float, what: str) -> np.ndarray:
    """``x`` (units) snapped onto multiples of ``lot``; raises when a value is more than
    ``SNAP_TOL`` lots off the grid (module doc)."""
    x = np.asarray(x, dtype=np.float64)
    k = np.round(x / lot)
    off = np.abs(x / lot - k)
    if off.size and float(off.max()) > SNAP_TOL:
        bad = np.flatnonzero(off > SNAP_TOL)
        raise PlanCheckError(
            f"lot plan: {bad.size} {what} value(s) off the grid of lot {lot:g} units by more "
            f"than {SNAP_TOL:g} lots, e.g. {x[bad[:3]].tolist()}",
            fix="solve the problem on the lot grid (rama.problem.lots.on_lot_grid) with a "
            "basic (simplex) solution",
        )
    return np.asarray(np.maximum(k, 0.0) * lot + 0.0)  # + 0.0: no -0.0 written


def polish(
    problem: Problem, raw: RawSolution, backend: str, seconds: float, lot: float = 0.0
) -> Plan:
    """Clean solver noise and restore C1 and C3 exactly (see module doc); with ``lot > 0``
    snap every quantity onto the lot grid."""
    if lot > 0:
        raw = replace(
            raw,
            t_qty=snap(raw.t_qty, lot, "transfer"),
            stockout=snap(raw.stockout, lot, "stockout"),
            allocate=snap(raw.allocate, lot, "allocation"),
        )
    keep = raw.t_qty > QTY_EPS
    t_from, t_to = raw.t_from[keep], raw.t_to[keep]
    t_qty, t_cost = raw.t_qty[keep], raw.t_cost[keep]
    order = np.lexsort((t_to, t_from))
    t_from, t_to, t_qty, t_cost = t_from[order], t_to[order], t_qty[order], t_cost[order]
    n = problem.n_pairs
    t_in = np.bincount(t_to, weights=t_qty, minlength=n)
    t_out = np.bincount(t_from, weights=t_qty, minlength=n)
    u = np.where(raw.stockout > QTY_EPS, raw.stockout, 0.0)
    a = np.where(raw.allocate > QTY_EPS, raw.allocate, 0.0)
    if problem.demand_points is not None:
        # stochastic plan: expected stockout and ending stock of the available stock
        available = np.maximum(problem.current_inventory + t_in - t_out + a, 0.0)
        u, e = expected_position(problem.demand_points, available)
    else:
        base = problem.current_inventory + t_in - t_out - problem.demand
        e = base + a + u
        # remove overlaps (ending inventory together with stockout or allocation)
        cut_u = np.minimum(u, np.maximum(e, 0.0))
        u, e = u - cut_u, e - cut_u
        cut_a = np.minimum(a, np.maximum(e, 0.0))
        a, e = a - cut_a, e - cut_a
        short = np.where(e < -QTY_EPS, -e, 0.0)  # below zero beyond noise: counted as stockout
        u, e = u + short, np.maximum(e, 0.0)
    m = np.bincount(problem.pair_product, weights=a, minlength=problem.n_products)
    if lot > 0:  # sums of grid values: exact grid values again (float rounding only)
        t_in, t_out = snap(t_in, lot, "transfer in"), snap(t_out, lot, "transfer out")
        m = snap(m, lot, "manufacture")
        if problem.demand_points is None:
            u, e = snap(u, lot, "stockout"), snap(e, lot, "ending inventory")
    return Plan(
        problem=problem,
        backend=backend,
        status="optimal",
        allocate=a,
        stockout=u,
        ending_inventory=e,
        transfer_in=t_in,
        transfer_out=t_out,
        manufacture=m,
        t_from=t_from,
        t_to=t_to,
        t_qty=t_qty,
        t_cost=t_cost,
        solve_seconds=seconds,
        min_reduced_cost=raw.min_reduced_cost,
        stats=dict(raw.stats),
        basis=raw.basis,
        lot_size=float(lot),
        production_value=raw.production_value,
        storage_value=raw.storage_value,
    )
