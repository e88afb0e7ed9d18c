"""HiGHS backend: each block of products solved by exact column generation, blocks in parallel.

Every constraint belongs to one product, so the LP separates by product. A *block* is one
large product, or a few small ones side by side (block-diagonal: one HiGHS call per round
instead of one per product). Each block's LP (:mod:`rama.optimize.lp_model`) starts from the
optimal no-transfer basis with no transfer columns; each round the duals price every route of
the block (:mod:`rama.optimize.pricing`), negative reduced-cost routes are added and HiGHS
re-solves from the previous basis. The loop ends when no route prices below ``-tol``: with
every other column in the LP HiGHS solved, that is the proof of optimality (LP duality).

Blocks run in a pool of forked worker processes (the problem is inherited, not pickled).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field
from functools import cached_property

import highspy
import numpy as np

from rama.optimize.hubs import (
    HubColumns,
    add_hub_columns,
    hub_columns,
    hub_min_reduced_cost,
    hub_transfers,
)
from rama.optimize.lp_model import (
    ALLOCATE,
    DISPOSAL,
    MANUFACTURE,
    STOCKOUT,
    BlockLP,
    build_block_lp,
    production_may_bind,
    route_columns,
)
from rama.optimize.plan import RawSolution
from rama.optimize.pricing import ArcListPricer, DensePricer, Pricer, price_all
from rama.optimize.warm import BlockBasis, WarmStart, apply, capture, layout_digest
from rama.problem.model import Problem

PRICE_TOL = 1e-9  # a route with reduced cost below -PRICE_TOL enters ($/unit)
ARC_LIST_MAX_REACH = 120  # products reaching <= this many stores are priced as arc lists
FULL_ARCS_MAX_REACH = 12  # products this small get every route from the start
BLOCK_REACH = 120  # products reaching more stores are solved alone
BLOCK_PAIRS = 400  # target pairs per block of small products
WARM_BLOCK_REACH, WARM_BLOCK_PAIRS = 300, 1500  # the same for warm-started (or recording) solves
DUAL_SIMPLEX_FROM = 300  # products reaching more stores are solved by the dual simplex
MAX_ROUNDS = 10_000
_BANNER = {"shown": False}  # HiGHS prints a banner on fd 1 when its first instance is made


def new_highs() -> highspy.Highs:
    """A silent, single-threaded HiGHS instance with tight tolerances, primal simplex."""
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
        ("simplex_strategy", 4),
        ("primal_feasibility_tolerance", 1e-9),
        ("dual_feasibility_tolerance", 1e-10),
    ):
        h.setOptionValue(key, val)
    return h


@dataclass
class BlockResult:
    """Solution of one block, indexed by global pair / product positions."""

    pairs: np.ndarray
    products: np.ndarray
    status: str
    ending: np.ndarray = field(default_factory=lambda: np.zeros(0))
    stockout: np.ndarray = field(default_factory=lambda: np.zeros(0))
    allocate: np.ndarray = field(default_factory=lambda: np.zeros(0))
    manufacture: np.ndarray = field(default_factory=lambda: np.zeros(0))
    disposal: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arc_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    arc_to: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    arc_qty: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arc_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    min_rc: float = np.inf
    rounds: int = 0
    lp_routes: int = 0
    hub_cols: int = 0
    warm: bool = False
    basis: BlockBasis | None = None
    priced_routes: int = 0
    iterations: int = 0
    seconds: float = 0.0


def make_pricers(problem: Problem, model: BlockLP, zero_cost: bool = False) -> list[Pricer]:
    """Arc-list pricing for the block's small products, dense pricing for each large one."""
    csr = problem.transport.csr
    if csr is not None and csr.nnz == 0:  # no route at all (decentralized): nothing to price
        return []
    store = problem.pair_store[model.pairs]
    sender = model.sender
    small = [(a, b) for a, b in model.segments if b - a <= ARC_LIST_MAX_REACH]
    pricers: list[Pricer] = []
    if small:
        pricers.append(ArcListPricer(problem.transport, store, small, sender, zero_cost))
    pricers.extend(
        DensePricer(problem.transport, store, a, b, sender, zero_cost)
        for a, b in model.segments
        if b - a > ARC_LIST_MAX_REACH
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
        # upper bound x_out[i]: implied by C2 (t_ij <= out_i <= x_out_i), helps the dual simplex
        h.addCols(m, c, np.zeros(m), model.x_out[i], index.size, starts, index, value)
        self.i = np.concatenate([self.i, i])
        self.j = np.concatenate([self.j, j])
        self.cost = np.concatenate([self.cost, c])


def _alpha_beta(model: BlockLP, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sender value alpha = y(C1) + y(C2) and receiver value beta = y(C1) per pair."""
    beta = y[: model.n]
    alpha = beta.copy()
    has = model.c2_row >= 0
    alpha[has] += y[model.c2_row[has]]
    return alpha, beta


def solve_block(
    problem: Problem,
    products: np.ndarray,
    general: np.ndarray,
    tol: float = PRICE_TOL,
    phase1: bool = False,
    use_hubs: bool = True,
    warm: WarmStart | None = None,
    record: bool = False,
) -> BlockResult:
    """Solve the block's LP to optimality by column generation (or report it infeasible).

    With ``phase1`` the feasibility LP of :func:`build_block_lp` is solved instead. When the
    transport costs have city form (``problem.city_costs``) and ``use_hubs``, the LP gets the
    city hub columns of :mod:`rama.optimize.hubs` first; the route pricing still proves it.
    ``warm`` starts the simplex from a recorded basis of the same layout
    (:mod:`rama.optimize.warm`); ``record`` keeps this solve's final basis in the result.
    """
    t0 = time.perf_counter()
    model, lp, basis = build_block_lp(problem, products, general, phase1)
    h = new_highs()
    large = max(b - a for a, b in model.segments) > DUAL_SIMPLEX_FROM
    # dual simplex (Devex) for large products and for every stochastic block (measured: the
    # segment columns take the primal simplex ~3x the iterations, benchmarks/bench_optimize.py)
    if large or problem.demand_points is not None:
        h.setOptionValue("simplex_strategy", 1)
        h.setOptionValue("simplex_dual_edge_weight_strategy", 1)
    h.passModel(lp)
    h.setBasis(basis)
    hub = None
    if problem.city_costs is not None and use_hubs:
        hub = hub_columns(problem, model, problem.city_costs, zero_cost=phase1)
        if hub is not None:  # HiGHS keeps the basis: new rows basic, new columns at 0
            add_hub_columns(h, model, hub)
    layout = _layout(model, hub) if warm is not None or record else b""
    warm_used = False
    if warm is not None:
        ref = warm.blocks.get(tuple(products.tolist()))
        warm_used = ref is not None and ref.layout == layout and apply(h, ref)
    routes = _Routes()
    # with hubs the route pricers are built only if the hub proof fails (never, so far)
    pricers = [] if hub is not None else make_pricers(problem, model, zero_cost=phase1)
    n_priced = sum(p.n_arcs for p in pricers)
    if hub is not None or warm_used:
        pass  # hub columns carry every transfer; routes enter only if they price negative
    elif all(b - a <= FULL_ARCS_MAX_REACH for a, b in model.segments) and pricers:
        p0 = pricers[0]
        if isinstance(p0, ArcListPricer) and p0.n_arcs:
            routes.add(h, model, p0.i, p0.j, p0.cost)
    else:  # first pricing from the crash basis' duals, before any solve
        cand = price_all(pricers, *_alpha_beta(model, model.crash_duals), tol)
        if cand.i.size:
            routes.add(h, model, cand.i, cand.j, cand.cost)
    rounds, iterations, min_rc = 0, 0, np.inf
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
                return BlockResult(model.pairs, products, "infeasible", rounds=rounds)
            raise RuntimeError(f"HiGHS stopped with status {h.modelStatusToString(status)}")
        alpha, beta = _alpha_beta(model, np.asarray(h.getSolution().row_dual))
        if hub is not None and not pricers:  # every route's reduced cost, city pair by pair
            min_rc, n_priced = hub_min_reduced_cost(hub, model.sender, alpha, beta)
            if min_rc >= -tol:
                break
            pricers = make_pricers(problem, model, zero_cost=phase1)
            n_priced = sum(p.n_arcs for p in pricers)
        cand = price_all(pricers, alpha, beta, tol, screen=True)
        if cand.i.size == 0 and not cand.exact:  # the proof needs the float64 pass
            cand = price_all(pricers, alpha, beta, tol)
        min_rc = cand.min_rc
        if cand.i.size == 0:
            break
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(
                f"column generation for products {problem.product_ids[products][:5]} did not "
                f"converge in {MAX_ROUNDS} rounds (min reduced cost {min_rc:.3g})"
            )
        routes.add(h, model, cand.i, cand.j, cand.cost)
    res = _extract(h, model, routes, hub, products, n_priced, min_rc, rounds, iterations, t0)
    res.warm = warm_used
    if record and routes.i.size == 0:  # a basis with route columns has another layout
        res.basis = capture(h, layout)
    return res


def _layout(model: BlockLP, hub: HubColumns | None) -> bytes:
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


def _extract(
    h: highspy.Highs,
    model: BlockLP,
    routes: _Routes,
    hub: HubColumns | None,
    products: np.ndarray,
    n_priced: int,
    min_rc: float,
    rounds: int,
    iterations: int,
    t0: float,
) -> BlockResult:
    sol = h.getSolution()
    xs = np.asarray(sol.col_value)
    n, nb = model.n, model.n_base
    base, kind, ref = xs[:nb], model.col_kind, model.col_ref
    stockout = np.bincount(ref[kind == STOCKOUT], weights=base[kind == STOCKOUT], minlength=n)
    allocate = np.bincount(ref[kind == ALLOCATE], weights=base[kind == ALLOCATE], minlength=n)
    seg_prod = np.repeat(np.arange(products.size), [b - a for a, b in model.segments])
    manufacture = np.bincount(seg_prod, weights=allocate, minlength=products.size)
    manufacture[ref[kind == MANUFACTURE]] = base[kind == MANUFACTURE]
    disposal = np.bincount(ref[kind == DISPOSAL], weights=base[kind == DISPOSAL], minlength=n)
    ending = model.rhs - np.asarray(sol.row_value)[:n]
    n_hub = hub.n_cols if hub is not None else 0
    flow = xs[nb + n_hub :]
    pos = flow > 0
    t_i, t_j, t_q, t_c = routes.i[pos], routes.j[pos], flow[pos], routes.cost[pos]
    if hub is not None:
        hi, hj, hq, hc = hub_transfers(hub, xs[nb : nb + n_hub])
        t_i, t_j = np.concatenate([hi, t_i]), np.concatenate([hj, t_j])
        t_q, t_c = np.concatenate([hq, t_q]), np.concatenate([hc, t_c])
    return BlockResult(
        pairs=model.pairs,
        products=products,
        status="optimal",
        ending=ending,
        stockout=stockout,
        allocate=allocate,
        manufacture=manufacture,
        disposal=disposal,
        arc_from=model.pairs[t_i],
        arc_to=model.pairs[t_j],
        arc_qty=t_q,
        arc_cost=t_c,
        min_rc=min_rc,
        rounds=rounds,
        lp_routes=int(routes.i.size),
        hub_cols=n_hub,
        priced_routes=n_priced,
        iterations=iterations,
        seconds=time.perf_counter() - t0,
    )


def make_blocks(problem: Problem, warm: bool = False) -> list[np.ndarray]:
    """Products grouped into blocks, largest work first.

    A product whose stores hold more than capacity + demand (it may be infeasible) or that
    reaches more than BLOCK_REACH stores is its own block; the others are packed in order
    into blocks of about BLOCK_PAIRS pairs. Products without stores need no LP. Solves that
    record or use warm starts take few simplex iterations, so building the block LPs weighs
    more: they pack larger blocks (WARM_BLOCK_REACH, WARM_BLOCK_PAIRS).
    """
    reach = np.diff(problem.product_start)
    over = problem.current_inventory - problem.demand > problem.max_capacity
    forced = np.bincount(problem.pair_product, weights=over, minlength=problem.n_products) > 0
    block_reach, block_pairs = (
        (WARM_BLOCK_REACH, WARM_BLOCK_PAIRS)
        if warm
        else (
            BLOCK_REACH,
            BLOCK_PAIRS,
        )
    )
    alone = (reach > block_reach) | forced
    blocks = [np.array([k]) for k in np.flatnonzero(alone)]
    small = np.flatnonzero(~alone & (reach > 0))
    if small.size:
        cuts = np.flatnonzero(np.diff(np.cumsum(reach[small]) // block_pairs)) + 1
        blocks.extend(np.split(small, cuts))
    work = [float((reach[b].astype(np.float64) ** 2).sum()) for b in blocks]
    return [blocks[i] for i in np.argsort(work)[::-1]]


_SHARED: dict[str, object] = {}


def _worker(block: np.ndarray) -> BlockResult:
    problem = _SHARED["problem"]
    general = _SHARED["general"]
    warm = _SHARED["warm"]
    assert isinstance(problem, Problem) and isinstance(general, np.ndarray)
    assert warm is None or isinstance(warm, WarmStart)
    return solve_block(
        problem,
        block,
        general,
        use_hubs=bool(_SHARED["hubs"]),
        warm=warm,
        record=bool(_SHARED["record"]),
    )


def n_workers(threads: int) -> int:
    """Worker processes: ``threads``, or all usable cores when 0."""
    if threads > 0:
        return threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _materialize(obj: object) -> None:
    """Compute every cached array of ``obj`` now, in the parent process.

    Worker processes are forked; a forked child must never call polars (its thread pool
    does not survive ``fork`` and the call deadlocks), so everything the workers read is
    turned into plain numpy before the fork.
    """
    for name, attr in vars(type(obj)).items():
        if isinstance(attr, cached_property):
            getattr(obj, name)


def solve_blocks(
    problem: Problem,
    threads: int = 0,
    hubs: bool = True,
    warm: WarmStart | None = None,
    record: bool = False,
) -> list[BlockResult]:
    """Solve every block, in parallel worker processes when ``threads`` allows."""
    general = production_may_bind(problem)
    blocks = make_blocks(problem, warm=warm is not None or record)
    workers = min(n_workers(threads), len(blocks))
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [
            solve_block(problem, b, general, use_hubs=hubs, warm=warm, record=record)
            for b in blocks
        ]
    _materialize(problem)
    _materialize(problem.transport)
    _SHARED.update(problem=problem, general=general, hubs=hubs, warm=warm, record=record)
    try:
        ctx = mp.get_context("fork")
        with ctx.Pool(workers) as pool:
            return list(pool.imap_unordered(_worker, blocks, chunksize=1))
    finally:
        _SHARED.clear()


def solve_highs(
    problem: Problem,
    threads: int = 0,
    hubs: bool = True,
    warm: WarmStart | None = None,
    record: bool = False,
) -> tuple[RawSolution, list[np.ndarray]]:
    """All blocks solved and assembled; also the products of infeasible blocks."""
    results = solve_blocks(problem, threads, hubs, warm, record)
    n = problem.n_pairs
    ending, stockout, allocate = np.zeros(n), np.zeros(n), np.zeros(n)
    manufacture = np.zeros(problem.n_products)
    infeasible = [r.products for r in results if r.status != "optimal"]
    ok = [r for r in results if r.status == "optimal"]
    for r in ok:
        ending[r.pairs], stockout[r.pairs], allocate[r.pairs] = r.ending, r.stockout, r.allocate
        manufacture[r.products] = r.manufacture
    cat = np.concatenate
    raw = RawSolution(
        ending=ending,
        stockout=stockout,
        allocate=allocate,
        manufacture=manufacture,
        t_from=cat([r.arc_from for r in ok] or [np.zeros(0, dtype=np.int64)]),
        t_to=cat([r.arc_to for r in ok] or [np.zeros(0, dtype=np.int64)]),
        t_qty=cat([r.arc_qty for r in ok] or [np.zeros(0)]),
        t_cost=cat([r.arc_cost for r in ok] or [np.zeros(0)]),
        min_reduced_cost=min((r.min_rc for r in ok), default=np.inf),
        basis=(
            WarmStart({tuple(r.products.tolist()): r.basis for r in ok if r.basis is not None})
            if record
            else None
        ),
        stats={
            "blocks": len(results),
            "workers": min(n_workers(threads), len(results)),
            "pricing_rounds_max": max((r.rounds for r in ok), default=0),
            "pricing_rounds_total": sum(r.rounds for r in ok),
            "routes_priced": sum(r.priced_routes for r in ok),
            "routes_in_lp": sum(r.lp_routes for r in ok),
            "hub_columns": sum(r.hub_cols for r in ok),
            "warm_started_blocks": sum(r.warm for r in ok),
            "simplex_iterations": sum(r.iterations for r in ok),
            "block_seconds_total": sum(r.seconds for r in ok),
        },
    )
    return raw, infeasible
