"""DemandForecaster as an estimator: scikit-learn conventions, LightGBM parameters passed
through, pandas and the long unique_id/ds/y layout, cross-validation, explicit futures."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from rama.errors import ConfigError, NotFittedError
from rama.forecast import DemandForecaster
from rama.forecast.frames import LONG_LAYOUT, NEUTRAL
from rama.forecast.training_rows import hash_uniform
from rama.schema import DataWarning

START = date(2024, 3, 1)
FAST: dict[str, Any] = {
    "num_boost_round": 20,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "num_threads": 1,
    "recover_demand": False,
}


def history(n_series: int = 8, n_days: int = 60, seed: int = 0) -> pl.DataFrame:
    """Weekly-seasonal demand with a discount effect (FreshRetailNet columns, no hours)."""
    rng = np.random.default_rng(seed)
    rows = n_series * n_days
    sid = np.repeat(np.arange(n_series), n_days)
    day = np.tile(np.arange(n_days), n_series)
    disc = np.where(rng.random(rows) < 0.2, 0.8, 1.0)
    mu = rng.gamma(2.0, 1.0, n_series)[sid] * (1 + 0.3 * np.sin(2 * np.pi * day / 7))
    return pl.DataFrame(
        {
            "store_id": sid // 2,
            "product_id": sid % 2 + 10,
            "dt": [START + timedelta(days=int(d)) for d in day],
            "sale_amount": rng.poisson(mu * disc**-1.5 * 10) / 10.0,
            "stock_hour6_22_cnt": (rng.random(rows) < 0.3).astype(np.int32) * 3,
            "discount": disc,
            "holiday_flag": (day % 7 >= 5).astype(np.int32),
            "activity_flag": (rng.random(rows) < 0.1).astype(np.int32),
            "precpt": rng.gamma(1.0, 1.0, rows),
            "avg_temperature": 20 + rng.normal(0, 2, rows),
            "avg_humidity": 70 + rng.normal(0, 5, rows),
            "avg_wind_level": 2 + rng.random(rows),
        }
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[DemandForecaster, pl.DataFrame]:
    hist = history()
    return DemandForecaster(**FAST).fit(hist), hist


# ----------------------------------------------------------------------------- sklearn
def test_get_params_set_params_clone() -> None:
    fc = DemandForecaster(**FAST, lgb_params={"lambda_l1": 0.5}, origin_lags=(0, 1))
    params = fc.get_params(deep=True)
    assert params["lgb_params"] == {"lambda_l1": 0.5} and params["origin_lags"] == (0, 1)
    assert params["num_leaves"] == 7 and set(params) >= {"horizon", "quantiles", "columns"}
    twin = clone(fc)
    assert twin is not fc and twin.get_params() == params
    assert twin.set_params(num_leaves=15) is twin and twin.num_leaves == 15
    assert fc.num_leaves == 7  # the clone is independent
    with pytest.raises(ValueError, match="Invalid parameter"):
        fc.set_params(num_leavs=3)


def test_fitted_attributes_and_importances(fitted: tuple[DemandForecaster, pl.DataFrame]) -> None:
    fc, _ = fitted
    check_is_fitted(fc)
    imp = fc.feature_importances_
    assert imp.shape == (len(fc.feature_names_),)
    assert imp.sum() == pytest.approx(1.0) and (imp >= 0).all()
    unfitted = DemandForecaster()
    with pytest.raises(NotFittedError):
        _ = unfitted.feature_importances_
    assert not unfitted.__sklearn_is_fitted__()
    # a clone of a fitted forecaster is unfitted
    assert not hasattr(clone(fc), "booster_")


# ----------------------------------------------------------------------------- lgb_params
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"num_leavs": 3}, "'num_leavs' is not a LightGBM parameter; did you mean num_leaves"),
        ({"learning_rate": 0.1}, "DemandForecaster\\(learning_rate=...\\)"),
        ({"n_estimators": 5}, "'num_boost_round'"),
        ({"random_state": 1}, "'seed'"),
        ({"lambda_l2": 1.0, "reg_lambda": 2.0}, "repeats the parameter 'lambda_l2'"),
    ],
)
def test_bad_lgb_params_are_named(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        DemandForecaster(**FAST, lgb_params=params).fit(history(n_series=2))


def test_bad_lgb_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="LightGBM rejected the parameters"):
        DemandForecaster(**FAST, lgb_params={"feature_fraction": 2.0}).fit(history(n_series=2))


def test_lgb_params_reach_lightgbm(fitted: tuple[DemandForecaster, pl.DataFrame]) -> None:
    fc, hist = fitted
    stumps = DemandForecaster(**FAST, lgb_params={"max_depth": 1}).fit(hist)
    tree = stumps.booster_.dump_model()["tree_info"][0]["tree_structure"]
    assert tree["left_child"].get("leaf_value") is not None  # depth 1: children are leaves
    base = fc.predict(fc.make_future_frame())["forecast"].to_numpy()
    other = stumps.predict(stumps.make_future_frame())["forecast"].to_numpy()
    assert not np.allclose(base, other)


def _depth(node: dict[str, Any]) -> int:
    """Splits on the longest root-to-leaf path of a dumped LightGBM tree."""
    if "leaf_value" in node:
        return 0
    return 1 + max(_depth(node["left_child"]), _depth(node["right_child"]))


def test_trees_are_depth_capped_unless_overridden() -> None:
    # 255 leaves on 1-row leaves: without a cap the trees of these 24 series grow chains
    # deeper than 12 splits; rama's default (max_depth 12) stops them, lgb_params lifts it
    hist = history(n_series=24)
    grow = {**FAST, "num_leaves": 255, "min_data_in_leaf": 1}
    capped = DemandForecaster(**grow).fit(hist)
    free = DemandForecaster(**grow, lgb_params={"max_depth": -1}).fit(hist)
    depth = {
        name: max(_depth(t["tree_structure"]) for t in fc.booster_.dump_model()["tree_info"])
        for name, fc in (("capped", capped), ("free", free))
    }
    assert capped.booster_.params["max_depth"] == 12 and depth["capped"] <= 12
    assert free.booster_.params["max_depth"] == -1 and depth["free"] > 12


def test_calibration_series_cap_samples_whole_series_and_keeps_the_model() -> None:
    hist = history(n_series=24)
    full = DemandForecaster(**FAST).fit(hist)
    capped = DemandForecaster(**FAST, max_calibration_series=8).fit(hist)
    split = DemandForecaster(**FAST, max_calibration_series=8, partition_series=5).fit(hist)
    assert full.n_calibration_series_ == 24
    assert 0 < capped.n_calibration_series_ < 24
    # training rows use other hash streams: the same booster, to the byte
    assert capped.booster_.model_to_string() == full.booster_.model_to_string()
    # whole calibration weeks of the sampled series, the same series in any partitioning
    per_series = capped.backtest_.group_by("store_id", "product_id").len()
    assert per_series.height == capped.n_calibration_series_
    assert set(per_series["len"].to_list()) == {capped.spec_.horizon}
    keys = ["store_id", "product_id", "dt"]
    assert split.backtest_.select(keys).equals(capped.backtest_.select(keys))
    assert capped.backtest_.join(full.backtest_, on=keys, how="anti").height == 0
    with pytest.raises(ConfigError, match="max_calibration_series expected an integer >= 1"):
        DemandForecaster(**FAST, max_calibration_series=0).fit(hist)


def test_a_calibration_sample_of_no_series_is_a_clear_error() -> None:
    # a cap of 1 in 24 series: seeds whose hash keeps none of them exist; find one
    hist = history(n_series=24)
    plan_keep = 1 / 24
    seed = next(s for s in range(1000) if not (hash_uniform(np.arange(24), s, 3) < plan_keep).any())
    fc = DemandForecaster(**FAST, max_calibration_series=1, seed=seed)
    with pytest.raises(ConfigError, match="sampled none of the 24 series"):
        fc.fit(hist)


# ----------------------------------------------------------------------------- frames
def test_pandas_in_equals_polars_in(fitted: tuple[DemandForecaster, pl.DataFrame]) -> None:
    fc, hist = fitted
    pdf = hist.to_pandas()
    pdf["dt"] = pd.to_datetime(pdf["dt"])
    fp = DemandForecaster(**FAST).fit(pdf)
    fut = fc.make_future_frame()
    a = fc.predict(fut)
    b = fp.predict(fut.to_pandas())
    assert a.equals(b)


def test_long_layout_through_the_column_mapping() -> None:
    """unique_id/ds/y alone: same model as the same data under rama's columns with store 0,
    product codes in sorted-id order and the neutral covariates; outputs keep unique_id."""
    hist = history(n_series=6)
    uid = pl.format("s{}-{}", pl.col("store_id"), pl.col("product_id"))
    long = hist.select(
        uid.alias("unique_id"), pl.col("dt").alias("ds"), pl.col("sale_amount").alias("y")
    )
    fc = DemandForecaster(**FAST, columns=LONG_LAYOUT).fit(long.to_pandas())
    ids = sorted(long["unique_id"].unique().to_list())
    code = {u: i for i, u in enumerate(ids)}
    rama = long.select(
        pl.lit(0, pl.Int64).alias("store_id"),
        pl.col("unique_id").replace_strict(code, return_dtype=pl.Int64).alias("product_id"),
        pl.col("ds").alias("dt"),
        pl.col("y").alias("sale_amount"),
        *[pl.lit(v).alias(c) for c, v in NEUTRAL.items()],
    )
    ref = DemandForecaster(**FAST).fit(rama)
    fut = fc.make_future_frame()
    assert fut.columns[:2] == ["unique_id", "ds"]
    out = fc.predict(fut.select("unique_id", "ds"))
    assert out.columns[:3] == ["unique_id", "ds", "horizon"]
    want = ref.predict(ref.make_future_frame())
    np.testing.assert_allclose(out.sort("unique_id", "ds")["forecast"], want["forecast"])
    tot = fc.horizon_totals(out)
    assert tot.columns[0] == "unique_id" and tot.height == 6
    with pytest.raises(Exception, match="unique_id values not in the fitted history"):
        fc.predict(fut.with_columns(pl.lit("nope").alias("unique_id")))


def test_bad_column_mapping_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not forecaster columns"):
        DemandForecaster(**FAST, columns={"ds": "date"}).fit(history(n_series=2))


# ----------------------------------------------------------------------------- futures
def test_assumed_future_warns_with_a_count(fitted: tuple[DemandForecaster, pl.DataFrame]) -> None:
    fc, _ = fitted
    with pytest.warns(DataWarning, match="56 forecast rows"):
        implicit = fc.predict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explicit = fc.predict(fc.make_future_frame())
    assert implicit.equals(explicit)


# ----------------------------------------------------------------------------- CV
def test_cross_validation_windows_and_no_leakage() -> None:
    hist = history(n_days=70)
    fc = DemandForecaster(**FAST)
    cv = fc.cross_validation(hist, n_windows=2, h=7)
    assert not hasattr(fc, "booster_")  # fc itself is not fitted by CV
    assert cv.columns == ["window", "cutoff", "rows", "n_rows", "wape", "wpe", "mae", "coverage"]
    assert cv.height == 4 and set(cv["rows"]) == {"all", "official"}
    last: date = hist["dt"].max()  # type: ignore[assignment]
    cut = {w: c for w, c in cv.filter(pl.col("rows") == "all").select("window", "cutoff").rows()}
    assert cut == {1: last - timedelta(days=7), 2: last - timedelta(days=14)}
    assert (cv.filter(pl.col("rows") == "all")["n_rows"] == 8 * 7).all()
    assert (cv["wape"] > 0).all() and (cv["wape"] < 2).all()
    # demand after window 2's scored week changes window 1 only
    noisy = hist.with_columns(
        pl.when(pl.col("dt") > last - timedelta(days=7))
        .then(pl.col("sale_amount") * 5 + 1)
        .otherwise(pl.col("sale_amount"))
        .alias("sale_amount")
    )
    cv2 = fc.cross_validation(noisy, n_windows=2, h=7)
    w2, w2_noisy = (c.filter(pl.col("window") == 2) for c in (cv, cv2))
    np.testing.assert_allclose(w2_noisy["wape"], w2["wape"], rtol=1e-12)
    np.testing.assert_allclose(w2_noisy["coverage"], w2["coverage"], rtol=1e-12)
    w1, w1_noisy = (c.filter(pl.col("window") == 1) for c in (cv, cv2))
    assert not np.allclose(w1_noisy["wape"], w1["wape"])


def test_cross_validation_checks_its_arguments() -> None:
    with pytest.raises(ConfigError, match="n_windows"):
        DemandForecaster(**FAST).cross_validation(history(n_series=2), n_windows=0)
