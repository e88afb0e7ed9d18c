"""Benchmark `generate_datasets` at full scale in a fresh subprocess.

Prints wall time, peak RSS of the child, output sizes, the calibration statistics of the
generated train split next to the published FreshRetailNet-50K ones, and the censoring
diagnostics per split (official-row selection ratio, censoring bias on official / all rows).

    .venv/bin/python benchmarks/bench_generate.py [--scale 1.0] [--seed 42] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PUBLISHED = {  # the published statistics (tests/data/README.md, docs/synthetic.md)
    "mean": 0.999,
    "std": 1.407,
    "median": 0.7,
    "max": 44.9,
    "zero_share": 200_760 / 4_500_000,
    "stockout_share": 0.443,
    "holiday_mean": 1.16,
    "non_holiday_mean": 0.91,
}

CHILD = """
import json, sys
from pathlib import Path
from rama.synth import generate_datasets
s = generate_datasets(Path(sys.argv[1]), scale=float(sys.argv[2]), seed=int(sys.argv[3]))
print(json.dumps(s.to_dict()))
"""


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _print_censoring(censoring: dict[str, dict[str, float]]) -> None:
    """Official rows = stock_hour6_22_cnt == 0 (the published benchmark protocol)."""
    print(
        "\n  censoring diagnostics       official   selection   bias on     bias on"
        "\n  (latent L, sales y)         rows       ratio       official    all rows"
    )
    for split, c in censoring.items():
        print(
            f"  {split:<27} {c['official_share']:>8.1%} {c['selection_ratio']:>11.4f} "
            f"{c['official_bias']:>+10.2%} {c['censoring_bias']:>+11.2%}"
        )
    print(
        "  selection ratio = mean L on official rows / the same series' mean L over the split"
        "\n  (target ~0.97-1.03 on eval: the published no-recovery bias of about -7.4% on"
        "\n  official rows needs official rows that are not low-demand days); bias = sum(y - L)"
        "\n  / sum L: about 0 on official rows (night stockouts only), the censored share on all"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", type=Path, default=None, help="write here and keep the data")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_generate."))
    out = args.keep if args.keep is not None else tmp / "data"
    try:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(out), str(args.scale), str(args.seed)],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"generate failed:\n{proc.stderr}")
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"rama generate --scale {args.scale:g} --seed {args.seed}")
        print(
            f"  series {summary['pairs']:,}  stores {summary['stores']:,}  "
            f"products {summary['products']:,}  cities {summary['cities']}"
        )
        print(
            f"  train rows {summary['train_rows']:,}  eval rows {summary['eval_rows']:,}  "
            f"logistics rows {summary['logistics_rows']:,}"
        )
        print(f"  wall time (subprocess, incl. imports): {wall:.1f} s")
        print(f"  generate_datasets seconds:             {summary['seconds']:.1f} s")
        print(f"  peak RSS of the child:                 {peak_mb:.0f} MB")
        for sub in ("freshretailnet", "logistics", "truth"):
            print(f"  {sub + '/':<16} {_size(out / sub) / 1e6:8.1f} MB")
        stats = summary["train_stats"]
        print("\n  train sale_amount      published   generated")
        for key, pub in PUBLISHED.items():
            print(f"  {key:<20} {pub:>11.4f} {stats[key]:>11.4f}")
        ratio_pub = PUBLISHED["holiday_mean"] / PUBLISHED["non_holiday_mean"]
        ratio = stats["holiday_mean"] / stats["non_holiday_mean"]
        print(f"  {'holiday / other':<20} {ratio_pub:>11.4f} {ratio:>11.4f}")
        print(f"  {'latent / observed':<20} {'-':>11} {stats['latent_to_observed']:>11.4f}")
        _print_censoring(summary["censoring"])
        print("\n  (the machine is shared: timings are noisy)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
