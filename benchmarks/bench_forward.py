"""Benchmark of planning next week (issue "Plan next week on live data"), in one run:

1. **forward mode** end to end: ``rama run`` on the full-scale default with the eval split and
   the latent truth hidden (a live extract ends at the last day sold): wall time per stage and
   the peak memory of the process tree;
2. **the recommended plan against the deterministic LP**: ``rama run`` on the same data with
   its eval split: each plan's expected cost on the forecast draws and its realized cost on
   the latent truth (``RUN/evaluation/``);
3. **whole units**: ``rama optimize --run`` on a copy of that run with ``plan.lot_size = 1``,
   against that run's plans (the default lot, 0.1) and the continuous optimum the stage
   reports: the cost of rounding in $ and %, and the solve times.

    .venv/bin/python benchmarks/bench_forward.py [--data data/bench_full] [--scale 1.0]

The data folder is generated once (``rama generate``) when it does not exist.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import psutil

RAMA = str(Path(sys.executable).parent / "rama")
DEFAULT_DATA = Path("data/bench_full")


def _tree_rss(pid: int) -> int:
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.Error):
            total += q.memory_info().rss
    return total


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run ``argv``; wall seconds, peak summed RSS of its process tree (GB), stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate()
    done.set()
    t.join()
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{err[-3000:]}")
    return time.perf_counter() - t0, peak / 1e9, out


def stage_seconds(stdout: str) -> dict[str, float]:
    """The ``done <stage> <s> s`` lines of ``rama run``."""
    out: dict[str, float] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "done" and parts[3] == "s":
            out[parts[1]] = float(parts[2])
    return out


def live_copy(data: Path, out: Path) -> Path:
    """``data`` without its eval split and truth (symlinks to the train and logistics files)."""
    (out / "freshretailnet" / "data").mkdir(parents=True)
    (out / "logistics").mkdir()
    os.symlink(
        (data / "freshretailnet" / "data" / "train.parquet").resolve(),
        out / "freshretailnet" / "data" / "train.parquet",
    )
    for f in (data / "logistics").iterdir():
        os.symlink(f.resolve(), out / "logistics" / f.name)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    data: Path = args.data
    if not (data / "freshretailnet" / "data" / "eval.parquet").is_file():
        print(f"generating scale {args.scale} into {data} (once) ...", flush=True)
        subprocess.run(
            [RAMA, "generate", "--out", str(data), "--scale", str(args.scale)], check=True
        )
    print(f"machine: {os.cpu_count()} cores; data {data}\n")
    with tempfile.TemporaryDirectory(prefix="bench_forward_") as tmp_s:
        tmp = Path(tmp_s)
        # 1. forward mode
        live = live_copy(data, tmp / "live")
        wall, peak, out = run_measured([RAMA, "run", "--data", str(live), "--out", str(tmp / "fw")])
        secs = stage_seconds(out)
        print("1. forward mode (no eval split, no truth), rama run end to end")
        print(f"   wall {wall:.1f} s, peak {peak:.2f} GB (process tree)")
        print("   stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
        fw = json.loads((tmp / "fw" / "plan" / "summary.json").read_text())
        week = fw["planning_week"]
        print(
            f"   planning week {week['first_day']}..{week['last_day']}; RUN/plan/ = "
            f"{fw['strategy']}; expected fill {fw['expected_fill_rate']:.2%}, cycle service "
            f"{fw['expected_cycle_service_level']:.2%} (target "
            f"{fw['cycle_service_level_target']:.0%})"
        )
        ev = pl.read_csv(tmp / "fw" / "evaluation" / "evaluation.csv")
        assert ev["realized_total"].null_count() == ev.height
        # 2. with actuals
        wall2, peak2, _out2 = run_measured(
            [RAMA, "run", "--data", str(data), "--out", str(tmp / "full")]
        )
        print(f"\n2. with the eval split: rama run {wall2:.1f} s, peak {peak2:.2f} GB")
        ev = pl.read_csv(tmp / "full" / "evaluation" / "evaluation.csv")
        rows = {r["strategy"]: r for r in ev.iter_rows(named=True)}
        for name in ("plan_folder", "stochastic", "centralized_lp", "do_nothing"):
            r = rows[name]
            label = "recommended (RUN/plan/)" if name == "plan_folder" else name
            print(
                f"   {label:24s} expected on forecast draws ${r['forecast_total']:>10,.0f}  "
                f"realized ${r['realized_total']:>10,.0f}  realized fill "
                f"{r['realized_fill_rate']:.2%}"
            )
        rec, lp = rows["plan_folder"], rows["centralized_lp"]
        for kind in ("forecast", "realized"):
            d = rec[f"{kind}_total"] / lp[f"{kind}_total"] - 1
            print(f"   recommended vs deterministic LP, {kind}: {d:+.1%}")
        # 3. lot grid
        lots_run = tmp / "lots"
        shutil.copytree(tmp / "full", lots_run)
        t0 = time.perf_counter()
        subprocess.run(
            [RAMA, "optimize", "--run", str(lots_run), "--set", "plan.lot_size=1"],
            check=True,
            capture_output=True,
        )
        t_lots = time.perf_counter() - t0
        plan = json.loads((lots_run / "plan" / "summary.json").read_text())
        lots: dict[str, Any] = plan["recommended"]["lots"]
        cont = json.loads((tmp / "full" / "plans" / "stochastic" / "summary.json").read_text())
        lp_lot = json.loads((lots_run / "plans" / "centralized_lp" / "summary.json").read_text())
        lp_cont = json.loads(
            (tmp / "full" / "plans" / "centralized_lp" / "summary.json").read_text()
        )
        print(f"\n3. whole units (plan.lot_size = 1), rama optimize --run {t_lots:.1f} s")
        for label, c, g in (
            ("stochastic (recommended)", cont, plan),
            ("deterministic LP", lp_cont, lp_lot),
        ):
            diff = g["objective"] - c["objective"]
            base = f"lot {c.get('lot_size', 0)}" if c.get("lot_size") else "continuous"
            print(
                f"   {label:26s} {base} ${c['objective']:,.2f} ({c['solve_seconds']:.2f} s)"
                f"  lot grid ${g['objective']:,.2f} ({g['solve_seconds']:.2f} s)  rounding "
                f"{diff:+,.2f} ({diff / c['objective']:+.2%})"
            )
        print(
            f"   continuous optimum ${lots['continuous_objective']:,.2f}; on the forecast draws: "
            f"continuous ${lots['continuous_expected_total']:,.0f}, "
            f"lot 1 ${lots['lot_grid_expected_total']:,.0f}"
        )


if __name__ == "__main__":
    main()
