"""Demand tables: the daily store x product frame and per-pair demand parameters."""

from __future__ import annotations

import polars as pl

from rama.data.blocks import BLOCK_ROWS, blocks
from rama.data.partitions import DAILY_COLUMNS
from rama.data.schema import HIERARCHY_COLUMNS, STOCK_HOURS
from rama.schema import PAIR_KEYS

__all__ = ["DAILY_COLUMNS", "is_sorted_by", "store_product_daily", "store_product_params"]


def is_sorted_by(df: pl.DataFrame, columns: list[str]) -> bool:
    """True when the rows are in ascending lexicographic order of ``columns`` (one pass)."""
    greater, equal = pl.lit(False), pl.lit(True)
    for c in columns:
        cur, prev = pl.col(c), pl.col(c).shift(1)
        greater = greater | (equal & (cur > prev))
        equal = equal & (cur == prev)
    return bool(df.select((greater | equal).fill_null(True).all()).item())


def store_product_daily(train: pl.DataFrame) -> pl.DataFrame:
    """The loaded train split (with or without the hourly lists, e.g.
    :func:`rama.data.partitions.load_daily`) without the lists, sorted by store, product,
    day (no copy when it already is, as published)."""
    keys = [*PAIR_KEYS, "dt"]
    daily = train.select(DAILY_COLUMNS)
    return daily if is_sorted_by(daily, keys) else daily.sort(keys)


def store_product_params(daily: pl.DataFrame, *, block_rows: int = BLOCK_ROWS) -> pl.DataFrame:
    """One row per (store, product): demand statistics of the observed daily sales.

    ``std_daily_sales`` is the sample std (ddof=1; null for a single day);
    ``cv_daily_sales`` = std / mean (null when the mean is 0). Shares are fractions of the
    pair's days: stockout = ``stock_hour6_22_cnt > 0``, stockout hours = cnt / 16,
    discount = ``discount < 1``, holiday = ``holiday_flag == 1``, promotion =
    ``activity_flag == 1``. Sales are as observed (censored by stockouts).

    Computed ``block_rows`` rows of whole stores at a time (:func:`rama.data.blocks.blocks`):
    a pair's figures are those of one ``group_by`` over the whole table (its rows, in their
    order), at the memory of one block.
    """
    parts = [_pair_stats(b) for b in blocks(daily, "store_id", block_rows)]
    params = pl.concat(parts) if len(parts) > 1 else parts[0]
    order = ["city_id", "store_id", *HIERARCHY_COLUMNS, "product_id"]
    return params.select(*order, pl.exclude(order)).sort(list(PAIR_KEYS))


def _pair_stats(daily: pl.DataFrame) -> pl.DataFrame:
    """The figures of :func:`store_product_params` for the pairs of ``daily``, unordered."""
    s = pl.col("sale_amount")
    mean, std = s.mean(), s.std(ddof=1)
    return daily.group_by(PAIR_KEYS).agg(
        pl.col("city_id").first(),
        *[pl.col(c).first() for c in HIERARCHY_COLUMNS],
        pl.len().cast(pl.Int64).alias("n_days"),
        mean.alias("mean_daily_sales"),
        std.alias("std_daily_sales"),
        pl.when(mean > 0).then(std / mean).alias("cv_daily_sales"),
        s.sum().alias("total_sales"),
        (pl.col("stock_hour6_22_cnt") > 0).mean().alias("stockout_day_share"),
        (pl.col("stock_hour6_22_cnt").cast(pl.Float64) / STOCK_HOURS)
        .mean()
        .alias("stockout_hour_share"),
        (pl.col("discount") < 1.0).mean().alias("discount_day_share"),
        (pl.col("holiday_flag") == 1).mean().alias("holiday_day_share"),
        (pl.col("activity_flag") == 1).mean().alias("promotion_day_share"),
    )
