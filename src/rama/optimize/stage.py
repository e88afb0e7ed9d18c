"""The optimize stage: problem -> solve -> plan files -> independent check."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from rama.config import Config
from rama.errors import InfeasibleError
from rama.io import write_csv
from rama.optimize.check import check_plan
from rama.optimize.plan import Plan
from rama.optimize.plan_io import plan_summary, write_plan
from rama.optimize.pulp_backend import build_pulp_model, write_model
from rama.optimize.solve import solve
from rama.problem import (
    Problem,
    load_problem,
    on_lot_grid,
    rounding_cost_skipped,
)


@dataclass(frozen=True)
class OptimizeResult:
    """What ``rama optimize`` wrote: the plan folder, its headline figures ($, units) and
    ``summary`` (``summary.json`` as written plus the check's figures)."""

    out_dir: Path
    objective: float  # $
    costs: Mapping[str, float]  # $ per component and "total"
    status: str
    backend: str
    fill_rate: float  # of the forecast demand, 0-1
    number_of_transfers: int
    units_transferred: float
    units_manufactured: float
    n_stores: int
    n_products: int
    n_store_products: int
    solve_seconds: float
    total_seconds: float
    check_worst_violation: float  # units or $
    min_reduced_cost: float | None  # $/unit; >= -1e-9 proves optimality over every route
    summary: Mapping[str, Any]

    @classmethod
    def from_summary(cls, out_dir: Path, summary: dict[str, Any]) -> OptimizeResult:
        return cls(
            out_dir=Path(out_dir),
            objective=float(summary["objective"]),
            costs=MappingProxyType(dict(summary["costs"])),
            status=str(summary["status"]),
            backend=str(summary["backend"]),
            fill_rate=float(summary["fill_rate"]),
            number_of_transfers=int(summary["number_of_transfers"]),
            units_transferred=float(summary["units_transferred"]),
            units_manufactured=float(summary["units_manufactured"]),
            n_stores=int(summary["n_stores"]),
            n_products=int(summary["n_products"]),
            n_store_products=int(summary["n_store_products"]),
            solve_seconds=float(summary["solve_seconds"]),
            total_seconds=float(summary["total_seconds"]),
            check_worst_violation=float(summary["check_worst_violation"]),
            min_reduced_cost=summary.get("min_reduced_cost"),
            summary=MappingProxyType(summary),
        )


def solve_and_write(
    problem: Problem,
    out_dir: Path,
    *,
    backend: str = "highs",
    threads: int = 0,
    tol: float = 1e-6,
    write_lp: Path | None = None,
    write_mps: Path | None = None,
    lot_size: float = 0.0,
    rounding_cost: str = "always",
) -> tuple[Plan, OptimizeResult]:
    """Solve, write the plan into ``out_dir``, re-read and check it; return the plan and
    what was written.

    ``write_lp`` / ``write_mps`` export the full PuLP model (any backend). On infeasibility
    ``out_dir/infeasible_pairs.csv`` lists the pairs at fault before the error is raised.
    ``lot_size > 0`` (config ``plan.lot_size``): the plan of ``on_lot_grid(problem,
    lot_size)`` in lot multiples (:mod:`rama.problem.lots`), checked against that rounded
    problem; the continuous plan of ``problem`` is solved too and summary.json reports
    ``continuous_objective``, ``rounding_cost`` ($ and ``rounding_cost_pct``) and
    ``continuous_solve_seconds``, unless ``rounding_cost`` (``plan.rounding_cost``;
    :func:`rama.problem.lots.rounding_cost_skipped`) skips that solve, which summary.json
    then says in ``rounding_cost_skipped``.
    """
    t0 = time.perf_counter()
    if write_lp is not None or write_mps is not None:
        write_model(build_pulp_model(problem), write_lp, write_mps)
    rounding: dict[str, Any] = {}
    skipped = rounding_cost_skipped(rounding_cost, problem.n_pairs, lot_size)
    try:
        if lot_size > 0:
            if skipped is None:
                continuous = solve(problem, backend, threads, check=False, tol=tol)
            problem = on_lot_grid(problem, lot_size)
        plan = solve(problem, backend, threads, check=False, tol=tol, lot=lot_size)
    except InfeasibleError as exc:
        if exc.pairs:
            write_csv(pl.DataFrame(exc.pairs), Path(out_dir) / "infeasible_pairs.csv")
        raise
    if lot_size > 0 and skipped is not None:
        rounding = {"rounding_cost": None, "rounding_cost_skipped": skipped}
    elif lot_size > 0:
        cost = plan.objective - continuous.objective
        rounding = {
            "continuous_objective": continuous.objective,
            "rounding_cost": cost,
            "rounding_cost_pct": 100.0 * cost / abs(continuous.objective)
            if continuous.objective
            else 0.0,
            "continuous_solve_seconds": continuous.solve_seconds,
        }
    write_plan(plan, out_dir, rounding)
    t_check = time.perf_counter()
    worst = check_plan(problem, out_dir, tol)
    summary = plan_summary(plan, rounding)
    summary.update(
        {
            "check": "passed",
            "check_tolerance": tol,
            "check_worst_violation": max(
                (v for k, v in worst.items() if k != "objective"), default=0.0
            ),
            "check_seconds": time.perf_counter() - t_check,
            "total_seconds": time.perf_counter() - t0,
            "out_dir": str(out_dir),
        }
    )
    return plan, OptimizeResult.from_summary(Path(out_dir), summary)


def optimize_folder(
    problem_dir: Path, out_dir: Path, cfg: Config, **options: Any
) -> OptimizeResult:
    """``rama optimize --problem DIR --out OUT``: load, solve, write, check."""
    problem = load_problem(problem_dir)
    return solve_and_write(problem, out_dir, **_defaults(cfg, options))[1]


def _defaults(cfg: Config, options: dict[str, Any]) -> dict[str, Any]:
    opt = cfg["optimize"]
    out = {
        "backend": opt["backend"],
        "threads": int(opt["threads"]),
        "tol": float(opt["check_tolerance"]),
        "lot_size": float(cfg["plan"]["lot_size"]),
        "rounding_cost": str(cfg["plan"]["rounding_cost"]),
    }
    out.update({k: v for k, v in options.items() if v is not None})
    return out
