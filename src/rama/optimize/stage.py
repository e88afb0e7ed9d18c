"""The optimize stage: problem -> solve -> plan files -> independent check."""

from __future__ import annotations

import time
from pathlib import Path
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
from rama.problem import Problem, build_problem, load_problem, write_problem

PROBLEM_DIR, PLAN_DIR = "problem", "plan"


def solve_and_write(
    problem: Problem,
    out_dir: Path,
    *,
    backend: str = "highs",
    threads: int = 0,
    tol: float = 1e-6,
    write_lp: Path | None = None,
    write_mps: Path | None = None,
) -> tuple[Plan, dict[str, Any]]:
    """Solve, write the plan into ``out_dir``, re-read and check it; return plan + summary.

    ``write_lp`` / ``write_mps`` export the full PuLP model (any backend). On infeasibility
    ``out_dir/infeasible_pairs.csv`` lists the pairs at fault before the error is raised.
    """
    t0 = time.perf_counter()
    if write_lp is not None or write_mps is not None:
        write_model(build_pulp_model(problem), write_lp, write_mps)
    try:
        plan = solve(problem, backend, threads, check=False, tol=tol)
    except InfeasibleError as exc:
        if exc.pairs:
            write_csv(pl.DataFrame(exc.pairs), Path(out_dir) / "infeasible_pairs.csv")
        raise
    write_plan(plan, out_dir)
    t_check = time.perf_counter()
    worst = check_plan(problem, out_dir, tol)
    summary = plan_summary(plan)
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
    return plan, summary


def optimize_folder(
    problem_dir: Path, out_dir: Path, cfg: Config, **options: Any
) -> dict[str, Any]:
    """``rama optimize --problem DIR --out OUT``: load, solve, write, check."""
    problem = load_problem(problem_dir)
    _, summary = solve_and_write(problem, out_dir, **_defaults(cfg, options))
    return summary


def run_optimize(
    run_dir: Path, cfg: Config, inventory_file: Path | None = None, **options: Any
) -> dict[str, Any]:
    """``rama optimize --run RUN``: write ``RUN/problem/``, then solve into ``RUN/plan/``."""
    run_dir = Path(run_dir)
    problem = build_problem(run_dir, cfg, inventory_file)
    write_problem(problem, run_dir / PROBLEM_DIR)
    _, summary = solve_and_write(problem, run_dir / PLAN_DIR, **_defaults(cfg, options))
    from rama.run_manifest import update_manifest

    update_manifest(run_dir, stage="optimize")
    return summary


def _defaults(cfg: Config, options: dict[str, Any]) -> dict[str, Any]:
    opt = cfg["optimize"]
    out = {
        "backend": opt["backend"],
        "threads": int(opt["threads"]),
        "tol": float(opt["check_tolerance"]),
    }
    out.update({k: v for k, v in options.items() if v is not None})
    return out
