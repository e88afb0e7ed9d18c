"""``solve(problem)``: the typed entry point over both backends."""

from __future__ import annotations

import time

import numpy as np

from rama.errors import InfeasibleError
from rama.optimize.check import check_plan
from rama.optimize.highs_backend import collect
from rama.optimize.infeasibility import infeasible_error
from rama.optimize.plan import Plan, RawSolution, polish
from rama.optimize.pool import n_workers, solve_blocks
from rama.optimize.pulp_backend import solve_pulp
from rama.optimize.warm import WarmStart
from rama.problem.lots import off_grid_inputs
from rama.problem.model import Problem

BACKENDS = ("highs", "pulp")


def solve(
    problem: Problem,
    backend: str = "highs",
    threads: int = 0,
    *,
    check: bool = True,
    tol: float = 1e-6,
    hubs: bool = True,
    warm_start: WarmStart | None = None,
    record_basis: bool = False,
    lot: float = 0.0,
) -> Plan:
    """Solve the planning LP (docs/optimizer.md, "The model") to proven optimality.

    Minimises holding + stockout + transport + manufacturing + distribution cost ($) over the
    transfers ``t[i,j,p]``, production ``m[p]``, allocations ``a[s,p]``, stockouts
    ``u[s,p]`` and ending inventories ``e[s,p]`` (units) subject to C1-C6.

    Parameters
    ----------
    problem : Problem
        The validated problem (:func:`rama.problem.make_problem`,
        :func:`rama.problem.load_problem`): demand ``d`` and stock ``inv`` (units), safety
        stock ``ss`` (units), capacities ``cap`` and ``max_production`` (units), costs
        ``h``, ``b``, ``mc``, ``dist`` and ``c[i,j]`` ($/unit for the period). With
        ``problem.demand_points`` the stochastic plan (expected cost over K equiprobable
        demands) is solved.
    backend : {"highs", "pulp"}
        ``"highs"``: per product by exact column generation over the routes (city hubs when
        the costs have city form), blocks in ``threads`` worker processes. ``"pulp"``: the
        full model written plainly in PuLP, every route a variable, solved by CBC.
    threads : int
        Worker processes (HiGHS) or CBC threads; 0 = all cores.
    check : bool
        Check the plan's tables against the problem (C1-C6 and the objective,
        :func:`rama.optimize.check.check_plan`) before returning.
    tol : float
        Tolerance of that check (units or $, relative to each constraint's largest term).
    hubs : bool
        Let the HiGHS backend use city hub columns when the costs have city form
        (:mod:`rama.optimize.hubs`); ``False`` prices store-to-store routes only. Same optimum.
    warm_start : WarmStart, optional
        A recorded ``plan.basis`` of a similar problem: each block whose LP has the same
        layout starts from it (:mod:`rama.optimize.warm`; HiGHS backend).
    record_basis : bool
        Keep this solve's final simplex bases in ``plan.basis`` (HiGHS backend).
    lot : float
        ``> 0``: a plan in multiples of ``lot`` units. ``problem`` must be on the lot grid
        (:func:`rama.problem.lots.on_lot_grid`; otherwise ValueError); the LP is then
        solved as always (its basic optimal solutions are lot multiples, docs/optimizer.md
        "Whole units and lots") and every quantity snapped exactly onto the grid
        (:func:`rama.optimize.plan.polish`); ``plan.lot_size`` records it and the check
        verifies every quantity is a lot multiple. ``0``: the continuous plan.

    Returns
    -------
    Plan
        The optimal plan: per pair ``allocate``, ``stockout``, ``ending_inventory``,
        ``transfer_in`` / ``transfer_out`` (units), per product ``manufacture`` (units), the
        transfers ``t_from``, ``t_to``, ``t_qty``, ``t_cost``, the ``objective`` ($) and its
        ``cost_breakdown()``; with HiGHS ``min_reduced_cost``, the least reduced cost over
        every route (the optimality proof: ``>= -1e-9`` $/unit).

    Raises
    ------
    InfeasibleError
        When no plan keeps every store within its capacity (C5); ``pairs`` names the
        store-product pairs at fault (:mod:`rama.optimize.infeasibility`).

    Examples
    --------
    The named instance ``transfer_beats_manufacturing`` (:mod:`rama.testing.instances`):
    store 1 holds 10 units for a demand of 2, store 2 holds none for a demand of 6; a
    transfer costs $0.25/unit against $1.50 to make and distribute one. By hand: move 6
    units (6 x 0.25 = $1.50) and hold the 2 left at store 1 (2 x 0.50 = $1.00), $2.50.

    >>> from rama.testing.instances import instance
    >>> plan = solve(instance("transfer_beats_manufacturing"), threads=1)
    >>> plan.objective
    2.5
    >>> plan.t_qty.tolist(), plan.manufacture.tolist(), plan.ending_inventory.tolist()
    ([6.0], [0.0], [2.0, 0.0])
    >>> plan.min_reduced_cost >= -1e-9
    True
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if lot < 0 or not np.isfinite(lot):
        raise ValueError(f"lot must be a finite number >= 0 (units), got {lot!r}")
    if lot > 0:
        off = off_grid_inputs(problem, lot)
        if off:
            raise ValueError(
                f"the problem is not on the grid of lot {lot:g} units ({', '.join(off)}); "
                "solve on_lot_grid(problem, lot) (rama.problem.lots)"
            )
    t0 = time.perf_counter()
    if backend == "highs":
        raw, infeasible = _solve_highs(problem, threads, hubs, warm_start, record_basis)
        if infeasible:
            raise infeasible_error(problem, np.concatenate(infeasible))
    else:
        try:
            raw = solve_pulp(problem, threads=threads)
        except InfeasibleError:
            raise infeasible_error(problem) from None
    plan = polish(problem, raw, backend, time.perf_counter() - t0, lot)
    if check:
        check_plan(problem, plan, tol)
    return plan


def _solve_highs(
    problem: Problem,
    threads: int,
    hubs: bool,
    warm_start: WarmStart | None,
    record_basis: bool,
) -> tuple[RawSolution, list[np.ndarray]]:
    """The HiGHS backend: every block solved (:mod:`rama.optimize.pool`) and assembled; also
    the products of infeasible blocks."""
    results = solve_blocks(problem, threads, hubs, warm_start, record_basis)
    workers = min(n_workers(threads), len(results))
    return collect(problem, results, workers, record_basis)
