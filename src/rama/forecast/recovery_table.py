"""The recovery table: observed against recovered demand (and the latent truth), overall and
by stockout hours of the day (``RUN/forecast/recovery_summary.csv``).

Every figure is a ratio of sums, so the table is built from additive per-bin sums
(:func:`recovery_sums`) that can be added over chunks of rows: :func:`recovery_against_truth`
joins the truth one range of stores at a time (the truth file's row groups outside the range
are never read), so memory stays at one chunk's join however large the network.

>>> df = pl.DataFrame({"sale_amount": [2.0, 1.0], "recovered_demand": [2.0, 3.0],
...                    "stock_hour6_22_cnt": [0, 3]})
>>> recovery_summary(df).select("stockout_hours", "n_rows", "lost").rows()[:3]
[('all', 2, 2.0), ('0 h', 1, 0.0), ('1-4 h', 1, 2.0)]
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.forecast.schema import KEYS, OOS_HOURS, RECOVERED, SALES, require_columns

INTENSITY_BINS: tuple[tuple[str, int, int], ...] = (
    ("0 h", 0, 0),
    ("1-4 h", 1, 4),
    ("5-8 h", 5, 8),
    ("9-12 h", 9, 12),
    ("13-16 h", 13, 16),
)
"""Stockout-hour bins (label, first, last hour count) of the table's rows after "all"."""
LABELS = ("all", *(b[0] for b in INTENSITY_BINS))
CHUNK_ROWS = 5_000_000
"""Rows of the history joined with the truth at once (about 0.5 GB of join state)."""
_TRUTH_SUMS = ("truth", "obs_abs", "obs_err", "rec_abs", "rec_err")


def _bin_code() -> pl.Expr:
    code: pl.Expr = pl.lit(None, pl.Int8)
    for i, (_, lo, hi) in reversed(list(enumerate(INTENSITY_BINS, start=1))):
        code = (
            pl.when(pl.col(OOS_HOURS).is_between(lo, hi)).then(pl.lit(i, pl.Int8)).otherwise(code)
        )
    return code


def recovery_sums(frame: pl.DataFrame, truth_col: str | None = None) -> pl.DataFrame:
    """Additive sums per row of the table (``_o`` = 0 for "all", then the bins): ``n_rows``,
    ``observed`` and ``recovered`` (units) and, with ``truth_col``, ``truth`` and the
    absolute and signed errors of observed and recovered demand against it (units)."""
    require_columns(frame, [SALES, RECOVERED, OOS_HOURS], "recovered history", "run recovery")
    aggs: list[pl.Expr] = [
        pl.len().cast(pl.Int64).alias("n_rows"),
        pl.col(SALES).cast(pl.Float64).sum().alias("observed"),
        pl.col(RECOVERED).cast(pl.Float64).sum().alias("recovered"),
    ]
    if truth_col:
        y = pl.col(truth_col).cast(pl.Float64)
        obs, rec = pl.col(SALES).cast(pl.Float64), pl.col(RECOVERED).cast(pl.Float64)
        aggs += [
            y.sum().alias("truth"),
            (obs - y).abs().sum().alias("obs_abs"),
            (obs - y).sum().alias("obs_err"),
            (rec - y).abs().sum().alias("rec_abs"),
            (rec - y).sum().alias("rec_err"),
        ]
    base = frame.select([SALES, RECOVERED, OOS_HOURS, *([truth_col] if truth_col else [])])
    overall = base.select(pl.lit(0, pl.Int8).alias("_o"), *aggs)
    if not base.height:
        return overall
    by_bin = base.group_by(_bin_code().alias("_o")).agg(aggs).filter(pl.col("_o").is_not_null())
    return pl.concat([overall, by_bin.select(overall.columns)])


def summary_from_sums(sums: pl.DataFrame) -> pl.DataFrame:
    """The table from (possibly several chunks' stacked) :func:`recovery_sums`: WAPE and
    bias are sum |x - y| / sum y and sum (x - y) / sum y; ``share_of_rows`` is of all rows."""
    total = sums.group_by("_o").agg(pl.exclude("_o").sum()).sort("_o")
    n_all = total.filter(pl.col("_o") == 0)["n_rows"]
    n_all_rows = int(n_all[0]) if n_all.len() else 0
    cols: list[pl.Expr] = [
        pl.col("_o").replace_strict(list(range(len(LABELS))), list(LABELS)).alias("stockout_hours"),
        pl.col("n_rows").cast(pl.UInt32),
        pl.col("observed"),
        pl.col("recovered"),
    ]
    if "truth" in total.columns:
        y = pl.col("truth")
        cols += [
            y,
            (pl.col("obs_abs") / y).alias("observed_wape"),
            (pl.col("obs_err") / y).alias("observed_bias"),
            (pl.col("rec_abs") / y).alias("recovered_wape"),
            (pl.col("rec_err") / y).alias("recovered_bias"),
        ]
    lost = pl.col("recovered") - pl.col("observed")
    return total.select(cols).with_columns(
        lost.alias("lost"),
        (lost / pl.col("recovered")).alias("lost_share_of_recovered"),
        (pl.col("n_rows") / n_all_rows).alias("share_of_rows"),
    )


KEY_LIMIT = 1 << 62  # (store, product, day) keys below this are exact int64 values


