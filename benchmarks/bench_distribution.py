"""Which horizon distribution should the stochastic plan use? Realized cost against the truth.

For each dataset (the default generator and the :mod:`rama.synth.families` families
``persistent``, ``intermittent``, ``promo``, all with latent truth), the pipeline's first
three stages run with the default configuration (``prepare``, ``forecast``, ``optimize``;
reused when current). On the run's problem (``RUN/problem/``, with the forecast's quantile
grid) the deterministic LP (``centralized_lp``) and, for ``stochastic.distribution`` in
gamma / normal / empirical, the stochastic plan are solved the way ``rama optimize`` solves
them (on the ``plan.lot_size`` grid), and every plan is scored against the LATENT TRUTH of
the planning week (:func:`rama.evaluate.truth.realized_demand`, ``truth = "latent"``), the
realized cost ``holding + stockout + transport + manufacturing + distribution`` ($) and fill
rate of :func:`rama.evaluate.compare.score_realized`. Beside it, per distribution, the
calibration of its horizon quantiles: the share of scored pairs whose true total is at or
below its 10 / 50 / 90 % quantile (ideal 10 / 50 / 90 %).

Data is cached in ``data/peer_<name>_s<scale>`` (shared with bench_forecast_peer.py), runs in
``data/dist_run_<name>_s<scale>`` (git-ignored).

    .venv/bin/python benchmarks/bench_distribution.py [--scale 0.1]
        [--datasets default,persistent,intermittent,promo] [--threads 1]
        [--set forecast.recovery_prior_days=1 --set forecast.recovery_prior_units=0 --tag d1]
"""

from __future__ import annotations

import argparse
import math
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench_forecast_peer import ensure_data  # the same cached family datasets

REPO = Path(__file__).resolve().parents[1]
DATASETS = ("default", "persistent", "intermittent", "promo")
DISTRIBUTIONS = ("gamma", "normal", "empirical")
LEVELS = (0.1, 0.5, 0.9)


def run_stages(data: Path, run: Path, cfg: Any) -> dict[str, float]:
    """prepare, forecast, optimize into ``run`` (each reused when its record is current);
    wall seconds of the stages that ran."""
    from rama.pipeline import execute_stage, open_run, stage_inputs, stages
    from rama.run_manifest import why_not_current

    seconds: dict[str, float] = {}
    with open_run(run, cfg, {"--data": data}):
        for name, stage in stages()[:3]:
            ins = stage_inputs(name, data)
            if why_not_current(run, name, cfg.values, ins) is None:
                continue
            _, sec, _ = execute_stage(run, name, partial(stage, data, run, cfg), cfg, ins)
            seconds[name] = sec
    return seconds


def quantiles(problem: Any, distribution: str, levels: tuple[float, ...]) -> np.ndarray:
    """``n_pairs x len(levels)`` quantiles of each pair's horizon total (units) under
    ``distribution`` (empirical: the grid, Gamma for a pair without a row)."""
    from statistics import NormalDist

    from scipy import special

    from rama.problem import grid_rows
    from rama.rules import grid_quantiles

    m = np.maximum(problem.demand, 0.0)
    s = np.maximum(problem.store_products["demand_std"].to_numpy().astype(np.float64), 0.0)
    lv = np.asarray(levels)
    out = np.repeat(m[:, None], lv.size, axis=1)
    ok = (m > 0) & (s > 0)
    if distribution == "normal":
        z = np.array([NormalDist().inv_cdf(float(x)) for x in lv])
        out[ok] = np.maximum(m[ok, None] + s[ok, None] * z[None, :], 0.0)
        return out
    shape = (m[ok] / s[ok]) ** 2
    out[ok] = special.gammaincinv(shape[:, None], lv[None, :]) * (s[ok] ** 2 / m[ok])[:, None]
    if distribution == "empirical":
        rows = grid_rows(problem)
        if rows.any():
            out[rows] = grid_quantiles(problem.demand_grid[rows], lv)
    return out


def evaluate(run: Path, cfg: Any, threads: int) -> dict[str, Any]:
    """Every plan of the run's problem scored on the latent truth (module doc)."""
    from rama.evaluate.compare import score_realized
    from rama.evaluate.truth import realized_demand
    from rama.problem import load_problem, on_lot_grid
    from rama.strategies import STRATEGY_FUNCTIONS, StrategyContext

    problem = load_problem(run / "problem")
    truth, note = realized_demand(run, cfg, problem, "latent")
    assert truth is not None
    lot = float(cfg["plan"]["lot_size"])
    planned = on_lot_grid(problem, lot) if lot > 0 else problem
    rows: dict[str, dict[str, float]] = {}

    def ctx_for(distribution: str) -> StrategyContext:
        sto = dict(cfg["stochastic"])
        sto["distribution"] = distribution
        return StrategyContext(sto, threads, str(cfg["optimize"]["backend"]), lot)

    t0 = time.perf_counter()
    lp = STRATEGY_FUNCTIONS["centralized_lp"](planned, ctx_for("gamma"))
    rows["deterministic LP"] = score_realized(lp, problem, truth) | {
        "seconds": time.perf_counter() - t0
    }
    known = np.isfinite(truth)
    for dist in DISTRIBUTIONS:
        ctx = ctx_for(dist)
        t0 = time.perf_counter()
        dec = STRATEGY_FUNCTIONS["stochastic"](planned, ctx)
        fig = score_realized(dec, problem, truth)
        q = quantiles(problem, dist, LEVELS)[known]
        cover = {f"le_q{round(100 * lv)}": float((truth[known] <= q[:, j] + 1e-9).mean())
                 for j, lv in enumerate(LEVELS)}  # fmt: skip
        rows[dist] = (
            fig
            | cover
            | {
                "seconds": time.perf_counter() - t0,
                "fallback_pairs": float(ctx.fallback_pairs),
            }
        )
    zero = float((truth[known] == 0).mean())
    return {"rows": rows, "pairs": int(known.sum()), "zero_share": zero, "note": note}


