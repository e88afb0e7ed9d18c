"""Loaders on the real samples, the CSV/Parquet equivalence, and every validation rule."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.data import (
    FRESHRETAIL,
    LOGISTICS,
    has_split,
    load_city_locations,
    load_freshretail,
    load_logistics,
    validate_freshretail,
)
from rama.data.schema import LOGISTICS_FILE
from rama.errors import DataValidationError

# ----------------------------------------------------------------------------- helpers


def raw_csv(path: Path) -> pl.DataFrame:
    """The file as text columns, exactly as written."""
    return pl.read_csv(path, infer_schema=False)


def set_cell(df: pl.DataFrame, row: int, col: str, value: object) -> pl.DataFrame:
    """Return ``df`` with one cell replaced (value cast to the column's dtype)."""
    lit = pl.lit(value, dtype=df.schema[col]) if value is not None else pl.lit(None)
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(lit).otherwise(pl.col(col)).alias(col)
    )


def published(df: pl.DataFrame) -> pl.DataFrame:
    """A loaded frame back in the published Parquet types (``dt`` as a string)."""
    return df.with_columns(pl.col("dt").dt.to_string("%Y-%m-%d"))


def expect_error(
    path: Path, loader: Callable[[Path], object], column: str, row: int | None
) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        loader(path)
    err = info.value
    msg = str(err)
    assert str(path) in msg, msg
    assert err.column == column, msg
    assert f"column {column!r}" in msg, msg
    if row is not None:
        assert f"'row': {row}," in msg, msg
        assert any(e["row"] == row for e in err.examples)
        assert err.count is not None and err.count >= 1
        assert "Fix:" in msg
    return err


@pytest.fixture
def fresh_raw(fresh_sample_csv: Path) -> pl.DataFrame:
    return raw_csv(fresh_sample_csv)


@pytest.fixture
def fresh_frame(fresh_sample_csv: Path) -> pl.DataFrame:
    return load_freshretail(fresh_sample_csv)


# ----------------------------------------------------------------------------- real samples


def test_fresh_sample_contract(fresh_frame: pl.DataFrame) -> None:
    df = fresh_frame
    assert df.shape == (100, 19)
    assert df.schema == pl.Schema(FRESHRETAIL.columns)
    assert df.schema["dt"] == pl.Date
    first = df.row(0, named=True)
    assert (first["city_id"], first["store_id"], first["product_id"]) == (0, 0, 38)
    assert (first["first_category_id"], first["third_category_id"]) == (5, 65)
    assert first["dt"] == dt.date(2024, 3, 28)
    assert first["sale_amount"] == pytest.approx(0.1)
    assert first["hours_sale"][7] == pytest.approx(0.1)
    assert first["precpt"] == pytest.approx(1.6999)
    second = df.row(1, named=True)
    assert second["stock_hour6_22_cnt"] == 1
    assert second["hours_stock_status"][21:] == [1, 1, 1]
    # 90 days of product 38, then 10 of product 834, all at store 0
    assert df.get_column("product_id").value_counts().sort("product_id").rows() == [
        (38, 90),
        (834, 10),
    ]
    assert df.filter(pl.col("product_id") == 38).get_column("dt").max() == dt.date(2024, 6, 25)


def test_fresh_sample_invariants(fresh_frame: pl.DataFrame) -> None:
    hours = np.array(fresh_frame.get_column("hours_sale").to_list())
    status = np.array(fresh_frame.get_column("hours_stock_status").to_list())
    assert hours.shape == status.shape == (100, 24)
    np.testing.assert_allclose(hours.sum(axis=1), fresh_frame["sale_amount"].to_numpy(), atol=1e-9)
    np.testing.assert_array_equal(
        status[:, 6:22].sum(axis=1), fresh_frame["stock_hour6_22_cnt"].to_numpy()
    )
    # night-time flags exist and are not counted
    assert status[:, :6].sum() > 0


