"""One block solved to proven optimality by exact column generation over transfer routes.

A block's LP (:mod:`rama.optimize.lp_model`) starts from the optimal no-transfer basis with no
transfer columns (or with the city hub columns of :mod:`rama.optimize.hubs`). Each round the
duals price every route of the block (:mod:`rama.optimize.pricing`), negative reduced-cost
routes are added and HiGHS re-solves from the previous basis. The loop ends when no route
prices below ``-PRICE_TOL``: with every other column in the LP HiGHS solved, that is the proof
of optimality (LP duality). The final duals are then feasible for the full LP's dual, so the
marginal values read from them (:func:`rama.optimize.highs_backend.marginal_values`) hold for
the whole model.

A master without routes is infeasible when a store holds more than its capacity plus demand
and must ship: then the block's phase-1 LP (zero costs, disposal columns) is solved by column
generation; no disposal means the full LP is feasible, and its routes seed the master
(:func:`feasible_routes`), otherwise the block is infeasible.

Pricer choice (:func:`make_pricers`): products reaching at most ROUTE_LIST_MAX_REACH stores are
priced together as one flat route list, larger ones each as dense blocks; a block whose
products all reach at most ALL_ROUTES_MAX_REACH stores gets all its routes from the start.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from rama.optimize.highs_backend import BlockResult, extract_block, new_highs, use_dual_simplex
from rama.optimize.hubs import HubColumns, add_hub_columns, hub_columns, hub_min_reduced_cost
from rama.optimize.lp_model import BlockLP, build_block_lp, route_columns
from rama.optimize.pricing import DensePricer, Pricer, RouteListPricer, price_all
from rama.optimize.warm import WarmStart, apply, capture, layout_digest
from rama.problem.model import Problem

PRICE_TOL = 1e-9  # a route with reduced cost below -PRICE_TOL enters ($/unit)
ROUTE_LIST_MAX_REACH = 120  # products reaching <= this many stores are priced as route lists
ALL_ROUTES_MAX_REACH = 12  # products this small get every route from the start
MAX_ROUNDS = 10_000


def make_pricers(problem: Problem, model: BlockLP, zero_cost: bool = False) -> list[Pricer]:
    """Route-list pricing for the block's small products, dense pricing for each large one."""
    csr = problem.transport.csr
    if csr is not None and csr.nnz == 0:  # no route at all (decentralized): nothing to price
        return []
    store = problem.pair_store[model.pairs]
    sender = model.sender
    small = [(a, b) for a, b in model.spans if b - a <= ROUTE_LIST_MAX_REACH]
    pricers: list[Pricer] = []
    if small:
        pricers.append(RouteListPricer(problem.transport, store, small, sender, zero_cost))
    pricers.extend(
        DensePricer(problem.transport, store, a, b, sender, zero_cost)
        for a, b in model.spans
        if b - a > ROUTE_LIST_MAX_REACH
    )
    return pricers


class _Routes:
    """Transfer columns in the LP (local pair indices), in column order."""

    def __init__(self) -> None:
        self.i = np.zeros(0, dtype=np.int64)
        self.j = np.zeros(0, dtype=np.int64)
        self.cost = np.zeros(0)

    def add(
        self, h: highspy.Highs, model: BlockLP, i: np.ndarray, j: np.ndarray, c: np.ndarray
    ) -> None:
        starts, index, value = route_columns(model, i, j)
        m = i.size
        # upper bound max_transfer_out[i]: implied by C2 (t_ij <= out_i <= limit_i), helps
        # the dual simplex
        upper = model.max_transfer_out[i]
        h.addCols(m, c, np.zeros(m), upper, index.size, starts, index, value)
        self.i = np.concatenate([self.i, i])
        self.j = np.concatenate([self.j, j])
        self.cost = np.concatenate([self.cost, c])


