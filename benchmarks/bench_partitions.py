"""Benchmark of the partitioned data stages against the whole-split path.

Each measurement runs in a fresh subprocess (wall seconds, peak RSS):

1. ``prepare``: the old path (the whole train split with its hourly lists in memory, then the
   lists dropped) and the new one (``rama.data.partitions.load_daily``);
2. demand recovery alone: ``recover_demand(load_freshretail(...))`` and
   ``recover_split(...)`` (one read of each partition), with the largest difference;
3. one partition's memory: the map task of a single partition, bytes per row above the
   interpreter's baseline (what a Dask worker holds per task), and the size of its result.

The old path needs the whole split with its lists in memory (about 21 GB at 10x on this
machine, where it is killed): ``--no-old`` skips it. Timings on a shared machine are noisy.

    .venv/bin/python benchmarks/bench_partitions.py [--data DIR] [--scale 1.0] [--rows N]
        [--no-old] [--dask local]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import cpu_s, peak_gb, run_child

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / "data" / "bench_full"


def _rss_gb() -> float:
    """Current resident memory of this process (GB)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 1024**3


def child_prepare(kind: str, data: str, out: str, rows: str, dask: str = "") -> dict[str, Any]:
    """``prepare`` with the old whole-split loader ("old"), the partitioned reader then the
    whole daily table in memory ("whole", before partitions of whole stores), or partitions
    of whole stores ("stores", today's default; on the cluster ``dask`` when given)."""
    import polars as pl

    from rama import cluster
    from rama.config import load_config
    from rama.data import load_freshretail
    from rama.prepare import partitioned, prepare

    if kind in ("old", "whole"):
        partitioned._partitioned = lambda *a: None
    if kind == "old":  # the whole split with its lists, then the lists dropped

        def whole_split(path: Path, split: str, rows: int) -> pl.DataFrame:
            return load_freshretail(path, split)

        partitioned.load_daily = whole_split  # type: ignore[assignment]
    cfg = load_config(overrides=[f"data.partition_rows={rows}"])
    with cluster.use_cluster(dask or None, scratch=Path(out)):
        t0 = time.perf_counter()
        result = prepare(Path(data), Path(out), cfg)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "load_s": result.seconds["load_demand"],
        "rows": result.rows,
        "peak_gb": peak_gb(),
        "cpu_s": cpu_s(),
    }


def child_recover(kind: str, data: str, out: str, rows: str, dask: str) -> dict[str, Any]:
    """Demand recovery of the train split, old (whole split) or new (partitions)."""
    from rama import cluster
    from rama.data import load_freshretail
    from rama.forecast.recovery import recover_demand, recover_split

    base = _rss_gb()
    t0 = time.perf_counter()
    if kind == "old":
        rec = recover_demand(load_freshretail(Path(data), "train"))
    else:
        with cluster.use_cluster(dask or None):
            t0 = time.perf_counter()
            rec = recover_split(Path(data), "train", rows=int(rows))
    seconds = time.perf_counter() - t0
    rec.select("lost_demand").write_parquet(Path(out) / f"lost_{kind}.parquet")
    return {
        "seconds": seconds,
        "rows": rec.height,
        "result_gb": rec.estimated_size() / 1024**3,
        "base_gb": base,
        "peak_gb": peak_gb(),
        "cpu_s": cpu_s(),
    }


