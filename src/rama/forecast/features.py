"""Dense series x day panel and the leakage-free design matrix of the direct model.

A training or forecast row is a target day ``t`` of series ``s`` seen from a forecast
origin ``o = t - h`` (``h`` = 1..horizon days ahead). Its features are

* **origin features**, read at day ``o``: rolling means / std of demand over the windows
  ending at ``o``, the demand of the last known days ``y[o - j]`` (``origin_lags``), recent
  stockout share, recent discount and activity rates;
* **target lags** ``y[t - k]`` for ``k`` in ``lags``; every ``k >= horizon >= h``, so a lag
  is never later than the origin;
* **known covariates** of day ``t`` (discount, holiday, activity, weather), the weekday,
  ``h``, and the static categoricals (store, product, city, category path).

The panel is dense (every series has a row for every calendar day, missing days are
null), so ``shift(k)`` is a lag of ``k`` calendar days and a row's position is
``sid * n_days + day``. Nothing in a row reads demand after its origin (tests prove it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import polars as pl

from rama.forecast.schema import COVARIATES, HIERARCHY, KEYS, OOS_HOURS, SALES
from rama.schema import sorted_run_starts

CATEGORICAL: tuple[str, ...] = ("store_id", "product_id", *HIERARCHY)
PANEL_VALUES: tuple[str, ...] = ("y", SALES, OOS_HOURS, *COVARIATES)
"""Raw daily columns kept in the panel (``y`` is the training target: recovered demand or
sales)."""

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class FeatureSpec:
    """Which lags and windows to build (days)."""

    horizon: int
    lags: tuple[int, ...]
    windows: tuple[int, ...]
    origin_lags: tuple[int, ...] = ()
    """Days before the origin whose demand is a feature (0 = the origin day itself: the last
    day known when forecasting)."""

    @property
    def warmup(self) -> int:
        """First target day (0-based) whose every feature is defined for any h <= horizon."""
        deepest = max(self.origin_lags, default=0)
        return max(*self.lags, max(self.windows) - 1 + self.horizon, deepest + self.horizon)

    @property
    def tail_days(self) -> int:
        """Days of history needed to featurise the ``horizon`` days after the last day."""
        return max(*self.lags, *self.windows, max(self.origin_lags, default=0) + 1)

    def origin_columns(self) -> list[str]:
        w_max = max(self.windows)
        return [
            *(f"roll_mean_{w}" for w in self.windows),
            f"roll_std_{w_max}",
            "oos_share_7",
            f"discount_mean_{w_max}",
            f"activity_mean_{w_max}",
            *(f"origin_lag_{j}" for j in self.origin_lags),
        ]

    def target_columns(self) -> list[str]:
        return [
            *(f"lag_{k}" for k in self.lags),
            f"discount_lag_{self.lags[0]}",
            f"activity_lag_{self.lags[0]}",
            *COVARIATES,
            "dow",
            *CATEGORICAL,
        ]

    def derived_columns(self) -> list[str]:
        return ["lag_mean", "weekday_ratio", "trend_ratio", "discount_rel", "h"]

    def feature_names(self) -> list[str]:
        return [*self.target_columns(), *self.origin_columns(), *self.derived_columns()]


@dataclass
class Panel:
    """A dense panel: ``frame`` has ``n_series * n_days`` rows sorted by (sid, day)."""

    frame: pl.DataFrame
    series: pl.DataFrame  # sid order: store_id, product_id, hierarchy columns
    start: date
    n_days: int

    @property
    def n_series(self) -> int:
        return self.series.height

    def day_of(self, d: date) -> int:
        return (d - self.start).days

    def date_of(self, day: int) -> date:
        return self.start + timedelta(days=day)

    def rows(self, sid: I64, day: I64) -> I64:
        """Positions of (sid, day) pairs in ``frame``."""
        return sid.astype(np.int64) * self.n_days + day.astype(np.int64)


def series_table(df: pl.DataFrame) -> pl.DataFrame:
    """One row per store-product pair, sorted, with its static hierarchy attributes."""
    cols = [c for c in (*KEYS, *HIERARCHY) if c in df.columns]
    frame = df.select(cols)
    starts = sorted_run_starts(frame, KEYS)  # rows sorted by series: no hashing needed
    if starts is not None:
        return frame.filter(starts)
    return frame.unique(list(KEYS), keep="first").sort(list(KEYS))


def build_panel(
    df: pl.DataFrame, series: pl.DataFrame, start: date, n_days: int, spec: FeatureSpec
) -> Panel:
    """Scatter the long frame ``df`` (store_id, product_id, dt, PANEL_VALUES...) onto the
    dense grid ``series x [start, start + n_days)`` and add the rolling/lag columns.

    Rows of ``df`` outside the grid are ignored; grid cells without a row are null.
    """
    idx = (
        df.select(*KEYS, "dt")
        .with_row_index("_r")
        .join(series.select(KEYS).with_row_index("sid"), on=list(KEYS), how="inner")
        .with_columns(((pl.col("dt") - pl.lit(start)).dt.total_days()).alias("day"))
        .filter(pl.col("day").is_between(0, n_days - 1))
    )
    src = idx["_r"].to_numpy()
    pos = idx["sid"].to_numpy().astype(np.int64) * n_days + idx["day"].to_numpy()
    n = series.height * n_days
    cols: dict[str, npt.NDArray[np.float32] | npt.NDArray[np.int64]] = {
        "sid": np.repeat(np.arange(series.height, dtype=np.int64), n_days),
        "day": np.tile(np.arange(n_days, dtype=np.int64), series.height),
    }
    for name in PANEL_VALUES:
        arr = np.full(n, np.nan, dtype=np.float32)
        if name in df.columns:
            arr[pos] = df[name].cast(pl.Float32).to_numpy()[src]
        cols[name] = arr
    frame = pl.DataFrame(cols).with_columns([pl.col(c).fill_nan(None) for c in PANEL_VALUES])
    frame = frame.with_columns(_panel_exprs(spec)).with_columns(
        ((pl.col("day") + pl.lit(start.weekday())) % 7).cast(pl.Float32).alias("dow")
    )
    return Panel(frame=frame, series=series, start=start, n_days=n_days)


def _panel_exprs(spec: FeatureSpec) -> list[pl.Expr]:
    """Rolling features (ending at the row's own day) and lags, per series."""
    w_max = max(spec.windows)
    y = pl.col("y")
    half = max(1, w_max // 2)
    exprs = [
        y.rolling_mean(w, min_samples=max(1, w // 2)).over("sid").alias(f"roll_mean_{w}")
        for w in spec.windows
    ]
    exprs += [
        y.rolling_std(w_max, min_samples=half).over("sid").alias(f"roll_std_{w_max}"),
        (pl.col(OOS_HOURS) / 16.0).rolling_mean(7, min_samples=1).over("sid").alias("oos_share_7"),
        pl.col("discount")
        .rolling_mean(w_max, min_samples=1)
        .over("sid")
        .alias(f"discount_mean_{w_max}"),
        pl.col("activity_flag")
        .rolling_mean(w_max, min_samples=1)
        .over("sid")
        .alias(f"activity_mean_{w_max}"),
    ]
    exprs += [y.shift(k).over("sid").alias(f"lag_{k}") for k in spec.lags]
    # read at the origin row: demand j days before the origin (j = 0: the origin day)
    exprs += [y.shift(j).over("sid").alias(f"origin_lag_{j}") for j in spec.origin_lags]
    k0 = spec.lags[0]
    exprs += [
        pl.col("discount").shift(k0).over("sid").alias(f"discount_lag_{k0}"),
        pl.col("activity_flag").shift(k0).over("sid").alias(f"activity_lag_{k0}"),
    ]
    return [e.cast(pl.Float32) for e in exprs]


def design_frame(panel: Panel, sid: I64, day: I64, h: I64, spec: FeatureSpec) -> pl.DataFrame:
    """Feature rows for target days ``day`` of series ``sid`` seen from origins ``day - h``.

    Columns in ``spec.feature_names()`` order (float32), plus nothing else.
    """
    if np.any(h < 1) or np.any(h > spec.horizon):
        raise ValueError(f"h must lie in 1..{spec.horizon}")
    target_rows = panel.rows(sid, day)
    origin_rows = panel.rows(sid, day - h)
    statics = panel.series.select(
        [pl.col(c).cast(pl.Float32) for c in CATEGORICAL if c in panel.series.columns]
    )
    stat = statics[sid]
    t_cols = [c for c in spec.target_columns() if c not in CATEGORICAL]
    target = panel.frame.select(t_cols)[target_rows]
    origin = panel.frame.select(spec.origin_columns())[origin_rows]
    missing_static = [c for c in CATEGORICAL if c not in stat.columns]
    if missing_static:
        stat = stat.with_columns([pl.lit(None, pl.Float32).alias(c) for c in missing_static])
    w_max = max(spec.windows)
    w_min = min(spec.windows)
    lag_cols = [pl.col(f"lag_{k}") for k in spec.lags]
    out = pl.concat([target, stat, origin], how="horizontal").with_columns(
        pl.mean_horizontal(lag_cols).alias("lag_mean"),
    )
    eps = 1e-3
    out = out.with_columns(
        (pl.col("lag_mean") / (pl.col(f"roll_mean_{w_max}") + eps)).alias("weekday_ratio"),
        (pl.col(f"roll_mean_{w_min}") / (pl.col(f"roll_mean_{w_max}") + eps)).alias("trend_ratio"),
        (pl.col("discount") / pl.col(f"discount_mean_{w_max}")).alias("discount_rel"),
        pl.Series("h", h.astype(np.float32)),
    )
    return out.select([pl.col(c).cast(pl.Float32) for c in spec.feature_names()])


def categorical_indices(names: Sequence[str]) -> list[int]:
    """Positions of the categorical features in ``names`` (for LightGBM)."""
    return [i for i, n in enumerate(names) if n in CATEGORICAL]


def grid(n_series: int, days: npt.NDArray[np.int64]) -> tuple[I64, I64]:
    """All (sid, day) pairs, series-major."""
    sid = np.repeat(np.arange(n_series, dtype=np.int64), len(days))
    day = np.tile(days.astype(np.int64), n_series)
    return sid, day


def panel_tail(panel: Panel, tail_days: int) -> pl.DataFrame:
    """The last ``tail_days`` days of the panel's raw columns, long, with keys and dates."""
    first = panel.n_days - tail_days
    keys = (
        panel.series.select(KEYS).with_row_index("sid").with_columns(pl.col("sid").cast(pl.Int64))
    )
    return (
        panel.frame.filter(pl.col("day") >= first)
        .select("sid", "day", "y", SALES, OOS_HOURS, *COVARIATES)
        .join(keys, on="sid", how="left")
        .with_columns((pl.lit(panel.start) + pl.duration(days=pl.col("day"))).alias("dt"))
        .select(*KEYS, "dt", "y", SALES, OOS_HOURS, *COVARIATES)
        .filter(pl.col("y").is_not_null() | pl.col("discount").is_not_null())
    )