def _day_keys(
    frame: pl.DataFrame, lo: Any, n_products: int, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """One int64 per row, ``(store_id x n_products + product_id) x n_days + day``, and the
    rows it is exact for (ids >= 0, product below ``n_products``, day in the window)."""
    s = frame["store_id"].cast(pl.Int64).fill_null(-1).to_numpy()
    p = frame["product_id"].cast(pl.Int64).fill_null(-1).to_numpy()
    d = frame.select((pl.col("dt") - pl.lit(lo)).dt.total_days().fill_null(-1))
    day = d.to_series().to_numpy().astype(np.int64)
    ok = (s >= 0) & (p >= 0) & (p < n_products) & (day >= 0) & (day < n_days)
    return np.where(ok, (s * n_products + p) * n_days + day, -1), ok


def _with_truth(
    part: pl.DataFrame, truth: pl.DataFrame, truth_col: str, lo: Any, hi: Any
) -> pl.DataFrame:
    """``part``'s rows that have a truth row (same store, product and day), with its
    ``truth_col``: an inner join, done as a sorted lookup of one int64 key per row (a
    3-column hash join at 10x took 0.7 s per 2 M rows, this about a tenth), or a polars join
    when the ids are too large for the key."""
    keyed = _keyed_join(part, truth, truth_col, lo, hi)
    return part.join(truth, on=[*KEYS, "dt"], how="inner") if keyed is None else keyed


def _keyed_join(
    part: pl.DataFrame, truth: pl.DataFrame, truth_col: str, lo: Any, hi: Any
) -> pl.DataFrame | None:
    """:func:`_with_truth` by the int64 key; None when the key cannot be used."""
    if not part.height or not truth.height:
        return None
    n_days = (hi - lo).days + 1
    both = pl.concat([f.select(pl.col(KEYS).cast(pl.Int64)) for f in (part, truth)])
    n_products = max(int(both["product_id"].max() or 0), 0) + 1  # type: ignore[arg-type]
    top = max(int(both["store_id"].max() or 0), 0) + 1  # type: ignore[arg-type]
    if top * n_products * n_days >= KEY_LIMIT:
        return None
    kp, p_ok = _day_keys(part, lo, n_products, n_days)
    kt, t_ok = _day_keys(truth, lo, n_products, n_days)
    rows = np.flatnonzero(t_ok)
    kt = kt[rows]
    if kt.size > 1 and not bool(np.all(kt[1:] >= kt[:-1])):
        order = np.argsort(kt, kind="stable")
        kt, rows = kt[order], rows[order]
    if kt.size == 0:
        return None
    i = np.minimum(np.searchsorted(kt, kp), kt.size - 1)
    hit = p_ok & (kt[i] == kp)
    values = truth[truth_col].to_numpy()[rows[i[hit]]]
    return part.filter(pl.Series(hit)).with_columns(
        pl.Series(truth_col, values, dtype=truth[truth_col].dtype)
    )


def recovery_summary(recovered: pl.DataFrame, truth_col: str | None = None) -> pl.DataFrame:
    """Observed vs recovered demand, overall and by stockout hours (6-22) of the day.

    With ``truth_col`` (the synthetic latent demand), also WAPE and bias (sum(x-y)/sum y) of
    observed and recovered daily demand against the truth (rows without it are left out).
    """
    if truth_col:
        recovered = recovered.filter(pl.col(truth_col).is_not_null())
    return summary_from_sums(recovery_sums(recovered, truth_col))


def recovery_against_truth(
    history: pl.DataFrame, truth_path: Path, truth_col: str, *, chunk_rows: int = CHUNK_ROWS
) -> pl.DataFrame:
    """:func:`recovery_summary` of ``history`` (store_id, product_id, dt, sales, recovered,
    stockout hours) joined with the truth file's ``truth_col`` (store_id, product_id, dt as
    ``YYYY-MM-DD`` text), one range of stores of about ``chunk_rows`` history rows at a time."""
    cols = [*KEYS, "dt", SALES, RECOVERED, OOS_HOURS]
    require_columns(history, cols, "recovered history", "run recovery")
    lo, hi = history["dt"].min(), history["dt"].max()
    # select first: a frame's group_by(...).len() materializes every column (polars 2.1)
    counts = history.select("store_id").group_by("store_id").len().sort("store_id")
    stores, cum = counts["store_id"].to_numpy(), np.cumsum(counts["len"].to_numpy())
    n_chunks = max(1, -(-int(cum[-1] if cum.size else 0) // max(1, chunk_rows)))
    cuts = np.searchsorted(cum, np.arange(1, n_chunks) * (cum[-1] / n_chunks))
    edges = np.unique(np.concatenate([[0], cuts + 1, [stores.size]])).clip(0, stores.size)
    truth = pl.scan_parquet(truth_path, glob=False).select(*KEYS, "dt", truth_col)
    sums = []
    for a, b in itertools.pairwise(edges):
        if a >= b:
            continue
        first, last = int(stores[a]), int(stores[b - 1])
        part = history.select(cols).filter(pl.col("store_id").is_between(first, last))
        t = (  # the store filter first: row groups outside the range are skipped
            truth.filter(pl.col("store_id").is_between(first, last))
            .with_columns(pl.col("dt").str.to_date("%Y-%m-%d"))
            .filter(pl.col("dt").is_between(lo, hi))
            .collect()
        )
        sums.append(recovery_sums(_with_truth(part, t, truth_col, lo, hi), truth_col))
    if not sums:  # an empty history
        return recovery_summary(history.select(cols).with_columns(pl.lit(0.0).alias(truth_col)))
    return summary_from_sums(pl.concat(sums))
