"""Benchmark of the Dask path (issue 13, its solver part): the same problem solved with the
local process pool and on a 2-worker LocalCluster, side by side in one run, with the
objective difference (the aim: within 1e-9 relative) and the wall times.

    .venv/bin/python benchmarks/bench_cluster.py            # full scale + 10x solver sizes
    .venv/bin/python benchmarks/bench_cluster.py --skip-10x

The data stages and the forecast do not run on the cluster yet (docs/cluster.md), so this is
not the whole-pipeline 10x figure the issue asks for.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rama import cluster
from rama.optimize.solve import solve
from rama.testing import synthetic_problem


def _problem(case: str):  # type: ignore[no-untyped-def]
    if case == "10x":
        return synthetic_problem(
            n_stores=8980,
            n_products=865,
            n_pairs=500_000,
            seed=0,
            noise=0.0,
            discounted_lanes=0.0,  # city-form costs: the hub restatement applies
            dtype=np.float32,
        )
    return synthetic_problem(seed=0, noise=0.0, discounted_lanes=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--skip-10x", action="store_true", help="skip the 10x network")
    ap.add_argument("--only-10x", action="store_true", help="only the 10x network")
    args = ap.parse_args()
    cases = ["10x"] if args.only_10x else ["full"] if args.skip_10x else ["full", "10x"]
    print(f"{'case':<6} {'pairs':>8} {'local s':>9} {'cluster s':>10} {'rel diff':>10}")
    for case in cases:
        problem = _problem(case)
        t0 = time.perf_counter()
        local = solve(problem, "highs", threads=2)
        t_local = time.perf_counter() - t0
        with cluster.use_cluster("local", n_workers=2):
            t0 = time.perf_counter()
            remote = solve(problem, "highs", threads=2)
            t_cluster = time.perf_counter() - t0
        rel = abs(remote.objective - local.objective) / max(1.0, abs(local.objective))
        print(
            f"{case:<6} {problem.n_pairs:>8,} {t_local:>9.1f} {t_cluster:>10.1f} {rel:>10.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
