"""Time-series cross-validation of a :class:`~rama.forecast.DemandForecaster`.

Rolling origin: window ``w = 1..n_windows`` has the cutoff ``T - w h`` (``T`` the history's
last day). A clone of the forecaster with ``horizon = h`` is fitted on the days ``<= cutoff``
and predicts the ``h`` days after it, with those days' covariates as the known future (as the
eval split's), so the windows never overlap and nothing after a cutoff reaches its fit.
Scores are those of the backtest (:func:`rama.forecast.metrics.daily_scores`: per-day WAPE,
WPE and MAE averaged over days, pooled interval coverage) against the observed sales, on
every row and on the official rows (no stockout hour 6-22).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from sklearn.base import clone

from rama.errors import ConfigError, DataValidationError
from rama.forecast.frames import to_rama
from rama.forecast.metrics import daily_scores
from rama.forecast.schema import KEYS, OOS_HOURS, SALES, as_date

SCHEMA = {
    "window": pl.Int64,
    "cutoff": pl.Date,
    "rows": pl.String,
    "n_rows": pl.Int64,
    "wape": pl.Float64,
    "wpe": pl.Float64,
    "mae": pl.Float64,
    "coverage": pl.Float64,
}


def cross_validation(
    est: Any, history: Any, *, n_windows: int = 3, h: int | None = None
) -> pl.DataFrame:
    """One row per (window, rows in {"all", "official"}): window (1 = latest), cutoff,
    n_rows, wape, wpe, mae and the coverage of the outermost quantiles. ``est`` is a
    DemandForecaster (fitted or not; it is cloned, never changed)."""
    h = int(est.horizon if h is None else h)
    if isinstance(n_windows, bool) or not isinstance(n_windows, int) or n_windows < 1:
        raise ConfigError(
            f"cross_validation: n_windows expected an integer >= 1, got {n_windows!r}"
        )
    if h < 1:
        raise ConfigError(f"cross_validation: h expected an integer >= 1 (days), got {h!r}")
    hist, _ = to_rama(history, est.get_params()["columns"], "cross_validation history")
    hist = as_date(hist, "cross_validation history")
    last = hist["dt"].max()
    if last is None:
        raise DataValidationError("cross_validation history", "no rows", reason="empty")
    qs = sorted(est.quantiles)
    lo, hi = f"q{round(qs[0] * 100, 6):g}", f"q{round(qs[-1] * 100, 6):g}"
    records: list[dict[str, object]] = []
    for w in range(1, n_windows + 1):
        cutoff = last - timedelta(days=w * h)  # type: ignore[operator]
        model = clone(est).set_params(horizon=h, columns=None)
        model.fit(hist.filter(pl.col("dt") <= cutoff), source=f"cross_validation window {w}")
        actual = hist.filter(
            (pl.col("dt") > cutoff) & (pl.col("dt") <= cutoff + timedelta(days=h))
        ).join(model.series_.select(KEYS), on=list(KEYS), how="semi")
        pred = model.predict(actual)
        j = actual.select(*KEYS, "dt", SALES, *([OOS_HOURS] if OOS_HOURS in actual.columns else []))
        j = j.join(pred.select(*KEYS, "dt", "forecast", lo, hi), on=[*KEYS, "dt"])
        sets = [("all", j)]
        if OOS_HOURS in j.columns:
            sets.append(("official", j.filter(pl.col(OOS_HOURS) == 0)))
        for rows, frame in sets:
            s = daily_scores(frame, "forecast", SALES, lo=lo, hi=hi)
            records.append({"window": w, "cutoff": cutoff, "rows": rows, **s})
    return pl.DataFrame(records, schema=SCHEMA, orient="row")