def alpha_beta(model: BlockLP, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sender value alpha = y(C1) + y(C2) and receiver value beta = y(C1) per pair."""
    beta = y[model.rows.c1]
    alpha = beta.copy()
    has = model.holder
    alpha[has] += y[model.c2_row[has]]
    return alpha, beta


def block_layout(model: BlockLP, hub: HubColumns | None) -> bytes:
    """Digest of the block LP's rows and columns (see :mod:`rama.optimize.warm`)."""
    parts: list[np.ndarray | int] = [
        model.products,
        model.pairs,
        np.frombuffer(model.matrix_digest, dtype=np.uint8),
        model.c2_row,
    ]
    if hub is not None:
        parts += [hub.out_pair, hub.in_pair, hub.arc_h, hub.arc_g, hub.n_h, hub.n_g]
    return layout_digest(*parts)


SEED_EPS = 1e-7  # units: phase-1 disposal above this means the block is infeasible


def feasible_routes(
    problem: Problem,
    products: np.ndarray,
    general: np.ndarray,
    model: BlockLP,
    present: _Routes,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Routes (local sender, receiver, $/unit) of a feasible plan of the block that are not in
    the LP yet, or None when the block is infeasible.

    A restricted master without transfer columns is infeasible when a store holds more than
    its capacity plus demand (C5): it must ship, but no route out of it has entered yet.
    The block's phase-1 LP (:func:`build_block_lp` with ``phase1``: zero costs, disposal
    columns), solved by column generation, is always feasible; no disposal at its optimum
    means the full LP is feasible, and its transfers give the master a feasible point."""
    p1 = solve_block(problem, products, general, phase1=True, hubs=False)
    if p1.status != "optimal" or float(p1.disposal.sum()) > SEED_EPS:
        return None
    order = np.argsort(model.pairs, kind="stable")
    local = order[np.searchsorted(model.pairs[order], np.concatenate([p1.t_from, p1.t_to]))]
    i, j = local[: p1.t_from.size], local[p1.t_from.size :]
    n = max(model.n, 1)
    new = ~np.isin(i * n + j, present.i * n + present.j)
    i, j = np.unique(np.stack([i[new], j[new]]), axis=1)
    store = problem.pair_store[model.pairs]
    cost = problem.transport.pairs(store[i], store[j])
    ok = np.isfinite(cost)
    return i[ok], j[ok], cost[ok]


MAX_RESTARTS = 2
"""Restarts of a block whose simplex ends neither optimal nor infeasible (:func:`_restart`)."""


def _restart(h: highspy.Highs, attempt: int, dual_simplex: bool) -> None:
    """Start the block's simplex again: first cold (HiGHS drops the basis and solution it
    had, e.g. a warm start's), then also with the other simplex variant than the one ``h``
    was made with (``dual_simplex``: primal <-> dual). The LP is unchanged, so an optimum
    found is the same problem's (and is checked)."""
    h.clearSolver()
    if attempt >= 1:
        h.setOptionValue("simplex_strategy", 4 if dual_simplex else 1)


def solve_block(
    problem: Problem,
    products: np.ndarray,
    general: np.ndarray,
    price_tol: float = PRICE_TOL,
    phase1: bool = False,
    hubs: bool = True,
    warm_start: WarmStart | None = None,
    record_basis: bool = False,
) -> BlockResult:
    """Solve the block's LP to optimality by column generation (or report it infeasible).

    ``general`` is :func:`rama.optimize.lp_model.production_may_bind`. With ``phase1`` the
    feasibility LP of :func:`build_block_lp` is solved instead. When the transport costs have
    city form (``problem.city_costs``) and ``hubs``, the LP gets the city hub columns of
    :mod:`rama.optimize.hubs` first; the route pricing still proves it. ``warm_start`` starts
    the simplex from a recorded basis of the same layout (:mod:`rama.optimize.warm`);
    ``record_basis`` keeps this solve's final basis in the result.
    """
    t0 = time.perf_counter()
    model, lp, basis = build_block_lp(problem, products, general, phase1)
    dual = use_dual_simplex(problem, model)
    h = new_highs(dual_simplex=dual)
    lp.pass_to(h)
    h.setBasis(basis)
    hub = None
    if problem.city_costs is not None and hubs:
        hub = hub_columns(problem, model, problem.city_costs, zero_cost=phase1)
        if hub is not None:  # HiGHS keeps the basis: new rows basic, new columns at 0
            model = add_hub_columns(h, model, hub)
    layout = block_layout(model, hub) if warm_start is not None or record_basis else b""
    warm_used = False
    if warm_start is not None:
        ref = warm_start.blocks.get(tuple(products.tolist()))
        warm_used = ref is not None and ref.layout == layout and apply(h, ref)
    routes = _Routes()
    # with hubs the route pricers are built only if the hub proof fails (never, so far)
    pricers = [] if hub is not None else make_pricers(problem, model, zero_cost=phase1)
    n_priced = sum(p.n_routes for p in pricers)
    if hub is not None or warm_used:
        pass  # hub columns carry every transfer; routes enter only if they price negative
    elif all(b - a <= ALL_ROUTES_MAX_REACH for a, b in model.spans) and pricers:
        p0 = pricers[0]
        if isinstance(p0, RouteListPricer) and p0.n_routes:
            routes.add(h, model, p0.i, p0.j, p0.cost)
    else:  # first pricing from the crash basis' duals, before any solve
        cand = price_all(pricers, *alpha_beta(model, model.crash_duals), price_tol)
        if cand.i.size:
            routes.add(h, model, cand.i, cand.j, cand.cost)
    rounds, iterations, min_rc = 0, 0, np.inf
    seeded, restarts = False, 0
    while True:
        rounds += 1
        h.run()
        iterations += int(h.getInfo().simplex_iteration_count)
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            if status in (
                highspy.HighsModelStatus.kInfeasible,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                # the restricted master may lack the routes a full store must ship on
                if not seeded and not phase1 and pricers:
                    seeded = True
                    seed = feasible_routes(problem, products, general, model, routes)
                    if seed is not None:
                        routes.add(h, model, *seed)
                        continue
                return BlockResult(model.pairs, products, "infeasible", pricing_rounds=rounds)
            if restarts < MAX_RESTARTS:  # e.g. "Unknown": simplex trouble from a start basis
                _restart(h, restarts, dual)
                restarts += 1
                continue
            raise RuntimeError(
                f"HiGHS stopped with status {h.modelStatusToString(status)} on the block of "
                f"products {problem.product_ids[products][:5].tolist()}, also after a cold "
                "restart and one with the other simplex variant"
            )
        alpha, beta = alpha_beta(model, np.asarray(h.getSolution().row_dual))
        if hub is not None and not pricers:  # every route's reduced cost, city pair by pair
            min_rc, n_priced = hub_min_reduced_cost(hub, model.sender, alpha, beta)
            if min_rc >= -price_tol:
                break
            pricers = make_pricers(problem, model, zero_cost=phase1)
            n_priced = sum(p.n_routes for p in pricers)
        cand = price_all(pricers, alpha, beta, price_tol, screen=True)
        if cand.i.size == 0 and not cand.exact:  # the proof needs the float64 pass
            cand = price_all(pricers, alpha, beta, price_tol)
        min_rc = cand.min_reduced_cost
        if cand.i.size == 0:
            break
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(
                f"column generation for products {problem.product_ids[products][:5]} did not "
                f"converge in {MAX_ROUNDS} rounds (min reduced cost {min_rc:.3g})"
            )
        routes.add(h, model, cand.i, cand.j, cand.cost)
    res = extract_block(h, model, (routes.i, routes.j, routes.cost), hub, t0)
    res.min_reduced_cost = min_rc
    res.pricing_rounds, res.simplex_iterations, res.routes_priced = rounds, iterations, n_priced
    res.warm_started = warm_used
    res.restarts = restarts
    if record_basis and routes.i.size == 0:  # a basis with route columns has another layout
        res.basis = capture(h, layout)
    return res
