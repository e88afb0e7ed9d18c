"""Partitioned data stages (rama.data.partitions, rama.forecast.recovery.recover_partitions):
the same daily table, the same validation errors (file rows) and the same recovered demand as
the whole-frame path, for any partition size, locally and on a 2-worker Dask LocalCluster."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rama import cluster
from rama.config import load_config
from rama.data import load_freshretail
from rama.data.partitions import (
    DAILY_COLUMNS,
    load_daily,
    read_partition,
    row_ranges,
    split_partitions,
)
from rama.errors import DataValidationError
from rama.forecast import recovery
from rama.forecast.recovery import recover_demand, recover_split
from rama.prepare import prepare
from rama.prepare.demand import store_product_daily

TOL = 1e-12


def _published(df: pl.DataFrame) -> pl.DataFrame:
    """A loaded frame in the published Parquet types (``dt`` as text)."""
    return df.with_columns(pl.col("dt").dt.to_string("%Y-%m-%d"))


def _write(df: pl.DataFrame, folder: Path, group: int, shards: int = 1) -> Path:
    """``df`` as ``folder/train.parquet`` (row groups of ``group`` rows) or as shards."""
    folder.mkdir(parents=True, exist_ok=True)
    if shards == 1:
        df.write_parquet(folder / "train.parquet", row_group_size=group)
        return folder
    bounds = np.linspace(0, df.height, shards + 1).astype(int)
    for i, (a, b) in enumerate(pairwise(bounds)):
        name = f"train-{i:05d}-of-{shards:05d}.parquet"
        df.slice(int(a), int(b - a)).write_parquet(folder / name, row_group_size=group)
    return folder


@pytest.fixture(scope="module")
def train(tiny_data_dir: Path) -> pl.DataFrame:
    """The tiny generated train split (45,000 rows, 500 series of 90 days), published types."""
    return pl.read_parquet(tiny_data_dir / "freshretailnet" / "data" / "train.parquet")


@pytest.fixture(scope="module")
def whole(tiny_data_dir: Path) -> pl.DataFrame:
    """Today's path: the whole split in memory, then whole-frame recovery."""
    return recover_demand(load_freshretail(tiny_data_dir, "train"))


def _same_recovery(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.columns == want.columns
    exact = [c for c in want.columns if c not in ("lost_demand", "recovered_demand")]
    assert got.select(exact).equals(want.select(exact))
    for c in ("lost_demand", "recovered_demand"):
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=TOL, atol=TOL)


def test_row_ranges_cover_the_groups_and_respect_the_size() -> None:
    assert row_ranges([360, 360, 360], 1000) == [(0, 720), (720, 1080)]
    assert row_ranges([10, 100], 30) == [(0, 10), (10, 35), (35, 60), (60, 85), (85, 110)]
    assert row_ranges([], 5) == [(0, 0)]
    for groups, rows in (([7, 3, 12, 1, 1, 40], 9), ([5] * 9, 5), ([1000], 1)):
        ranges = row_ranges(groups, rows)
        assert ranges[0][0] == 0 and ranges[-1][1] == sum(groups)
        assert all(a < b <= a + rows for a, b in ranges)
        assert all(b == c for (_, b), (c, _) in pairwise(ranges))
    with pytest.raises(ValueError):
        row_ranges([1], 0)


@pytest.mark.parametrize(
    ("group", "rows", "shards"),
    [
        (50_000, 10**9, 1),  # one row group, one partition
        (50_000, 7_777, 1),  # one row group cut into slices (cutting series mid-way)
        (4_500, 9_000, 1),  # whole row groups, 50 series each
        (1_000, 2_345, 1),  # ranges of whole groups, boundaries inside series
        (3_000, 4_000, 3),  # shards: several files, each in partitions
    ],
)
def test_partitioned_recovery_equals_the_whole_frame(
    tmp_path: Path, train: pl.DataFrame, whole: pl.DataFrame, group: int, rows: int, shards: int
) -> None:
    data = _write(train, tmp_path / "data", group, shards)
    parts = split_partitions(data, "train", rows)
    assert len({p.file for p in parts}) == shards
    got = recover_split(data, rows=rows)
    _same_recovery(got, whole)
    if shards == 1:  # the daily table too: same columns, dtypes and values
        daily = load_daily(data, rows=rows)
        assert daily.equals(store_product_daily(load_freshretail(data)))


