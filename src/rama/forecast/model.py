"""``DemandForecaster``: one LightGBM model over every series, direct multi-horizon.

``fit(history)`` recovers censored demand (optional), builds the dense panel, trains on
target days up to ``T - horizon`` (each row seen from a random origin 1..horizon days
before it), and calibrates the uncertainty on the last ``horizon`` days of the history
(origin ``T - horizon``, exactly the shape of a real forecast). ``predict`` featurises the
``horizon`` days after ``T`` from the stored history tail, so it runs without the full
history and without refitting (``save`` / ``load``).
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import polars as pl
from sklearn.base import BaseEstimator

from rama import cluster
from rama.config import Config
from rama.errors import ConfigError, DataValidationError, NotFittedError
from rama.forecast.cv import cross_validation
from rama.forecast.features import (
    CATEGORICAL,
    FeatureSpec,
    build_panel,
    categorical_indices,
    design_frame,
    series_table,
)
from rama.forecast.frames import check_columns_map, from_rama, to_rama
from rama.forecast.params import DEFAULTS, check_lgb_params
from rama.forecast.persist import load_state, save_state
from rama.forecast.recovery import recover_demand
from rama.forecast.schema import (
    COVARIATES,
    KEYS,
    OOS_HOURS,
    RECOVERED,
    SALES,
    as_date,
    reject_duplicates,
    reject_nulls,
    require_columns,
    validated_history,
)
from rama.forecast.training_rows import (
    RowPlan,
    candidate_count,
    concat_rows,
    part_rows,
    split_by_series,
)
from rama.forecast.uncertainty import (
    fit_calibration,
    fit_total_calibration,
    mean_scale,
)
from rama.schema import DataWarning

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def quantile_name(tau: float) -> str:
    """Column name of a quantile: 0.1 -> ``q10``, 0.025 -> ``q2.5``."""
    return f"q{round(tau * 100, 6):g}"


def small_data_size(configured: int, n_rows: int) -> int:
    """``configured`` rows, or ``n_rows // 20`` (at least 1) when that is smaller.

    >>> small_data_size(200, 1_000_000), small_data_size(200, 49)
    (200, 2)
    """
    return max(1, min(configured, n_rows // 20))


class DemandForecaster(BaseEstimator):
    """Global LightGBM demand forecaster with conformal quantiles (units/day).

    One gradient-boosted model is trained over every store-product series at once, direct
    multi-horizon: each training row is a (series, target day) seen from an origin 1 to
    ``horizon`` days before it, with the horizon as a feature. Quantiles and ``sigma`` come
    from conformal residuals on the last ``horizon`` days of the history. Demand is in the
    units of ``sale_amount`` (FreshRetailNet's normalised units) per day.

    Parameters mirror the ``[forecast]`` config section (docs/forecast.md); ``from_config``
    builds one from a :class:`~rama.config.Config`.

    Parameters
    ----------
    horizon : int, default 7
        Forecast days after the last history day (days, >= 1; ``run.horizon_days``).
    quantiles : sequence of float, default (0.1, 0.5, 0.9)
        Probabilities in (0, 1) of the predicted quantile columns (``q10``, ``q50``, ...).
    recover_demand : bool, default True
        Train on ``recovered_demand`` (sales plus the demand lost to stockout hours, from the
        24-hour lists) instead of the censored ``sale_amount``. ``False`` needs no hourly
        lists.
    lags : sequence of int, default (7, 14, 21, 28)
        Lagged-demand features (days before the target day). Every lag must be >=
        ``horizon`` so no demand inside the forecast window leaks into a feature.
    rolling_windows : sequence of int, default (7, 14, 28)
        Rolling-mean features over windows ending at the forecast origin (days); the
        longest window also gives a rolling std.
    num_boost_round : int, default 300
        LightGBM boosting rounds (trees).
    learning_rate : float, default 0.05
        LightGBM shrinkage per round (dimensionless).
    num_leaves : int, default 63
        Maximum leaves per tree.
    num_threads : int, default 0
        LightGBM threads; 0 = every core.
    min_data_in_leaf : int, default 200
        Minimum training rows per leaf (rows).
    objective : str, default "tweedie"
        LightGBM objective of the point forecast: ``"tweedie"`` (log link, variance power
        1.5; chosen in issue 14 by the benchmark families), ``"poisson"`` or
        ``"regression"`` (squared error).
    calibration_bins : int, default 30
        Bins of the predicted level for the conformal tables (capped at one bin per 50
        calibration rows).
    calibrate_on : {"all", "in_stock"}, default "all"
        Calibration rows: every day, or only days with no stockout hour.
    calibrate_mean : bool, default True
        Multiply the point forecast by ``sum target / sum forecast`` of the calibration
        window (clipped to [0.8, 1.25]; ``calibration_.scale``): the model's aggregate bias
        on the most recent held-out week (-1 to -4 % on the benchmark families) is removed.
    recovery_prior_units : float, default 0.0
        Weight of the series mean in a stockout day's recovered level (units of demand;
        0 = the ratio estimator, the default: the least biased recovery on every benchmark
        family and the lowest realized plan cost, docs/forecast.md "Demand recovery").
    recovery_prior_days : float, default 0.0
        Weight of the series mean in days of exposure, the same for every level (> 0 needs
        ``recovery_prior_units = 0``; docs/forecast.md, "Demand recovery").
    recovery_hours : (int, int), default (6, 22)
        Hours ``[first, last)`` whose stockout flags are recovered (hours of the day).
    max_train_rows : int or None, default 1,000,000
        About this many rows are sampled from the (series, day) training grid (rows;
        ``None`` = all): each candidate row is kept with probability ``max_train_rows /
        candidates`` by a hash of (seed, series, day), so the sample does not depend on
        ``partition_series`` or on a Dask cluster.
    max_calibration_series : int or None, default 100,000
        At most about this many series have their calibration week (the last ``horizon``
        history days, seen from their origin) predicted and used for the calibration tables
        and ``backtest_`` (series; ``None`` = all): above it each series is kept with
        probability ``max_calibration_series / series`` by a hash of (seed, series), so the
        sample does not depend on ``partition_series`` or on a Dask cluster. The tables are
        shares and quantiles over >= 700,000 rows then; the cap spares predicting every
        series twice on a large network (10x FreshRetailNet: 3.5 M calibration rows).
    seed : int, default 42
        Seed of the row sampling, the origins and LightGBM (same seed, same model).
    lgb_params : dict or None, default None
        Further LightGBM parameters, passed through (override ``params.DEFAULTS``); an
        unknown name, or one set by an argument above, is a ``ConfigError`` naming it.
    columns : dict or None, default None
        ``{frame column: rama column}`` for frames in another layout, e.g.
        ``frames.LONG_LAYOUT`` for ``unique_id, ds, y`` (see :mod:`rama.forecast.frames`).
    origin_lags : sequence of int, default ()
        Demand of the days ``j`` before the forecast origin as features (0 = the origin
        day: for the first forecast day the last observed day).
    partition_series : int, default 50,000
        Series whose dense panel is built at once (series; 0 = all): bounds the fit's
        memory (about 120 bytes x days x series per partition) without changing the model.
        With a Dask cluster active (:mod:`rama.cluster`) each partition is a task, and the
        model is trained with ``lightgbm.dask`` on the rows the workers built.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The fitted model.
    calibration_ : Calibration
        Conformal residual quantiles per predicted-level bin, daily ``sigma`` and the
        within-horizon correlation ``rho``.
    last_date_ : datetime.date
        Last day of the history; forecasts cover the ``horizon`` days after it.
    series_ : polars.DataFrame
        The fitted store-product series (and their hierarchy attributes).
    n_train_rows_ : int
        Training rows used (rows).
    n_calibration_series_ : int
        Series whose calibration week was predicted (all of them up to
        ``max_calibration_series``).
    n_partitions_ : int
        Series partitions the fit was built in.
    fit_timings_ : dict
        Wall seconds of the fit's steps: ``features`` (every partition's rows), ``train``
        (LightGBM), ``calibrate`` and ``total`` (features and train are NaN on a cluster,
        where they overlap).
    total_calibration_ : TotalCalibration or None
        Empirical residual quantiles of horizon totals (:meth:`horizon_quantiles`).
    backtest_ : polars.DataFrame
        The calibration week's forecasts (the last ``horizon`` history days seen from the
        day before them; the stage's backtest without an eval split).
    ids_ : polars.DataFrame or None
        ``unique_id -> (store_id, product_id)`` of a ``unique_id`` fit.
    feature_importances_ : numpy.ndarray
        Share of the total gain per feature (``feature_names_`` order).
    feature_names_, spec_, target_, tail_, short_series_, fit_seconds_
        Feature names, lag/window spec, target column, the history tail ``predict`` needs,
        series shorter than the longest lag, and the fit wall time (s).

    Fitted attributes end in ``_``; ``predict`` before ``fit`` raises ``NotFittedError``;
    ``save`` / ``load`` round-trip a fitted forecaster without refitting.

    Examples
    --------
    Four series (2 stores x 2 products) over 35 days, without hourly lists (so no demand
    recovery), and a small, single-threaded model:

    >>> from datetime import date, timedelta
    >>> import numpy as np
    >>> import polars as pl
    >>> rng = np.random.default_rng(0)
    >>> n_series, n_days = 4, 35
    >>> s = np.repeat(np.arange(n_series), n_days)
    >>> d = np.tile(np.arange(n_days), n_series)
    >>> n = len(s)
    >>> history = pl.DataFrame(
    ...     {
    ...         "store_id": s // 2,
    ...         "product_id": s % 2 + 10,
    ...         "dt": [date(2024, 3, 1) + timedelta(days=int(k)) for k in d],
    ...         "sale_amount": rng.poisson(3.0, n).astype(float),
    ...         "discount": np.ones(n),
    ...         "holiday_flag": (d % 7 >= 5).astype(np.int32),
    ...         "activity_flag": np.zeros(n, dtype=np.int32),
    ...         "precpt": np.zeros(n),
    ...         "avg_temperature": np.full(n, 20.0),
    ...         "avg_humidity": np.full(n, 70.0),
    ...         "avg_wind_level": np.full(n, 2.0),
    ...     }
    ... )
    >>> fc = DemandForecaster(
    ...     horizon=7, lags=(7,), rolling_windows=(7,), recover_demand=False,
    ...     num_boost_round=10, num_leaves=7, min_data_in_leaf=5, num_threads=1, seed=0,
    ... ).fit(history)
    >>> fc.last_date_
    datetime.date(2024, 4, 4)

    Without the known future (an eval split), ``make_future_frame()`` assumes last week's
    covariates (``predict()`` alone does the same with a warning that counts those rows):
    one row per series and forecast day, the point forecast, its quantiles and ``sigma``
    (units/day).

    >>> pred = fc.predict(fc.make_future_frame())
    >>> pred.shape
    (28, 9)
    >>> pred.columns  # doctest: +NORMALIZE_WHITESPACE
    ['store_id', 'product_id', 'dt', 'horizon', 'forecast', 'q10', 'q50', 'q90', 'sigma']
    >>> str(pred["dt"].min()), str(pred["dt"].max())
    ('2024-04-05', '2024-04-11')
    >>> bool((pred["q10"] <= pred["q50"]).all() and (pred["q50"] <= pred["q90"]).all())
    True

    ``horizon_totals`` sums each series over the horizon (units, for the optimizer):

    >>> fc.horizon_totals(pred).columns
    ['store_id', 'product_id', 'demand', 'demand_std', 'n_days']
    """

    def __init__(
        self,
        horizon: int = 7,
        quantiles: Sequence[float] = (0.1, 0.5, 0.9),
        recover_demand: bool = True,
        lags: Sequence[int] = (7, 14, 21, 28),
        rolling_windows: Sequence[int] = (7, 14, 28),
        num_boost_round: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 63,
        num_threads: int = 0,
        min_data_in_leaf: int = 200,
        objective: str = "tweedie",
        calibration_bins: int = 30,
        calibrate_on: str = "all",
        calibrate_mean: bool = True,
        recovery_prior_units: float = 0.0,
        recovery_prior_days: float = 0.0,
        recovery_hours: Sequence[int] = (6, 22),
        max_train_rows: int | None = 1_000_000,
        max_calibration_series: int | None = 100_000,
        seed: int = 42,
        lgb_params: Mapping[str, Any] | None = None,
        columns: Mapping[str, str] | None = None,
        origin_lags: Sequence[int] = (),
        partition_series: int = 50_000,
    ) -> None:
        # stored as given (scikit-learn convention: clone and set_params rely on it);
        # checked at fit
        self.horizon = horizon
        self.quantiles = quantiles
        self.recover_demand = recover_demand
        self.lags = lags
        self.rolling_windows = rolling_windows
        self.num_boost_round = num_boost_round
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.num_threads = num_threads
        self.min_data_in_leaf = min_data_in_leaf
        self.objective = objective
        self.calibration_bins = calibration_bins
        self.calibrate_on = calibrate_on
        self.calibrate_mean = calibrate_mean
        self.recovery_prior_units = recovery_prior_units
        self.recovery_prior_days = recovery_prior_days
        self.recovery_hours = recovery_hours
        self.max_train_rows = max_train_rows
        self.max_calibration_series = max_calibration_series
        self.seed = seed
        self.lgb_params = lgb_params
        self.columns = columns
        self.origin_lags = origin_lags
        self.partition_series = partition_series

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(cls, cfg: Config, **overrides: Any) -> DemandForecaster:
        """Build from the ``[forecast]`` section (horizon from ``run.horizon_days``)."""
        f = cfg["forecast"]
        kwargs: dict[str, Any] = {
            "horizon": int(cfg["run"]["horizon_days"]),
            "quantiles": tuple(f["quantiles"]),
            "recover_demand": bool(f["recover_demand"]),
            "lags": tuple(f["lags"]),
            "rolling_windows": tuple(f["rolling_windows"]),
            "num_boost_round": int(f["num_boost_round"]),
            "learning_rate": float(f["learning_rate"]),
            "num_leaves": int(f["num_leaves"]),
            "num_threads": int(f["num_threads"]),
            "seed": int(cfg["run"]["seed"]),
        }
        if "recovery_prior_units" in f:
            kwargs["recovery_prior_units"] = float(f["recovery_prior_units"])
        if "recovery_prior_days" in f:
            kwargs["recovery_prior_days"] = float(f["recovery_prior_days"])
        if "recovery_hours" in f:
            kwargs["recovery_hours"] = tuple(f["recovery_hours"])
        if "origin_lags" in f:
            kwargs["origin_lags"] = tuple(f["origin_lags"])
        if "objective" in f:
            kwargs["objective"] = str(f["objective"])
        if "calibrate_mean" in f:
            kwargs["calibrate_mean"] = bool(f["calibrate_mean"])
        if "partition_series" in f:
            kwargs["partition_series"] = int(f["partition_series"])
        if "max_train_rows" in f:
            kwargs["max_train_rows"] = int(f["max_train_rows"]) or None
        if "max_calibration_series" in f:
            kwargs["max_calibration_series"] = int(f["max_calibration_series"]) or None
        kwargs.update(overrides)
        return cls(**kwargs)

    def _spec(self) -> FeatureSpec:
        if not isinstance(self.horizon, int) or self.horizon < 1:
            raise ConfigError(f"horizon expected an integer >= 1 (days), got {self.horizon!r}")
        if not self.lags or not self.rolling_windows:
            raise ConfigError("lags and rolling_windows need at least one value (days)")
        if min(self.lags) < self.horizon:
            ok = [k for k in self.lags if k >= self.horizon] or [self.horizon]
            raise ConfigError(
                f"every lag must be >= the horizon ({self.horizon} days) so that no forecast-"
                f"window demand leaks into a feature; got lags {list(self.lags)}. Fix: "
                f"--set forecast.lags=[{', '.join(str(k) for k in ok)}]"
            )
        if not self.quantiles or not all(0 < q < 1 for q in self.quantiles):
            raise ConfigError(f"quantiles must lie in (0, 1), got {list(self.quantiles)}")
        if self.calibrate_on not in ("all", "in_stock"):
            raise ConfigError(
                f'calibrate_on expected "all" or "in_stock", got {self.calibrate_on!r}'
            )
        if not isinstance(self.calibrate_mean, bool):
            raise ConfigError(f"calibrate_mean expected true or false, got {self.calibrate_mean!r}")
        cap = self.max_calibration_series
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigError(
                f"max_calibration_series expected an integer >= 1 (series) or None (all), "
                f"got {cap!r}"
            )
        check_lgb_params(self.lgb_params)
        check_columns_map(self.columns)
        if any(not isinstance(j, int) or j < 0 for j in self.origin_lags):
            raise ConfigError(
                f"origin_lags expected integers >= 0 (days before the forecast origin), got "
                f"{list(self.origin_lags)}"
            )
        return FeatureSpec(
            self.horizon,
            tuple(sorted(self.lags)),
            tuple(sorted(self.rolling_windows)),
            tuple(sorted(set(self.origin_lags))),
        )

    # ------------------------------------------------------------------ fit
    def fit(self, history: Any, *, source: str = "history") -> Self:
        """Fit on a FreshRetailNet-format frame (one row per store, product and day), Polars
        or pandas; another layout (e.g. ``unique_id, ds, y``) through ``columns``."""
        t0 = time.perf_counter()
        spec = self._spec()
        history, self.ids_ = to_rama(history, self.columns, source)
        hist = validated_history(history, source, need_hours=self._needs_recovery(history))
        target = SALES
        if self.recover_demand:
            if RECOVERED not in hist.columns:
                lo_h, hi_h = self.recovery_hours
                hist = recover_demand(
                    hist,
                    prior_units=self.recovery_prior_units,
                    prior_days=self.recovery_prior_days,
                    window=(lo_h, hi_h),
                    source=source,
                )
            target = RECOVERED
        start, end = hist.select(pl.col("dt").min().alias("a"), pl.col("dt").max().alias("b")).row(
            0
        )
        n_days = (end - start).days + 1
        need = spec.warmup + 2 * spec.horizon
        if n_days < need:
            raise DataValidationError(
                source,
                f"history spans {n_days} days; the longest lag/window needs {spec.warmup} "
                f"days of warm-up, plus {spec.horizon} training and {spec.horizon} "
                f"calibration days = {need} days",
                column="dt",
                fix="provide more history or shorten forecast.lags / forecast.rolling_windows",
            )
        series = series_table(hist)
        long = hist.select(*KEYS, "dt", pl.col(target).alias("y"), SALES, OOS_HOURS, *COVARIATES)
        del hist
        last = n_days - 1
        cut = last - spec.horizon  # last training target day = calibration origin
        plan = RowPlan(spec, start, n_days, cut, 1.0, self.seed)
        if self.max_train_rows is not None:
            n_cand = candidate_count(long, plan)
            plan = replace(plan, keep=min(1.0, self.max_train_rows / max(n_cand, 1)))
        if self.max_calibration_series is not None:
            cal_keep = min(1.0, self.max_calibration_series / max(series.height, 1))
            plan = replace(plan, cal_keep=cal_keep)
        names = spec.feature_names()
        client = cluster.active()
        size = self.partition_series
        if client is not None:  # at least one partition per worker, so every worker trains
            per_worker = -(-series.height // max(1, len(client.scheduler_info()["workers"])))
            size = per_worker if size <= 0 else min(size, per_worker)
        parts = split_by_series(long, series, size)
        self.n_partitions_ = len(parts)
        del long
        if client is not None:
            from rama.forecast.distributed import fit_on_cluster

            self.booster_, rows = fit_on_cluster(
                client, parts, plan, self._train_params, names, self.num_boost_round
            )
            t_feat = t_train = float("nan")  # features and training overlap on the cluster
        else:
            t = time.perf_counter()
            rows = concat_rows([part_rows(lg, ser, a, plan) for a, lg, ser in parts])
            t_feat = time.perf_counter() - t
            self.booster_ = self._train(rows.X, rows.y, names)
            t_train = time.perf_counter() - t - t_feat
        del parts
        t_cal = time.perf_counter()
        self.n_train_rows_ = rows.n_train
        self.n_calibration_series_ = len(rows.cal_sid) // spec.horizon  # whole weeks each
        if self.n_calibration_series_ == 0:  # only a cap far below the series count does this
            raise ConfigError(
                f"max_calibration_series = {self.max_calibration_series} sampled none of the "
                f"{series.height:,} series for the calibration week; raise it (thousands of "
                f"series give stable calibration tables) or set 0 / None for every series"
            )

        csid, cday = rows.cal_sid, rows.cal_day
        ch = cday - cut
        raw = self._booster_predict(rows.cal_features)
        actual, oos = rows.cal_y, rows.cal_oos
        ok = ~np.isnan(actual)
        conf = ok & (oos == 0) if self.calibrate_on == "in_stock" else ok
        scale = mean_scale(raw[ok], actual[ok]) if self.calibrate_mean else 1.0
        pred = raw * scale
        self.calibration_ = fit_calibration(
            pred[conf],
            actual[conf],
            tuple(self.quantiles),
            n_bins=self.calibration_bins,
            sigma_pred=pred[ok],
            sigma_actual=actual[ok],
            sigma_group=csid[ok],
        )
        self.calibration_ = replace(self.calibration_, scale=scale)
        self.total_calibration_ = fit_total_calibration(pred[ok], actual[ok], csid[ok])
        self.backtest_ = self._forecast_frame(
            series.select(KEYS)[csid].with_columns(
                pl.Series("dt", [start + timedelta(days=int(d)) for d in range(n_days)])[cday]
            ),
            ch,
            pred,
        ).sort([*KEYS, "dt"])
        self.spec_ = spec
        self.feature_names_ = names
        self.target_ = target
        self.series_ = series
        self.last_date_: date = end
        self.tail_ = rows.tail
        self.short_series_ = int((rows.observed_days < max(spec.lags)).sum())
        self.fit_seconds_ = time.perf_counter() - t0
        self.fit_timings_ = {
            "features": t_feat,
            "train": t_train,
            "calibrate": time.perf_counter() - t_cal,
            "total": self.fit_seconds_,
        }
        return self

    def _needs_recovery(self, history: pl.DataFrame) -> bool:
        return self.recover_demand and RECOVERED not in history.columns

    def _threads(self) -> int:
        return self.num_threads if self.num_threads > 0 else (os.cpu_count() or 1)

    def _train_params(self, n_rows: int) -> dict[str, Any]:
        """LightGBM parameters for ``n_rows`` training rows."""
        return {
            **DEFAULTS,
            "objective": self.objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            # a history too small for the leaf size (the real 100-row sample has 49 training
            # rows) would give one leaf: every series the same constant. The leaf, and
            # LightGBM's category group size, shrink to a twentieth of the rows then; at any
            # ordinary size (>= 20 x min_data_in_leaf rows) they are as configured.
            "min_data_in_leaf": small_data_size(self.min_data_in_leaf, n_rows),
            "min_data_per_group": small_data_size(100, n_rows),
            "num_threads": self._threads(),
            "seed": self.seed,
            **check_lgb_params(self.lgb_params),
        }

    def _train(self, X: npt.NDArray[np.float32], y: F64, names: list[str]) -> lgb.Booster:
        ds = lgb.Dataset(
            X,
            label=y,
            feature_name=names,
            categorical_feature=categorical_indices(names),
            free_raw_data=True,
        )
        try:
            return lgb.train(self._train_params(len(y)), ds, num_boost_round=self.num_boost_round)
        except lgb.basic.LightGBMError as exc:
            raise ConfigError(
                f"LightGBM rejected the parameters ({exc}); check lgb_params "
                f"{dict(self.lgb_params or {})} and the forecaster's arguments"
            ) from exc

    def _booster_predict(self, X: npt.NDArray[np.float32]) -> F64:
        out = self.booster_.predict(X, num_threads=self._threads())
        return np.maximum(np.asarray(out, dtype=np.float64), 0.0)

    def _predict_raw(self, X: npt.NDArray[np.float32]) -> F64:
        """The point forecast (units/day): the booster's, times ``calibration_.scale``."""
        return self._booster_predict(X) * self.calibration_.scale

    # ------------------------------------------------------------------ predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise NotFittedError(
                "this DemandForecaster is not fitted yet; call fit(history) first "
                "(or DemandForecaster.load(folder) for a saved model)"
            )

    def predict(self, future: Any = None, *, source: str = "future") -> pl.DataFrame:
        """Daily forecasts for the ``horizon`` days after the history (long frame).

        ``future`` holds the known covariates of those days (store_id, product_id, dt and
        the COVARIATES columns, or the fit's layout; extra columns such as sales are
        ignored), e.g. the eval split or :meth:`make_future_frame`. With ``None``, every
        series gets all ``horizon`` days and the covariates of the same weekday one week
        earlier, with a ``DataWarning`` counting those assumed rows (pass
        ``make_future_frame()`` to assume them explicitly).
        Columns: store_id, product_id, dt, horizon, forecast, q.., sigma (with a
        ``unique_id`` fit: unique_id and the fit's date column instead of the keys).
        """
        self._check_fitted()
        if future is None:
            fut = self._assumed_future()
            warnings.warn(
                f"predict(None): assumed the covariates (discount, holiday, activity, "
                f"weather) of {fut.height:,} forecast rows ({self.series_.height:,} series x "
                f"{self.spec_.horizon} days) from the same weekday one week earlier; pass "
                f"the known future, or make_future_frame() to assume them explicitly",
                DataWarning,
                stacklevel=2,
            )
        else:
            fut = self._validated_future(self._rama_future(future, source), source)
        return from_rama(self._predict_rama(fut), self.columns, self.ids_)

    def make_future_frame(self) -> pl.DataFrame:
        """Every series x every horizon day with assumed covariates: those of the same
        weekday ``7 * ceil(h / 7)`` days earlier (the series' mean when that day is missing),
        in the fit's layout; edit it and pass it to :meth:`predict`."""
        self._check_fitted()
        return from_rama(self._assumed_future(), self.columns, self.ids_)

    def _rama_future(self, future: Any, source: str) -> pl.DataFrame:
        return to_rama(future, self.columns, source, self.ids_, target=False)[0]

    def _predict_rama(self, fut: pl.DataFrame) -> pl.DataFrame:
        """Forecast frame (rama layout) of validated future rows ``fut``."""
        spec = self.spec_
        tail_start = self.last_date_ - timedelta(days=spec.tail_days - 1)
        n_days = spec.tail_days + spec.horizon
        rows = pl.concat(
            [
                self.tail_,
                fut.select(*KEYS, "dt", *COVARIATES).with_columns(
                    [pl.lit(None, pl.Float32).alias(c) for c in ("y", SALES, OOS_HOURS)]
                ),
            ],
            how="diagonal_relaxed",
        )
        panel = build_panel(rows, self.series_, tail_start, n_days, spec)
        idx = (
            fut.select(*KEYS, "dt")
            .join(self.series_.select(KEYS).with_row_index("sid"), on=list(KEYS), how="left")
            .with_columns(((pl.col("dt") - pl.lit(tail_start)).dt.total_days()).alias("day"))
        )
        sid = idx["sid"].to_numpy().astype(np.int64)
        day = idx["day"].to_numpy().astype(np.int64)
        h = day - (spec.tail_days - 1)
        pred = self._predict_raw(design_frame(panel, sid, day, h, spec).to_numpy())
        return self._forecast_frame(idx.select(*KEYS, "dt"), h, pred).sort([*KEYS, "dt"])

    def _forecast_frame(self, keys: pl.DataFrame, h: I64, pred: F64) -> pl.DataFrame:
        """``keys`` (store_id, product_id, dt) + horizon, forecast, quantiles, sigma."""
        qs = self.calibration_.daily_quantiles(pred)
        return keys.with_columns(
            pl.Series("horizon", h.astype(np.int32)),
            pl.Series("forecast", pred),
            *[pl.Series(quantile_name(t), qs[:, j]) for j, t in enumerate(tuple(self.quantiles))],
            pl.Series("sigma", self.calibration_.daily_sigma(pred)),
        )

    def horizon_totals(self, forecast: Any) -> pl.DataFrame:
        """Per series: ``demand`` = sum of daily forecasts over the horizon (units) and
        ``demand_std`` = sqrt((1 - rho) sum sigma^2 + rho (sum sigma)^2) (units)."""
        self._check_fitted()
        rho = self.calibration_.rho
        fc = self._rama_future(forecast, "forecast")
        out = (
            fc.group_by(list(KEYS))
            .agg(
                pl.col("forecast").sum().alias("demand"),
                (
                    (
                        (1.0 - rho) * (pl.col("sigma") ** 2).sum()
                        + rho * pl.col("sigma").sum() ** 2
                    ).sqrt()
                ).alias("demand_std"),
                pl.len().alias("n_days"),
            )
            .sort(list(KEYS))
        )
        return from_rama(out, self.columns, self.ids_)

    def horizon_quantiles(self, forecast: Any) -> pl.DataFrame:
        """Per series, empirical quantiles of the horizon total (units) at the levels
        ``(g - 0.5) / 20`` (columns ``q2.5, q7.5, ..., q97.5``): the forecast total plus the
        calibration window's residual quantiles of series with a similar total
        (:class:`~rama.forecast.uncertainty.TotalCalibration`)."""
        self._check_fitted()
        tot = self.horizon_totals(self._rama_future(forecast, "forecast"))
        cal = self.total_calibration_
        if cal is None:
            raise NotFittedError("this forecaster has no horizon-total calibration; refit it")
        q = cal.quantiles(tot["demand"].to_numpy())
        out = tot.select(KEYS).with_columns(
            pl.Series(quantile_name(float(lv)), q[:, j]) for j, lv in enumerate(cal.levels)
        )
        return from_rama(out, self.columns, self.ids_)

    @property
    def feature_importances_(self) -> F64:
        """Total gain of each feature over the trees, normalised to sum 1 (``feature_names_``
        order)."""
        self._check_fitted()
        gain = np.asarray(self.booster_.feature_importance("gain"), dtype=np.float64)
        total = gain.sum()
        return gain / total if total > 0 else gain

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "booster_")

    def cross_validation(
        self, history: Any, n_windows: int = 3, h: int | None = None
    ) -> pl.DataFrame:
        """Rolling-origin backtest on ``history``: per window, a clone with ``horizon = h``
        fitted on the days up to the window's cutoff, scored on the ``h`` days after it
        (their covariates as known future). One row per window and row set; see
        :func:`rama.forecast.cv.cross_validation`."""
        return cross_validation(self, history, n_windows=n_windows, h=h)

    def _validated_future(self, future: pl.DataFrame, source: str) -> pl.DataFrame:
        fix = "the future frame needs the known covariates of every forecast day (eval split)"
        require_columns(future, [*KEYS, "dt", *COVARIATES], source, fix)
        fut = as_date(future.select(*KEYS, "dt", *COVARIATES), source)
        reject_nulls(
            fut,
            list(COVARIATES),
            source,
            "fill the covariates of the forecast days (or call predict(None) to assume "
            "last week's covariates)",
        )
        lo, hi = (
            self.last_date_ + timedelta(days=1),
            self.last_date_ + timedelta(days=self.spec_.horizon),
        )
        bad = fut.filter(~pl.col("dt").is_between(lo, hi))
        if bad.height:
            raise DataValidationError(
                source,
                f"forecast days must lie in {lo}..{hi} (the {self.spec_.horizon} days after "
                f"the history)",
                column="dt",
                examples=bad.head(3).to_dicts(),
                count=bad.height,
                fix="drop those rows or refit with a history ending the day before",
            )
        unknown = fut.join(self.series_.select(KEYS), on=list(KEYS), how="anti")
        if unknown.height:
            raise DataValidationError(
                source,
                "store-product pairs not in the fitted history",
                column="product_id",
                examples=unknown.select(*KEYS, "dt").head(3).to_dicts(),
                count=unknown.height,
                fix="refit on a history containing these series",
            )
        reject_duplicates(fut, source)
        return fut

    def complete_future(
        self, known: pl.DataFrame | None, *, source: str = "future"
    ) -> pl.DataFrame:
        """Every series x every horizon day: the rows of ``known`` (validated covariates)
        plus, for pairs it lacks, the assumed covariates of ``predict(None)``."""
        self._check_fitted()
        assumed = self._assumed_future()
        if known is None:
            return assumed
        fut = self._validated_future(known, source)
        rest = assumed.join(fut.select(*KEYS, "dt"), on=[*KEYS, "dt"], how="anti")
        return pl.concat([fut, rest.select(fut.columns)], how="vertical_relaxed")

    def _assumed_future(self) -> pl.DataFrame:
        """All series x horizon days; covariates copied from 7 * ceil(h / 7) days earlier."""
        spec = self.spec_
        days = [self.last_date_ + timedelta(days=h) for h in range(1, spec.horizon + 1)]
        grid = self.series_.select(KEYS).join(
            pl.DataFrame({"dt": days, "horizon": list(range(1, spec.horizon + 1))}), how="cross"
        )
        grid = grid.with_columns(
            (pl.col("dt") - pl.duration(days=7 * ((pl.col("horizon") + 6) // 7))).alias("_src")
        )
        cov = self.tail_.select(*KEYS, pl.col("dt").alias("_src"), *COVARIATES)
        out = grid.join(cov, on=[*KEYS, "_src"], how="left")
        defaults = {"discount": 1.0, "holiday_flag": 0.0, "activity_flag": 0.0}
        fills = []
        for c in COVARIATES:
            mean = pl.col(c).mean().over(list(KEYS))
            expr = pl.col(c).fill_null(mean)
            fills.append(expr.fill_null(defaults.get(c, 0.0)).alias(c))
        return out.with_columns(fills).select(*KEYS, "dt", *COVARIATES)

    # ------------------------------------------------------------------ persistence
    def save(self, folder: Path) -> Path:
        """Write ``model.txt`` (LightGBM), ``forecaster.json`` and the history tail
        (:func:`rama.forecast.persist.save_state`)."""
        self._check_fitted()
        return save_state(self, Path(folder))

    @classmethod
    def load(cls, folder: Path) -> DemandForecaster:
        """Rebuild a fitted forecaster written by ``save`` (no refitting).

        A missing, truncated or corrupt file of the folder is a ``StageInputError``
        (``forecaster.json``, ``model.txt``) or ``DataValidationError`` (the Parquet tables)
        naming the file and saying to refit with ``rama forecast``.
        """
        fc: DemandForecaster = load_state(cls, Path(folder))
        fc.spec_ = fc._spec()
        return fc


__all__ = ["CATEGORICAL", "DemandForecaster", "quantile_name"]
