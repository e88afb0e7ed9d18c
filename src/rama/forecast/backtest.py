"""Backtest scoring: every method on the same rows, as the dataset's authors score it.

Row sets (all scored per day, then averaged over the days; see ``metrics``):

* ``all``: every backtest row;
* ``official``: rows with ``stock_hour6_22_cnt == 0`` (the published protocol);
* ``official_low`` / ``official_high``: official rows of series whose mean observed sales
  over the training history is < 1 / >= 1 unit/day.

Each is scored against the observed ``sale_amount``; with the synthetic truth, ``all`` and
``official`` are also scored against ``latent_demand``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from rama.forecast.metrics import daily_scores
from rama.forecast.schema import KEYS, OOS_HOURS, SALES

TRUTH = "latent_demand"
LOW_SELLER_MEAN = 1.0  # units/day: series mean below this is a low seller


def seller_class(history: pl.DataFrame) -> pl.DataFrame:
    """store_id, product_id, ``series_mean`` (observed units/day), ``low_seller`` (bool)."""
    return (
        history.group_by(list(KEYS))
        .agg(pl.col(SALES).mean().alias("series_mean"))
        .with_columns((pl.col("series_mean") < LOW_SELLER_MEAN).alias("low_seller"))
    )


def score_methods(
    predictions: Mapping[str, pl.DataFrame],
    actual: pl.DataFrame,
    sellers: pl.DataFrame,
    *,
    lo: str | None = None,
    hi: str | None = None,
) -> pl.DataFrame:
    """One row per (method, target, rows): n_rows, wape, wpe, mae, coverage.

    ``predictions[m]`` has store_id, product_id, dt, ``forecast`` and optionally the ``lo``
    / ``hi`` quantile columns; ``actual`` has store_id, product_id, dt, sale_amount,
    stock_hour6_22_cnt and optionally latent_demand. Rows without a forecast count as
    missing for that method (they are dropped, and the row count says so).
    """
    base = actual.join(sellers.select(*KEYS, "low_seller"), on=list(KEYS), how="left")
    has_truth = TRUTH in actual.columns
    records: list[dict[str, object]] = []
    for method, pred in predictions.items():
        cols = [c for c in ("forecast", lo, hi) if c is not None and c in pred.columns]
        j = base.join(pred.select(*KEYS, "dt", *cols), on=[*KEYS, "dt"], how="inner").filter(
            pl.col("forecast").is_not_null()
        )
        has_q = lo is not None and hi is not None and lo in j.columns and hi in j.columns
        qlo, qhi = (lo, hi) if has_q else (None, None)
        off = j.filter(pl.col(OOS_HOURS) == 0)
        sets: list[tuple[str, str, pl.DataFrame]] = [
            (SALES, "all", j),
            (SALES, "official", off),
            (SALES, "official_low", off.filter(pl.col("low_seller"))),
            (SALES, "official_high", off.filter(~pl.col("low_seller"))),
        ]
        if has_truth:
            sets += [(TRUTH, "all", j), (TRUTH, "official", off)]
        for target, rows, frame in sets:
            s = daily_scores(frame, "forecast", target, lo=qlo, hi=qhi)
            records.append({"method": method, "target": target, "rows": rows, **s})
    schema = {
        "method": pl.String,
        "target": pl.String,
        "rows": pl.String,
        "n_rows": pl.Int64,
        "wape": pl.Float64,
        "wpe": pl.Float64,
        "mae": pl.Float64,
        "coverage": pl.Float64,
    }
    return (
        pl.DataFrame(records, schema=schema, orient="row")
        if records
        else pl.DataFrame(schema=schema)
    )


def horizon_calibration(
    horizon: pl.DataFrame, actual: pl.DataFrame, target: str, *, z: float = 1.2816
) -> dict[str, float]:
    """How well ``demand_std`` describes the error of the horizon total (series with every
    horizon day in ``actual``): mean and std of ``(Y - demand) / demand_std`` and the share of
    series with ``|Y - demand| <= z * demand_std`` (z = 1.2816: nominal 80 %)."""
    n_days = actual.group_by(list(KEYS)).agg(pl.len().alias("n"))
    full = n_days.filter(pl.col("n") == n_days["n"].max())
    tot = (
        actual.join(full.select(KEYS), on=list(KEYS))
        .group_by(list(KEYS))
        .agg(pl.col(target).sum().alias("Y"))
        .join(horizon, on=list(KEYS))
        .filter(pl.col("demand_std") > 0)
        .with_columns(((pl.col("Y") - pl.col("demand")) / pl.col("demand_std")).alias("z"))
    )
    if tot.height == 0:
        return {"n_series": 0.0}
    z_s = tot["z"].to_numpy()
    y_tot, d_tot = tot["Y"].to_numpy(), tot["demand"].to_numpy()
    return {
        "n_series": float(tot.height),
        "z_mean": float(z_s.mean()),
        "z_std": float(z_s.std(ddof=1)) if len(z_s) > 1 else 0.0,
        "coverage_80": float((np.abs(z_s) <= z).mean()),
        "wape_total": float(np.abs(y_tot - d_tot).sum() / y_tot.sum()),
        "wpe_total": float((d_tot - y_tot).sum() / y_tot.sum()),
    }
