"""Benchmark: risk-aware strategies on the full-scale synthetic default, vs the latent truth.

Reuses the cached full-scale data ``data/bench_full`` and run ``runs/bench`` (git-ignored;
generated + prepared + forecast once when absent). Prints, each measured in a fresh
subprocess: the evaluation (every strategy, realized cost vs latent truth, the stochastic
plan's realized total cost vs the deterministic LP's, the fill-rate variant's target and
achieved expected / realized fill rates), and a 20-scenario sweep's wall time and peak memory
(``--workers`` 0 = scenarios in sequence with parallel solves, or N scenario processes).

    .venv/bin/python benchmarks/bench_scenarios.py [--workers 0] [--skip-eval] [--all-strategies]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data" / "bench_full"
RUN = REPO / "runs" / "bench"
PY = sys.executable

CHILD_EVAL = """
import json, resource, time
from rama.config import load_config
from rama.evaluate import run_evaluation
t = time.perf_counter()
s = dict(run_evaluation({run!r}, load_config()).summary)
s["wall"] = time.perf_counter() - t
s["peak_gb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1e6
print("JSON" + json.dumps(s, default=str))
"""

CHILD_SWEEP = """
import json, resource, time
from rama.config import load_config
from rama.scenarios import run_scenarios, scenario_list
cfg = load_config()
if {all_strategies}:
    cfg = cfg.with_overrides({{"scenarios.strategies": list(cfg["evaluate"]["strategies"])}})
names = [s.name for s in scenario_list(cfg["scenarios"])][:20]
t = time.perf_counter()
s = dict(run_scenarios({run!r}, cfg, workers={workers}, only=names).summary)
s["wall"] = time.perf_counter() - t
s["peak_gb"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1e6
print("JSON" + json.dumps(s, default=str))
"""


def _child(code: str) -> dict:
    out = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("JSON"))
    parsed: dict = json.loads(line[4:])
    return parsed


def _ensure_run() -> None:
    """The run's problem (``RUN/problem/``), which evaluation and scenarios read."""
    if (RUN / "problem" / "store_risk.parquet").is_file():
        return
    rama = [str(Path(PY).parent / "rama")]
    if not (RUN / "forecast" / "horizon_demand.parquet").is_file():
        if not (DATA / "freshretailnet" / "data" / "train.parquet").is_file():
            subprocess.run([*rama, "generate", "--out", str(DATA)], check=True)
        subprocess.run([*rama, "prepare", "--data", str(DATA), "--out", str(RUN)], check=True)
        subprocess.run([*rama, "forecast", "--run", str(RUN)], check=True)
    subprocess.run([*rama, "optimize", "--run", str(RUN)], check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument(
        "--all-strategies",
        action="store_true",
        help="sweep with evaluate.strategies (adds the fill-rate variant)",
    )
    args = ap.parse_args()
    _ensure_run()
    print("shared 2-core machine: timings are noisy")
    if not args.skip_eval:
        t0 = time.perf_counter()
        s = _child(CHILD_EVAL.format(run=str(RUN)))
        print(
            f"evaluation: wall {s['wall']:.1f} s (process {time.perf_counter() - t0:.1f} s), "
            f"peak {s['peak_gb']:.2f} GB; truth: {s['source']}"
        )
        rows = s["strategies"]
        print(
            f"{'strategy':22s} {'expected $':>12s} {'realized $':>12s} {'exp fill':>9s} "
            f"{'real fill':>9s} {'cycle SL':>9s} {'seconds':>8s}"
        )
        for name, r in rows.items():
            print(
                f"{name:22s} {r['expected_total']:12,.0f} {r['realized_total']:12,.0f} "
                f"{r['expected_fill_rate']:9.4f} {r['realized_fill_rate']:9.4f} "
                f"{r['realized_cycle_service_level']:9.4f} {r.get('seconds') or 0:8.1f}"
            )
        if "stochastic" in rows and "centralized_lp" in rows:
            st, lp = rows["stochastic"]["realized_total"], rows["centralized_lp"]["realized_total"]
            print(
                f"stochastic vs deterministic LP realized cost: {st:,.0f} vs {lp:,.0f} "
                f"({(st / lp - 1) * 100:+.2f}%; target <= -5%)"
            )
        if "stochastic_fill_rate" in rows:
            fr = rows["stochastic_fill_rate"]
            print(
                f"fill-rate target {fr['fill_rate_target']:.3f}: expected "
                f"{fr['expected_fill_rate']:.4f}, realized {fr['realized_fill_rate']:.4f} "
                f"(target: within 0.01)"
            )
    if not args.skip_sweep:
        t0 = time.perf_counter()
        code = CHILD_SWEEP.format(
            run=str(RUN), workers=args.workers, all_strategies=args.all_strategies
        )
        s = _child(code)
        print(
            f"20-scenario sweep ({len(s['scenarios'])} scenarios x {len(s['strategies'])} "
            f"strategies, workers {args.workers}): wall {s['wall']:.1f} s (process "
            f"{time.perf_counter() - t0:.1f} s; target <= 60 s), peak {s['peak_gb']:.2f} GB"
        )
        solved = s["plan_sets_solved"]
        by = ", ".join(f"{k} {v:.1f} s" for k, v in s["solve_seconds_by_strategy"].items())
        print(
            f"  {solved} distinct plan sets solved ({len(s['scenarios']) - solved} unforeseen "
            f"shocks reuse their base's plans); {s.get('solves_reused', 0)} solves reused "
            f"(identical problem, rama.scenarios.reuse); strategy seconds: {by}"
        )


if __name__ == "__main__":
    main()
