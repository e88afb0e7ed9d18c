"""Explain an infeasible problem as the store-product pairs at fault, and why.

Only C5 (storage capacity) can make this model infeasible: stockout is unbounded, so demand
can always be "met". A store whose ``current_inventory - demand`` exceeds ``max_capacity``
must ship the excess out, which C2 (``max(0, inv - ss)``), missing routes or full receivers
can forbid. The diagnosis solves, per product at risk, the feasibility LP (every cost 0, a
disposal column at each over-full store, cost 1 per unit); its optimum is the least stock no
plan can place, and the stores left with disposal are the culprits.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rama.errors import InfeasibleError
from rama.optimize.colgen import solve_block
from rama.optimize.lp_model import production_may_bind
from rama.problem.model import Problem

UNITS_EPS = 1e-7


def _reason(excess: float, max_transfer_out: float, has_route: bool) -> str:
    if max_transfer_out + UNITS_EPS < excess:
        return (
            f"must ship out {excess:.6g} units (inventory - demand - capacity) but safety "
            f"stock leaves only {max_transfer_out:.6g} units shippable (C2)"
        )
    if not has_route:
        return "no route to any other store carrying this product"
    return "the stores it can reach have no room left (their capacity is full)"


def diagnose(problem: Problem, products: np.ndarray | None = None) -> list[dict[str, Any]]:
    """The pairs whose stock no plan can place: ids, the figures and a reason (units)."""
    over = problem.current_inventory - problem.demand - problem.max_capacity
    if products is None:
        products = np.unique(problem.pair_product[over > 0])
    general = production_may_bind(problem)
    rows: list[dict[str, Any]] = []
    for k in np.asarray(products, dtype=np.int64):
        res = solve_block(problem, np.array([k]), general, phase1=True)
        for loc in np.flatnonzero(res.disposal > UNITS_EPS):
            q = int(res.pairs[loc])
            same = res.pairs[res.pairs != q]
            costs = problem.transport.block(problem.pair_store[[q]], problem.pair_store[same])
            rows.append(
                {
                    "store_id": int(problem.store_ids[problem.pair_store[q]]),
                    "product_id": int(problem.product_ids[k]),
                    "current_inventory": float(problem.current_inventory[q]),
                    "demand": float(problem.demand[q]),
                    "max_capacity": float(problem.max_capacity[q]),
                    "safety_stock": float(problem.safety_stock[q]),
                    "excess_units": float(over[q]),
                    "max_transfer_out": float(problem.max_transfer_out[q]),
                    "unplaceable_units": float(res.disposal[loc]),
                    "reason": _reason(
                        float(over[q]),
                        float(problem.max_transfer_out[q]),
                        bool(np.isfinite(costs).any()),
                    ),
                }
            )
    return rows


def infeasible_error(problem: Problem, products: np.ndarray | None = None) -> InfeasibleError:
    """An :class:`InfeasibleError` naming the pairs at fault (see :func:`diagnose`)."""
    pairs = diagnose(problem, products)
    if not pairs:
        return InfeasibleError(
            f"{problem.source}: the solver reports the model infeasible but no store holds "
            "more than its capacity plus demand; check the inputs for extreme values"
        )
    shown = "; ".join(
        f"store {p['store_id']} product {p['product_id']}: {p['reason']} "
        f"({p['unplaceable_units']:.6g} units cannot be placed)"
        for p in pairs[:5]
    )
    more = f" (and {len(pairs) - 5} more)" if len(pairs) > 5 else ""
    return InfeasibleError(
        f"{problem.source}: no feasible plan; {len(pairs)} store-product pair"
        f"{'s' if len(pairs) != 1 else ''} hold more stock than they can keep or send away: "
        f"{shown}{more}. Fix: raise max_capacity, lower safety_stock or add routes for "
        "these pairs",
        pairs,
    )
