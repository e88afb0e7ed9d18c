"""DemandForecaster: leakage, predict-from-tail equivalence, end-to-end fit, bad inputs."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from rama.errors import ConfigError, DataValidationError, NotFittedError
from rama.forecast import DemandForecaster, recover_demand
from rama.forecast.features import FeatureSpec, build_panel, design_frame, series_table
from rama.forecast.schema import COVARIATES
from rama.forecast.uncertainty import Calibration, mean_scale
from rama.schema import DataWarning

START = date(2024, 3, 1)
FAST: dict[str, Any] = {
    "num_boost_round": 25,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "num_threads": 1,
}


def make_history(n_series: int = 12, n_days: int = 60, seed: int = 0) -> pl.DataFrame:
    """Weekly-seasonal Poisson-ish demand with a discount effect (no hourly lists)."""
    rng = np.random.default_rng(seed)
    rows = n_series * n_days
    sid = np.repeat(np.arange(n_series), n_days)
    day = np.tile(np.arange(n_days), n_series)
    level = rng.gamma(2.0, 1.0, n_series)[sid]
    disc = np.where(rng.random(rows) < 0.2, 0.8, 1.0)
    mu = level * (1 + 0.3 * np.sin(2 * np.pi * day / 7)) * disc**-1.5
    return pl.DataFrame(
        {
            "city_id": sid % 3,
            "store_id": sid // 2,
            "management_group_id": np.zeros(rows, dtype=np.int64),
            "first_category_id": sid % 2,
            "second_category_id": sid % 4,
            "third_category_id": sid % 6,
            "product_id": sid % 2 + 10,
            "dt": [START + timedelta(days=int(d)) for d in day],
            "sale_amount": rng.poisson(mu * 10) / 10.0,
            "stock_hour6_22_cnt": np.zeros(rows, dtype=np.int32),
            "discount": disc,
            "holiday_flag": (day % 7 >= 5).astype(np.int32),
            "activity_flag": (rng.random(rows) < 0.1).astype(np.int32),
            "precpt": rng.gamma(1.0, 1.0, rows),
            "avg_temperature": 20 + rng.normal(0, 2, rows),
            "avg_humidity": 70 + rng.normal(0, 5, rows),
            "avg_wind_level": 2 + rng.random(rows),
        }
    )


def split(df: pl.DataFrame, n_hist: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    cut = START + timedelta(days=n_hist - 1)
    return df.filter(pl.col("dt") <= cut), df.filter(pl.col("dt") > cut)


@pytest.fixture(scope="module")
def fitted() -> tuple[DemandForecaster, pl.DataFrame, pl.DataFrame]:
    df = make_history(n_days=67)
    hist, fut = split(df, 60)
    fc = DemandForecaster(recover_demand=False, **FAST).fit(hist)
    return fc, hist, fut


# ----------------------------------------------------------------------------- leakage
@pytest.mark.parametrize("origin_lags", [(), (0, 1, 2)])
def test_features_never_read_demand_after_the_origin(origin_lags: tuple[int, ...]) -> None:
    df = make_history(n_series=5, n_days=50, seed=2).rename({"sale_amount": "y"})
    df = df.with_columns(pl.col("y").alias("sale_amount"))
    spec = FeatureSpec(horizon=7, lags=(7, 14), windows=(3, 7), origin_lags=origin_lags)
    series = series_table(df)
    rng = np.random.default_rng(0)
    sid = rng.integers(0, 5, 200)
    day = rng.integers(spec.warmup, 50, 200)
    h = rng.integers(1, 8, 200)
    base = design_frame(build_panel(df, series, START, 50, spec), sid, day, h, spec)
    for i in range(0, 200, 17):  # scramble demand and stockouts strictly after row i's origin
        o = START + timedelta(days=int(day[i] - h[i]))
        s_mask = (pl.col("store_id") == int(series["store_id"][int(sid[i])])) & (
            pl.col("product_id") == int(series["product_id"][int(sid[i])])
        )
        later = s_mask & (pl.col("dt") > o)
        noisy = df.with_columns(
            pl.when(later).then(pl.col("y") * 10 + 7).otherwise(pl.col("y")).alias("y"),
            pl.when(later)
            .then(16)
            .otherwise(pl.col("stock_hour6_22_cnt"))
            .alias("stock_hour6_22_cnt"),
        )
        panel = build_panel(noisy, series, START, 50, spec)
        row = design_frame(panel, sid[i : i + 1], day[i : i + 1], h[i : i + 1], spec)
        assert row.equals(base[i : i + 1]), f"row {i} reads demand after its origin"
    # ...while changing demand at the origin does change the features (the test can fail).
    i = 0
    o = START + timedelta(days=int(day[i] - h[i]))
    at_origin = df.with_columns(
        pl.when(pl.col("dt") == o).then(pl.col("y") + 100).otherwise(pl.col("y")).alias("y")
    )
    row = design_frame(
        build_panel(at_origin, series, START, 50, spec), sid[:1], day[:1], h[:1], spec
    )
    assert not row.equals(base[:1])


def test_lags_shorter_than_horizon_are_refused() -> None:
    df = make_history()
    with pytest.raises(ConfigError, match="every lag must be >= the horizon"):
        DemandForecaster(recover_demand=False, lags=(1, 7), **FAST).fit(df)


# ----------------------------------------------------------------------------- predict
def test_predict_before_fit_is_a_clear_error() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        DemandForecaster().predict()


def test_forecast_frame_shape_and_quantiles(
    fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame],
) -> None:
    fc, hist, fut = fitted
    out = fc.predict(fut.drop("sale_amount"))
    assert out.height == fut.height
    assert out.columns == [
        "store_id", "product_id", "dt", "horizon", "forecast", "q10", "q50", "q90", "sigma"
    ]  # fmt: skip
    q = out.select("q10", "q50", "q90").to_numpy()
    assert (np.diff(q, axis=1) >= 0).all() and (q >= 0).all()
    assert (out["forecast"] >= 0).all() and out["forecast"].is_finite().all()
    assert sorted(out["horizon"].unique().to_list()) == list(range(1, 8))
    tot = fc.horizon_totals(out)
    assert tot.height == hist.select("store_id", "product_id").unique().height
    assert (tot["demand_std"] > 0).all()
    lo = np.sqrt(out.group_by("store_id", "product_id").agg((pl.col("sigma") ** 2).sum())["sigma"])
    assert tot["demand_std"].sum() >= lo.sum() - 1e-9  # rho >= 0 never shrinks the total


def test_predict_from_tail_equals_features_on_the_full_history(
    fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame],
) -> None:
    fc, hist, fut = fitted
    spec = fc.spec_
    full = pl.concat(
        [
            hist.with_columns(pl.col("sale_amount").alias("y")),
            fut.with_columns(pl.lit(None, pl.Float64).alias("y")),
        ],
        how="diagonal_relaxed",
    )
    panel = build_panel(full, fc.series_, START, 67, spec)
    idx = fut.join(
        fc.series_.select("store_id", "product_id").with_row_index("sid"),
        on=["store_id", "product_id"],
    )
    sid = idx["sid"].to_numpy().astype(np.int64)
    day = np.array([(d - START).days for d in idx["dt"]])
    X = design_frame(panel, sid, day, day - 59, spec).to_numpy()
    direct = np.maximum(fc.booster_.predict(X), 0) * fc.calibration_.scale
    via_tail = idx.select("store_id", "product_id", "dt").join(
        fc.predict(fut), on=["store_id", "product_id", "dt"]
    )["forecast"]
    np.testing.assert_allclose(via_tail.to_numpy(), direct, rtol=1e-6, atol=1e-9)


def test_save_load_round_trip(
    tmp_path: Path, fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame]
) -> None:
    fc, _, fut = fitted
    fc.save(tmp_path / "m")
    again = DemandForecaster.load(tmp_path / "m")
    assert again.get_params() == fc.get_params()
    assert again.predict(fut).equals(fc.predict(fut))
    with pytest.raises(DataValidationError, match=r"forecaster\.json"):
        DemandForecaster.load(tmp_path / "nothing")


def test_predict_without_future_assumes_last_weeks_covariates(
    fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame],
) -> None:
    fc, hist, _ = fitted
    with pytest.warns(DataWarning, match="84 forecast rows"):
        out = fc.predict()
    assert out.height == 12 * 7
    fut = fc.complete_future(None)
    src = hist.with_columns((pl.col("dt") + timedelta(days=7)).alias("dt"))
    j = fut.join(src, on=["store_id", "product_id", "dt"], suffix="_src")
    assert j.height == fut.height
    for c in COVARIATES:
        np.testing.assert_allclose(j[c].to_numpy(), j[f"{c}_src"].to_numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- bad inputs
def test_bad_future_frames(fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame]) -> None:
    fc, _, fut = fitted
    with pytest.raises(DataValidationError, match="discount"):
        fc.predict(fut.drop("discount"))
    holes = fut.with_columns(
        pl.when(pl.col("store_id") == 1)
        .then(None)
        .otherwise(pl.col("avg_temperature"))
        .alias("avg_temperature")
    )
    with pytest.raises(DataValidationError, match="null or NaN") as exc:
        fc.predict(holes)
    assert exc.value.column == "avg_temperature" and exc.value.count == 14
    late = fut.with_columns(pl.col("dt") + timedelta(days=7))
    with pytest.raises(DataValidationError, match="forecast days must lie in"):
        fc.predict(late)
    stranger = fut.with_columns(pl.lit(999).alias("store_id"))
    with pytest.raises(DataValidationError, match="not in the fitted history"):
        fc.predict(stranger)
    # complete_future fills pairs the known frame lacks with the documented assumption
    part = fc.complete_future(fut.filter(pl.col("store_id") == 0))
    assert part.height == 12 * 7


def test_history_shorter_than_lags_and_bad_history() -> None:
    df = make_history(n_days=40)
    with pytest.raises(DataValidationError, match="history spans 40 days") as exc:
        DemandForecaster(recover_demand=False, **FAST).fit(df)
    assert "forecast.lags" in str(exc.value)
    ok = DemandForecaster(recover_demand=False, lags=(7,), rolling_windows=(7,), **FAST)
    ok.fit(df)
    dup = pl.concat([df, df.head(1)])
    with pytest.raises(DataValidationError, match="more than one row"):
        DemandForecaster(recover_demand=False, **FAST).fit(dup)
    with pytest.raises(DataValidationError, match="hours_sale"):
        DemandForecaster(recover_demand=True, **FAST).fit(make_history())


def test_short_and_all_zero_series_get_a_forecast() -> None:
    df = make_history(n_days=67)
    df = df.with_columns(  # series 0 never sells; series 1 starts 10 days before the end
        pl.when(pl.col("store_id") == 0)
        .then(0.0)
        .otherwise(pl.col("sale_amount"))
        .alias("sale_amount")
    ).filter(
        ~(
            (pl.col("store_id") == 0)
            & (pl.col("product_id") == 11)
            & (pl.col("dt") < START + timedelta(days=50))
        )
    )
    hist, fut = split(df, 60)
    fc = DemandForecaster(recover_demand=False, **FAST).fit(hist)
    assert fc.short_series_ == 1
    out = fc.predict(fut)
    assert out.height == fut.height and out["forecast"].is_finite().all()
    zero = out.filter((pl.col("store_id") == 0) & (pl.col("product_id") == 10))
    assert zero["forecast"].max() < 0.5  # type: ignore[operator]


# ----------------------------------------------------------------------------- end to end
def test_end_to_end_on_generated_data(tiny_data_dir: Path) -> None:
    from rama.data import load_freshretail

    train = load_freshretail(tiny_data_dir, "train")
    ev = load_freshretail(tiny_data_dir, "eval")
    rec = recover_demand(train)
    assert rec["recovered_demand"].sum() > rec["sale_amount"].sum()
    fc = DemandForecaster(**FAST).fit(rec)
    assert fc.target_ == "recovered_demand"
    out = fc.predict(ev.drop("sale_amount", "hours_sale", "hours_stock_status"))
    assert out.height == ev.height
    j = out.join(ev, on=["store_id", "product_id", "dt"])
    # the model beats a flat zero forecast by a wide margin and its interval covers demand
    err = float((j["forecast"] - j["sale_amount"]).abs().sum()) / float(j["sale_amount"].sum())
    assert err < 0.7
    cov = ((j["q10"] <= j["sale_amount"]) & (j["sale_amount"] <= j["q90"])).mean()
    assert 0.6 < cov < 0.95  # type: ignore[operator]
    assert 0.0 <= fc.calibration_.rho <= 1.0


def test_origin_lags_are_the_last_known_days() -> None:
    """origin_lag_j of a row is y at its origin minus j days (hand-checked on one series)."""
    df = make_history(n_series=1, n_days=40, seed=4).with_columns(pl.col("sale_amount").alias("y"))
    spec = FeatureSpec(horizon=7, lags=(7,), windows=(7,), origin_lags=(0, 2))
    panel = build_panel(df, series_table(df), START, 40, spec)
    day, h = np.array([30, 30]), np.array([1, 5])
    x = design_frame(panel, np.zeros(2, dtype=np.int64), day, h, spec)
    y = df["y"].to_numpy()
    np.testing.assert_allclose(x["origin_lag_0"], y[day - h], rtol=1e-6)
    np.testing.assert_allclose(x["origin_lag_2"], y[day - h - 2], rtol=1e-6)
    assert spec.warmup == 13 and spec.tail_days == 7  # max(7, 7 - 1 + 7, 2 + 7); max(7, 7, 3)


# ----------------------------------------------------------------------------- mean scale
def test_mean_scale_by_hand() -> None:
    assert mean_scale(np.array([1.0, 3.0]), np.array([2.0, 3.0])) == pytest.approx(1.25)
    assert mean_scale(np.array([4.0]), np.array([4.4])) == pytest.approx(1.1)
    assert mean_scale(np.array([2.0, 2.0]), np.array([1.0, 0.0])) == 0.8  # 0.25, clipped
    assert mean_scale(np.array([1.0]), np.array([9.0])) == 1.25  # 9, clipped
    assert mean_scale(np.array([0.0, 0.0]), np.array([5.0, 1.0])) == 1.0  # nothing predicted


def test_calibration_scale_round_trips_and_defaults_to_one() -> None:
    cal = Calibration((0.5,), np.array([1.0]), np.zeros((2, 1)), np.ones(2), 0.1, 10, 1.07)
    assert Calibration.from_json(cal.to_json()).scale == 1.07
    old = {k: v for k, v in cal.to_json().items() if k != "scale"}  # a model saved before
    assert Calibration.from_json(old).scale == 1.0


def test_mean_calibration_is_the_calibration_weeks_ratio(
    fitted: tuple[DemandForecaster, pl.DataFrame, pl.DataFrame],
) -> None:
    """Differential: the same booster with and without the scale; the scale is the held-out
    calibration week's sum(target) / sum(raw forecast), clipped; nothing else changes."""
    fc, hist, fut = fitted
    raw = DemandForecaster(recover_demand=False, calibrate_mean=False, **FAST).fit(hist)
    assert raw.calibration_.scale == 1.0
    assert raw.booster_.model_to_string() == fc.booster_.model_to_string()
    keys = ["store_id", "product_id", "dt"]
    week = raw.backtest_.join(hist.select(*keys, "sale_amount"), on=keys)
    expected = np.clip(float(week["sale_amount"].sum()) / float(week["forecast"].sum()), 0.8, 1.25)
    s = fc.calibration_.scale
    assert s == pytest.approx(expected, rel=1e-6)  # the panel holds the target as float32
    assert s != 1.0  # this history is not already unbiased on its calibration week
    np.testing.assert_allclose(
        fc.predict(fut)["forecast"].to_numpy(), s * raw.predict(fut)["forecast"].to_numpy()
    )
    np.testing.assert_allclose(
        fc.backtest_["forecast"].to_numpy(), s * raw.backtest_["forecast"].to_numpy()
    )
    with pytest.raises(ConfigError, match="calibrate_mean"):
        DemandForecaster(calibrate_mean="yes").fit(hist)  # type: ignore[arg-type]
