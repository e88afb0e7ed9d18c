"""Benchmark of the optimizer (issue 4): rama at full scale and 10x, and naive PuLP + CBC.

Every measured case runs in a fresh subprocess (`--case NAME`), which reports JSON: the
problem build time (in-memory generator, not counted as solve time), the solve wall time,
write + independent check time, and peak memory (the process tree's summed RSS, sampled
every 50 ms, an upper bound because forked workers share pages; plus ru_maxrss of the
parent and of the largest worker).

    .venv/bin/python benchmarks/bench_optimize.py            # all cases (~3-5 minutes)
    .venv/bin/python benchmarks/bench_optimize.py --skip-10x  # full scale + PuLP only

Cases:
- ``full``: 898 stores, 865 products, 50,000 pairs, complete network (rama, HiGHS, 2 cores);
- ``subset_rama`` / ``subset_pulp``: the same 100 products (one from each reach stratum, so
  the subset is as skewed as the network) solved by rama and by the naive PuLP model (every
  route a variable, built one by one) with CBC;
- ``10x``: 8,980 stores, 865 products, 500,000 pairs, complete network, float32 costs;
- ``hubs``: city-form costs (the pipeline's: every route costs its cities' cost), solved with
  city hubs and with route column generation side by side (same objective): the full-scale
  generator with ``noise = 0`` and no discounted lanes, and with ``--pipeline`` the problem
  folder ``runs/bench/problem`` written by ``rama run`` / bench_scenarios.py (forecast demand,
  simulated inventory) when it exists.

    .venv/bin/python benchmarks/bench_optimize.py --only-hubs [--pipeline]

Before timing, every named hand-solved instance (``rama.testing.instances``) is solved in
every transport storage form and checked against its known optimum.

Timings are noisy on a shared machine: run it on an otherwise idle one for figures to quote.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil

AIMS = {
    "full_seconds": 1.0,
    "full_gb": 2.0,
    "pulp_ratio": 100.0,
    "x10_seconds": 60.0,
    "x10_gb": 6.0,
}
SUBSET_PRODUCTS = 100


class PeakRss:
    """Sample the summed RSS of this process and its children (bytes)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self._proc, *self._proc.children(recursive=True)]
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            time.sleep(interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


PIPELINE_PROBLEM = Path(__file__).resolve().parents[1] / "runs" / "bench" / "problem"


def _problem(case: str) -> Any:
    from rama.problem import load_problem
    from rama.testing import synthetic_problem

    if case == "hubs_pipeline":
        return load_problem(PIPELINE_PROBLEM)
    if case == "hubs":
        return synthetic_problem(seed=0, noise=0.0, discounted_lanes=0.0)
    if case == "10x":
        return synthetic_problem(
            n_stores=8980, n_products=865, n_pairs=500_000, seed=0, dtype=np.float32
        )
    pb = synthetic_problem(seed=0)
    if case.startswith("subset"):
        pb = pb.subset(subset_products(pb, SUBSET_PRODUCTS))
    return pb


def subset_products(pb: Any, k: int) -> np.ndarray:
    """``k`` products spread evenly over the reach ranking (the middle of each of ``k``
    equal rank strata), so the subset has the network's skew: ~1/8.65 of its routes."""
    reach = np.diff(pb.product_start)
    by_rank = np.argsort(-reach, kind="stable")
    picks = ((np.arange(k) + 0.5) * reach.size / k).astype(np.int64)
    return np.sort(pb.product_ids[by_rank[picks]])


def run_case(case: str) -> dict[str, Any]:
    """Run one case in this process and return its figures."""
    from rama.optimize import check_plan, solve, write_plan

    with PeakRss() as rss:
        t0 = time.perf_counter()
        pb = _problem(case)
        t_build = time.perf_counter() - t0
        out: dict[str, Any] = {"case": case, "build_seconds": t_build, "pairs": pb.n_pairs}
        out["stores"], out["products"] = pb.n_stores, pb.n_products
        reach = np.diff(pb.product_start).astype(np.float64)
        out["routes_full_model"] = int(((reach - 1) * reach).sum())
        if case.startswith("hubs"):
            for label, hubs in (("hubs", True), ("routes", False)):
                t1 = time.perf_counter()
                plan = solve(pb, "highs", threads=0, check=False, hubs=hubs)
                out[f"{label}_seconds"] = time.perf_counter() - t1
                out[f"{label}_objective"] = plan.objective
                out[f"{label}_min_rc"] = plan.min_reduced_cost
                out[f"{label}_stats"] = plan.stats
            out["solve_seconds"], out["objective"] = out["hubs_seconds"], out["hubs_objective"]
        elif case == "subset_pulp":
            from rama.optimize.plan import polish
            from rama.optimize.pulp_backend import build_pulp_model, solve_pulp

            t1 = time.perf_counter()
            model = build_pulp_model(pb)
            out["pulp_build_seconds"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            raw = solve_pulp(pb, model)
            out["pulp_solve_seconds"] = time.perf_counter() - t2
            out["solve_seconds"] = time.perf_counter() - t1
            out["objective"] = polish(pb, raw, "pulp", 0.0).objective
            out["variables"] = raw.stats["variables"]
        else:
            t1 = time.perf_counter()
            plan = solve(pb, "highs", threads=0, check=False)
            out["solve_seconds"] = time.perf_counter() - t1
            out["objective"] = plan.objective
            out["min_reduced_cost"] = plan.min_reduced_cost
            out["stats"] = plan.stats
            if case == "full":  # the same solve on one core: less sensitive to other load
                c0, t5 = time.process_time(), time.perf_counter()
                solve(pb, "highs", threads=1, check=False)
                out["one_core_seconds"] = time.perf_counter() - t5
                out["one_core_cpu_seconds"] = time.process_time() - c0
            with tempfile.TemporaryDirectory() as tmp:
                t3 = time.perf_counter()
                write_plan(plan, Path(tmp) / "plan")
                out["write_seconds"] = time.perf_counter() - t3
                t4 = time.perf_counter()
                worst = check_plan(pb, Path(tmp) / "plan")
                out["check_seconds"] = time.perf_counter() - t4
                out["check_worst"] = max(v for k, v in worst.items() if k != "objective")
    out["peak_tree_rss_gb"] = rss.peak / 2**30
    out["ru_maxrss_self_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    out["ru_maxrss_worker_gb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
    return out


def _spawn(case: str) -> dict[str, Any]:
    cmd = [sys.executable, os.path.abspath(__file__), "--case", case]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{res.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    return out


def _fmt(r: dict[str, Any]) -> str:
    extra = ""
    if "min_reduced_cost" in r:
        extra = f", min reduced cost {r['min_reduced_cost']:.1e}"
    return (
        f"{r['case']:<12} {r['stores']:>6} stores {r['products']:>4} products "
        f"{r['pairs']:>8,} pairs"
        f" | solve {r['solve_seconds']:8.2f} s | peak {r['peak_tree_rss_gb']:5.2f} GB tree"
        f" ({r['ru_maxrss_self_gb']:.2f} parent, {r['ru_maxrss_worker_gb']:.2f} worker)"
        f" | objective {r['objective']:,.4f}{extra}"
    )


def _print_hubs(r: dict[str, Any]) -> None:
    h, c = r["hubs_stats"], r["routes_stats"]
    gap = abs(r["hubs_objective"] - r["routes_objective"]) / max(1.0, abs(r["routes_objective"]))
    print(
        f"{r['case']}: city-form costs, {r['pairs']:,} pairs | city hubs {r['hubs_seconds']:.2f} s "
        f"({h['hub_columns']:,} hub columns, {h['routes_in_lp']:,} routes entered, "
        f"{h['simplex_iterations']:,} iterations) vs route generation {r['routes_seconds']:.2f} s "
        f"({c['routes_in_lp']:,} routes in LPs, {c['pricing_rounds_max']} rounds max, "
        f"{c['simplex_iterations']:,} iterations): {r['routes_seconds'] / r['hubs_seconds']:.1f}x; "
        f"objectives differ by {gap:.1e} (relative); min reduced cost {r['hubs_min_rc']:.1e}",
        flush=True,
    )


def check_instances() -> str:
    """Pre-flight: every named hand-solved instance (rama.testing.instances) reaches its known
    optimum, in every transport storage form, before anything is timed."""
    from rama.optimize import solve
    from rama.testing.instances import INSTANCES, TRANSPORT_FORMS, instance

    for name, inst in INSTANCES.items():
        for form in TRANSPORT_FORMS:
            got = solve(instance(name, form), "highs", threads=1).objective
            if abs(got - inst.optimum.objective) > 1e-9 * max(1.0, inst.optimum.objective):
                raise RuntimeError(f"{name} ({form}): objective {got}, by hand {inst.optimum}")
    return f"named instances: {len(INSTANCES)} x {len(TRANSPORT_FORMS)} forms at their optima"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--case", help="run one case in this process and print JSON")
    ap.add_argument("--skip-10x", action="store_true", help="skip the 10x network")
    ap.add_argument("--skip-pulp", action="store_true", help="skip the naive PuLP model")
    ap.add_argument("--only-hubs", action="store_true", help="only the city-hub comparison")
    ap.add_argument("--pipeline", action="store_true", help="hubs also on runs/bench/problem")
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case), default=float))
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(check_instances(), flush=True)
    hub_cases = ["hubs"] + (
        ["hubs_pipeline"] if args.pipeline and PIPELINE_PROBLEM.is_dir() else []
    )
    if args.only_hubs:
        for case in hub_cases:
            _print_hubs(_spawn(case))
        return
    cases = ["full", "subset_rama"] + ([] if args.skip_pulp else ["subset_pulp"])
    cases += [] if args.skip_10x else ["10x"]
    results = {}
    for case in cases:
        results[case] = r = _spawn(case)
        print(_fmt(r), flush=True)
    for case in hub_cases:
        _print_hubs(_spawn(case))
    full = results["full"]
    print(
        f"\nfull scale: solve {full['solve_seconds']:.2f} s (aim {AIMS['full_seconds']} s), "
        f"peak {full['peak_tree_rss_gb']:.2f} GB (aim {AIMS['full_gb']} GB); "
        f"write {full['write_seconds']:.2f} s + independent check {full['check_seconds']:.2f} s "
        f"(worst violation {full['check_worst']:.1e}); {full['routes_full_model']:,} routes priced "
        f"exactly, {full['stats']['routes_in_lp']:,} ever in an LP; on one core "
        f"{full['one_core_seconds']:.2f} s wall, {full['one_core_cpu_seconds']:.2f} s CPU"
    )
    if "subset_pulp" in results:
        rr, pp = results["subset_rama"], results["subset_pulp"]
        ratio = pp["solve_seconds"] / rr["solve_seconds"]
        gap = abs(pp["objective"] - rr["objective"]) / max(1.0, abs(rr["objective"]))
        print(
            f"100-product subset ({rr['pairs']:,} pairs, {pp['variables']:,} PuLP variables): "
            f"PuLP build {pp['pulp_build_seconds']:.1f} s + CBC {pp['pulp_solve_seconds']:.1f} s "
            f"vs rama {rr['solve_seconds']:.3f} s: {ratio:,.0f}x faster "
            f"(aim {AIMS['pulp_ratio']:.0f}x); "
            f"objectives differ by {gap:.1e} (relative)"
        )
    if "10x" in results:
        x = results["10x"]
        print(
            f"10x network: solve {x['solve_seconds']:.1f} s (aim {AIMS['x10_seconds']} s), peak "
            f"{x['peak_tree_rss_gb']:.2f} GB (aim {AIMS['x10_gb']} GB), min reduced cost "
            f"{x['min_reduced_cost']:.1e}, check {x['check_seconds']:.1f} s"
        )


if __name__ == "__main__":
    main()
