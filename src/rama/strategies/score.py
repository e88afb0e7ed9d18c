"""Score a decision (allocation + transfers) against a demand: realized or expected cost.

Per store-product pair, available stock ``A = inv + transfer_in - transfer_out + allocate``;
for each demand value ``d``: stockout ``max(0, d - A)``, ending inventory ``max(0, A - d)``.
The cost uses the plan's own terms ($):

    holding x ending + penalty x stockout + transport + manufacturing x sum(allocate)
    + distribution x allocate

A demand given as ``n x K`` equiprobable points gives the *expected* figures (the mean over the
points). Fill rate = 1 - stockout / demand (1 when there is no demand); cycle service level =
share of pairs with no stockout (the expected share over the points).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from rama.problem import Problem
from rama.rules import COST_COMPONENTS as COMPONENTS
from rama.strategies.decision import Decision

EPS = 1e-9  # units: a smaller stockout is none


def score(decision: Decision, problem: Problem, demand: np.ndarray) -> dict[str, float]:
    """Cost, fill rate and cycle service level of ``decision`` under ``demand``.

    Parameters
    ----------
    decision : Decision
        Allocation ``a`` and transfers in / out per pair (units), and the transfers' cost ($).
    problem : Problem
        Current inventory ``inv`` (units) and the cost terms: holding ``h`` and stockout
        penalty ``b`` per product ($/unit), manufacturing ``mc`` ($/unit), distribution
        ``dist`` per store ($/unit).
    demand : array_like
        ``n`` demand values per pair in ``problem.store_products`` order (units), or an
        ``n x K`` array of equiprobable points (the figures are then expectations).

    Returns
    -------
    dict
        ``holding``, ``stockout``, ``transport``, ``manufacturing``, ``distribution`` and
        ``total`` ($); ``fill_rate`` (1 - stockout units / demand units) and
        ``cycle_service_level`` (share of pairs with no stockout); ``demand_units``,
        ``stockout_units``, ``ending_units``, ``units_transferred``, ``units_manufactured``.

    Examples
    --------
    Two stores hold 4 and 6 units of one product; 10 and 2 units are demanded. Doing nothing
    leaves 6 units short at the first ($2.50 each) and 4 on the shelf at the second ($0.70):

    >>> import polars as pl
    >>> from rama.problem import make_problem
    >>> from rama.strategies import Decision
    >>> problem = make_problem(
    ...     pl.DataFrame({"store_id": [1, 2], "product_id": [7, 7], "demand": [10.0, 2.0],
    ...                   "demand_std": [0.0, 0.0], "current_inventory": [4.0, 6.0],
    ...                   "safety_stock": [0.0, 0.0], "max_capacity": [20.0, 20.0]}),
    ...     pl.DataFrame({"product_id": [7], "holding_cost": [0.7], "stockout_penalty": [2.5],
    ...                   "manufacturing_cost": [1.0], "max_production": [100.0]}),
    ...     pl.DataFrame({"store_id": [1, 2], "distribution_cost": [0.2, 0.2]}),
    ...     np.full((2, 2), np.inf),
    ... )
    >>> fig = score(Decision.allocation_only("do_nothing", np.zeros(2)), problem, [10.0, 2.0])
    >>> round(fig["stockout"], 2), round(fig["holding"], 2), round(fig["total"], 2)
    (15.0, 2.8, 17.8)
    >>> fig["fill_rate"], fig["cycle_service_level"]
    (0.5, 0.5)
    """
    return score_position(decision, problem, position(decision.available(problem), demand))


@dataclass(frozen=True, eq=False)
class Position:
    """Per pair, means over a demand's columns (units): ``demand`` ``d``, ``stockout``
    ``max(0, d - A)``, ``ending`` ``max(0, A - d)``, and ``no_stockout``, the share of columns
    with ``d - A <= EPS`` (0-1)."""

    demand: np.ndarray
    stockout: np.ndarray
    ending: np.ndarray
    no_stockout: np.ndarray


CHUNK_PAIRS = 4096  # pairs per block of an n x S demand: each temporary is CHUNK_PAIRS x S
THREAD_VALUES = 4_000_000  # demand values (n x S) from which the blocks run on every core


def position(available: np.ndarray, demand: np.ndarray, scale: float = 1.0) -> Position:
    """:class:`Position` of the stock ``available`` (units per pair) under ``demand`` x
    ``scale`` (``n`` values or ``n x S`` equiprobable ones, units).

    Computed CHUNK_PAIRS pairs at a time, so that an ``n x S`` demand needs no ``n x S``
    temporary; every figure is a per-pair mean, so the result is the one of the whole array
    at once, to the bit. From THREAD_VALUES demand values on, the blocks are shared by one
    thread per core (numpy releases the GIL; each block writes only its own rows, so the
    result is the same bits)."""
    d = np.asarray(demand, dtype=np.float64)
    if d.ndim == 1:
        d = d[:, None]
    avail = np.asarray(available, dtype=np.float64)
    n = d.shape[0]
    if avail.shape[0] != n:
        raise ValueError(f"demand has {n} rows, the problem {avail.shape[0]} pairs")
    out = Position(np.empty(n), np.empty(n), np.empty(n), np.empty(n))

    def fill(a: int) -> None:
        b = min(a + CHUNK_PAIRS, n)
        block = d[a:b] if scale == 1.0 else d[a:b] * scale  # x 1.0 changes no value
        out.demand[a:b] = block.mean(axis=1)
        diff = block - avail[a:b, None]
        out.stockout[a:b] = np.maximum(diff, 0.0).mean(axis=1)
        out.ending[a:b] = np.maximum(-diff, 0.0).mean(axis=1)
        out.no_stockout[a:b] = (diff <= EPS).mean(axis=1)

    starts = range(0, n, CHUNK_PAIRS)
    workers = min(os.cpu_count() or 1, len(starts)) if d.size >= THREAD_VALUES else 1
    if workers <= 1:
        for a in starts:
            fill(a)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fill, starts))
    return out


def score_position(decision: Decision, problem: Problem, pos: Position) -> dict[str, float]:
    """:func:`score` of ``decision`` from its :class:`Position` under the demand."""
    short, ending, no_short = pos.stockout, pos.ending, pos.no_stockout
    p = problem.pair_product
    units_made = float(decision.allocate.sum())
    out: dict[str, float] = {
        "holding": float(np.dot(problem.holding_cost[p], ending)),
        "stockout": float(np.dot(problem.stockout_penalty[p], short)),
        "transport": float(decision.transport_cost),
        "manufacturing": float(np.dot(problem.manufacturing_cost[p], decision.allocate)),
        "distribution": float(
            np.dot(problem.distribution_cost[problem.pair_store], decision.allocate)
        ),
    }
    out["total"] = float(sum(out[c] for c in COMPONENTS))
    total_d = float(pos.demand.sum())
    out["demand_units"] = total_d
    out["stockout_units"] = float(short.sum())
    out["ending_units"] = float(ending.sum())
    out["fill_rate"] = 1.0 - out["stockout_units"] / total_d if total_d > 0 else 1.0
    out["cycle_service_level"] = float(no_short.mean()) if no_short.size else 1.0
    out["units_transferred"] = float(decision.units_transferred)
    out["units_manufactured"] = units_made
    return out
