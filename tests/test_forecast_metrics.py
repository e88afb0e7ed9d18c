"""Metrics, baselines, backtest scoring and the uncertainty kernels on hand-computed cases."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.forecast.backtest import horizon_calibration, score_methods, seller_class
from rama.forecast.baselines import moving_average, seasonal_naive
from rama.forecast.metrics import coverage, daily_scores, mae, wape, wpe
from rama.forecast.uncertainty import fit_calibration, horizon_std

D0 = date(2024, 6, 1)


def test_point_metrics_hand_computed() -> None:
    f, y = [1.0, 3.0, 0.0], [2.0, 2.0, 1.0]
    assert wape(f, y) == pytest.approx(3 / 5)
    assert wpe(f, y) == pytest.approx(-1 / 5)
    assert mae(f, y) == pytest.approx(1.0)
    assert coverage([0, 0, 0], [1, 3, 3], y) == pytest.approx(2 / 3)
    assert math.isnan(wape([1.0], [0.0])) and math.isnan(wpe([1.0], [0.0]))


def test_daily_scores_average_per_day_and_skip_zero_days() -> None:
    df = pl.DataFrame(
        {
            "dt": [D0, D0, D0 + timedelta(1), D0 + timedelta(1), D0 + timedelta(2)],
            "f": [1.0, 1.0, 4.0, 0.0, 5.0],
            "y": [2.0, 2.0, 1.0, 1.0, 0.0],
            "lo": [0.0, 0.0, 0.0, 0.0, 0.0],
            "hi": [3.0, 1.0, 3.0, 3.0, 3.0],
        }
    )
    s = daily_scores(df, "f", "y", lo="lo", hi="hi")
    # day 1: |.| = 2, err = -2, tot 4; day 2: |.| = 4, err = 2, tot 2; day 3 has no demand.
    assert s["wape"] == pytest.approx((2 / 4 + 4 / 2) / 2)
    assert s["wpe"] == pytest.approx((-2 / 4 + 2 / 2) / 2)
    assert s["mae"] == pytest.approx((1.0 + 2.0 + 5.0) / 3)
    assert s["coverage"] == pytest.approx(4 / 5)
    assert s["n_rows"] == 5
    empty = daily_scores(df.head(0), "f", "y")
    assert math.isnan(empty["wape"]) and empty["n_rows"] == 0


def _history(n_days: int = 35) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "store_id": [1] * n_days,
            "product_id": [2] * n_days,
            "dt": [D0 + timedelta(d) for d in range(n_days)],
            "sale_amount": [float(d) for d in range(n_days)],
        }
    )


def test_baselines_hand_computed() -> None:
    hist = _history()  # sales on day d = d, last day 34
    targets = pl.DataFrame(
        {
            "store_id": [1, 1, 1],
            "product_id": [2, 2, 2],
            "dt": [D0 + timedelta(35), D0 + timedelta(41), D0 + timedelta(42)],
        }
    )
    sn = seasonal_naive(hist, targets)["forecast"].to_list()
    assert sn == [28.0, 34.0, 28.0]  # t - 7, t - 7, t - 14 (h = 8)
    ma = moving_average(hist, targets, window=28)["forecast"].to_list()
    assert ma == pytest.approx([float(np.mean(range(7, 35)))] * 3)
    other = targets.with_columns(pl.lit(9).alias("store_id"))
    assert seasonal_naive(hist, other)["forecast"].null_count() == 3


def test_score_methods_subsets() -> None:
    actual = pl.DataFrame(
        {
            "store_id": [1, 1, 2, 2],
            "product_id": [1, 1, 1, 1],
            "dt": [D0, D0 + timedelta(1), D0, D0 + timedelta(1)],
            "sale_amount": [1.0, 2.0, 4.0, 0.0],
            "stock_hour6_22_cnt": [0, 0, 0, 5],
        }
    )
    sellers = pl.DataFrame(
        {"store_id": [1, 2], "product_id": [1, 1], "series_mean": [0.5, 3.0]}
    ).with_columns((pl.col("series_mean") < 1).alias("low_seller"))
    pred = actual.select("store_id", "product_id", "dt").with_columns(
        pl.Series("forecast", [2.0, 2.0, 2.0, 9.0]),
        pl.Series("q10", [0.0, 0.0, 4.5, 0.0]),
        pl.Series("q90", [5.0, 5.0, 5.0, 1.0]),
    )
    m = score_methods({"m": pred}, actual, sellers, lo="q10", hi="q90")
    official = m.filter(pl.col("rows") == "official").row(0, named=True)
    # day 0: |2-1| + |2-4| = 3 over 5; day 1: |2-2| = 0 over 2 (row 4 is a stockout row).
    assert official["n_rows"] == 3
    assert official["wape"] == pytest.approx((3 / 5 + 0) / 2)
    assert official["coverage"] == pytest.approx(2 / 3)
    low = m.filter(pl.col("rows") == "official_low").row(0, named=True)
    high = m.filter(pl.col("rows") == "official_high").row(0, named=True)
    assert (low["n_rows"], high["n_rows"]) == (2, 1)
    assert set(m["target"]) == {"sale_amount"}
    sc = seller_class(actual)
    assert sc.sort("store_id")["low_seller"].to_list() == [False, False]


def test_horizon_std_formula() -> None:
    sig = np.array([1.0, 2.0, 2.0, 3.0])
    grp = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(horizon_std(sig, grp, 0.0, 2), np.sqrt([5.0, 13.0]))
    np.testing.assert_allclose(horizon_std(sig, grp, 1.0, 2), [3.0, 5.0])
    half = np.sqrt(0.5 * 5 + 0.5 * 9)
    assert horizon_std(sig, grp, 0.5, 2)[0] == pytest.approx(half)


def test_calibration_quantiles_are_ordered_and_calibrated() -> None:
    rng = np.random.default_rng(0)
    pred = rng.gamma(2.0, 1.0, 40_000)
    actual = np.maximum(pred + rng.normal(0, 0.3 + 0.3 * pred), 0)
    cal = fit_calibration(pred[:20_000], actual[:20_000], (0.1, 0.5, 0.9), n_bins=20)
    q = cal.daily_quantiles(pred[20_000:])
    assert (np.diff(q, axis=1) >= 0).all() and (q >= 0).all()
    y = actual[20_000:]
    cov = float(((q[:, 0] <= y) & (y <= q[:, 2])).mean())
    assert 0.77 < cov < 0.83
    # heteroscedastic residuals: sigma grows with the forecast
    assert cal.daily_sigma(np.array([0.2]))[0] < cal.daily_sigma(np.array([5.0]))[0]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(60, 400),
    taus=st.lists(st.floats(0.02, 0.98), min_size=1, max_size=5, unique=True),
    seed=st.integers(0, 1000),
)
def test_quantiles_always_ordered(n: int, taus: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    pred = rng.exponential(1.0, n)
    actual = rng.exponential(1.0, n)
    cal = fit_calibration(pred, actual, sorted(taus), n_bins=7)
    q = cal.daily_quantiles(rng.exponential(2.0, 50))
    assert (np.diff(q, axis=1) >= -1e-12).all() and (q >= 0).all()


def test_error_correlation_estimate() -> None:
    rng = np.random.default_rng(1)
    n_series, h = 3000, 7
    group = np.repeat(np.arange(n_series), h)
    pred = np.ones(n_series * h)
    common = np.repeat(rng.normal(0, 1, n_series), h)
    for rho in (0.0, 0.5, 1.0):
        e = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(0, 1, n_series * h)
        cal = fit_calibration(pred, pred + e, (0.1, 0.9), n_bins=1, sigma_group=group)
        assert cal.rho == pytest.approx(rho, abs=0.05)


def test_horizon_calibration_z_scores() -> None:
    horizon = pl.DataFrame(
        {"store_id": [1, 2], "product_id": [1, 1], "demand": [10.0, 10.0], "demand_std": [2.0, 1.0]}
    )
    actual = pl.DataFrame(
        {
            "store_id": [1, 1, 2, 2],
            "product_id": [1, 1, 1, 1],
            "dt": [D0, D0 + timedelta(1)] * 2,
            "y": [6.0, 6.0, 4.0, 4.0],
        }
    )
    out = horizon_calibration(horizon, actual, "y")
    assert out["n_series"] == 2
    assert out["z_mean"] == pytest.approx((1.0 - 2.0) / 2)
    assert out["coverage_80"] == pytest.approx(0.5)
    assert out["wpe_total"] == pytest.approx((20 - 20) / 20)
