"""The empirical horizon-total distribution: conformal totals, the quantile grid, sampling
from it (rama.rules) and the stochastic plan's points on it (rama.problem.stochastic)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.forecast.uncertainty import TotalCalibration, fit_total_calibration, total_levels
from rama.problem.stochastic import grid_points
from rama.rules import demand_samples, grid_quantiles


def test_grid_quantiles_by_hand() -> None:
    # levels 0.25, 0.75 for G = 2: linear between them, flat outside
    g = np.array([[0.0, 2.0], [1.0, 1.0]])
    q = grid_quantiles(g, [0.0, 0.25, 0.5, 0.75, 1.0])
    assert q.tolist() == [[0.0, 0.0, 1.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0]]


def test_grid_points_on_the_levels_are_the_grid() -> None:
    g = np.array([[0.0, 0.0, 1.0, 5.0]])
    assert grid_points(g, 4).tolist() == g.tolist()  # (k - 0.5) / K = the grid's levels
    assert grid_points(g, 2).tolist() == [[0.0, 3.0]]  # levels 0.25 and 0.75


def test_empirical_samples_follow_the_grid() -> None:
    g = np.array([[0.0, 0.0, 2.0, 6.0], [3.0, 3.0, 3.0, 3.0]])
    d = demand_samples([1.0, 3.0], [1.0, 0.0], 40_000, "empirical", seed=5, grid=g)
    again = demand_samples([1.0, 3.0], [1.0, 0.0], 40_000, "empirical", seed=5, grid=g)
    assert np.array_equal(d, again) and d.shape == (2, 40_000)
    assert abs(float((d[0] == 0).mean()) - 0.375) < 0.01  # the atom up to level 0.375
    np.testing.assert_allclose(np.quantile(d[0], [0.5, 0.75]), [1.0, 4.0], atol=0.05)
    assert (d[1] == 3.0).all()
    with pytest.raises(ValueError, match="needs grid="):
        demand_samples([1.0], [1.0], 3, "empirical")
    with pytest.raises(ValueError, match="shape"):
        demand_samples([1.0], [1.0], 3, "empirical", grid=[[1.0], [2.0]])


def test_total_calibration_by_hand() -> None:
    """One bin (fewer than 200 series): residual quantiles of Y - F at the 20 levels."""
    n = 150
    rng = np.random.default_rng(0)
    f_day = np.full(n * 7, 0.1)  # forecast total 0.7 per series
    y_tot = np.where(rng.random(n) < 0.6, 0.0, 3.0)  # intermittent: 60 % zero weeks
    y_day = np.repeat(y_tot / 7, 7)
    group = np.repeat(np.arange(n), 7)
    cal = fit_total_calibration(f_day, y_day, group)
    assert cal is not None and cal.n_series == n and cal.edges.size == 0
    q = cal.quantiles(np.array([0.7]))[0]
    share0 = float((y_tot == 0).mean())
    levels = total_levels()
    np.testing.assert_allclose(q[levels < share0 - 0.03], 0.0, atol=1e-12)  # the atom at 0
    np.testing.assert_allclose(q[levels > share0 + 0.03], 3.0)  # the lump
    assert TotalCalibration.from_json(cal.to_json()).quantiles(np.array([0.7])).tolist() == [
        q.tolist()
    ]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 50), min_size=1, max_size=30),
    st.integers(1, 40),
)
def test_quantiles_monotone_and_nonnegative(totals: list[float], k: int) -> None:
    rng = np.random.default_rng(1)
    n = 400
    pred = rng.gamma(1.0, 1.0, n * 7)
    actual = np.maximum(pred + rng.normal(0, 1, n * 7), 0)
    cal = fit_total_calibration(pred, actual, np.repeat(np.arange(n), 7))
    assert cal is not None
    q = cal.quantiles(np.asarray(totals))
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    pts = grid_points(q, k)
    assert (pts >= 0).all() and (np.diff(pts, axis=1) >= -1e-12).all()


def test_stage_writes_the_grid(tiny_data_dir: Path, tmp_path: Path) -> None:
    from rama.config import load_config
    from rama.forecast import run_forecast
    from rama.run_manifest import update_manifest

    run = tmp_path / "run"
    update_manifest(
        run, data_dir=str(tiny_data_dir.resolve()), has_eval=True, has_truth=True, stages=[]
    )
    fast = {"forecast.num_boost_round": 20, "forecast.num_leaves": 7, "forecast.num_threads": 1}
    run_forecast(run, load_config(overrides=fast))
    grid = pl.read_parquet(run / "forecast" / "horizon_quantiles.parquet")
    hd = pl.read_parquet(run / "forecast" / "horizon_demand.parquet")
    assert grid.columns[:3] == ["store_id", "product_id", "q2.5"] and grid.width == 22
    assert grid.select("store_id", "product_id").equals(hd.select("store_id", "product_id"))
    q = grid.drop("store_id", "product_id").to_numpy()
    assert (q >= 0).all() and (np.diff(q, axis=1) >= 0).all()
    # the grid's median tracks the point total (the conformal residuals are centred)
    med = (q[:, 9] + q[:, 10]) / 2
    assert np.corrcoef(med, hd["demand"].to_numpy())[0, 1] > 0.9


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 70),
    k=st.integers(1, 8),
    chunk=st.integers(1, 9),
    seed=st.integers(0, 10_000),
)
def test_gamma_points_in_chunks_equal_one_call(n: int, k: int, chunk: int, seed: int) -> None:
    """The Gamma points computed in row chunks on threads are the values of one ufunc call,
    bit for bit, whatever the chunk size (pairs with std 0 or mean 0 included)."""
    from scipy import special

    from rama import rules

    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.0, 5.0, n) * (rng.uniform(size=n) > 0.1)
    std = rng.uniform(0.0, 3.0, n) * (rng.uniform(size=n) > 0.1)
    q = (np.arange(1, k + 1) - 0.5) / k
    ok = (mean > 0) & (std > 0)
    want = np.repeat(mean[:, None], k, axis=1)
    mo, so = mean[ok, None], std[ok, None]
    want[ok] = special.gammaincinv((mo / so) ** 2, q[None, :]) * (so**2 / mo)
    old = rules.QUANTILE_CHUNK
    try:
        rules.QUANTILE_CHUNK = chunk
        got = rules.demand_points(mean, std, k, "gamma")
    finally:
        rules.QUANTILE_CHUNK = old
    assert np.array_equal(got, want)