def test_logistics_sample_contract(logistics_sample_csv: Path) -> None:
    df = load_logistics(logistics_sample_csv)
    assert df.shape == (5, 26)
    assert df.schema == pl.Schema(LOGISTICS.columns)
    assert df.schema["timestamp"] == pl.Datetime("us")
    assert df.item(0, "timestamp") == dt.datetime(2021, 1, 1, 0, 0)
    assert df.item(4, "timestamp") == dt.datetime(2021, 1, 1, 4, 0)
    assert df.item(0, "vehicle_gps_latitude") == pytest.approx(40.375568475194925)
    assert df.item(1, "vehicle_gps_longitude") == pytest.approx(-117.03690240506452)
    assert df.item(0, "shipping_costs") == pytest.approx(456.5038530358948)
    assert df.get_column("risk_classification").to_list() == [
        "Moderate Risk",
        "High Risk",
        "High Risk",
        "High Risk",
        "High Risk",
    ]


def test_logistics_from_data_root(tmp_path: Path, logistics_sample_csv: Path) -> None:
    (tmp_path / "logistics").mkdir()
    (tmp_path / "logistics" / LOGISTICS_FILE).write_bytes(logistics_sample_csv.read_bytes())
    assert load_logistics(tmp_path).equals(load_logistics(logistics_sample_csv))


def test_csv_and_parquet_forms_identical(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    data = tmp_path / "freshretailnet" / "data"
    data.mkdir(parents=True)
    pq = data / "train.parquet"
    published(fresh_frame).write_parquet(pq)
    assert pl.read_parquet(pq).schema["dt"] == pl.String
    for form in (tmp_path, tmp_path / "freshretailnet", pq):
        assert load_freshretail(form).equals(fresh_frame), form
    assert has_split(tmp_path, "train")
    assert not has_split(tmp_path, "eval")
    published(fresh_frame).write_parquet(data / "eval.parquet")
    assert has_split(tmp_path, "eval")
    assert load_freshretail(tmp_path, "eval").equals(fresh_frame)


def test_missing_split_is_clear(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="no FreshRetailNet eval split found"):
        load_freshretail(tmp_path, "eval")
    with pytest.raises(DataValidationError, match="unknown split"):
        load_freshretail(tmp_path, "test")
    with pytest.raises(DataValidationError, match="no logistics dataset found"):
        load_logistics(tmp_path)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
        min_size=24,
        max_size=24,
    )
)
def test_list_text_parses_back(values: list[float]) -> None:
    """A '[a, b, ...]' cell written with Python's repr parses to the same floats."""
    text = "[" + ", ".join(repr(v) for v in values) + "]"
    row = {c: "0" for c in FRESHRETAIL.columns}
    row |= {"dt": "2024-03-28", "hours_sale": text, "hours_stock_status": "[" + "0, " * 23 + "0]"}
    row["sale_amount"] = repr(sum(values))
    row["discount"] = "1.0"
    df = validate_freshretail(pl.DataFrame([row]), "memory", csv=True)
    assert df.item(0, "hours_sale").to_list() == values


# ----------------------------------------------------------------------------- bad inputs


def write_csv(tmp_path: Path, df: pl.DataFrame, name: str = "bad.csv") -> Path:
    path = tmp_path / name
    df.write_csv(path)
    return path


def write_parquet(tmp_path: Path, df: pl.DataFrame, name: str = "bad.parquet") -> Path:
    path = tmp_path / name
    df.write_parquet(path)
    return path


def test_missing_column(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, fresh_raw.drop("discount"))
    err = expect_error(path, load_freshretail, "discount", None)
    assert "missing column(s) ['discount']" in str(err) and err.reason == "missing_column"


def test_unexpected_column(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, fresh_raw.with_columns(pl.lit("1").alias("store_name")))
    err = expect_error(path, load_freshretail, "store_name", None)
    assert "unexpected column(s) ['store_name']" in str(err) and err.reason == "unexpected_column"


def test_value_that_cannot_be_cast(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 7, "sale_amount", "abc"))
    err = expect_error(path, load_freshretail, "sale_amount", 7)
    assert "'sale_amount': 'abc'" in str(err)
    assert "'line': 9" in str(err)  # header is line 1
    assert err.count == 1


