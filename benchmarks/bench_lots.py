"""Benchmark of lot plans: the cost of rounding and the solve time, continuous vs lot grid.

For each problem: the continuous optimum, the optimum on the lot grid
(:func:`rama.problem.on_lot_grid`, solved with ``solve(..., lot=LOT)``: LP + snap + the
independent check with its grid test), their difference in $ and %, and both solve times.

    .venv/bin/python benchmarks/bench_lots.py                # lot 1 (whole units)
    .venv/bin/python benchmarks/bench_lots.py --lots 1 5 0.5 --stochastic

Problems: the full-scale synthetic default (898 stores, 865 products, 50,000 pairs) and, when
it exists, the pipeline's problem folder ``runs/bench/problem`` (written by ``rama run`` /
benchmarks/bench_scenarios.py). ``--stochastic`` adds the full-scale stochastic plan (K = 20
gamma demand points per pair, mean = demand, cv = demand_std / demand). The synthetic
demands are weekly sales of a few units (median ~2): rounding each input to whole units
changes the data by up to half a unit per pair, which is what the cost of rounding measures
(the LP on grid data needs no integrality gap: its optimum is already on the grid).
``--inventory-nearest`` adds the rows with current inventory rounded to the nearest lot
instead of down (:mod:`rama.problem.lots`). Timings are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PIPELINE_PROBLEM = ROOT / "runs" / "bench" / "problem"


def _points(pb: Any, k: int, seed: int = 0) -> np.ndarray:
    """K gamma demand points per pair at the (k - 0.5) / K quantiles (mean demand)."""
    from scipy import stats

    d = np.maximum(pb.demand, 1e-9)
    cv = np.maximum(pb.store_products["demand_std"].to_numpy() / d, 0.05)
    shape = 1.0 / cv**2
    q = (np.arange(k) + 0.5) / k
    return np.asarray(stats.gamma.ppf(q[None, :], shape[:, None], scale=(d / shape)[:, None]))


def measure(
    name: str, pb: Any, lots: list[float], threads: int, inventory: str = "down"
) -> list[dict[str, Any]]:
    """Solve ``pb`` continuous and on each lot grid; return one row per lot."""
    from rama.optimize import solve
    from rama.problem import on_lot_grid

    t0 = time.perf_counter()
    cont = solve(pb, threads=threads)
    t_cont = time.perf_counter() - t0
    rows = []
    for lot in lots:
        grid = on_lot_grid(pb, lot, inventory)
        t0 = time.perf_counter()
        plan = solve(grid, threads=threads, lot=lot)
        t_lot = time.perf_counter() - t0
        diff = plan.objective - cont.objective
        rows.append(
            {
                "problem": name if inventory == "down" else f"{name} (inv nearest)",
                "lot": lot,
                "continuous": cont.objective,
                "lot_grid": plan.objective,
                "diff": diff,
                "pct": 100.0 * diff / cont.objective,
                "t_cont": t_cont,
                "t_lot": t_lot,
                "pairs": pb.n_pairs,
                "transfers": (cont.t_qty.size, plan.t_qty.size),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lots", type=float, nargs="+", default=[1.0], help="lot sizes (units)")
    ap.add_argument("--threads", type=int, default=0, help="worker processes (0 = all cores)")
    ap.add_argument("--stochastic", action="store_true", help="also the stochastic plan (K=20)")
    ap.add_argument(
        "--inventory-nearest",
        action="store_true",
        help='also with on_lot_grid(..., inventory="nearest") (inventory down is the default)',
    )
    args = ap.parse_args()

    from rama.problem import load_problem, stochastic_problem
    from rama.testing import synthetic_problem

    problems: list[tuple[str, Any]] = [("full-scale synthetic", synthetic_problem(seed=0))]
    if args.stochastic:
        pb = problems[0][1]
        problems.append(("full-scale stochastic K=20", stochastic_problem(pb, _points(pb, 20))))
    if PIPELINE_PROBLEM.is_dir():
        problems.append(("pipeline runs/bench/problem", load_problem(PIPELINE_PROBLEM)))
    else:
        print(f"({PIPELINE_PROBLEM} not found: pipeline problem skipped)")
    head = (
        f"{'problem':<42} {'lot':>5} {'continuous $':>14} {'lot grid $':>14} "
        f"{'diff $':>11} {'diff %':>8} {'t cont s':>9} {'t lot s':>8} {'transfers':>15}"
    )
    print(head)
    for name, pb in problems:
        rules = ["down", "nearest"] if args.inventory_nearest else ["down"]
        rows = [r for rule in rules for r in measure(name, pb, args.lots, args.threads, rule)]
        for r in rows:
            print(
                f"{r['problem']:<42} {r['lot']:>5g} {r['continuous']:>14,.2f} "
                f"{r['lot_grid']:>14,.2f} {r['diff']:>11,.2f} {r['pct']:>8.3f} "
                f"{r['t_cont']:>9.2f} {r['t_lot']:>8.2f} {r['transfers']!s:>15}",
                flush=True,
            )


if __name__ == "__main__":
    main()
