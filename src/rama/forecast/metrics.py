"""Accuracy metrics of the dataset's authors, computed per day then averaged over days.

For the rows of one day: ``WAPE = sum|f - y| / sum y``, ``WPE = sum(f - y) / sum y``,
``MAE = mean|f - y|``; a day whose actuals sum to 0 has no WAPE/WPE and is skipped in the
average. ``coverage`` is the pooled share of rows with ``lo <= y <= hi``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import polars as pl

ArrayLike = npt.ArrayLike


def wape(forecast: ArrayLike, actual: ArrayLike) -> float:
    """sum|f - y| / sum y (NaN when sum y == 0)."""
    f, y = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    tot = y.sum()
    return float(np.abs(f - y).sum() / tot) if tot > 0 else math.nan


def wpe(forecast: ArrayLike, actual: ArrayLike) -> float:
    """sum(f - y) / sum y (NaN when sum y == 0); negative = under-forecast."""
    f, y = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    tot = y.sum()
    return float((f - y).sum() / tot) if tot > 0 else math.nan


def mae(forecast: ArrayLike, actual: ArrayLike) -> float:
    """mean|f - y| (NaN on no rows)."""
    f, y = np.asarray(forecast, dtype=float), np.asarray(actual, dtype=float)
    return float(np.abs(f - y).mean()) if len(y) else math.nan


def coverage(lo: ArrayLike, hi: ArrayLike, actual: ArrayLike) -> float:
    """Share of rows with lo <= y <= hi (NaN on no rows)."""
    a, b, y = (np.asarray(v, dtype=float) for v in (lo, hi, actual))
    return float(((a <= y) & (y <= b)).mean()) if len(y) else math.nan


def daily_scores(
    frame: pl.DataFrame,
    forecast: str,
    actual: str,
    *,
    day: str = "dt",
    lo: str | None = None,
    hi: str | None = None,
) -> dict[str, float]:
    """WAPE, WPE and MAE per ``day`` averaged over days; pooled interval coverage; n_rows."""
    out: dict[str, float] = {"n_rows": float(frame.height)}
    if frame.height == 0:
        return out | {"wape": math.nan, "wpe": math.nan, "mae": math.nan, "coverage": math.nan}
    f, y = pl.col(forecast), pl.col(actual)
    per_day = (
        frame.group_by(day)
        .agg(
            (f - y).abs().sum().alias("abs"),
            (f - y).sum().alias("err"),
            y.sum().alias("tot"),
            (f - y).abs().mean().alias("mae"),
        )
        .sort(day)
    )  # a fixed order: the same scores to the last bit on every run
    pos = per_day.filter(pl.col("tot") > 0)
    out["wape"] = _mean(pos.select(pl.col("abs") / pl.col("tot")).to_series())
    out["wpe"] = _mean(pos.select(pl.col("err") / pl.col("tot")).to_series())
    out["mae"] = _mean(per_day["mae"])
    if lo is not None and hi is not None:
        share = frame.select(((pl.col(lo) <= y) & (y <= pl.col(hi))).mean()).item()
        out["coverage"] = math.nan if share is None else float(share)
    else:
        out["coverage"] = math.nan
    return out


def _mean(s: pl.Series) -> float:
    return float(s.mean()) if s.len() else math.nan  # type: ignore[arg-type]
