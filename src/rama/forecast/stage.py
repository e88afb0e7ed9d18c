"""The forecast stage: ``run_forecast(run_dir, cfg)`` -> ``RUN/forecast/`` (docs/forecast.md)."""

from __future__ import annotations

import gc
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from rama.config import Config
from rama.data.partitions import DAILY_COLUMNS, DEFAULT_PARTITION_ROWS, load_daily
from rama.errors import StageInputError
from rama.forecast.backtest import TRUTH, horizon_calibration, score_methods, seller_class
from rama.forecast.baselines import moving_average, seasonal_naive
from rama.forecast.model import DemandForecaster, quantile_name
from rama.forecast.recovery import recover_split
from rama.forecast.recovery_table import recovery_against_truth, recovery_summary
from rama.forecast.schema import COVARIATES, HIERARCHY, KEYS, LOST, OOS_HOURS, SALES
from rama.io import atomic_dir, write_csv, write_json, write_parquet
from rama.layout import RunLayout, truth_file
from rama.progress import step
from rama.run_manifest import read_manifest, record_stage, update_manifest

FORECAST = "forecast"
MA_WINDOW = 28  # days of the moving-average baseline
TRAIN_COLUMNS = tuple(
    c for c in DAILY_COLUMNS if c in {*KEYS, "dt", SALES, OOS_HOURS, *COVARIATES, *HIERARCHY}
)
"""The train split's daily columns the forecaster and the backtest read (no hourly lists)."""


@dataclass(frozen=True)
class ForecastResult:
    """What ``rama forecast`` wrote: the planning week, the backtest metrics, the recovery
    effect, wall seconds per step, and ``summary`` (``forecast_summary.json``)."""

    out_dir: Path
    horizon_days: int
    first_day: str  # ISO date of the planning week's first day
    last_day: str
    series: int
    daily_error_correlation: float
    backtest_window: str
    metrics: pl.DataFrame  # one row per method, target and row selection
    recovery: Mapping[str, Any]  # the recovery summary's "all" row
    seconds: Mapping[str, float]  # load, recovery, fit, predict, backtest, write, total
    summary: Mapping[str, Any]


