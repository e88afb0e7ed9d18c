"""The block-wise sale outlier cap, pair parameters and store-day share against the one-pass
table-wide computations they replace (differential), and the blocks themselves."""

from __future__ import annotations

import math
import warnings
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.data.blocks import key_blocks
from rama.data.outliers import (
    MIN_SERIES_DAYS,
    OutlierRule,
    cap_sale_outliers,
    report_sale_outliers,
)
from rama.errors import DataValidationError
from rama.prepare import store_product_params
from rama.prepare.eda import demand_summary
from rama.schema import PAIR_KEYS, DataWarning

BLOCK_SIZES = (1, 3, 17, 60, 10**9)


def reference_cap(
    daily: pl.DataFrame, rule: OutlierRule, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The table-wide implementation (per-row windows over the whole table) that the block-wise
    one replaced, verbatim."""
    s = pl.col("sale_amount")
    keys = list(PAIR_KEYS)
    pos = s.filter(s > 0)
    global_ref = daily.select(pos.median()).item()
    series_ref = (
        pl.when(pos.count().over(keys) >= MIN_SERIES_DAYS)
        .then(pos.median().over(keys))
        .otherwise(pl.lit(float(global_ref)))
    )
    marked = daily.with_columns(series_ref.alias("__ref")).with_columns(
        (s >= rule.ratio * pl.col("__ref")).alias("__out")
    )
    if not marked.select(pl.col("__out").any()).item():
        return daily, pl.DataFrame()
    ordinary = s.filter(~pl.col("__out")).max().over(keys)
    marked = marked.with_columns(pl.coalesce(ordinary, pl.col("__ref")).alias("__cap"))
    flagged = marked.filter(pl.col("__out")).select(
        pl.format("store_id={} product_id={} dt={}", "store_id", "product_id", "dt").alias("key"),
        s.alias("value"),
        pl.col("__ref").alias("reference_median"),
        pl.col("__cap").alias("replaced_by"),
    )
    report = report_sale_outliers(flagged, rule, source)
    capped = marked.with_columns(
        pl.when(pl.col("__out")).then(pl.col("__cap")).otherwise(s).alias("sale_amount")
    ).drop("__ref", "__out", "__cap")
    return capped, report


def daily_frame(seed: int, n_stores: int = 6, chunks: int = 3) -> pl.DataFrame:
    """A sorted daily table with the cases the cap treats apart: long series (own median),
    short series (< MIN_SERIES_DAYS positive days: the global median), a value exactly at the
    threshold (a tie: an outlier), several equal outliers in one series, a series whose
    every positive day is an outlier (replaced by its reference), zero days; cut into
    ``chunks`` chunks."""
    rng = np.random.default_rng(seed)
    rows = []
    start = date(2024, 3, 1)
    for store in range(n_stores):
        for product in sorted(rng.choice(40, size=int(rng.integers(1, 6)), replace=False)):
            n = int(rng.integers(1, 12))
            sales = rng.choice([0.0, 0.25, 0.5, 0.5, 1.0, 1.5, 2.0], size=n)
            kind = rng.integers(0, 5)
            if kind == 1 and n >= 2:  # ties: two equal outliers
                sales[: min(2, n)] = 4000.0
            elif kind == 2:  # exactly 1000 x the series' median (0.5): a tie, an outlier
                n, sales = 6, np.array([0.5, 0.5, 0.5, 500.0, 0.5, 0.5])
            elif kind == 3:  # every day an outlier of the global median
                sales[:] = 1e6
            for day in range(n):
                rows.append(
                    {
                        "city_id": store % 2,
                        "store_id": store,
                        "management_group_id": 1,
                        "first_category_id": product % 3,
                        "second_category_id": product % 5,
                        "third_category_id": product % 7,
                        "product_id": int(product),
                        "dt": start + timedelta(days=day),
                        "sale_amount": float(sales[day]),
                        "stock_hour6_22_cnt": int(rng.integers(0, 3)) * int(rng.integers(0, 8)),
                        "discount": float(rng.choice([1.0, 0.9])),
                        "holiday_flag": int(day % 6 == 0),
                        "activity_flag": int(rng.integers(0, 2)),
                    }
                )
    df = pl.DataFrame(rows).with_columns(pl.col("stock_hour6_22_cnt").cast(pl.Int32))
    step = -(-df.height // chunks)
    return pl.concat([df.slice(i, step) for i in range(0, df.height, step)], rechunk=False)


# ----------------------------------------------------------------------------- blocks


def test_key_blocks_hand_computed() -> None:
    df = pl.DataFrame({"store_id": [1, 1, 1, 2, 2, 3, 4, 4]})
    assert key_blocks(df, "store_id", 1) == [(0, 3), (3, 2), (5, 1), (6, 2)]
    assert key_blocks(df, "store_id", 3) == [(0, 3), (3, 3), (6, 2)]
    assert key_blocks(df, "store_id", 8) == [(0, 8)]
    unsorted = pl.DataFrame({"store_id": [2, 1, 1]})
    assert key_blocks(unsorted, "store_id", 1) == [(0, 3)]  # not sorted: one block
    assert key_blocks(df.clear(), "store_id", 5) == [(0, 0)]
    with pytest.raises(ValueError, match="rows per block"):
        key_blocks(df, "store_id", 0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), st.integers(1, 12))
def test_key_blocks_cover_in_order_and_never_split_a_key(values: list[int], rows: int) -> None:
    df = pl.DataFrame({"k": sorted(values)})
    got = key_blocks(df, "k", rows)
    assert got[0][0] == 0 and sum(n for _, n in got) == df.height
    assert all(a + n == b for (a, n), (b, _) in pairwise(got))
    assert all(n >= rows for _, n in got[:-1])
    keys = df["k"].to_list()
    for a, _ in got[1:]:
        assert keys[a - 1] != keys[a]


# ----------------------------------------------------------------------------- outliers


@pytest.mark.parametrize("seed", range(6))
def test_block_cap_equals_the_table_wide_cap(seed: int) -> None:
    daily = daily_frame(seed)
    rule = OutlierRule(1000.0, "cap")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        want, want_report = reference_cap(daily, rule, "t")
    assert want_report.height > 0  # the frame has outliers (ties, short series, all-outlier)
    assert any(v == 500.0 for v in want_report["value"])  # the tie
    glob = daily.filter(pl.col("sale_amount") > 0)["sale_amount"].median()
    assert glob in want_report["reference_median"].to_list()  # a short series
    ref, cap = want_report["reference_median"], want_report["replaced_by"]
    assert (ref == cap).any()  # a series without an ordinary day
    for rows in BLOCK_SIZES:
        with warnings.catch_warnings(record=True) as got_seen:
            warnings.simplefilter("always")
            got, report = cap_sale_outliers(daily, rule, "t", block_rows=rows)
        assert report.equals(want_report)
        assert got.equals(want)
        assert [str(w.message) for w in got_seen] == [str(w.message) for w in seen]
        assert got.n_chunks("all") == want.n_chunks("all")  # one chunk a column, as before


@pytest.mark.parametrize("seed", range(3))
def test_block_reject_equals_the_table_wide_reject(seed: int) -> None:
    daily = daily_frame(seed)
    rule = OutlierRule(1000.0, "reject")
    with pytest.raises(DataValidationError) as want:
        reference_cap(daily, rule, "t")
    for rows in BLOCK_SIZES:
        with pytest.raises(DataValidationError) as got:
            cap_sale_outliers(daily, rule, "t", block_rows=rows)
        assert str(got.value) == str(want.value)
        assert (got.value.count, got.value.examples) == (want.value.count, want.value.examples)


def test_clean_blocks_return_the_table_itself() -> None:
    daily = daily_frame(0).with_columns(pl.col("sale_amount").clip(upper_bound=2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        same, report = cap_sale_outliers(daily, OutlierRule(1000.0, "cap"), "t", block_rows=5)
    assert same is daily and report.height == 0
    unsorted = daily.reverse()  # not sorted by store: one block, same answer
    with pytest.warns(DataWarning):
        got, report = cap_sale_outliers(
            unsorted.with_row_index("i")
            .with_columns(
                pl.when(pl.col("i") == 3).then(1e9).otherwise("sale_amount").alias("sale_amount")
            )
            .drop("i"),
            OutlierRule(1000.0, "cap"),
            "t",
            block_rows=5,
        )
    assert report.height == 1 and got.height == daily.height


# ----------------------------------------------------------------------------- prepare


@pytest.mark.parametrize("seed", range(4))
def test_block_pair_params_equal_one_group_by(seed: int) -> None:
    daily = daily_frame(seed, n_stores=9)
    whole = store_product_params(daily, block_rows=10**9)  # one block: one group_by
    for rows in BLOCK_SIZES[:-1]:
        assert store_product_params(daily, block_rows=rows).equals(whole)


def test_store_day_share_by_blocks_hand_computed() -> None:
    """Store 0: day 1 has a stockout row, day 2 none; store 1: day 1 none -> 1 of 3."""
    daily = pl.DataFrame(
        {
            "city_id": [0, 0, 0, 0, 1],
            "store_id": [0, 0, 0, 0, 1],
            "management_group_id": [1] * 5,
            "first_category_id": [1] * 5,
            "second_category_id": [1] * 5,
            "third_category_id": [1] * 5,
            "product_id": [1, 1, 2, 2, 1],
            "dt": [date(2024, 1, 1), date(2024, 1, 2)] * 2 + [date(2024, 1, 1)],
            "sale_amount": [1.0, 2.0, 0.0, 1.0, 3.0],
            "stock_hour6_22_cnt": pl.Series([0, 0, 4, 0, 0], dtype=pl.Int32),
            "discount": [1.0] * 5,
            "holiday_flag": [0] * 5,
            "activity_flag": [0] * 5,
        }
    )
    params = store_product_params(daily)
    for rows in (1, 2, 100):
        assert demand_summary(daily, params, block_rows=rows)["stockout_store_day_share"] == 1 / 3


@pytest.mark.parametrize("seed", range(3))
def test_block_store_day_share_equals_the_table_wide_mean(seed: int) -> None:
    daily = daily_frame(seed, n_stores=9)
    params = store_product_params(daily)
    table_wide = (
        daily.group_by("store_id", "dt")
        .agg((pl.col("stock_hour6_22_cnt") > 0).any().alias("any"))
        .get_column("any")
        .to_numpy()
    )
    want = demand_summary(daily, params, block_rows=10**9)
    assert want["stockout_store_day_share"] == float(table_wide.mean())
    for rows in BLOCK_SIZES[:-1]:
        assert demand_summary(daily, params, block_rows=rows) == want
    assert not math.isnan(want["stockout_store_day_share"])
