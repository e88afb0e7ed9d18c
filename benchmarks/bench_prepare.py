"""Benchmark of the loaders and the prepare stage at full scale.

Generates the full-scale synthetic default once (cached in ``data/bench_full``, git-ignored;
reused when present), then, each in a fresh subprocess:

1. the FreshRetailNet loader: raw Parquet read, then validation (timed separately);
2. ``prepare`` end to end (wall time, peak RSS);
3. the pair parameters as one ``group_by`` over the daily table and in blocks of whole
   stores (``rama.data.blocks.BLOCK_ROWS`` rows), each in its own subprocess: the same table,
   the wall time and the peak RSS above the loaded table.

Target: prepare within 30 s and 4 GB on 2 cores. Timings on a shared machine are noisy.

    .venv/bin/python benchmarks/bench_prepare.py [--data DIR] [--scale 1.0] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import cpu_s, peak_gb, run_child

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "bench_full"
TARGET_SECONDS, TARGET_GB = 30.0, 4.0


def child_load(data: str) -> dict[str, float]:
    """Time the raw read and the validation of the train split."""
    from rama.data import freshretail_file, validate_freshretail
    from rama.data.readers import read_raw

    file = freshretail_file(Path(data), "train")
    assert file is not None
    t0, c0 = time.perf_counter(), cpu_s()
    raw, is_csv = read_raw(file)
    t1, c1 = time.perf_counter(), cpu_s()
    df = validate_freshretail(raw, str(file), csv=is_csv)
    t2, c2 = time.perf_counter(), cpu_s()
    return {
        "rows": df.height,
        "read_s": t1 - t0,
        "validate_s": t2 - t1,
        "read_cpu_s": c1 - c0,
        "validate_cpu_s": c2 - c1,
        "peak_gb": peak_gb(),
    }


def child_prepare(data: str, out: str) -> dict[str, object]:
    """Run prepare with the default configuration."""
    from rama.config import load_config
    from rama.prepare import prepare

    result = prepare(Path(data), Path(out), load_config())
    summary = json.loads((Path(out) / "prepared" / "eda_summary.json").read_text())
    return {
        "seconds": dict(result.seconds),
        "tables": dict(result.tables),
        "transport": summary["transport"],
        "peak_gb": peak_gb(),
        "cpu_s": cpu_s(),
    }


def child_params(data: str, block_rows: str) -> dict[str, float]:
    """Time store_product_params on the loaded daily table in blocks of ``block_rows``."""
    import threading

    import psutil

    from rama.data.partitions import load_daily
    from rama.prepare.demand import store_product_daily, store_product_params

    daily = store_product_daily(load_daily(Path(data), "train"))
    proc = psutil.Process()
    base, peak, done = proc.memory_info().rss, [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    params = store_product_params(daily, block_rows=int(block_rows))
    seconds = time.perf_counter() - t0
    done.set()
    th.join()
    return {"seconds": seconds, "extra_gb": (peak[0] - base) / 1e9, "pairs": params.height}


def ensure_data(data: Path, scale: float) -> None:
    if (data / "freshretailnet" / "data" / "train.parquet").is_file() and (
        data / "logistics"
    ).is_dir():
        print(f"reusing {data}")
        return
    from rama.synth import generate_datasets

    print(f"generating scale {scale} into {data} (once) ...", flush=True)
    t0 = time.perf_counter()
    info = generate_datasets(data, scale=scale, seed=0)
    print(f"  {info.train_rows:,} train rows in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=None, help="run folder (default: a temp dir)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        res: dict[str, Any]
        if kind == "load":
            res = dict(child_load(*rest))
        elif kind == "params":
            res = dict(child_params(*rest))
        else:
            res = child_prepare(*rest)
        print(json.dumps(res, default=str))
        return

    ensure_data(args.data, args.scale)
    load, load_wall = run_child(__file__, "load", str(args.data))
    print(
        f"loader (train, {load['rows']:,} rows): read {load['read_s']:.2f} s "
        f"({load['read_cpu_s']:.2f} s CPU) + validation {load['validate_s']:.2f} s "
        f"({load['validate_cpu_s']:.2f} s CPU); subprocess wall {load_wall:.1f} s, "
        f"peak RSS {load['peak_gb']:.2f} GB"
    )
    (REPO / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO / "data") as tmp:
        out = args.out or Path(tmp) / "run"
        prep, wall = run_child(__file__, "prepare", str(args.data), str(out))
    sec = prep["seconds"]
    print(
        "prepare stages (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in sec.items())
        + f"\nprepare: wall {wall:.1f} s (fresh subprocess incl. imports; "
        f"{prep['cpu_s']:.1f} s CPU), "
        f"peak RSS {prep['peak_gb']:.2f} GB"
    )
    for name, rows in prep["tables"].items():
        print(f"  {name}: {rows:,} rows")
    tr = prep["transport"]
    q = tr["cost"]
    print(
        "transfer cost $/unit quantiles: "
        + ", ".join(f"{k} {q[k]:.3f}" for k in ("min", "p05", "p25", "p50", "p75", "p95", "max"))
    )
    print(
        f"pairs cheaper than the stockout penalty: "
        f"{100 * tr['share_cheaper_than_stockout_penalty']:.1f}%; cheaper than manufacturing "
        f"+ distribution: {100 * tr['share_cheaper_than_manufacturing_plus_distribution']:.1f}%"
    )
    from rama.data.blocks import BLOCK_ROWS

    for label, rows in (("one group_by", 10**12), (f"blocks of {BLOCK_ROWS:,} rows", BLOCK_ROWS)):
        res, _ = run_child(__file__, "params", str(args.data), str(rows))
        print(
            f"pair parameters, {label}: {res['seconds']:.2f} s, "
            f"+{res['extra_gb']:.2f} GB over the daily table ({res['pairs']:,} pairs)"
        )
    ok = wall <= TARGET_SECONDS and prep["peak_gb"] <= TARGET_GB
    print(
        f"target {TARGET_SECONDS:.0f} s / {TARGET_GB:.0f} GB: {'met' if ok else 'NOT met'} "
        "(shared 2-core machine: timings are noisy)"
    )


if __name__ == "__main__":
    main()