def run_forecast(run_dir: Path, cfg: Config, *, reuse_model: bool = False) -> ForecastResult:
    """Recover demand, fit (or reload) the forecaster, forecast the planning week, backtest,
    and write ``run_dir/forecast/`` atomically. Returns what was written.

    The planning week is the ``run.horizon_days`` days after the train split (the eval days
    when an eval split exists: its covariates are the known future, its sales only score).
    ``reuse_model`` reloads ``forecast/model/`` instead of refitting (the backtest then
    scores only what needs no fit).
    """
    t0 = time.perf_counter()
    layout = RunLayout(run_dir)
    run_dir = layout.root
    manifest = read_manifest(run_dir)
    if "data_dir" not in manifest:
        raise StageInputError(
            f"{run_dir}/manifest.json has no data_dir; run `rama prepare --data DATA --out "
            f"{run_dir}` first"
        )
    data_dir = Path(manifest["data_dir"])
    horizon = int(cfg["run"]["horizon_days"])
    fcfg = cfg["forecast"]
    timings: dict[str, float] = {}

    rows = int(cfg["data"].get("partition_rows", DEFAULT_PARTITION_ROWS))
    lo_h, hi_h = fcfg.get("recovery_hours", (6, 22))
    with step("forecast: reading the sales and recovering stockout-censored demand"):
        rec = recover_split(  # partition by partition: one partition's hourly lists at a time
            data_dir,
            "train",
            rows=rows,
            prior_units=float(fcfg.get("recovery_prior_units", 0.0)),
            prior_days=float(fcfg.get("recovery_prior_days", 0.0)),
            window=(int(lo_h), int(hi_h)),
            columns=TRAIN_COLUMNS,
            stage=FORECAST,
        )
    timings["recovery"] = time.perf_counter() - t0

    t = time.perf_counter()
    with step("forecast: loading the eval split and the truth"):  # no hourly lists needed
        ev = (
            load_daily(data_dir, "eval", rows=rows, stage=FORECAST)
            if manifest.get("has_eval")
            else None
        )
        truth_path = truth_file(data_dir) if manifest.get("has_truth") else None
        if truth_path is not None and truth_path.is_file():
            # joined one range of stores at a time; then only the backtest week's truth
            rec_sum = recovery_against_truth(rec, truth_path, TRUTH, chunk_rows=rows)
            first: date = rec["dt"].max() - timedelta(days=horizon)  # type: ignore[operator,assignment]
            truth = _load_truth(truth_path, after=first)
        else:
            rec_sum, truth = recovery_summary(rec), None
    rec = rec.drop(LOST)  # the forecaster reads recovered_demand only
    gc.collect()
    timings["load"] = time.perf_counter() - t

    t = time.perf_counter()
    if reuse_model:
        model_dir = layout.model
        if not (model_dir / "forecaster.json").is_file():
            raise StageInputError(
                f"{model_dir} has no saved model; run `rama forecast --run {run_dir}` without "
                "--reuse-model first"
            )
        fc = DemandForecaster.load(model_dir)
        last = str(rec["dt"].max())
        if fc.horizon != horizon or str(fc.last_date_) != last:
            raise StageInputError(
                f"{model_dir} was fitted for a {fc.horizon}-day horizon after "
                f"{fc.last_date_}; this run needs {horizon} days after {last}. Run "
                f"`rama forecast --run {run_dir}` without --reuse-model to refit"
            )
    else:
        with step("forecast: features and the LightGBM fit"):
            fc = DemandForecaster.from_config(cfg).fit(rec, source=f"{data_dir} (train)")
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    known = ev.select(*KEYS, "dt", *COVARIATES) if ev is not None else None
    future = fc.complete_future(known, source=f"{data_dir} (eval)")
    n_assumed = future.height - (known.height if known is not None else 0)
    with step("forecast: predicting the planning week"):
        forecast = fc.predict(future)
    stale = stale_series(rec, int(fcfg["stale_after_days"]))
    forecast = zero_stale(forecast, stale)
    totals = fc.horizon_totals(forecast)
    totals_q = (
        zero_stale(fc.horizon_quantiles(forecast), stale)
        if getattr(fc, "total_calibration_", None) is not None
        else None
    )
    timings["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    with step("forecast: backtest"):
        bt = _backtest(rec, ev, truth, fc, forecast, cfg, horizon, reuse_model=reuse_model)
    timings["backtest"] = time.perf_counter() - t

    qlo, qhi = quantile_name(min(fc.quantiles)), quantile_name(max(fc.quantiles))
    summary: dict[str, Any] = {
        "run_dir": str(run_dir),
        "data_dir": str(data_dir),
        "horizon_days": horizon,
        "first_day": str(fc.last_date_ + timedelta(days=1)),
        "last_day": str(fc.last_date_ + timedelta(days=horizon)),
        "series": fc.series_.height,
        "forecast_rows": forecast.height,
        "assumed_covariate_rows": n_assumed,
        "target": fc.target_,
        "train_rows": fc.n_train_rows_,
        "short_series": fc.short_series_,
        "stale_series": stale.height,
        "stale_series_examples": stale.head(5).to_dicts(),
        "stale_rule": (
            f"a series with no row in the last forecast.stale_after_days = "
            f"{int(fcfg['stale_after_days'])} days of the data is forecast 0 (taken as "
            f"discontinued; 0 = off)"
        ),
        "daily_error_correlation": fc.calibration_.rho,
        "interval": f"{qlo}-{qhi}",
        "reused_model": reuse_model,
        "backtest_window": bt["window"],
        "recovery": rec_sum.filter(pl.col("stockout_hours") == "all").to_dicts()[0],
        "horizon_calibration": bt["horizon_calibration"],
        "official_row_selection": bt["official_row_selection"],
        "total_demand": float(totals["demand"].sum()),
    }
    t = time.perf_counter()
    with atomic_dir(layout.forecast) as tmp:
        write_parquet(forecast, tmp / "demand_forecast.parquet")
        write_parquet(totals.select(*KEYS, "demand", "demand_std"), tmp / "horizon_demand.parquet")
        if totals_q is not None:
            write_parquet(totals_q, tmp / "horizon_quantiles.parquet")
        write_csv(bt["metrics"], tmp / "forecast_metrics.csv")
        write_csv(rec_sum, tmp / "recovery_summary.csv")
        write_parquet(bt["predictions"], tmp / "backtest_predictions.parquet")
        fc.save(tmp / layout.model.name)
        timings["write"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - t0
        summary["seconds"] = timings
        write_json(summary, tmp / "forecast_summary.json")
    update_manifest(
        run_dir,
        forecast={
            "horizon_days": horizon,
            "first_day": summary["first_day"],
            "series": summary["series"],
            "target": fc.target_,
            "reused_model": reuse_model,
        },
    )
    record_stage(run_dir, FORECAST, cfg, {"reuse_model": reuse_model})
    return ForecastResult(
        out_dir=layout.forecast,
        horizon_days=horizon,
        first_day=summary["first_day"],
        last_day=summary["last_day"],
        series=int(summary["series"]),
        daily_error_correlation=float(summary["daily_error_correlation"]),
        backtest_window=str(summary["backtest_window"]),
        metrics=bt["metrics"],
        recovery=MappingProxyType(summary["recovery"]),
        seconds=MappingProxyType(timings),
        summary=MappingProxyType(summary),
    )


def stale_series(history: pl.DataFrame, stale_after_days: int) -> pl.DataFrame:
    """Series whose last row is more than ``stale_after_days`` days before the history's last
    day (``store_id, product_id, last_day``); none when ``stale_after_days`` is 0."""
    last = history.group_by(list(KEYS)).agg(pl.col("dt").max().alias("last_day"))
    if stale_after_days <= 0 or last.height == 0:
        return last.head(0)
    end = history["dt"].max()
    cut = pl.lit(end) - pl.duration(days=stale_after_days)
    return last.filter(pl.col("last_day") < cut).sort(list(KEYS))


def zero_stale(forecast: pl.DataFrame, stale: pl.DataFrame) -> pl.DataFrame:
    """``forecast`` with every number of the ``stale`` series set to 0 (units)."""
    if stale.height == 0:
        return forecast
    flag = stale.select(*KEYS, pl.lit(True).alias("_stale"))
    values = [c for c in forecast.columns if c not in (*KEYS, "dt", "horizon")]
    out = forecast.join(flag, on=list(KEYS), how="left", maintain_order="left")
    return out.with_columns(
        pl.when(pl.col("_stale")).then(0.0).otherwise(pl.col(c)).alias(c) for c in values
    ).drop("_stale")


def _load_truth(path: Path, *, after: date) -> pl.DataFrame:
    """The truth file's rows after the day ``after`` (the day text converted as it is read)."""
    return (
        pl.scan_parquet(path, glob=False)
        .select(*KEYS, "dt", TRUTH)
        .with_columns(pl.col("dt").str.to_date("%Y-%m-%d"))
        .filter(pl.col("dt") > after)
        .collect()
    )


def _backtest(
    rec: pl.DataFrame,
    ev: pl.DataFrame | None,
    truth: pl.DataFrame | None,
    fc: DemandForecaster,
    forecast: pl.DataFrame,
    cfg: Config,
    horizon: int,
    *,
    reuse_model: bool,
) -> dict[str, Any]:
    """Score the model and the baselines on the same rows (and, with
    ``forecast.backtest_extra_fits``, the model without recovery and, without an eval split,
    a refit on the history before the held-out week; by default the stage fits once)."""
    if ev is not None:
        hist, actual = rec, ev.select(*KEYS, "dt", SALES, OOS_HOURS, *COVARIATES)
        window = "eval split"
    else:
        last = rec["dt"].max()
        cut = last - timedelta(days=horizon)  # type: ignore[operator]
        hist = rec.filter(pl.col("dt") <= cut)
        actual = rec.filter(pl.col("dt") > cut).select(*KEYS, "dt", SALES, OOS_HOURS, *COVARIATES)
        window = f"last {horizon} train days (held out)"
    if truth is not None:
        actual = actual.join(truth, on=[*KEYS, "dt"], how="left")
    preds: dict[str, pl.DataFrame] = {}
    recover = bool(cfg["forecast"]["recover_demand"])
    extra = bool(cfg["forecast"].get("backtest_extra_fits", False))
    main = "model" if recover else "model_no_recovery"
    main_model: DemandForecaster | None = None
    if ev is not None:
        preds[main], main_model = forecast, fc
    elif extra and not reuse_model:
        main_model = DemandForecaster.from_config(cfg).fit(hist, source="backtest history")
        preds[main] = main_model.predict(actual)
    elif hasattr(fc, "backtest_"):
        # the same fit: its calibration window is these days, seen from their origin
        window += " (the model's calibration window; same fit)"
        preds[main], main_model = fc.backtest_, fc
        n_all = fc.series_.height
        if fc.n_calibration_series_ < n_all:  # forecast.max_calibration_series: every
            # method is scored on the sampled series only, so all score the same rows
            actual = actual.join(fc.backtest_.select(KEYS).unique(), on=list(KEYS), how="semi")
            window += f"; the {fc.n_calibration_series_:,} of {n_all:,} series sampled"
    if recover and extra and not reuse_model:
        fc_nr = DemandForecaster.from_config(cfg, recover_demand=False)
        preds["model_no_recovery"] = fc_nr.fit(hist, source="backtest history").predict(actual)
    # the baselines read only the last MA_WINDOW days (the same numbers, a small join)
    recent = hist.select(*KEYS, "dt", SALES).filter(
        pl.col("dt") > pl.lit(hist["dt"].max()) - pl.duration(days=MA_WINDOW)
    )
    preds["seasonal_naive"] = seasonal_naive(recent, actual)
    preds[f"moving_average_{MA_WINDOW}"] = moving_average(recent, actual, window=MA_WINDOW)
    qs = cfg["forecast"]["quantiles"]
    lo, hi = quantile_name(min(qs)), quantile_name(max(qs))
    metrics = score_methods(preds, actual, seller_class(hist), lo=lo, hi=hi)
    calib: dict[str, Any] = {}
    if main_model is not None:
        tot = main_model.horizon_totals(preds[main])
        calib[SALES] = horizon_calibration(tot, actual, SALES)
        if truth is not None:
            calib[TRUTH] = horizon_calibration(
                tot, actual.filter(pl.col(TRUTH).is_not_null()), TRUTH
            )
    long = [
        p.select(*KEYS, "dt", pl.col("forecast").cast(pl.Float64)).with_columns(
            pl.lit(m).alias("method")
        )
        for m, p in preds.items()
    ]
    predictions = pl.concat(long).pivot(on="method", index=[*KEYS, "dt"], values="forecast")
    predictions = actual.select(
        *KEYS, "dt", SALES, OOS_HOURS, *([TRUTH] if TRUTH in actual.columns else [])
    ).join(predictions, on=[*KEYS, "dt"], how="left")
    return {
        "metrics": metrics,
        "predictions": predictions,
        "window": window,
        "horizon_calibration": calib,
        "official_row_selection": _selection(actual),
    }


def _selection(actual: pl.DataFrame) -> float | None:
    """Latent demand on official rows relative to the same series' mean over the window,
    minus 1 (synthetic data only): how far the no-stockout days are low-demand days."""
    if TRUTH not in actual.columns:
        return None
    off = (
        actual.filter(pl.col(TRUTH).is_not_null())
        .with_columns(pl.col(TRUTH).mean().over(list(KEYS)).alias("_mean"))
        .filter(pl.col(OOS_HOURS) == 0)
    )
    denom = float(off["_mean"].sum())
    return float(off[TRUTH].sum()) / denom - 1.0 if denom > 0 else None
