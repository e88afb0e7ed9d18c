"""``solve(problem)``: the typed entry point over both backends."""

from __future__ import annotations

import time

import numpy as np

from rama.errors import InfeasibleError
from rama.optimize.check import check_plan
from rama.optimize.highs_backend import solve_highs
from rama.optimize.infeasibility import infeasible_error
from rama.optimize.plan import Plan, polish
from rama.optimize.pulp_backend import solve_pulp
from rama.optimize.warm import WarmStart
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
) -> Plan:
    """Solve the planning LP to optimality.

    ``backend="highs"`` solves per product by exact column generation in ``threads`` worker
    processes (0 = all cores); ``"pulp"`` builds the full model in PuLP and solves it with CBC.
    With ``check`` the plan's tables are checked against the problem (C1-C6 and objective,
    :func:`rama.optimize.check.check_plan`). ``hubs`` lets the HiGHS backend use city hub
    columns when the costs have city form (:mod:`rama.optimize.hubs`; same optimum).
    ``warm_start`` (a recorded ``plan.basis`` of a similar problem) starts each block whose LP
    has the same layout from that basis; ``record_basis`` keeps this solve's final bases in
    ``plan.basis`` (:mod:`rama.optimize.warm`; HiGHS backend). Raises
    :class:`InfeasibleError` naming the store-product pairs at fault.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    t0 = time.perf_counter()
    if backend == "highs":
        raw, infeasible = solve_highs(problem, threads, hubs, warm_start, record_basis)
        if infeasible:
            raise infeasible_error(problem, np.concatenate(infeasible))
    else:
        try:
            raw = solve_pulp(problem, threads=threads)
        except InfeasibleError:
            raise infeasible_error(problem) from None
    plan = polish(problem, raw, backend, time.perf_counter() - t0)
    if check:
        check_plan(problem, plan, tol)
    return plan
