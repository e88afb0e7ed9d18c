"""``generate_datasets``: write a complete synthetic DATA folder (see docs/synthetic.md)."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from rama.errors import ConfigError
from rama.io import atomic_dir
from rama.layout import TRUTH_FILE, truth_file
from rama.progress import step
from rama.run_state import DATA_STAMP, is_stamped, stamp
from rama.synth.calendar import Calendar, Weather, make_calendar, make_weather
from rama.synth.demand import DemandModel, SeriesParams, series_params, simulate_chunk
from rama.synth.fresh import FRESH_SCHEMA, TRUTH_SCHEMA, fresh_table, truth_table
from rama.synth.layout import Layout, build_layout, scale_counts
from rama.synth.logistics import make_logistics
from rama.synth.stats import CensoringStats, TrainStats

MAX_SCALE = 20.0  # 1,000,000 series: ~100M rows, a few GB of Parquet
CHUNK_SERIES = 4000  # series simulated at once (bounds memory to a few hundred MB)
BYTES_PER_ROW = 20  # Parquet size estimate (zstd; ~9 measured), for the free-space check
MAX_DAYS = 366

TRUTH_README = """# truth/latent_demand.parquet (synthetic data only)

The uncensored daily demand behind every row of `freshretailnet/data/{train,eval}.parquet`:
the sum over the 24 hours of the simulated hourly demand *before* stockout censoring, in the
same normalised units (0.1 grid) as `sale_amount`. Columns: `store_id, product_id` (int64),
`dt` (string YYYY-MM-DD), `split` ("train"/"eval"), `latent_demand` (float64).
Always `latent_demand >= sale_amount`; they differ only on days with a stockout.
Use it to score demand recovery and forecasts against the true demand. See docs/synthetic.md.
"""


def _validate(out_dir: Path, scale: float, seed: int, n_train_days: int, n_eval_days: int) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not math.isfinite(scale):
        raise ConfigError(f"generate: --scale expected a finite number, got {scale!r}")
    if not 0.0 < scale <= MAX_SCALE:
        raise ConfigError(
            f"generate: --scale expected a number in (0, {MAX_SCALE:g}] (1.0 = the published "
            f"50,000 series; {MAX_SCALE:g} = 1,000,000 series, ~100M rows), got {scale!r}; "
            f"use e.g. --scale 0.01 for a small test dataset"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"generate: --seed expected an integer >= 0, got {seed!r}")
    for name, v, lo in (("n_train_days", n_train_days, 1), ("n_eval_days", n_eval_days, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ConfigError(f"generate: {name} expected an integer >= {lo}, got {v!r}")
    if n_train_days + n_eval_days > MAX_DAYS:
        raise ConfigError(
            f"generate: n_train_days + n_eval_days expected <= {MAX_DAYS}, "
            f"got {n_train_days + n_eval_days}"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"generate: --out {out_dir} exists and is not a folder; pick a folder")
    if out_dir.is_dir() and not is_stamped(out_dir, DATA_STAMP):
        foreign = sorted(p.name for p in out_dir.iterdir())
        if foreign:
            raise ConfigError(
                f"generate: --out {out_dir} already holds {', '.join(foreign[:5])}, which rama "
                f"did not generate (no {DATA_STAMP} stamp) and a generated dataset would "
                f"replace; pick an empty or new folder (a folder rama generated is regenerated "
                f"in place)"
            )
    counts = scale_counts(scale)
    need = counts.pairs * (n_train_days + n_eval_days) * BYTES_PER_ROW * 2 + 20_000_000
    probe = out_dir if out_dir.exists() else out_dir.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise ConfigError(
            f"generate: --scale {scale:g} needs about {need / 1e9:.1f} GB free under {probe}, "
            f"found {free / 1e9:.1f} GB; lower --scale or free some space"
        )
    # Memory: one chunk (~0.8 GB peak measured) + the layout's products x stores key matrix
    # (4 float64/int64 copies) + per-series parameters (~250 bytes each).
    mem = 800_000_000 + counts.products * counts.stores * 32 + counts.pairs * 250
    avail = psutil.virtual_memory().available
    if avail < mem:
        raise ConfigError(
            f"generate: --scale {scale:g} needs about {mem / 1e9:.1f} GB of memory, "
            f"{avail / 1e9:.1f} GB available; lower --scale"
        )


@dataclass(frozen=True)
class GenerateResult:
    """What ``rama generate`` wrote: the network's size, rows per file, the file paths, the
    train split's statistics and censoring diagnostics, wall seconds."""

    out_dir: Path
    scale: float
    seed: int
    cities: int
    stores: int
    products: int
    pairs: int
    train_rows: int
    eval_rows: int
    logistics_rows: int
    paths: Mapping[str, str | None]
    train_stats: Mapping[str, Any]
    censoring: Mapping[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (benchmarks pass it between processes)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["out_dir"] = str(self.out_dir)
        return {k: dict(v) if isinstance(v, Mapping) else v for k, v in out.items()}


def generate_datasets(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 42,
    n_train_days: int = 90,
    n_eval_days: int = 7,
) -> GenerateResult:
    """Write ``out_dir/{freshretailnet,logistics,truth}`` and return what was written.

    ``scale`` multiplies stores (898) and series (50,000); logistics rows stay 32,065.
    Deterministic for a given (scale, seed, n_train_days, n_eval_days). The data is written to
    a temporary folder beside ``out_dir`` and moved into place at the end.
    """
    out_dir = Path(out_dir)
    _validate(out_dir, scale, seed, n_train_days, n_eval_days)
    t0 = time.perf_counter()
    counts = scale_counts(scale)
    model = DemandModel()
    layout = build_layout(counts, np.random.default_rng([seed, 0]))
    cal = make_calendar(n_train_days, n_eval_days)
    weather = make_weather(counts.cities, cal.n_days, np.random.default_rng([seed, 1]))
    params = series_params(
        model,
        pair_store=layout.pair_store,
        pair_product=layout.pair_product,
        n_stores=counts.stores,
        n_products=counts.products,
        rng=np.random.default_rng([seed, 2]),
    )
    stats = TrainStats()
    censoring = CensoringStats()
    with atomic_dir(out_dir) as tmp:
        data_dir = tmp / "freshretailnet" / "data"
        data_dir.mkdir(parents=True)
        (tmp / TRUTH_FILE.parent).mkdir()
        (tmp / "logistics").mkdir()
        stamp(tmp, DATA_STAMP, "generated data")
        _write_fresh(
            tmp,
            layout=layout,
            cal=cal,
            weather=weather,
            model=model,
            params=params,
            seed=seed,
            stats=stats,
            censoring=censoring,
        )
        (tmp / TRUTH_FILE.parent / "README.md").write_text(TRUTH_README, encoding="utf-8")
        logistics = make_logistics(np.random.default_rng([seed, 4]))
        logistics.write_csv(tmp / "logistics" / "dynamic_supply_chain_logistics_dataset.csv")
    fresh = out_dir / "freshretailnet" / "data"
    return GenerateResult(
        out_dir=out_dir.resolve(),
        scale=scale,
        seed=seed,
        cities=counts.cities,
        stores=counts.stores,
        products=counts.products,
        pairs=counts.pairs,
        train_rows=counts.pairs * n_train_days,
        eval_rows=counts.pairs * n_eval_days,
        logistics_rows=logistics.height,
        paths=MappingProxyType(
            {
                "train": str(fresh / "train.parquet"),
                "eval": str(fresh / "eval.parquet") if n_eval_days else None,
                "logistics": str(
                    out_dir / "logistics" / "dynamic_supply_chain_logistics_dataset.csv"
                ),
                "truth": str(truth_file(out_dir)),
            }
        ),
        train_stats=MappingProxyType(stats.summary()),
        censoring=MappingProxyType(censoring.summary()),
        seconds=time.perf_counter() - t0,
    )


def _write_all(jobs: list[tuple[pq.ParquetWriter, pa.Table]]) -> None:
    for writer, table in jobs:
        writer.write_table(table)


def _write_fresh(
    tmp: Path,
    *,
    layout: Layout,
    cal: Calendar,
    weather: Weather,
    model: DemandModel,
    params: SeriesParams,
    seed: int,
    stats: TrainStats,
    censoring: CensoringStats,
) -> None:
    """Simulate the series chunk by chunk, appending Parquet row groups (sorted order)."""
    data_dir = tmp / "freshretailnet" / "data"
    holiday = cal.holiday
    weekday = cal.weekday
    train_days, eval_days = slice(0, cal.n_train), slice(cal.n_train, cal.n_days)
    n_pairs = layout.counts.pairs
    train_w = pq.ParquetWriter(data_dir / "train.parquet", FRESH_SCHEMA, compression="zstd")
    eval_w = (
        pq.ParquetWriter(data_dir / "eval.parquet", FRESH_SCHEMA, compression="zstd")
        if cal.n_days > cal.n_train
        else None
    )
    truth_w = pq.ParquetWriter(tmp / TRUTH_FILE, TRUTH_SCHEMA, compression="zstd")
    # One background thread writes (Parquet compression releases the GIL) while the main
    # thread simulates the next chunk; at most one chunk waits in memory.
    pool = ThreadPoolExecutor(max_workers=1)
    pending: Future[None] | None = None
    with step("generate: simulating series", total=n_pairs) as advance:
        try:
            for i, lo in enumerate(range(0, n_pairs, CHUNK_SERIES)):
                hi = min(lo + CHUNK_SERIES, n_pairs)
                advance(hi - lo)
                city = layout.store_city[layout.pair_store[lo:hi]]
                res = simulate_chunk(
                    model,
                    params.rows(lo, hi),
                    weekday=weekday,
                    holiday=holiday,
                    temperature=weather.avg_temperature[city],
                    precpt=weather.precpt[city],
                    rng=np.random.default_rng([seed, 3, i]),
                )
                jobs = [
                    (
                        w,
                        fresh_table(
                            layout, lo=lo, hi=hi, res=res, cal=cal, weather=weather, days=d
                        ),
                    )
                    for w, d in ((train_w, train_days), (eval_w, eval_days))
                    if w is not None
                ]
                jobs.append((truth_w, truth_table(layout, lo, hi, res, cal)))
                daily = res.sales.sum(axis=2)  # (n, D) tenths
                counted = res.status[:, :, 6:22].sum(axis=2)  # stock_hour6_22_cnt
                for split, days in (("train", train_days), ("eval", eval_days)):
                    censoring.add(split, daily[:, days], counted[:, days], res.latent[:, days])
                tr = daily[:, train_days]
                hol = np.broadcast_to(holiday[train_days], tr.shape)
                stats.add(tr, counted[:, train_days], hol, res.latent[:, train_days])
                del res
                if pending is not None:
                    pending.result()
                pending = pool.submit(_write_all, jobs)
            if pending is not None:
                pending.result()
        finally:
            pool.shutdown(wait=True)
            train_w.close()
            if eval_w is not None:
                eval_w.close()
            truth_w.close()