def test_bitwise_equal_when_the_partitions_hold_whole_blocks(
    tmp_path: Path, train: pl.DataFrame, tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # recover_split rounds the partition down to whole blocks of CHUNK_ROWS (500,000 rows by
    # default; 4,000 here): every block, and so every sum, is the whole-frame path's
    monkeypatch.setattr(recovery, "CHUNK_ROWS", 4_000)
    data = _write(train, tmp_path / "data", 3_000)
    parts = split_partitions(data, "train", 10_000, align=4_000)
    assert [(p.start, p.stop) for p in parts[:2]] == [(0, 8_000), (8_000, 16_000)]
    want = recover_demand(load_freshretail(tiny_data_dir), chunk_rows=4_000)
    assert recover_split(data, rows=10_000).equals(want)


def _tiny_split(rng: np.random.Generator, n_series: int, n_days: int) -> pl.DataFrame:
    """A valid FreshRetailNet frame of random lists: series by store x product, days in a row."""
    n = n_series * n_days
    store = np.repeat(rng.integers(0, 3, n_series) * 10 + np.arange(n_series), n_days)
    product = np.repeat(rng.integers(0, 3, n_series), n_days)
    sales = rng.poisson(0.6, (n, 24)) / 10.0
    flags = (rng.random((n, 24)) < rng.choice([0.0, 0.3, 0.9], n)[:, None]).astype(np.int32)
    sales = np.where(flags == 1, sales * rng.integers(0, 2, (n, 24)), sales)
    start = date(2024, 1, 1)
    return pl.DataFrame(
        {
            "city_id": store % 2,
            "store_id": store,
            "management_group_id": product % 2,
            "first_category_id": product,
            "second_category_id": product,
            "third_category_id": product,
            "product_id": product,
            "dt": [
                str(start + timedelta(days=int(d))) for d in np.tile(np.arange(n_days), n_series)
            ],
            "sale_amount": sales.sum(axis=1),
            "hours_sale": sales.tolist(),
            "stock_hour6_22_cnt": flags[:, 6:22].sum(axis=1).astype(np.int32),
            "hours_stock_status": flags.tolist(),
            "discount": np.ones(n),
            "holiday_flag": np.zeros(n, np.int32),
            "activity_flag": rng.integers(0, 2, n).astype(np.int32),
            "precpt": np.zeros(n),
            "avg_temperature": np.full(n, 20.0),
            "avg_humidity": np.full(n, 50.0),
            "avg_wind_level": np.ones(n),
        },
        schema_overrides={"hours_stock_status": pl.List(pl.Int32)},
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**16),
    n_series=st.integers(1, 6),
    n_days=st.integers(1, 12),
    group=st.integers(1, 40),
    rows=st.integers(1, 60),
    prior=st.sampled_from([0.0, 0.1, 2.0]),
    days_form=st.booleans(),
)
def test_property_any_partition_size_gives_the_whole_frame_answer(
    tmp_path: Path,
    seed: int,
    n_series: int,
    n_days: int,
    group: int,
    rows: int,
    prior: float,
    days_form: bool,
) -> None:
    raw = _tiny_split(np.random.default_rng(seed), n_series, n_days)
    data = tmp_path / f"d{seed}_{n_series}_{n_days}_{group}_{rows}"
    _write(raw, data, group)
    # the prior as units of demand or as days of exposure (recovery_prior_days)
    units, days = (0.0, prior) if days_form else (prior, 0.0)
    want = recover_demand(load_freshretail(data), prior_units=units, prior_days=days)
    _same_recovery(recover_split(data, rows=rows, prior_units=units, prior_days=days), want)
    shutil.rmtree(data)


