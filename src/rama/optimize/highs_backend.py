"""HiGHS backend: set-up of a HiGHS instance and the results read back from it.

Every constraint belongs to one product, so the LP separates by product. A *block* is one
large product, or a few small ones side by side (block-diagonal: one HiGHS call per round
instead of one per product). The backend is four modules, each with one job:

- :mod:`rama.optimize.blocks` packs the products into blocks;
- :mod:`rama.optimize.colgen` solves one block by exact column generation (its LP from
  :mod:`rama.optimize.lp_model`, city hubs from :mod:`rama.optimize.hubs`, route pricing
  from :mod:`rama.optimize.pricing`);
- :mod:`rama.optimize.pool` runs the blocks in forked worker processes;
- this module makes the HiGHS instances, reads a solved block back (:class:`BlockResult`)
  and assembles the blocks' results into one :class:`RawSolution` (:func:`collect`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from rama.optimize.hubs import HubColumns, hub_transfers
from rama.optimize.lp_model import ALLOCATE, DISPOSAL, MANUFACTURE, STOCKOUT, BlockLP
from rama.optimize.plan import RawSolution
from rama.optimize.warm import BlockBasis, WarmStart
from rama.problem.model import Problem

DUAL_SIMPLEX_FROM = 300  # products reaching more stores are solved by the dual simplex
_BANNER = {"shown": False}  # HiGHS prints a banner on fd 1 when its first instance is made


def new_highs(dual_simplex: bool = False) -> highspy.Highs:
    """A silent, single-threaded HiGHS instance with tight tolerances: primal simplex, or the
    dual simplex with Devex pricing when ``dual_simplex``. Always the simplex (``solver``
    fixed, never the interior point method) without presolve: every solve ends at a basic
    optimal solution, which lot plans rely on (docs/optimizer.md, "Whole units and lots")."""
    if not _BANNER["shown"]:
        saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            h = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _BANNER["shown"] = True
    else:
        h = highspy.Highs()
    for key, val in (
        ("output_flag", False),
        ("threads", 1),
        ("presolve", "off"),
        ("solver", "simplex"),
        ("simplex_strategy", 1 if dual_simplex else 4),
        ("primal_feasibility_tolerance", 1e-9),
        ("dual_feasibility_tolerance", 1e-10),
    ):
        h.setOptionValue(key, val)
    if dual_simplex:
        h.setOptionValue("simplex_dual_edge_weight_strategy", 1)
    return h


def use_dual_simplex(problem: Problem, model: BlockLP) -> bool:
    """The dual simplex (Devex) for blocks with a product reaching more than
    DUAL_SIMPLEX_FROM stores and for every stochastic block (measured: the segment columns
    take the primal simplex ~3x the iterations, benchmarks/bench_optimize.py)."""
    large = max(b - a for a, b in model.spans) > DUAL_SIMPLEX_FROM
    return large or problem.demand_points is not None


def _no_ints() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


def _no_floats() -> np.ndarray:
    return np.zeros(0)


@dataclass
class BlockResult:
    """Solution of one block, indexed by global pair / product positions."""

    pairs: np.ndarray
    products: np.ndarray
    status: str
    ending_inventory: np.ndarray = field(default_factory=_no_floats)
    stockout: np.ndarray = field(default_factory=_no_floats)
    allocate: np.ndarray = field(default_factory=_no_floats)
    manufacture: np.ndarray = field(default_factory=_no_floats)
    disposal: np.ndarray = field(default_factory=_no_floats)
    t_from: np.ndarray = field(default_factory=_no_ints)  # pair position of the sender
    t_to: np.ndarray = field(default_factory=_no_ints)  # pair position of the receiver
    t_qty: np.ndarray = field(default_factory=_no_floats)
    t_cost: np.ndarray = field(default_factory=_no_floats)  # $/unit
    min_reduced_cost: float = np.inf
    pricing_rounds: int = 0
    routes_in_lp: int = 0
    hub_columns: int = 0
    warm_started: bool = False
    restarts: int = 0  # simplex restarts after a status neither optimal nor infeasible
    basis: BlockBasis | None = None
    routes_priced: int = 0
    simplex_iterations: int = 0
    seconds: float = 0.0
    production_value: np.ndarray = field(default_factory=_no_floats)  # per product, $/unit
    storage_value: np.ndarray = field(default_factory=_no_floats)  # per pair, $/unit


VALUE_EPS = 1e-9  # $/unit: smaller marginal values are solver noise


def marginal_values(h: highspy.Highs, model: BlockLP) -> tuple[np.ndarray, np.ndarray]:
    """Per local product and per local pair, what one more unit of production capacity (C4)
    and of storage capacity (C5) would save ($ per unit, >= 0), from the optimal duals in ``h``.

    HiGHS reports ``reduced cost = cost - A^T y``. C4 is the upper bound ``max_production`` of
    a general product's ``manufacture`` column: at that bound its reduced cost ``d <= 0`` is the
    objective's change per unit of the bound, so the saving is ``-d`` (products whose C4
    provably cannot bind have no such column: 0). C5 is the lower end ``rhs - cap`` of the
    ranged C1 row: ``+1`` of ``cap`` lowers it by one, so the saving is the row dual ``y``
    when ``y > 0`` (a negative ``y`` belongs to the upper end, ``ending_inv >= 0``). With every
    route's reduced cost ``>= 0`` (the end of column generation) these duals are duals of the
    full LP, so the values hold for the whole model, not only the restricted master.
    """
    sol = h.getSolution()
    k = model.products.size
    prod_value = np.zeros(k)
    store_value = np.zeros(model.n)
    if not sol.dual_valid:
        return prod_value, store_value
    y = np.asarray(sol.row_dual)[model.rows.c1]
    store_value = np.where(y > VALUE_EPS, y, 0.0)
    kind, ref = model.col_kind, model.col_ref
    m = kind == MANUFACTURE
    d = np.asarray(sol.col_dual)[model.cols.base][m]
    prod_value[ref[m]] = np.where(-d > VALUE_EPS, -d, 0.0)
    return prod_value, store_value


def extract_block(
    h: highspy.Highs,
    model: BlockLP,
    routes: tuple[np.ndarray, np.ndarray, np.ndarray],
    hub: HubColumns | None,
    t0: float,
) -> BlockResult:
    """The optimal solution in ``h`` as a :class:`BlockResult` (global positions).

    ``routes`` = (sender, receiver, $/unit) of the route columns, in column order; hub flows
    are split into store-to-store transfers (:func:`rama.optimize.hubs.hub_transfers`).
    """
    sol = h.getSolution()
    xs = np.asarray(sol.col_value)
    cols, n, k = model.cols, model.n, model.products.size
    base, kind, ref = xs[cols.base], model.col_kind, model.col_ref

    def per_pair(what: int) -> np.ndarray:
        return np.bincount(ref[kind == what], weights=base[kind == what], minlength=n)

    allocate = per_pair(ALLOCATE)
    manufacture = np.bincount(model.pair_product, weights=allocate, minlength=k)
    manufacture[ref[kind == MANUFACTURE]] = base[kind == MANUFACTURE]
    ending = model.rhs - np.asarray(sol.row_value)[model.rows.c1]
    production_value, storage_value = marginal_values(h, model)
    r_i, r_j, r_cost = routes
    flow = xs[cols.routes]
    pos = flow > 0
    t_i, t_j, t_q, t_c = r_i[pos], r_j[pos], flow[pos], r_cost[pos]
    if hub is not None:
        hi, hj, hq, hc = hub_transfers(hub, xs[cols.hub_out], xs[cols.hub_in], xs[cols.hub_arc])
        t_i, t_j = np.concatenate([hi, t_i]), np.concatenate([hj, t_j])
        t_q, t_c = np.concatenate([hq, t_q]), np.concatenate([hc, t_c])
    return BlockResult(
        pairs=model.pairs,
        products=model.products,
        status="optimal",
        ending_inventory=ending,
        stockout=per_pair(STOCKOUT),
        allocate=allocate,
        manufacture=manufacture,
        disposal=per_pair(DISPOSAL),
        t_from=model.pairs[t_i],
        t_to=model.pairs[t_j],
        t_qty=t_q,
        t_cost=t_c,
        routes_in_lp=int(r_i.size),
        hub_columns=hub.n_cols if hub is not None else 0,
        seconds=time.perf_counter() - t0,
        production_value=production_value,
        storage_value=storage_value,
    )


def collect(
    problem: Problem, results: list[BlockResult], workers: int, record_basis: bool = False
) -> tuple[RawSolution, list[np.ndarray]]:
    """Every block's solution in one :class:`RawSolution`; also the products of infeasible
    blocks. ``workers`` is reported in the statistics."""
    n = problem.n_pairs
    ending, stockout, allocate = np.zeros(n), np.zeros(n), np.zeros(n)
    manufacture = np.zeros(problem.n_products)
    production_value, storage_value = np.zeros(problem.n_products), np.zeros(n)
    infeasible = [r.products for r in results if r.status != "optimal"]
    ok = [r for r in results if r.status == "optimal"]
    for r in ok:
        ending[r.pairs], stockout[r.pairs] = r.ending_inventory, r.stockout
        allocate[r.pairs] = r.allocate
        manufacture[r.products] = r.manufacture
        if r.production_value.size:
            production_value[r.products] = r.production_value
            storage_value[r.pairs] = r.storage_value
    cat = np.concatenate
    raw = RawSolution(
        ending_inventory=ending,
        stockout=stockout,
        allocate=allocate,
        manufacture=manufacture,
        t_from=cat([r.t_from for r in ok] or [_no_ints()]),
        t_to=cat([r.t_to for r in ok] or [_no_ints()]),
        t_qty=cat([r.t_qty for r in ok] or [_no_floats()]),
        t_cost=cat([r.t_cost for r in ok] or [_no_floats()]),
        min_reduced_cost=min((r.min_reduced_cost for r in ok), default=np.inf),
        production_value=production_value,
        storage_value=storage_value,
        basis=(
            WarmStart({tuple(r.products.tolist()): r.basis for r in ok if r.basis is not None})
            if record_basis
            else None
        ),
        stats={
            "blocks": len(results),
            "workers": workers,
            "pricing_rounds_max": max((r.pricing_rounds for r in ok), default=0),
            "pricing_rounds_total": sum(r.pricing_rounds for r in ok),
            "routes_priced": sum(r.routes_priced for r in ok),
            "routes_in_lp": sum(r.routes_in_lp for r in ok),
            "hub_columns": sum(r.hub_columns for r in ok),
            "warm_started_blocks": sum(r.warm_started for r in ok),
            "restarted_blocks": sum(r.restarts > 0 for r in ok),
            "simplex_iterations": sum(r.simplex_iterations for r in ok),
            "block_seconds_total": sum(r.seconds for r in ok),
        },
    )
    return raw, infeasible