def child_partition(data: str, rows: str) -> dict[str, Any]:
    """The map task of the largest partition alone: peak memory above the baseline."""
    import gc

    from rama.data.partitions import DAILY_COLUMNS, split_partitions
    from rama.forecast.recovery import CHUNK_ROWS, _partition_task

    parts = split_partitions(Path(data), "train", int(rows), align=CHUNK_ROWS)
    part = max(parts, key=lambda p: (p.stop or 0) - p.start)
    n = (part.stop or 0) - part.start
    gc.collect()
    base = _rss_gb()
    t0 = time.perf_counter()
    daily, stats = _partition_task((DAILY_COLUMNS, (6, 22)), part)
    seconds = time.perf_counter() - t0
    kept = daily.estimated_size() + sum(
        sum(a.nbytes for a in vars(s).values() if hasattr(a, "nbytes")) for s in stats
    )
    return {
        "rows": n,
        "partitions": len(parts),
        "seconds": seconds,
        "base_gb": base,
        "peak_gb": peak_gb(),
        "bytes_per_row": (peak_gb() - base) * 1024**3 / max(n, 1),
        "result_bytes_per_row": kept / max(n, 1),
    }


def ensure_data(data: Path, scale: float) -> None:
    if (data / "freshretailnet" / "data" / "train.parquet").is_file():
        print(f"reusing {data}")
        return
    from rama.synth import generate_datasets

    print(f"generating scale {scale} into {data} (once) ...", flush=True)
    info = generate_datasets(data, scale=scale, seed=0)
    print(f"  {info.train_rows:,} train rows")


def _line(name: str, res: dict[str, Any], wall: float) -> str:
    return (
        f"{name:<26} {res['seconds']:7.1f} s in-process, {wall:7.1f} s wall (subprocess), "
        f"peak RSS {res['peak_gb']:6.2f} GB, {res['cpu_s']:7.1f} s CPU"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--scale", type=float, default=1.0, help="when --data must be generated")
    ap.add_argument("--rows", type=int, default=2_000_000, help="data.partition_rows")
    ap.add_argument("--no-old", action="store_true", help="skip the whole-split path")
    ap.add_argument("--dask", default="", help='recovery on a cluster too ("local" or ADDRESS)')
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "prepare":
            res = child_prepare(*rest)
        elif kind == "recover":
            res = child_recover(*rest)
        else:
            res = child_partition(*rest)
        print(json.dumps(res))
        return

    ensure_data(args.data, args.scale)
    data, rows = str(args.data), str(args.rows)
    kinds = ["new"] if args.no_old else ["old", "new"]
    with tempfile.TemporaryDirectory() as tmp:
        steps = ["whole", "stores"] if args.no_old else ["old", "whole", "stores"]
        for kind in steps + (["stores-dask"] if args.dask else []):
            dask = args.dask if kind == "stores-dask" else ""
            mode = kind.removesuffix("-dask")
            res, wall = run_child(__file__, "prepare", mode, data, f"{tmp}/run_{kind}", rows, dask)
            print(_line(f"prepare ({kind})", res, wall), f"[{res['rows']:,} rows]", flush=True)
        for kind in kinds:
            res, wall = run_child(__file__, "recover", kind, data, tmp, rows, "")
            print(_line(f"recovery ({kind})", res, wall), f"[result {res['result_gb']:.2f} GB]")
        if args.dask:
            res, wall = run_child(__file__, "recover", "new", data, tmp, rows, args.dask)
            print(_line(f"recovery (new, {args.dask})", res, wall), "(client process)")
        if not args.no_old:
            import numpy as np
            import polars as pl

            old = pl.read_parquet(f"{tmp}/lost_old.parquet")["lost_demand"].to_numpy()
            new = pl.read_parquet(f"{tmp}/lost_new.parquet")["lost_demand"].to_numpy()
            print(f"recovery new vs old: max |difference| {np.abs(new - old).max():.3g} units")
    part, wall = run_child(__file__, "partition", data, rows)
    print(
        f"one partition's task, {part['rows']:,} rows ({part['partitions']} partitions): "
        f"{part['seconds']:.1f} s, peak {part['peak_gb']:.2f} GB = {part['base_gb']:.2f} GB "
        f"interpreter + {part['bytes_per_row']:.0f} bytes/row while it runs; its result "
        f"(daily columns + block statistics) {part['result_bytes_per_row']:.0f} bytes/row"
    )


if __name__ == "__main__":
    main()
