"""The forecaster's design matrices built one partition of whole series at a time.

``DemandForecaster.fit`` needs three things from the dense (series x day) panel: a sample of
training rows, the calibration window's rows (the last ``horizon`` days, from origin
``T - horizon``) and the history tail that ``predict`` starts from. Each depends only on its
own series (lags and rolling windows run within a series), so the panel is built for
``partition_series`` series at a time and dropped: memory is one partition's panel instead of
the whole network's (at 10x FreshRetailNet, 45 M panel rows would be about 5 GB).

The training sample does not depend on the partitioning: row ``(sid, day)`` is kept when a
counter-based hash of ``(seed, sid, day)`` falls below ``keep``, and its horizon comes from a
second hash, so one partition or fifty (or Dask workers, :mod:`rama.forecast.distributed`)
give the same rows in the same order, and the same model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from rama.forecast.features import FeatureSpec, build_panel, design_frame, grid, panel_tail
from rama.forecast.schema import KEYS, OOS_HOURS, series_key

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def hash_uniform(key: I64, seed: int, stream: int) -> F64:
    """Uniform numbers in [0, 1) from integer keys (splitmix64 of ``key`` mixed with
    ``seed`` and ``stream``): the same key always gives the same number, whatever the order
    or the chunk it is computed in."""
    salt = np.uint64((int(seed) * 0x632BE59BD9B4E019 + int(stream) * 0x2545F4914F6CDD1D) % 2**64)
    z = key.astype(np.uint64) * _GOLDEN + salt
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    z = z ^ (z >> np.uint64(31))
    return np.asarray((z >> np.uint64(11)).astype(np.float64) * 2.0**-53)


@dataclass(frozen=True)
class RowPlan:
    """What every partition needs to know of the whole fit.

    ``keep`` is the probability a training candidate is sampled (``max_train_rows`` /
    candidates, at most 1); ``cut`` the last training target day (panel day index);
    ``n_days`` the history's length (days) starting at ``start``; ``cal_keep`` the
    probability a series' calibration week is kept (``max_calibration_series`` / series, at
    most 1; by a hash of seed and series, so again partition-independent)."""

    spec: FeatureSpec
    start: date
    n_days: int
    cut: int
    keep: float
    seed: int
    cal_keep: float = 1.0


@dataclass
class PartRows:
    """One partition's rows: training sample, calibration window, tail and history length.

    ``sid`` arrays are global series positions (the fit's ``series_`` order)."""

    X: F32  # (n_train, n_features) training features
    y: F64  # (n_train,) training target (units/day)
    cal_features: F32  # (n_series_part * horizon, n_features) calibration features
    cal_y: F64  # calibration target (NaN where the day has no row)
    cal_oos: F64  # stockout hours of the calibration days
    cal_sid: I64
    cal_day: I64
    tail: pl.DataFrame  # the last spec.tail_days days, long (panel_tail)
    observed_days: I64  # per series of the partition: days with a target value

    @property
    def n_train(self) -> int:
        return len(self.y)


def candidate_count(long: pl.DataFrame, plan: RowPlan) -> int:
    """Training candidates of the whole history: rows with a target on a day in
    ``[warmup, cut]`` (one row per series and day: duplicates are rejected before)."""
    day = (pl.col("dt") - pl.lit(plan.start)).dt.total_days()
    return int(
        long.select(
            (day.is_between(plan.spec.warmup, plan.cut) & pl.col("y").is_not_null()).sum()
        ).item()
    )


def part_rows(long: pl.DataFrame, series: pl.DataFrame, sid0: int, plan: RowPlan) -> PartRows:
    """The rows of the series ``series`` (global positions ``sid0 ..``) from their long
    history ``long`` (store_id, product_id, dt, y, sale_amount, oos hours, covariates)."""
    spec = plan.spec
    panel = build_panel(long, series, plan.start, plan.n_days, spec)
    n = series.height
    y_all = panel.frame["y"].to_numpy()
    sid, day = grid(n, np.arange(spec.warmup, plan.cut + 1))
    key = (sid + sid0) * plan.n_days + day
    keep = ~np.isnan(y_all[panel.rows(sid, day)])
    if plan.keep < 1.0:
        keep &= hash_uniform(key, plan.seed, 1) < plan.keep
    sid, day, key = sid[keep], day[keep], key[keep]
    h = 1 + np.minimum(
        (hash_uniform(key, plan.seed, 2) * spec.horizon).astype(np.int64), spec.horizon - 1
    )
    X = design_frame(panel, sid, day, h, spec).to_numpy()
    y = y_all[panel.rows(sid, day)].astype(np.float64)

    last = plan.n_days - 1
    csid, cday = grid(n, np.arange(plan.cut + 1, last + 1))
    if plan.cal_keep < 1.0:  # a series keeps its whole calibration week or none of it
        kept = hash_uniform(np.arange(n, dtype=np.int64) + sid0, plan.seed, 3) < plan.cal_keep
        csid, cday = csid[kept[csid]], cday[kept[csid]]
    cal_features = design_frame(panel, csid, cday, cday - plan.cut, spec).to_numpy()
    rows = panel.rows(csid, cday)
    observed = panel.frame.group_by("sid", maintain_order=True).agg(pl.col("y").is_not_null().sum())
    return PartRows(
        X=np.ascontiguousarray(X, dtype=np.float32),
        y=y,
        cal_features=np.ascontiguousarray(cal_features, dtype=np.float32),
        cal_y=y_all[rows].astype(np.float64),
        cal_oos=panel.frame[OOS_HOURS].to_numpy()[rows].astype(np.float64),
        cal_sid=csid + sid0,
        cal_day=cday,
        tail=panel_tail(panel, spec.tail_days),
        observed_days=observed["y"].to_numpy().astype(np.int64),
    )


def series_partitions(n_series: int, size: int) -> list[tuple[int, int]]:
    """``[a, b)`` ranges of series positions, ``size`` series each (the last one shorter);
    one range for everything when ``size`` <= 0."""
    if n_series == 0:
        return []
    step = n_series if size <= 0 else int(size)
    return [(a, min(a + step, n_series)) for a in range(0, n_series, step)]


def split_by_series(
    long: pl.DataFrame, series: pl.DataFrame, size: int
) -> list[tuple[int, pl.DataFrame, pl.DataFrame]]:
    """``(sid0, long rows, series rows)`` per partition of ``size`` whole series (views of
    ``long``). A history in series order (a split as published) is cut where each partition's
    first series begins, found by binary search on one key column: no join, no copy (at 10x
    FreshRetailNet the join and its row index peaked 4 GB above the history). Otherwise the
    rows are sorted by series position once (a copy)."""
    key = long.select(series_key().alias("_k")).get_column("_k")
    ranges = series_partitions(series.height, size)
    if key.null_count() == 0 and key.is_sorted():
        firsts = series.select(series_key().alias("_k")).get_column("_k").to_numpy()
        cuts = np.searchsorted(key.to_numpy(), firsts[[a for a, _ in ranges]], side="left")
        ends = [*cuts[1:].tolist(), long.height]
        return [
            (a, long.slice(int(lo), int(hi - lo)), series.slice(a, b - a))
            for (a, b), lo, hi in zip(ranges, cuts.tolist(), ends, strict=True)
        ]
    del key
    sid = (
        long.select(KEYS)
        .join(
            series.select(KEYS).with_row_index("_sid"),
            on=list(KEYS),
            how="left",
            maintain_order="left",
        )
        .get_column("_sid")
    )
    order = sid.arg_sort()
    long, bounds = long[order], sid[order].to_numpy()
    out = []
    for a, b in ranges:
        lo, hi = np.searchsorted(bounds, [a, b], side="left")
        out.append((a, long.slice(int(lo), int(hi - lo)), series.slice(a, b - a)))
    return out


def concat_rows(parts: list[PartRows]) -> PartRows:
    """The partitions' rows in partition order (the layout of one whole-network pass)."""
    if len(parts) == 1:
        return parts[0]
    return PartRows(
        X=np.concatenate([p.X for p in parts]),
        y=np.concatenate([p.y for p in parts]),
        cal_features=np.concatenate([p.cal_features for p in parts]),
        cal_y=np.concatenate([p.cal_y for p in parts]),
        cal_oos=np.concatenate([p.cal_oos for p in parts]),
        cal_sid=np.concatenate([p.cal_sid for p in parts]),
        cal_day=np.concatenate([p.cal_day for p in parts]),
        tail=pl.concat([p.tail for p in parts]),
        observed_days=np.concatenate([p.observed_days for p in parts]),
    )
