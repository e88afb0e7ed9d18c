"""Demand recovery: hand-made series whose lost hours are known, invariants, bad inputs."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.config import load_config
from rama.errors import ConfigError, DataValidationError
from rama.forecast.recovery import recover_demand
from rama.forecast.recovery_table import recovery_against_truth, recovery_summary

OPEN = range(6, 22)


def _frame(
    days: list[tuple[list[float], list[int]]], store: int = 0, product: int = 0
) -> pl.DataFrame:
    """One series, one row per (hourly sales, hourly flags) day."""
    start = date(2024, 1, 1)
    return pl.DataFrame(
        {
            "store_id": [store] * len(days),
            "product_id": [product] * len(days),
            "dt": [start + timedelta(days=i) for i in range(len(days))],
            "sale_amount": [float(sum(s)) for s, _ in days],
            "hours_sale": [s for s, _ in days],
            "hours_stock_status": [f for _, f in days],
        },
        schema_overrides={"hours_stock_status": pl.List(pl.Int32)},
    )


def _day(
    rate: list[float] | float, out_hours: set[int] | frozenset[int] = frozenset()
) -> tuple[list[float], list[int]]:
    """Hourly sales = rate in open hours when in stock, 0 when flagged; night sells nothing."""
    rates = rate if isinstance(rate, list) else [rate if h in OPEN else 0.0 for h in range(24)]
    sales = [0.0 if h in out_hours else rates[h] for h in range(24)]
    flags = [1 if h in out_hours else 0 for h in range(24)]
    return sales, flags


def test_flat_profile_lost_hours_are_recovered_exactly() -> None:
    # 10 full days of 1 unit/hour in 6..21 (16 units/day), then a day out from 14:00.
    days = [_day(1.0) for _ in range(10)] + [_day(1.0, set(range(14, 24)))]
    out = recover_demand(_frame(days), prior_units=0.5)
    assert out["sale_amount"][-1] == pytest.approx(8.0)
    # profile share of hours 14..21 = 0.5; m = (160 + 8) / (10 + 0.5) = 16, so D = 16.
    assert out["lost_demand"][-1] == pytest.approx(8.0)
    assert out["recovered_demand"][-1] == pytest.approx(16.0)
    assert out["lost_demand"][:-1].to_list() == [0.0] * 10
    assert out["stock_hour6_22_cnt"][-1] == 8  # only hours 14..21 count


def test_shaped_profile_ratio_estimator_is_exact() -> None:
    # Hour h sells (h - 5) units in stock: the morning is light, the evening heavy.
    rates = [float(h - 5) if h in OPEN else 0.0 for h in range(24)]
    full = sum(rates)  # 136
    days = [_day(rates) for _ in range(20)] + [_day(rates, {18, 19, 20, 21})]
    out = recover_demand(_frame(days), prior_units=0.0)
    lost = sum(rates[h] for h in (18, 19, 20, 21))  # 13 + 14 + 15 + 16 = 58
    assert out["lost_demand"][-1] == pytest.approx(lost)
    assert out["recovered_demand"][-1] == pytest.approx(full)


def test_night_flags_are_not_recovered() -> None:
    days = [_day(1.0) for _ in range(5)] + [_day(1.0, {0, 1, 2, 3, 4, 5, 22, 23})]
    out = recover_demand(_frame(days))
    assert out["lost_demand"].to_list() == [0.0] * 6
    assert out["stock_hour6_22_cnt"][-1] == 0


def test_whole_day_out_gets_series_level_and_flagged_sales_count() -> None:
    days = [_day(1.0) for _ in range(8)] + [_day(1.0, set(OPEN))]
    out = recover_demand(_frame(days), prior_units=0.3)
    assert out["recovered_demand"][-1] == pytest.approx(16.0)
    # A unit sold in a flagged hour (the sell-out hour) is not lost a second time.
    sales, flags = _day(1.0, set(range(14, 22)))
    sales[14] = 0.5
    out2 = recover_demand(_frame([_day(1.0) for _ in range(8)] + [(sales, flags)]), prior_units=0.0)
    assert out2["lost_demand"][-1] == pytest.approx(8.0 - 0.5)
    assert out2["recovered_demand"][-1] == pytest.approx(16.0)


def test_series_never_in_stock_falls_back_to_product_median() -> None:
    a = _frame([_day(1.0) for _ in range(4)], store=0)
    b = _frame([_day(2.0) for _ in range(4)], store=1)
    never = _frame([_day(0.0, set(OPEN)) for _ in range(4)], store=2)
    out = recover_demand(pl.concat([a, b, never]), prior_units=0.1)
    lost = out.filter(pl.col("store_id") == 2)["lost_demand"]
    assert lost.to_list() == pytest.approx([24.0] * 4)  # median of 16 and 32 units/day


def test_all_zero_series_recovers_nothing() -> None:
    out = recover_demand(_frame([_day(0.0) for _ in range(5)] + [_day(0.0, set(range(10, 22)))]))
    assert out["recovered_demand"].to_list() == [0.0] * 6


def test_chunking_does_not_change_the_result() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for s in range(4):
        days = []
        for _ in range(12):
            k = int(rng.integers(6, 30))
            days.append(
                _day(list(rng.poisson(1.0, 24) / 10.0), set(range(k, 24)) if k < 24 else set())
            )
        frames.append(_frame(days, store=s, product=s % 2))
    df = pl.concat(frames)
    a = recover_demand(df, chunk_rows=5)["lost_demand"].to_numpy()
    b = recover_demand(df, chunk_rows=10_000)["lost_demand"].to_numpy()
    np.testing.assert_allclose(a, b)


@settings(max_examples=30, deadline=None)
@given(
    sales=st.lists(st.lists(st.integers(0, 9), min_size=24, max_size=24), min_size=3, max_size=8),
    cut=st.lists(st.integers(0, 24), min_size=3, max_size=8),
    scale=st.floats(0.5, 4.0),
)
def test_recovered_at_least_observed_and_homogeneous(
    sales: list[list[int]], cut: list[int], scale: float
) -> None:
    days = []
    for i, row in enumerate(sales):
        k = cut[i % len(cut)]
        flags = [1 if h >= k else 0 for h in range(24)]
        days.append(([0.0 if f else v / 10 for v, f in zip(row, flags, strict=True)], flags))
    df = _frame(days)
    out = recover_demand(df, prior_units=0.0)
    assert (out["recovered_demand"] >= out["sale_amount"] - 1e-12).all()
    no_flags = out["stock_hour6_22_cnt"] == 0
    assert (out.filter(no_flags)["lost_demand"] == 0).all()
    scaled = df.with_columns(
        pl.col("sale_amount") * scale, pl.col("hours_sale").list.eval(pl.element() * scale)
    )
    out2 = recover_demand(scaled, prior_units=0.0)
    np.testing.assert_allclose(out2["lost_demand"], out["lost_demand"] * scale, atol=1e-9)


def _burst_day_frame() -> pl.DataFrame:
    """10 days of 1 unit/hour (6..21), then a burst day at 2 units/hour that sells out at 14:00.

    One series, so its profile is its in-stock rates normalised (the shrinkage targets are
    themselves): 12/11 in hours 6..13 (11 days), 1 in 14..21 (10 days), so the flagged share
    is P = 8 / (8 * 12/11 + 8) = 11/23; A = 16, B = 0 and the series level
    m = (160 + 16) / (10 + 12/23) = 184/11 units/day.
    """
    return _frame([_day(1.0) for _ in range(10)] + [_day(2.0, set(range(14, 24)))])


def test_days_prior_hand_computed() -> None:
    out = recover_demand(_burst_day_frame(), prior_units=0.0, prior_days=1.0)
    # D = (A + c m) / ((1 - P) + c) = (16 + 184/11) / (12/23 + 1) = 8280/385; lost = P D
    assert out["lost_demand"][-1] == pytest.approx(72 / 7)
    assert out["lost_demand"][:-1].to_list() == [0.0] * 10
    # between the ratio (c = 0: P A / (1 - P) = 44/3) and the mean (c -> inf: P m = 8)
    ratio = recover_demand(_burst_day_frame(), prior_units=0.0)["lost_demand"][-1]
    assert ratio == pytest.approx(44 / 3)
    big = recover_demand(_burst_day_frame(), prior_units=0.0, prior_days=1e9)["lost_demand"]
    assert big[-1] == pytest.approx(8.0)
    # the units form with k = c m is the same estimator
    units = recover_demand(_burst_day_frame(), prior_units=184 / 11)["lost_demand"][-1]
    assert units == pytest.approx(72 / 7)


def test_days_prior_whole_day_out_gets_series_level() -> None:
    days = [_day(1.0) for _ in range(8)] + [_day(1.0, set(OPEN))]
    out = recover_demand(_frame(days), prior_units=0.0, prior_days=0.5)
    assert out["recovered_demand"][-1] == pytest.approx(16.0)


def test_both_priors_set_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"prior_units .* or prior_days"):
        recover_demand(_burst_day_frame(), prior_units=0.1, prior_days=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        recover_demand(_burst_day_frame(), prior_units=0.0, prior_days=-1.0)
    with pytest.raises(ConfigError, match="recovery_prior_days"):
        load_config(
            overrides={"forecast.recovery_prior_units": 0.1, "forecast.recovery_prior_days": 1}
        )
    cfg = load_config(
        overrides={"forecast.recovery_prior_units": 0.0, "forecast.recovery_prior_days": 1}
    )
    assert cfg["forecast"]["recovery_prior_days"] == 1


@settings(max_examples=30, deadline=None)
@given(
    sales=st.lists(st.lists(st.integers(0, 9), min_size=24, max_size=24), min_size=3, max_size=8),
    cut=st.lists(st.integers(0, 24), min_size=3, max_size=8),
    scale=st.floats(0.5, 4.0),
    days=st.sampled_from([0.5, 1.0, 2.0]),
)
def test_days_prior_is_level_independent(
    sales: list[list[int]], cut: list[int], scale: float, days: float
) -> None:
    """The days form is homogeneous in the sales level (the units form is not): scaling
    every sale by ``scale`` scales lost demand by ``scale``; recovered >= observed."""
    rows = []
    for i, row in enumerate(sales):
        k = cut[i % len(cut)]
        flags = [1 if h >= k else 0 for h in range(24)]
        rows.append(([0.0 if f else v / 10 for v, f in zip(row, flags, strict=True)], flags))
    df = _frame(rows)
    out = recover_demand(df, prior_units=0.0, prior_days=days)
    assert (out["recovered_demand"] >= out["sale_amount"] - 1e-12).all()
    scaled = df.with_columns(
        pl.col("sale_amount") * scale, pl.col("hours_sale").list.eval(pl.element() * scale)
    )
    out2 = recover_demand(scaled, prior_units=0.0, prior_days=days)
    np.testing.assert_allclose(out2["lost_demand"], out["lost_demand"] * scale, atol=1e-9)


def test_bad_lists_raise_clear_errors() -> None:
    df = _frame([_day(1.0) for _ in range(3)])
    short = df.with_columns(pl.col("hours_sale").list.slice(0, 23))
    with pytest.raises(DataValidationError, match="24-hour list") as exc:
        recover_demand(short)
    assert exc.value.column == "hours_sale"
    nulls = df.with_columns(
        pl.col("hours_stock_status").list.eval(
            pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.element())
        )
    )
    with pytest.raises(DataValidationError, match="null entries"):
        recover_demand(nulls)
    neg = df.with_columns(pl.col("hours_sale").list.eval(pl.element() - 2.0))
    with pytest.raises(DataValidationError, match="negative hourly sales"):
        recover_demand(neg)
    with pytest.raises(DataValidationError, match="hours_stock_status"):
        recover_demand(df.drop("hours_stock_status"))


def test_recovery_summary_hand_computed() -> None:
    df = pl.DataFrame(
        {
            "sale_amount": [2.0, 1.0, 0.0],
            "recovered_demand": [2.0, 3.0, 4.0],
            "stock_hour6_22_cnt": [0, 3, 16],
            "truth": [2.0, 4.0, 4.0],
        }
    )
    out = recovery_summary(df, "truth")
    row = out.filter(pl.col("stockout_hours") == "all").row(0, named=True)
    assert row["observed"] == 3.0 and row["recovered"] == 9.0 and row["lost"] == 6.0
    assert row["observed_wape"] == pytest.approx(7 / 10)
    assert row["observed_bias"] == pytest.approx(-7 / 10)
    assert row["recovered_wape"] == pytest.approx(1 / 10)
    assert row["recovered_bias"] == pytest.approx(-1 / 10)
    mid = out.filter(pl.col("stockout_hours") == "1-4 h").row(0, named=True)
    assert mid["n_rows"] == 1 and mid["lost_share_of_recovered"] == pytest.approx(2 / 3)
    assert out["stockout_hours"].to_list()[0] == "all"


def test_real_sample_rows(fresh_sample_csv: Path) -> None:
    from rama.data import load_freshretail

    df = load_freshretail(fresh_sample_csv)
    out = recover_demand(df)
    assert out.height == df.height
    assert (out["recovered_demand"] >= out["sale_amount"]).all()
    assert (out.filter(pl.col("stock_hour6_22_cnt") == 0)["lost_demand"] == 0).all()
    # Store 0 / product 38 runs out often: something is recovered, and not absurdly much.
    total_lost, total_obs = out["lost_demand"].sum(), out["sale_amount"].sum()
    assert 0 < total_lost < 2 * total_obs


@pytest.mark.parametrize("chunk_rows", [1, 7, 40, 10_000])
@pytest.mark.parametrize("offset", [0, 2**60])  # 2**60: ids too large for the one-int key
def test_recovery_against_truth_chunked_equals_one_join(
    tmp_path: Path, chunk_rows: int, offset: int
) -> None:
    """The store-range chunks give the table of one whole join (rows without truth left out,
    stores missing from the truth file, days outside the history's range ignored), by the
    sorted key lookup or, for huge ids, the polars join."""
    rng = np.random.default_rng(3)
    n = 120
    start = date(2024, 3, 1)
    hist = pl.DataFrame(
        {
            "store_id": rng.integers(0, 9, n) + offset,
            "product_id": rng.integers(0, 3, n),
            "dt": [start + timedelta(days=int(d)) for d in rng.integers(0, 10, n)],
            "sale_amount": rng.gamma(1.0, 2.0, n),
            "stock_hour6_22_cnt": rng.integers(0, 17, n).astype(np.int32),
        }
    ).unique(["store_id", "product_id", "dt"])
    hist = hist.with_columns(
        (pl.col("sale_amount") * (1 + pl.col("stock_hour6_22_cnt") / 16)).alias("recovered_demand")
    )
    truth = (
        hist.select("store_id", "product_id", "dt", (pl.col("sale_amount") * 1.3).alias("y"))
        .filter(pl.col("store_id") != 4 + offset)  # a store without truth
        .sample(fraction=0.8, seed=1)  # and rows without truth
    )
    extra = truth.head(5).with_columns(pl.col("dt") + timedelta(days=30))  # after the history
    file = tmp_path / "truth.parquet"
    pl.concat([truth, extra]).with_columns(pl.col("dt").dt.to_string("%Y-%m-%d")).write_parquet(
        file
    )
    got = recovery_against_truth(hist, file, "y", chunk_rows=chunk_rows)
    want = recovery_summary(hist.join(truth, on=["store_id", "product_id", "dt"], how="left"), "y")
    assert got.columns == want.columns
    assert got["stockout_hours"].to_list() == want["stockout_hours"].to_list()
    for c in want.columns[1:]:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12)
    assert got["n_rows"][0] == truth.height


def test_the_days_prior_reaches_the_forecaster_and_its_fit() -> None:
    """``forecast.recovery_prior_days`` is a forecaster parameter (config, get_params), and
    on a burst day it gives other lost demand than the ratio the forecaster used before."""
    from rama.config import load_config
    from rama.forecast.model import DemandForecaster

    cfg = load_config(None, ["forecast.recovery_prior_days=1", "forecast.recovery_prior_units=0"])
    est = DemandForecaster.from_config(cfg)
    assert est.recovery_prior_days == 1.0 and est.recovery_prior_units == 0.0
    assert est.get_params()["recovery_prior_days"] == 1.0
    frame = _burst_day_frame()
    days = recover_demand(frame, prior_units=0.0, prior_days=1.0)["lost_demand"]
    ratio = recover_demand(frame, prior_units=0.0)["lost_demand"]
    assert not np.allclose(days.to_numpy(), ratio.to_numpy())  # the setting matters here