@pytest.mark.parametrize(
    ("column", "value"),
    [("sale_amount", -1.0), ("hours_sale", [-1.0] * 24), ("hours_stock_status", [2] * 24)],
)
def test_a_bad_value_in_partition_two_names_the_file_row(
    tmp_path: Path, train: pl.DataFrame, column: str, value: object
) -> None:
    bad_row = 1_234  # partitions of 1,000 rows: the second one, rows 1000..1999
    lit = pl.lit(pl.Series(column, [value], dtype=train.schema[column]))
    bad = train.with_columns(
        pl.when(pl.int_range(pl.len()) == bad_row).then(lit).otherwise(pl.col(column)).alias(column)
    )
    data = _write(bad, tmp_path / "data", 1_000)
    file = data / "train.parquet"
    with pytest.raises(DataValidationError) as whole:
        load_freshretail(data)
    for load in (lambda: load_daily(data, rows=1_000), lambda: recover_split(data, rows=1_000)):
        with pytest.raises(DataValidationError) as part:
            load()
        err = part.value
        assert err.source == str(file) and err.column == column == whole.value.column
        assert err.reason == whole.value.reason
        assert (
            [e["row"] for e in err.examples]
            == [bad_row]
            == [e["row"] for e in whole.value.examples]
        )
        assert "rows 1000..1999 of the file" in str(err) and "Fix:" in str(err)


def test_csv_is_one_partition_and_keeps_its_lines(tmp_path: Path, fresh_sample_csv: Path) -> None:
    parts = split_partitions(fresh_sample_csv, "train", 10)
    assert len(parts) == 1 and parts[0].csv and parts[0].whole_file
    assert load_daily(fresh_sample_csv).equals(
        load_freshretail(fresh_sample_csv).select(DAILY_COLUMNS)
    )
    _same_recovery(
        recover_split(fresh_sample_csv), recover_demand(load_freshretail(fresh_sample_csv))
    )
    text = fresh_sample_csv.read_text().splitlines()
    cells = text[5].split(",")
    idx = text[0].split(",").index("discount")
    cells[idx] = "cheap"
    bad = tmp_path / "train.csv"
    bad.write_text("\n".join([*text[:5], ",".join(cells), *text[6:]]) + "\n")
    with pytest.raises(DataValidationError) as err:
        load_daily(bad)
    assert err.value.examples[0]["row"] == 4 and err.value.examples[0]["line"] == 6


def test_table_wide_checks_see_across_partitions(tmp_path: Path, train: pl.DataFrame) -> None:
    head = train.head(2_000)  # 22 series; partitions of 40-45 rows cut every series
    # a day of series 0 missing (row 45): no partition alone shows the gap
    gap = head.filter(pl.int_range(pl.len()) != 45)
    data = _write(gap, tmp_path / "gap", 1_000)
    with pytest.raises(DataValidationError) as whole:
        load_freshretail(data)
    with pytest.raises(DataValidationError) as part:
        load_daily(data, rows=45)
    assert part.value.reason == whole.value.reason == "not_contiguous"
    assert part.value.examples == whole.value.examples
    # a store in two cities, rows 0..44 in one partition and 45.. in the next
    first_store = head["store_id"][0]
    moved = head.with_columns(
        pl.when((pl.col("store_id") == first_store) & (pl.int_range(pl.len()) >= 45))
        .then(pl.col("city_id") + 1)
        .otherwise(pl.col("city_id"))
        .alias("city_id")
    )
    data = _write(moved, tmp_path / "city", 1_000)
    with pytest.raises(DataValidationError) as part:
        load_daily(data, rows=45)
    assert part.value.reason == "inconsistent" and part.value.column == "city_id"


def test_prepared_files_are_the_old_paths(
    tmp_path: Path, tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch, assert_close: Any
) -> None:
    data = tmp_path / "data"
    shutil.copytree(tiny_data_dir, data)
    train = data / "freshretailnet" / "data" / "train.parquet"
    pl.read_parquet(train).write_parquet(train, row_group_size=5_000)  # 9 row groups
    cfg = load_config(overrides=["data.partition_rows=10000"])
    prepare(data, tmp_path / "new", cfg)
    from rama.prepare import partitioned

    monkeypatch.setattr(partitioned, "_partitioned", lambda *a: None)  # loaded whole
    monkeypatch.setattr(
        partitioned, "load_daily", lambda path, split, rows: load_freshretail(path, split)
    )
    prepare(data, tmp_path / "old", cfg)
    new, old = tmp_path / "new" / "prepared", tmp_path / "old" / "prepared"
    names = sorted(p.name for p in old.iterdir())
    assert names == sorted(p.name for p in new.iterdir()) and "store_product_daily.parquet" in names
    for name in names:
        if name == "store_product_daily.parquet":  # row groups differ: the partitions' own
            assert pl.read_parquet(new / name).equals(pl.read_parquet(old / name))
        elif name == "eda_summary.json":
            assert_close(json.loads((new / name).read_text()), json.loads((old / name).read_text()))
        elif name != "eda_summary.md":  # its figures are the JSON's, rounded
            assert (new / name).read_bytes() == (old / name).read_bytes(), name