def print_family(name: str, res: dict[str, Any]) -> None:
    rows = res["rows"]
    lp = rows["deterministic LP"]["total"]
    print(
        f"\n== {name}: {res['pairs']:,} pairs scored on the latent truth "
        f"({100 * res['zero_share']:.1f}% zero weekly totals) =="
    )
    print(
        f"  {'plan':18s} {'realized $':>12s} {'vs LP':>7s} {'fill':>6s}  "
        f"{'truth<=q10/q50/q90 (%)':>23s} {'fallback':>8s} {'solve s':>7s}"
    )
    for plan, r in rows.items():
        vs = "      -" if plan == "deterministic LP" else f"{100 * (r['total'] / lp - 1):+6.2f}%"
        cov = (
            "/".join(f"{100 * r[f'le_q{round(100 * lv)}']:.1f}" for lv in LEVELS)
            if "le_q10" in r
            else "-"
        )
        fb = f"{int(r['fallback_pairs'])}" if "fallback_pairs" in r else "-"
        print(
            f"  {plan:18s} {r['total']:12,.1f} {vs:>7s} {100 * r['fill_rate']:5.1f}%  "
            f"{cov:>23s} {fb:>8s} {r['seconds']:7.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override (e.g. forecast.recovery_prior_days=1); the runs then go to "
        "data/dist_run_<name>_s<scale>_<--tag>",
    )
    ap.add_argument("--tag", default="", help="run-folder suffix for --set variants")
    args = ap.parse_args()
    from rama.config import load_config

    cfg = load_config(overrides=["stochastic.distribution=gamma", *args.set])
    if args.set and not args.tag:
        ap.error("--set needs --tag (the runs of another configuration go to their own folder)")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; scale {args.scale}")
    (REPO / "data").mkdir(exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    for name in args.datasets.split(","):
        data = ensure_data(name, args.scale)
        run = (
            REPO / "data" / (f"dist_run_{name}_s{args.scale:g}" + (f"_{args.tag}" * bool(args.tag)))
        )
        ran = run_stages(data, run, cfg)
        if ran:
            print(f"{name}: ran " + ", ".join(f"{k} {v:.1f} s" for k, v in ran.items()))
        results[name] = evaluate(run, cfg, args.threads)
        print_family(name, results[name])
    print("\n== choice: realized cost vs the deterministic LP, per family ==")
    wins = dict.fromkeys(DISTRIBUTIONS, 0)
    total = dict.fromkeys(DISTRIBUTIONS, 0.0)
    for name, res in results.items():
        costs = {d: res["rows"][d]["total"] for d in DISTRIBUTIONS}
        best = min(costs, key=lambda d: costs[d])
        wins[best] += 1
        lp = res["rows"]["deterministic LP"]["total"]
        for d in DISTRIBUTIONS:
            total[d] += costs[d] / lp - 1
        print(f"  {name:13s} best {best:9s} " + "  ".join(
            f"{d} {100 * (costs[d] / lp - 1):+6.2f}%" for d in DISTRIBUTIONS))  # fmt: skip
    n = max(len(results), 1)
    for d in DISTRIBUTIONS:
        dollars = sum(r["rows"][d]["total"] for r in results.values())
        print(
            f"  {d:9s} wins {wins[d]} of {len(results)}; mean vs LP {100 * total[d] / n:+6.2f}%;"
            f" summed realized ${dollars:,.1f}"
        )
    bands = {10: (0.05, 0.15), 50: (0.45, 0.55), 90: (0.85, 0.95)}  # issue 14's bands
    calibrated = [
        d
        for d in DISTRIBUTIONS
        if all(
            lo <= r["rows"][d][f"le_q{q}"] <= hi
            for r in results.values()
            for q, (lo, hi) in bands.items()
        )
    ]
    print(
        "  quantiles in 5-15 / 45-55 / 85-95 % on every family: "
        + (", ".join(calibrated) if calibrated else "none")
    )
    pool = calibrated or list(DISTRIBUTIONS)
    lowest = min(pool, key=lambda d: total[d])
    print(
        f"  choice (lowest mean realized cost vs the LP among "
        f"{'the calibrated' if calibrated else 'all'}): stochastic.distribution = {lowest!r}"
        + ("" if math.isfinite(total[lowest]) else " (no data)")
    )


if __name__ == "__main__":
    main()
