"""The whole pipeline on a 10x network (issue 13), locally and on a 2-worker LocalCluster,
stage by stage: wall seconds and peak memory of the stage's whole process tree (the rama
process plus every worker it starts: process pools, Dask workers), side by side in one run.

Aims on a 2-core, 24 GB machine: the whole 10x pipeline within 15 minutes and 16 GB; the
optimization exact within 60 s. Then a projection of the 100x network (90,000 stores, 5 M
pairs) on a 16-worker cluster from the measured per-partition costs.

Each stage runs as its own ``rama`` command (``rama generate --scale 10`` once, cached in
``data/bench_x10``, git-ignored), so a stage's memory is its own; memory is sampled every
0.2 s with psutil (RSS summed over the process tree; the sampled peak can miss a spike
shorter than that).

    .venv/bin/python benchmarks/bench_pipeline_10x.py [--scale 10] [--modes local,cluster]
        [--data DIR] [--stages prepare,forecast,optimize,evaluate,scenarios,report]
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

import psutil

from rama.cluster import LOG_ENV

REPO = Path(__file__).resolve().parents[1]
RAMA = str(Path(sys.executable).with_name("rama"))
STAGES = ("prepare", "forecast", "optimize", "evaluate", "scenarios", "report")
AIM_SECONDS, AIM_GB, AIM_OPTIMIZE_S = 15 * 60, 16.0, 60.0


def tree_rss(proc: psutil.Process) -> int:
    """RSS of ``proc`` and all its descendants (bytes; vanished processes count 0)."""
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measured(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, sampled peak RSS of the tree and of the command's own
    process (the client, GB), and the exit code."""
    t0 = time.perf_counter()
    with log.open("w") as out:
        popen = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
        proc = psutil.Process(popen.pid)
        peak = [0, 0]

        def sample() -> None:
            while popen.poll() is None:
                peak[0] = max(peak[0], tree_rss(proc))
                with contextlib.suppress(psutil.Error):
                    peak[1] = max(peak[1], proc.memory_info().rss)
                time.sleep(0.2)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        rc = popen.wait()
        th.join()
    return {
        "seconds": time.perf_counter() - t0,
        "peak_gb": peak[0] / 1e9,
        "client_gb": peak[1] / 1e9,
        "rc": rc,
    }


def phases_of(log: Path) -> list[dict[str, Any]]:
    """The cluster phases a stage logged (``rama.cluster.log_phase``)."""
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def project(stage: dict[str, Any], growth: float, workers: float) -> dict[str, float]:
    """One stage measured on the 2-worker cluster, projected to ``growth`` times the network
    on ``workers`` workers, phase by phase as each was logged (``rama.cluster.GROWTH``):

    - the client's own time (the stage's wall beyond its phases) x growth;
    - ``count`` (partitions of whole series: x growth tasks of the same size): summed task
      seconds x growth / workers, at least the longest task;
    - ``size`` (per-product blocks, scenario groups: as many tasks, each x growth): summed
      task seconds x growth / workers, at least the longest task x growth (17 scenario
      groups on 16 workers: the longest group sets the time); linear in the task's size,
      which an LP block's simplex need not be;
    - either: plus the scheduling and transfer overhead (the wall beyond the 2 workers'
      busy time) x growth; a phase without task times (the feature partitions) its wall x
      growth x 2 / workers;
    - ``fixed`` (LightGBM's fit on at most forecast.max_train_rows rows): its wall.

    Memory: the client's peak x growth; a worker's peak as measured for ``count`` and
    ``fixed`` phases, x growth for ``size`` ones (a block or a group holds its share of the
    network, and the scattered problem grows with it)."""
    phases = stage.get("phases", [])
    client_s = max(0.0, stage["seconds"] - sum(p["wall_s"] for p in phases))
    total = client_s * growth
    worker_gb = 0.0
    for p in phases:
        grows = p["scales"] == "size"
        worker_gb = max(worker_gb, p["worker_peak_gb"] * (growth if grows else 1.0))
        if p["scales"] == "fixed":
            total += p["wall_s"]
        elif p["tasks"]:
            longest = p["task_s_max"] * (growth if grows else 1.0)
            total += max(p["task_s_sum"] * growth / workers, longest)
            total += max(0.0, p["wall_s"] - p["task_s_sum"] / 2) * growth
        else:
            total += p["wall_s"] * growth * 2 / workers
    return {
        "client_s": client_s,
        "cluster_s": stage["seconds"] - client_s,
        "projected_s": total,
        "projected_client_gb": stage["client_gb"] * growth,
        "worker_gb": worker_gb,
    }