def test_no_dask_import_without_a_cluster(tiny_data_dir: Path) -> None:
    code = (
        "import sys\n"
        "from rama.forecast.recovery import recover_split\n"
        "from rama.prepare import prepare\n"
        f"recover_split({str(tiny_data_dir)!r}, rows=10_000)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_read_partition_validates_one_range(tmp_path: Path, train: pl.DataFrame) -> None:
    data = _write(train, tmp_path / "data", 1_000)
    parts = split_partitions(data, "train", 2_500)
    assert [(p.start, p.stop) for p in parts[:3]] == [(0, 2_000), (2_000, 4_000), (4_000, 6_000)]
    second = read_partition(parts[1], ["store_id", "dt", "hours_sale"])
    assert second.height == 2_000 and second.schema["dt"] == pl.Date
    assert second["store_id"].to_list() == train["store_id"][2_000:4_000].to_list()


@pytest.mark.slow
def test_on_a_local_cluster_the_partitions_give_the_local_answer(
    tmp_path: Path, train: pl.DataFrame, bad_sale: Any
) -> None:
    data = _write(train, tmp_path / "data", 1_000)
    local = recover_split(data, rows=3_000)
    local_daily = load_daily(data, rows=3_000)
    bad_data = _write(bad_sale(train, 4_321), tmp_path / "bad", 1_000)
    with cluster.use_cluster("local", n_workers=2) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        remote = recover_split(data, rows=3_000)
        remote_daily = load_daily(data, rows=3_000)
        with pytest.raises(DataValidationError) as err:
            recover_split(bad_data, rows=3_000)
    assert remote.equals(local)  # bitwise: the same partitions, gathered in order
    assert remote_daily.equals(local_daily)
    assert err.value.examples[0]["row"] == 4_321
    assert str(err.value.source).endswith("train.parquet")


def test_the_forecast_stage_equals_the_whole_split_path(
    tmp_path: Path, tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rama.forecast import run_forecast
    from rama.forecast import stage as forecast_stage
    from rama.run_manifest import update_manifest
    from rama.run_state import stamp

    cfg = load_config(
        overrides={
            "forecast.num_boost_round": 20,
            "forecast.num_leaves": 15,
            "forecast.num_threads": 1,
        }
    )

    def run(name: str) -> Path:
        folder = tmp_path / name
        update_manifest(
            folder, data_dir=str(tiny_data_dir), has_eval=True, has_truth=True, stages=["prepare"]
        )
        stamp(folder)
        run_forecast(folder, cfg)
        return folder / "forecast"

    new = run("new")

    def whole_train(path: Path, split: str, **kw: object) -> pl.DataFrame:
        train = load_freshretail(path, split)
        return recover_demand(
            train,
            prior_units=float(kw["prior_units"]),  # type: ignore[arg-type]
            prior_days=float(kw["prior_days"]),  # type: ignore[arg-type]
            window=kw["window"],  # type: ignore[arg-type]
        )

    monkeypatch.setattr(forecast_stage, "recover_split", whole_train)
    monkeypatch.setattr(
        forecast_stage, "load_daily", lambda path, split, **kw: load_freshretail(path, split)
    )
    old = run("old")
    for name in (  # the model and everything it predicts: bit for bit
        "demand_forecast.parquet",
        "horizon_demand.parquet",
        "backtest_predictions.parquet",
    ):
        assert pl.read_parquet(new / name).equals(pl.read_parquet(old / name)), name
    for name in ("recovery_summary.csv", "forecast_metrics.csv"):  # polars' parallel sums vary
        a, b = pl.read_csv(new / name), pl.read_csv(old / name)  # from run to run in the last bit
        assert a.columns == b.columns and a.height == b.height, name
        for c in a.columns:
            if a.schema[c].is_float():
                np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=TOL, atol=TOL)
            else:
                assert a[c].equals(b[c]), (name, c)
