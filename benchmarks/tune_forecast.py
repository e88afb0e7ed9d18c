"""Choose the forecaster's hyperparameters by time-series CV on the train window (issue 14).

A small grid of ``DemandForecaster`` overrides is scored on every benchmark family by
rolling-origin cross-validation (:meth:`DemandForecaster.cross_validation`, ``--windows``
windows of 7 days ending at the last *train* day: the eval week is never read), one fresh
subprocess per (family, candidate) (``bench_forecast_peer.py``'s ``cv`` child). It prints the
official-row WAPE and WPE vs sales per family, their mean over the families and the mean
rank, and names the candidate with the lowest mean WAPE: ONE default set for every family
(no family is tuned alone). The data are the peer benchmark's (``data/peer_<name>_s<scale>``,
generated when missing).

    .venv/bin/python benchmarks/tune_forecast.py [--scale 0.2] [--windows 2]
        [--families default,persistent,intermittent,promo] [--only NAME,NAME]

Cost: candidates x families x windows fits (7 x 4 x 2 = 56 at scale 0.2): 17-88 s wall per
candidate and family on an idle 2-core machine, about 20 min in all (run nothing beside it:
two LightGBM processes on 2 cores took 5-10x longer). Results: docs/forecast.md.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from _measure import run_child
from bench_forecast_peer import ensure_data

PEER = str(Path(__file__).resolve().parent / "bench_forecast_peer.py")
FAMILIES = ("default", "persistent", "intermittent", "promo")
GRID: dict[str, dict[str, object]] = {
    "current": {},
    "leaves31": {"num_leaves": 31},
    "leaves127_min100": {"num_leaves": 127, "min_data_in_leaf": 100},
    "lr0.1_150": {"learning_rate": 0.1, "num_boost_round": 150},
    "lr0.03_500": {"learning_rate": 0.03, "num_boost_round": 500},
    "tweedie1.2": {"lgb_params": {"tweedie_variance_power": 1.2}},
    "poisson": {"objective": "poisson"},
}
"""Candidates: ``DemandForecaster`` keyword overrides of the ``[forecast]`` defaults."""


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--only", default="", help="comma-separated candidate names")
    args = ap.parse_args()
    names = [n for n in GRID if not args.only or n in args.only.split(",")]
    fams = args.families.split(",")
    print(f"load average {os.getloadavg()[0]:.2f}; scale {args.scale}; {args.windows} windows")
    wape = np.full((len(names), len(fams)), np.nan)
    wpe = np.full_like(wape, np.nan)
    for j, fam in enumerate(fams):
        data = ensure_data(fam, args.scale)
        for i, name in enumerate(names):
            r, wall = run_child(PEER, "cv", str(data), json.dumps(GRID[name]), str(args.windows))
            wape[i, j], wpe[i, j] = r["wape"], r["wpe"]
            print(
                f"  {fam:12s} {name:18s} WAPE {100 * r['wape']:6.2f}%  WPE "
                f"{100 * r['wpe']:+6.2f}%  ({wall:.0f} s)",
                flush=True,
            )
    ranks = np.argsort(np.argsort(wape, axis=0), axis=0) + 1.0
    head = " ".join(f"{f[:12]:>12s}" for f in fams)
    print(f"\nofficial-row WAPE % (WPE %) by CV on the train window\n{'candidate':18s} {head}"
          f" {'mean':>7s} {'rank':>5s}")  # fmt: skip
    for i, name in enumerate(names):
        cells = " ".join(
            f"{100 * wape[i, j]:5.2f}({100 * wpe[i, j]:+5.1f})" for j in range(len(fams))
        )
        print(f"{name:18s} {cells} {100 * wape[i].mean():7.2f} {ranks[i].mean():5.2f}")
    best = names[int(np.argmin(wape.mean(axis=1)))]
    print(f"\nbest on average: {best} {json.dumps(GRID[best])}")


if __name__ == "__main__":
    main()