def test_list_item_that_cannot_be_cast(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    bad = "[" + ", ".join(["0.0"] * 23 + ["x"]) + "]"
    path = write_csv(tmp_path, set_cell(fresh_raw, 3, "hours_sale", bad))
    expect_error(path, load_freshretail, "hours_sale", 3)


def test_non_integer_id_in_parquet(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    df = published(fresh_frame).with_columns(pl.col("store_id").cast(pl.Float64))
    path = write_parquet(tmp_path, set_cell(df, 11, "store_id", 0.5))
    err = expect_error(path, load_freshretail, "store_id", 11)
    assert "integer" in str(err)


def test_incompatible_column_type(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    df = published(fresh_frame).with_columns(pl.lit(5, dtype=pl.Int64).alias("dt"))
    err = expect_error(write_parquet(tmp_path, df), load_freshretail, "dt", None)
    assert "has type Int64; expected a date" in str(err)


@pytest.mark.parametrize("column", ["hours_sale", "hours_stock_status"])
def test_hour_list_not_24_long(tmp_path: Path, fresh_raw: pl.DataFrame, column: str) -> None:
    short = "[" + ", ".join(["0"] * 23) + "]"
    path = write_csv(tmp_path, set_cell(fresh_raw, 4, column, short))
    err = expect_error(path, load_freshretail, column, 4)
    assert f"'{column} length': 23" in str(err)
    assert "list of 24" in str(err)


def test_negative_sales(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 10, "sale_amount", "-0.1"))
    err = expect_error(path, load_freshretail, "sale_amount", 10)
    assert "'sale_amount': -0.1" in str(err)
    assert "values >= 0" in str(err)


def test_negative_hourly_sales(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    bad = [0.0] * 23 + [-0.2]
    df = published(fresh_frame)
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 15)
        .then(pl.lit(bad, dtype=pl.List(pl.Float64)))
        .otherwise(pl.col("hours_sale"))
        .alias("hours_sale")
    )
    err = expect_error(write_parquet(tmp_path, df), load_freshretail, "hours_sale", 15)
    assert "'hours_sale min': -0.2" in str(err)


@pytest.mark.parametrize("value", ["17", "-1"])
def test_stockout_count_out_of_range(tmp_path: Path, fresh_raw: pl.DataFrame, value: str) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 12, "stock_hour6_22_cnt", value))
    err = expect_error(path, load_freshretail, "stock_hour6_22_cnt", 12)
    assert "values in [0, 16]" in str(err)
    assert f"'stock_hour6_22_cnt': {value}" in str(err)