def print_projection(res: dict[str, dict[str, Any]], scale: float) -> None:
    growth, workers = 100.0 / scale, 16.0
    print(
        f"\nprojection of the 100x network on {workers:.0f} workers (from the cluster run: "
        f"x{growth:g} data; see project())"
    )
    print(
        f"{'stage':<10}{'client s':>10}{'tasks s':>10}{'100x s':>10}"
        f"{'client GB':>11}{'100x client GB':>16}{'100x worker GB':>16}"
    )
    total = 0.0
    for name, stage in res.items():
        if name.startswith("_"):
            continue
        p = project(stage, growth, workers)
        total += p["projected_s"]
        print(
            f"{name:<10}{p['client_s']:>10.1f}{p['cluster_s']:>10.1f}{p['projected_s']:>10.1f}"
            f"{stage['client_gb']:>11.2f}{p['projected_client_gb']:>16.1f}{p['worker_gb']:>16.2f}"
        )
    print(f"100x on {workers:.0f} workers: about {total / 60:.0f} min")


def stage_cmd(stage: str, data: Path, run: Path, dask: str | None) -> list[str]:
    extra = ["--dask", dask] if dask and stage != "report" else []
    if stage == "prepare":
        return [RAMA, "prepare", "--data", str(data), "--out", str(run), *extra]
    return [RAMA, stage, "--run", str(run), *extra]


def ensure_data(data: Path, scale: float) -> dict[str, Any] | None:
    if (data / "freshretailnet" / "data" / "train.parquet").is_file():
        return None
    data.parent.mkdir(parents=True, exist_ok=True)
    return measured(
        [RAMA, "generate", "--scale", f"{scale:g}", "--out", str(data)],
        data.parent / f"generate_{data.name}.log",
    )


def summary_of(run: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    f = run / "forecast" / "forecast_summary.json"
    if f.is_file():
        s = json.loads(f.read_text())
        out["train_rows"] = s.get("train_rows")
        out["series"] = s.get("series")
        out["total_demand"] = s.get("total_demand")
    m = run / "forecast" / "forecast_metrics.csv"
    if m.is_file():
        import polars as pl

        t = pl.read_csv(m).filter(
            (pl.col("method") == "model")
            & (pl.col("rows") == "official")
            & (pl.col("target") == "sale_amount")
        )
        if t.height:
            out["wape_official"] = float(t["wape"][0])
    p = run / "plan" / "summary.json"
    if p.is_file():
        s = json.loads(p.read_text())
        out["objective"] = s.get("objective", s.get("total_cost"))
        out["min_reduced_cost"] = s.get("min_reduced_cost")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--modes", default="local,cluster")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folders here")
    args = ap.parse_args()
    data = args.data or REPO / "data" / f"bench_x{args.scale:g}"
    gen = ensure_data(data, args.scale)
    if gen is not None:
        print(f"generate --scale {args.scale:g}: {gen['seconds']:.0f} s, {gen['peak_gb']:.1f} GB")
    stages = [s for s in args.stages.split(",") if s]
    root = args.keep or Path(tempfile.mkdtemp(prefix="rama_x10_"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for mode in args.modes.split(","):
        run = root / f"run_{mode}"
        if run.exists() and args.keep is None:
            shutil.rmtree(run)
        dask = "local" if mode == "cluster" else None
        results[mode] = {}
        for stage in stages:
            phase_log = root / f"{mode}_{stage}.phases.jsonl"
            phase_log.unlink(missing_ok=True)
            r = measured(
                stage_cmd(stage, data, run, dask),
                root / f"{mode}_{stage}.log",
                {LOG_ENV: str(phase_log)},
            )
            r["phases"] = phases_of(phase_log)
            results[mode][stage] = r
            print(
                f"{mode:<8} {stage:<10} {r['seconds']:>8.1f} s {r['peak_gb']:>6.2f} GB"
                f" (this process {r['client_gb']:.2f} GB)"
                + (
                    "" if r["rc"] == 0 else f"  FAILED rc={r['rc']} (see {root}/{mode}_{stage}.log)"
                ),
                flush=True,
            )
            if r["rc"] != 0:
                break
        results[mode]["_summary"] = summary_of(run)
    print()
    print(f"{'stage':<10}" + "".join(f"{m + ' s':>12}{m + ' GB':>12}" for m in results))
    for stage in stages:
        row = f"{stage:<10}"
        for by_stage in results.values():
            got = by_stage.get(stage)
            row += (
                f"{got['seconds']:>12.1f}{got['peak_gb']:>12.2f}" if got else f"{'-':>12}{'-':>12}"
            )
        print(row)
    for m, res in results.items():
        total = sum(r["seconds"] for k, r in res.items() if k != "_summary")
        peak = max((r["peak_gb"] for k, r in res.items() if k != "_summary"), default=0.0)
        opt = res.get("optimize", {}).get("seconds", float("nan"))
        print(
            f"{m}: total {total / 60:.1f} min (aim {AIM_SECONDS / 60:.0f}), peak {peak:.1f} GB "
            f"(aim {AIM_GB:.0f}), optimize {opt:.0f} s (aim {AIM_OPTIMIZE_S:.0f}); "
            f"{json.dumps(res['_summary'])}"
        )
    if "cluster" in results:
        print_projection(results["cluster"], args.scale)
    if args.keep is not None:
        (root / "results.json").write_text(json.dumps(results, indent=1))
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
