"""Baselines scored beside the model: seasonal naive and the trailing moving average.

Both read the history's observed sales (units/day) and forecast the target rows
(store_id, product_id, dt) after the history's last day ``T``:

* seasonal naive: ``f(t) = y(t - 7 * ceil((t - T) / 7))`` (same weekday of the last week);
* moving average: ``f(t) = mean(y[T - w + 1 .. T])`` (w = 28 days; missing days skipped).
"""

from __future__ import annotations

import polars as pl

from rama.forecast.schema import KEYS, SALES


def seasonal_naive(
    history: pl.DataFrame, targets: pl.DataFrame, *, value: str = SALES, season: int = 7
) -> pl.DataFrame:
    """Targets with a ``forecast`` column (null when the source day is missing)."""
    last = history["dt"].max()
    src = targets.select(*KEYS, "dt").with_columns(
        (
            pl.col("dt")
            - pl.duration(
                days=season
                * (((pl.col("dt") - pl.lit(last)).dt.total_days() + season - 1) // season)
            )
        ).alias("_src")
    )
    vals = history.select(*KEYS, pl.col("dt").alias("_src"), pl.col(value).alias("forecast"))
    return src.join(vals, on=[*KEYS, "_src"], how="left").drop("_src")


def moving_average(
    history: pl.DataFrame, targets: pl.DataFrame, *, value: str = SALES, window: int = 28
) -> pl.DataFrame:
    """Targets with a ``forecast`` column: the series' mean over the last ``window`` days."""
    last = history["dt"].max()
    means = (
        history.filter(pl.col("dt") > pl.lit(last) - pl.duration(days=window))
        .group_by(list(KEYS))
        .agg(pl.col(value).mean().alias("forecast"))
    )
    return targets.select(*KEYS, "dt").join(means, on=list(KEYS), how="left")