def test_several_failing_rules_are_listed(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    df = set_cell(set_cell(fresh_raw, 1, "sale_amount", "-1"), 2, "holiday_flag", "3")
    err = expect_error(write_csv(tmp_path, df), load_freshretail, "sale_amount", 1)
    assert "also failing: holiday_flag" in str(err)


def test_duplicate_store_product_day(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    df = pl.concat([fresh_raw, fresh_raw.slice(5, 1)])
    err = expect_error(write_csv(tmp_path, df), load_freshretail, "dt", 5)
    assert any(e["row"] == 100 for e in err.examples)
    assert err.count == 2
    assert "duplicate rows" in str(err)
    assert "'dt': '2024-04-02'" in str(err)


def test_duplicate_in_unsorted_file(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    df = pl.concat([fresh_frame.slice(50, 50), fresh_frame.slice(0, 50), fresh_frame.slice(7, 1)])
    err = expect_error(write_parquet(tmp_path, published(df)), load_freshretail, "dt", 57)
    assert err.count == 2


def test_unsorted_but_complete_file_is_valid(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    shuffled = fresh_frame.sample(fraction=1.0, shuffle=True, seed=3)
    loaded = load_freshretail(write_parquet(tmp_path, published(shuffled)))
    assert loaded.equals(shuffled)


def test_gap_in_dates(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    df = pl.concat([fresh_raw.slice(0, 20), fresh_raw.slice(21)])
    err = expect_error(write_csv(tmp_path, df), load_freshretail, "dt", 20)
    msg = str(err)
    assert "dates not contiguous" in msg
    assert "'dt': '2024-04-18'" in msg and "'previous_day': '2024-04-16'" in msg


def test_store_in_two_cities(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 3, "city_id", "4"))
    err = expect_error(path, load_freshretail, "city_id", 3)
    assert "more than one city_id" in str(err)
    assert err.count == 100  # every row of the store is affected


def test_product_in_two_categories(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 95, "third_category_id", "1"))
    expect_error(path, load_freshretail, "third_category_id", 95)


def test_null_in_required_column(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, set_cell(fresh_raw, 6, "avg_humidity", None))
    err = expect_error(path, load_freshretail, "avg_humidity", 6)
    assert "missing values" in str(err)


def test_nan_in_parquet(tmp_path: Path, fresh_frame: pl.DataFrame) -> None:
    df = set_cell(published(fresh_frame), 30, "discount", float("nan"))
    expect_error(write_parquet(tmp_path, df), load_freshretail, "discount", 30)


def test_nan_inside_hour_list(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    bad = "[" + ", ".join(["0.0"] * 23 + ["nan"]) + "]"
    path = write_csv(tmp_path, set_cell(fresh_raw, 44, "hours_sale", bad))
    expect_error(path, load_freshretail, "hours_sale", 44)


def test_empty_file(tmp_path: Path, fresh_raw: pl.DataFrame) -> None:
    path = write_csv(tmp_path, fresh_raw.head(0))
    with pytest.raises(DataValidationError, match="no data rows"):
        load_freshretail(path)


@pytest.mark.parametrize(
    ("column", "value"),
    [("vehicle_gps_latitude", "95.0"), ("vehicle_gps_longitude", "-190.5")],
)
def test_gps_out_of_range(
    tmp_path: Path, logistics_sample_csv: Path, column: str, value: str
) -> None:
    df = set_cell(raw_csv(logistics_sample_csv), 2, column, value)
    err = expect_error(write_csv(tmp_path, df), load_logistics, column, 2)
    assert f"'{column}': {float(value)}" in str(err)
    assert "'timestamp': '2021-01-01 02:00:00" in str(err)


def test_logistics_bad_timestamp_and_nan(tmp_path: Path, logistics_sample_csv: Path) -> None:
    raw = raw_csv(logistics_sample_csv)
    path = write_csv(tmp_path, set_cell(raw, 1, "timestamp", "yesterday"), "a.csv")
    expect_error(path, load_logistics, "timestamp", 1)
    path = write_csv(tmp_path, set_cell(raw, 3, "shipping_costs", "NaN"), "b.csv")
    expect_error(path, load_logistics, "shipping_costs", 3)
    path = write_csv(tmp_path, raw.drop("route_risk_level"), "c.csv")
    expect_error(path, load_logistics, "route_risk_level", None)


def test_unreadable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    path.write_bytes(b"not a parquet file")
    with pytest.raises(DataValidationError, match=re.escape(str(path))):
        load_freshretail(path)


def test_city_locations(tmp_path: Path) -> None:
    good = tmp_path / "cities.csv"
    good.write_text("city_id,name,latitude,longitude\n0,A,40.7,-74.0\n1,B,34.0,-118.2\n")
    df = load_city_locations(good)
    assert df.columns == ["city_id", "latitude", "longitude"]
    assert df.row(1) == (1, 34.0, -118.2)
    bad = tmp_path / "bad.csv"
    bad.write_text("city_id,latitude,longitude\n0,40.7,-74.0\n0,34.0,-118.2\n")
    err = expect_error(bad, load_city_locations, "city_id", 1)
    assert "duplicate city_id" in str(err)


def test_validation_is_idempotent_and_restores_order(fresh_frame: pl.DataFrame) -> None:
    assert validate_freshretail(fresh_frame, "memory").equals(fresh_frame)
    reordered = fresh_frame.select(fresh_frame.columns[::-1])
    assert validate_freshretail(reordered, "memory").equals(fresh_frame)


def test_compatible_types_are_cast(fresh_frame: pl.DataFrame) -> None:
    """Int32 ids, Array hour columns and Int64 flags load as the published types."""
    df = fresh_frame.with_columns(
        pl.col("store_id", "product_id").cast(pl.Int32),
        pl.col("hours_sale").list.to_array(24),
        pl.col("hours_stock_status").cast(pl.List(pl.Int64)),
        pl.col("holiday_flag").cast(pl.Int64),
    )
    assert validate_freshretail(df, "memory").equals(fresh_frame)


# ----------------------------------------------------------------------------- locating files


def test_csv_export_folder_and_shards_are_found(
    tmp_path: Path, fresh_sample_csv: Path, fresh_frame: pl.DataFrame
) -> None:
    from rama.data import freshretail_files

    export = tmp_path / "export" / "freshretailnet"
    export.mkdir(parents=True)
    (export / "train.csv").write_bytes(fresh_sample_csv.read_bytes())
    assert has_split(tmp_path / "export", "train")
    assert not has_split(tmp_path / "export", "eval")
    assert load_freshretail(tmp_path / "export").equals(fresh_frame)
    # Hugging Face shards: one or several files of a split, read as one table
    shards = tmp_path / "hf" / "data"
    shards.mkdir(parents=True)
    half = fresh_frame.height // 2
    published(fresh_frame.head(half)).write_parquet(shards / "train-00000-of-00002.parquet")
    published(fresh_frame.slice(half)).write_parquet(shards / "train-00001-of-00002.parquet")
    assert [p.name for p in freshretail_files(tmp_path / "hf", "train")] == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]
    assert has_split(tmp_path / "hf", "train")  # so `rama run` generates nothing over it
    assert load_freshretail(tmp_path / "hf").equals(fresh_frame)


def test_a_single_file_is_the_train_split_only(fresh_sample_csv: Path) -> None:
    assert has_split(fresh_sample_csv, "train")
    assert not has_split(fresh_sample_csv, "eval")  # never the eval split as well


def test_datasets_are_told_apart_by_their_header(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    from rama.data import logistics_file

    data = tmp_path / "D"
    data.mkdir()
    (data / "train.csv").write_bytes(fresh_sample_csv.read_bytes())
    # only FreshRetailNet here: the logistics locator takes neither file
    (data / "extra.csv").write_bytes(fresh_sample_csv.read_bytes())
    assert logistics_file(data) is None
    with pytest.raises(DataValidationError) as info:
        load_logistics(data)
    msg = str(info.value)
    assert info.value.reason == "not_found"
    for place in (f"logistics/{LOGISTICS_FILE}", LOGISTICS_FILE, "logistics/*.csv", "*.csv"):
        assert str(data / place) in msg, place
    with pytest.raises(DataValidationError, match="is a FreshRetailNet file") as info:
        load_logistics(data / "train.csv")
    assert info.value.reason == "invalid"
    # a logistics CSV under any name is found by its header
    (data / "my_supply_chain.csv").write_bytes(logistics_sample_csv.read_bytes())
    assert logistics_file(data) == data / "my_supply_chain.csv"
    assert load_logistics(data).equals(load_logistics(logistics_sample_csv))


def test_logistics_saved_under_a_split_name_is_not_freshretailnet(
    tmp_path: Path, logistics_sample_csv: Path
) -> None:
    (tmp_path / "train.csv").write_bytes(logistics_sample_csv.read_bytes())
    assert not has_split(tmp_path, "train")
    with pytest.raises(DataValidationError) as info:
        load_freshretail(tmp_path)
    msg = str(info.value)
    assert info.value.reason == "not_found"
    for place in ("data/train.parquet", "freshretailnet/train.csv", "train-*-of-*.parquet"):
        assert str(tmp_path / place) in msg, place


def test_glob_characters_in_a_folder_name_are_a_name(
    tmp_path: Path, fresh_frame: pl.DataFrame, logistics_sample_csv: Path
) -> None:
    """A data folder named like a glob pattern ("[x]*") is read as that folder."""
    folder = tmp_path / "week [x] *2*"
    folder.mkdir()
    published(fresh_frame).write_parquet(folder / "train.parquet")
    (folder / "logistics.csv").write_bytes(logistics_sample_csv.read_bytes())
    assert load_freshretail(folder).height == fresh_frame.height
    assert load_freshretail(folder / "train.parquet").height == fresh_frame.height
    assert load_logistics(folder).height == 5
