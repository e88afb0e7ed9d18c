"""Bad input at every stage boundary: each case is one malformed input, fed to the reader
that meets it first, and must raise one typed rama error whose ``reason`` code and message
phrase are checked (never a traceback, never a silently wrong result).

The catalogue (:data:`CASES`) covers the raw data (FreshRetailNet, logistics), the
configuration file, the problem folder, the stage outputs the optimize stage reads, the
planner's own tables, the realized demand of ``rama evaluate`` and rama's own JSON files.
Its size is printed by ``pytest -q tests/test_bad_inputs.py -k count -s``.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.data import load_freshretail, load_logistics
from rama.data.outliers import OutlierRule, cap_logistics_outliers, cap_sale_outliers
from rama.errors import ConfigError, DataValidationError, RamaError, StageInputError
from rama.evaluate.truth import realized_demand
from rama.io import read_json
from rama.problem import load_problem
from rama.problem.build import build_run_problem
from rama.problem.folder import write_problem
from rama.problem.planner_tables import (
    PlannerInputs,
    apply_capacities,
    apply_product_costs,
    inventory_on_hand,
    read_lane_costs,
)
from rama.schema import REASONS, DataWarning
from rama.testing.builders import tiny_problem, tiny_run_folder

REPO = Path(__file__).resolve().parents[1]
FRESH = REPO / "tests" / "data" / "freshretailnet" / "sample_train_100.csv"
LOGI = REPO / "tests" / "data" / "logistics" / "sample_head5.csv"

Thunk = Callable[[], Any]


@dataclass(frozen=True)
class Case:
    build: Callable[[Path], Thunk]  # tmp_path -> the call that must fail
    error: type[RamaError]
    reason: str
    phrase: str  # a phrase of the message (case-insensitive)


CASES: dict[str, Case] = {}


def case(name: str, error: type[RamaError], reason: str, phrase: str) -> Callable[..., Any]:
    def register(build: Callable[[Path], Thunk]) -> Callable[[Path], Thunk]:
        assert name not in CASES, name
        CASES[name] = Case(build, error, reason, phrase)
        return build

    return register


# ----------------------------------------------------------------------------- helpers


def fresh_text() -> pl.DataFrame:
    return pl.read_csv(FRESH, infer_schema=False)


def logi_text() -> pl.DataFrame:
    return pl.read_csv(LOGI, infer_schema=False)


def set_cell(df: pl.DataFrame, row: int, col: str, value: str | None) -> pl.DataFrame:
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(col))
        .alias(col)
    )


def write(tmp: Path, df: pl.DataFrame, name: str = "train.csv") -> Path:
    path = tmp / name
    df.write_csv(path)
    return path


def fresh_cell(col: str, value: str | None, row: int = 3) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = write(tmp, set_cell(fresh_text(), row, col, value))
        return lambda: load_freshretail(path)

    return build


def logi_cell(col: str, value: str | None, row: int = 1) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = write(tmp, set_cell(logi_text(), row, col, value), "logistics.csv")
        return lambda: load_logistics(path)

    return build


def fresh_bytes(data: bytes, name: str = "train.csv") -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = tmp / name
        path.write_bytes(data)
        return lambda: load_freshretail(path)

    return build


def _csv_bytes(path: Path) -> bytes:
    return path.read_bytes()


HEADER = _csv_bytes(FRESH).split(b"\n", 1)[0] + b"\n"


# ----------------------------------------------------------------------------- FreshRetailNet

for _name, _col, _val, _reason, _phrase in [
    ("fresh_sale_inf", "sale_amount", "inf", "infinite", "infinite values"),
    ("fresh_sale_minus_inf", "sale_amount", "-inf", "infinite", "infinite values"),
    ("fresh_sale_1e400", "sale_amount", "1e400", "infinite", "infinite values"),
    ("fresh_sale_nan", "sale_amount", "NaN", "nan", "NaN values"),
    ("fresh_sale_null", "sale_amount", None, "null", "missing values"),
    ("fresh_sale_negative", "sale_amount", "-0.5", "negative", "sales cannot be negative"),
    ("fresh_sale_text", "sale_amount", "lots", "not_parsable", "cannot be read"),
    ("fresh_discount_minus_inf", "discount", "-inf", "infinite", "infinite values"),
    ("fresh_discount_negative", "discount", "-0.2", "negative", "discounts cannot be negative"),
    ("fresh_precpt_inf", "precpt", "inf", "infinite", "infinite values"),
    ("fresh_temperature_nan", "avg_temperature", "nan", "nan", "NaN values"),
    ("fresh_store_negative", "store_id", "-1", "negative", "ids: whole numbers >= 0"),
    ("fresh_product_negative", "product_id", "-38", "negative", "ids: whole numbers >= 0"),
    ("fresh_city_negative", "city_id", "-3", "negative", "ids: whole numbers >= 0"),
    ("fresh_store_fraction", "store_id", "0.5", "not_parsable", "cannot be read"),
    ("fresh_store_text", "store_id", "abc", "not_parsable", "cannot be read"),
    ("fresh_date_bad", "dt", "2024-13-45", "not_parsable", "a date YYYY-MM-DD"),
    ("fresh_holiday_flag_3", "holiday_flag", "3", "out_of_range", "0 or 1"),
    ("fresh_stock_hours_17", "stock_hour6_22_cnt", "17", "out_of_range", "out-of-stock hours"),
    ("fresh_hours_sale_short", "hours_sale", "[0.0, 0.1]", "wrong_length", "24 hourly values"),
    (
        "fresh_hours_sale_inf",
        "hours_sale",
        "[" + ", ".join(["inf"] + ["0.0"] * 23) + "]",
        "infinite",
        "finite hourly sales",
    ),
    (
        "fresh_hours_status_2",
        "hours_stock_status",
        "[" + ", ".join(["2"] + ["0"] * 23) + "]",
        "out_of_range",
        "hourly flags 0 or 1",
    ),
    ("fresh_second_city_for_store", "city_id", "9", "inconsistent", "more than one city_id"),
]:
    case(_name, DataValidationError, _reason, _phrase)(fresh_cell(_col, _val))


@case("fresh_missing_column", DataValidationError, "missing_column", "missing column")
def _(tmp: Path) -> Thunk:
    path = write(tmp, fresh_text().drop("sale_amount"))
    return lambda: load_freshretail(path)


@case("fresh_extra_column", DataValidationError, "unexpected_column", "unexpected column")
def _(tmp: Path) -> Thunk:
    path = write(tmp, fresh_text().with_columns(pl.lit("x").alias("note")))
    return lambda: load_freshretail(path)


@case("fresh_duplicate_day", DataValidationError, "duplicate_key", "duplicate rows")
def _(tmp: Path) -> Thunk:
    df = fresh_text()
    path = write(tmp, pl.concat([df, df.slice(4, 1)]))
    return lambda: load_freshretail(path)


@case("fresh_missing_day", DataValidationError, "not_contiguous", "not contiguous")
def _(tmp: Path) -> Thunk:
    df = fresh_text()
    path = write(tmp, pl.concat([df.slice(0, 10), df.slice(11)]))
    return lambda: load_freshretail(path)


case("fresh_header_only", DataValidationError, "empty", "no data rows")(fresh_bytes(HEADER))
case("fresh_zero_bytes", DataValidationError, "empty", "is empty")(fresh_bytes(b""))
case("fresh_utf16", DataValidationError, "unreadable", "UTF-16")(
    fresh_bytes(_csv_bytes(FRESH).decode("utf-8").encode("utf-16"))
)
case("fresh_utf32", DataValidationError, "unreadable", "UTF-32")(
    fresh_bytes(_csv_bytes(FRESH).decode("utf-8").encode("utf-32"))
)
case("fresh_not_utf8", DataValidationError, "unreadable", "not UTF-8")(
    fresh_bytes(_csv_bytes(FRESH).replace(b"2024-03-30", b"2024-03-\xff0", 1))
)
case("fresh_garbage_binary", DataValidationError, "unreadable", "NUL bytes")(
    fresh_bytes(bytes(range(256)) * 4)
)
case("fresh_ragged_line", DataValidationError, "unreadable", "could not be parsed as CSV")(
    fresh_bytes(HEADER + b"1,2,3\n" + b",".join([b"1"] * 40) + b"\n")
)


@case("fresh_semicolons", DataValidationError, "unreadable", "delimited by semicolons")
def _(tmp: Path) -> Thunk:
    path = tmp / "train.csv"
    fresh_text().head(5).write_csv(path, separator=";")
    return lambda: load_freshretail(path)


@case("fresh_tabs", DataValidationError, "unreadable", "delimited by tabs")
def _(tmp: Path) -> Thunk:
    path = tmp / "train.csv"
    fresh_text().head(5).write_csv(path, separator="\t")
    return lambda: load_freshretail(path)


@case("fresh_truncated_parquet", DataValidationError, "unreadable", "truncated")
def _(tmp: Path) -> Thunk:
    full = tmp / "full.parquet"
    load_freshretail(FRESH).write_parquet(full)
    path = tmp / "train.parquet"
    path.write_bytes(full.read_bytes()[:-200])
    return lambda: load_freshretail(path)


@case("fresh_corrupt_parquet_page", DataValidationError, "unreadable", "corrupted")
def _(tmp: Path) -> Thunk:
    """Four bytes overwritten inside a data page: polars panics (a BaseException)."""
    full = tmp / "full.parquet"
    load_freshretail(FRESH).write_parquet(full)
    data = full.read_bytes()
    path = tmp / "train.parquet"
    path.write_bytes(data[:388] + b"\xff" * 4 + data[392:])
    return lambda: load_freshretail(path)


@case("fresh_symlink_loop", DataValidationError, "not_found", "symlink loop")
def _(tmp: Path) -> Thunk:
    a, b = tmp / "train.csv", tmp / "other.csv"
    os.symlink(b, a)
    os.symlink(a, b)
    return lambda: load_freshretail(tmp)


@case("fresh_dangling_symlink", DataValidationError, "not_found", "does not exist")
def _(tmp: Path) -> Thunk:
    os.symlink(tmp / "nowhere.csv", tmp / "train.csv")
    return lambda: load_freshretail(tmp)


@case("fresh_no_split", DataValidationError, "not_found", "no FreshRetailNet train split")
def _(tmp: Path) -> Thunk:
    return lambda: load_freshretail(tmp)


# ----------------------------------------------------------------------------- logistics

for _name, _col, _val, _reason, _phrase in [
    ("logistics_shipping_inf", "shipping_costs", "inf", "infinite", "infinite values"),
    ("logistics_shipping_negative", "shipping_costs", "-5", "negative", "costs cannot be"),
    ("logistics_lead_time_nan", "lead_time_days", "NaN", "nan", "NaN values"),
    ("logistics_latitude_95", "vehicle_gps_latitude", "95", "out_of_range", "-90..90"),
    ("logistics_delay_prob_1_5", "delay_probability", "1.5", "out_of_range", "0..1"),
    ("logistics_risk_11", "route_risk_level", "11", "out_of_range", "0..10"),
    ("logistics_timestamp_bad", "timestamp", "yesterday", "not_parsable", "a timestamp"),
    ("logistics_fuel_minus_inf", "fuel_consumption_rate", "-inf", "infinite", "infinite"),
]:
    case(_name, DataValidationError, _reason, _phrase)(logi_cell(_col, _val))


@case("logistics_missing_column", DataValidationError, "missing_column", "shipping_costs")
def _(tmp: Path) -> Thunk:
    path = write(tmp, logi_text().drop("shipping_costs"), "logistics.csv")
    return lambda: load_logistics(path)


@case("logistics_header_only", DataValidationError, "empty", "no data rows")
def _(tmp: Path) -> Thunk:
    path = tmp / "logistics.csv"
    path.write_bytes(LOGI.read_bytes().split(b"\n", 1)[0] + b"\n")
    return lambda: load_logistics(path)


@case("logistics_semicolons", DataValidationError, "unreadable", "semicolons")
def _(tmp: Path) -> Thunk:
    path = tmp / "logistics.csv"
    logi_text().write_csv(path, separator=";")
    return lambda: load_logistics(path)


@case("logistics_utf16", DataValidationError, "unreadable", "UTF-16")
def _(tmp: Path) -> Thunk:
    path = tmp / "logistics.csv"
    path.write_bytes(LOGI.read_text(encoding="utf-8").encode("utf-16"))
    return lambda: load_logistics(path)


@case("logistics_is_a_folder", DataValidationError, "not_found", "no logistics dataset")
def _(tmp: Path) -> Thunk:
    return lambda: load_logistics(tmp)


# ----------------------------------------------------------------------------- outliers

REJECT = OutlierRule(1000.0, "reject")


@case("outlier_sale_5000x", DataValidationError, "outlier", "at least 1000x")
def _(tmp: Path) -> Thunk:
    daily = load_freshretail(FRESH)
    daily = daily.with_columns(
        pl.when(pl.int_range(pl.len()) == 20)
        .then(500.0)
        .otherwise(pl.col("sale_amount"))
        .alias("sale_amount")
    )
    return lambda: cap_sale_outliers(daily, REJECT, "train.csv")


@case("outlier_sale_1e300", DataValidationError, "outlier", "reference median")
def _(tmp: Path) -> Thunk:
    path = write(tmp, set_cell(fresh_text(), 2, "sale_amount", "1e300"))
    daily = load_freshretail(path)  # finite: the schema accepts it, the outlier rule does not
    return lambda: cap_sale_outliers(daily, REJECT, str(path))


@case("outlier_shipping_1e12", DataValidationError, "outlier", "shipping_costs")
def _(tmp: Path) -> Thunk:
    path = write(tmp, set_cell(logi_text(), 2, "shipping_costs", "1e12"), "logistics.csv")
    logistics = load_logistics(path)
    return lambda: cap_logistics_outliers(logistics, REJECT, str(path))


# ----------------------------------------------------------------------------- config


def config_bytes(data: bytes) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = tmp / "rama.toml"
        path.write_bytes(data)
        return lambda: load_config(path)

    return build


case("config_not_utf8", ConfigError, "unreadable", "not UTF-8")(
    config_bytes(b"[run]\nseed = 1\n# caf\xe9\n")
)
case("config_utf16", ConfigError, "unreadable", "UTF-16")(
    config_bytes("[run]\nseed = 1\n".encode("utf-16"))
)
case("config_bad_toml", ConfigError, "unreadable", "not valid TOML")(
    config_bytes(b"[run\nseed = 1\n")
)
case("config_outlier_action", ConfigError, "invalid_config", "data.outlier_action")(
    config_bytes(b'[data]\noutlier_action = "drop"\n')
)
case("config_outlier_ratio_1", ConfigError, "invalid_config", "data.outlier_ratio")(
    config_bytes(b"[data]\noutlier_ratio = 1.0\n")
)
case("config_min_actual_share_2", ConfigError, "invalid_config", "min_actual_share")(
    config_bytes(b"[evaluate]\nmin_actual_share = 2\n")
)


@case("config_is_a_folder", ConfigError, "invalid_config", "is a folder")
def _(tmp: Path) -> Thunk:
    return lambda: load_config(tmp)


@case("config_symlink_loop", ConfigError, "unreadable", "symlink loop")
def _(tmp: Path) -> Thunk:
    a, b = tmp / "a.toml", tmp / "b.toml"
    os.symlink(b, a)
    os.symlink(a, b)
    return lambda: load_config(a)


@case("config_missing", ConfigError, "invalid_config", "does not exist")
def _(tmp: Path) -> Thunk:
    return lambda: load_config(tmp / "nope.toml")


# ----------------------------------------------------------------------------- problem folder


def problem_folder(tmp: Path) -> Path:
    pb = tiny_problem(
        [
            {"store_id": 1, "demand": 5.0, "current_inventory": 1.0},
            {"store_id": 2, "demand": 1.0, "current_inventory": 6.0},
        ],
        {(2, 1): 0.1, (1, 2): 0.1},
    )
    return write_problem(pb, tmp / "problem")


def folder_table(
    table: str, change: Callable[[pl.DataFrame], pl.DataFrame], as_csv: bool = False
) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        folder = problem_folder(tmp)
        df = change(pl.read_parquet(folder / f"{table}.parquet"))
        if as_csv:
            (folder / f"{table}.parquet").unlink()
            df.write_csv(folder / f"{table}.csv")
        else:
            df.write_parquet(folder / f"{table}.parquet")
        return lambda: load_problem(folder)

    return build


def _cell(col: str, value: float, row: int = 0) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def change(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(value).cast(df.schema[col]))
            .otherwise(pl.col(col))
            .alias(col)
        )

    return change


for _name, _table, _change, _reason, _phrase in [
    ("folder_demand_nan", "store_products", _cell("demand", float("nan")), "nan", "NaN"),
    ("folder_demand_inf", "store_products", _cell("demand", float("inf")), "infinite", "finite"),
    ("folder_demand_negative", "store_products", _cell("demand", -1.0), "negative", ">= 0"),
    ("folder_store_negative_id", "stores", _cell("store_id", -2), "negative", "whole numbers"),
    ("folder_route_negative", "transport_costs", _cell("cost", -0.5), "negative", ">= 0"),
    (
        "folder_route_unknown_store",
        "transport_costs",
        _cell("to_store_id", 9),
        "unknown_id",
        "store",
    ),
    (
        "folder_product_without_cost_row",
        "store_products",
        _cell("product_id", 5),
        "unknown_id",
        "not found in the product table",
    ),
    (
        "folder_duplicate_pair",
        "store_products",
        _cell("store_id", 2),
        "duplicate_key",
        "duplicate",
    ),
    (
        "folder_inventory_1e300",
        "store_products",
        _cell("current_inventory", 1e300),
        "out_of_range",
        "above 1e+15",
    ),
    (
        "folder_holding_inf",
        "products",
        _cell("holding_cost", float("inf")),
        "infinite",
        "finite",
    ),
]:
    case(_name, DataValidationError, _reason, _phrase)(folder_table(_table, _change))

case("folder_header_only_csv", DataValidationError, "empty", "has no rows")(
    folder_table("store_products", lambda df: df.head(0), as_csv=True)
)
case("folder_empty_stores", DataValidationError, "empty", "empty network")(
    folder_table("stores", lambda df: df.head(0))
)
case("folder_missing_column", DataValidationError, "missing_column", "demand_std")(
    folder_table("store_products", lambda df: df.drop("demand_std"), as_csv=True)
)


@case("folder_truncated_parquet", DataValidationError, "unreadable", "truncated")
def _(tmp: Path) -> Thunk:
    folder = problem_folder(tmp)
    f = folder / "store_products.parquet"
    f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2])
    return lambda: load_problem(folder)


@case("folder_missing_table", DataValidationError, "not_found", "missing table")
def _(tmp: Path) -> Thunk:
    folder = problem_folder(tmp)
    (folder / "products.parquet").unlink()
    return lambda: load_problem(folder)


@case("folder_utf16_csv", DataValidationError, "unreadable", "UTF-16")
def _(tmp: Path) -> Thunk:
    folder = problem_folder(tmp)
    df = pl.read_parquet(folder / "stores.parquet")
    (folder / "stores.parquet").unlink()
    (folder / "stores.csv").write_bytes(df.write_csv().encode("utf-16"))
    return lambda: load_problem(folder)


@case("folder_not_a_folder", DataValidationError, "not_found", "problem folder not found")
def _(tmp: Path) -> Thunk:
    return lambda: load_problem(tmp / "nothing")


# ----------------------------------------------------------------------------- run boundary


def run_with(change: Callable[[Path], None]) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        run = tiny_run_folder(tmp)
        change(run)
        return lambda: build_run_problem(run, load_config())

    return build


def _hd(fn: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        f = run / "forecast" / "horizon_demand.parquet"
        fn(pl.read_parquet(f)).write_parquet(f)

    return change


def _truncate(rel: str) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        f = run / rel
        f.write_bytes(f.read_bytes()[:40])

    return change


def _ssp(fn: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        f = run / "prepared" / "store_supply_params.csv"
        fn(pl.read_csv(f)).write_csv(f)

    return change


def _city_costs(fn: Callable[[pl.DataFrame], pl.DataFrame]) -> Callable[[Path], None]:
    def change(run: Path) -> None:
        f = run / "prepared" / "city_transport_costs.csv"
        fn(pl.read_csv(f)).write_csv(f)

    return change


for _name, _run_change, _reason, _phrase in [
    ("run_empty_network", _hd(lambda df: df.head(0)), "empty", "empty network"),
    ("run_demand_inf", _hd(_cell("demand", float("inf"))), "infinite", "finite"),
    ("run_demand_std_nan", _hd(_cell("demand_std", float("nan"))), "nan", "NaN"),
    ("run_demand_negative", _hd(_cell("demand", -3.0)), "negative", ">= 0"),
    ("run_demand_1e300", _hd(_cell("demand", 1e300)), "out_of_range", "infinite"),
    (
        "run_truncated_horizon_demand",
        _truncate("forecast/horizon_demand.parquet"),
        "unreadable",
        "truncated",
    ),
    (
        "run_store_without_supply_row",
        _ssp(lambda df: df.filter(pl.col("store_id") != 3)),
        "unknown_id",
        "stores not in",
    ),
    ("run_store_without_city", _ssp(lambda df: df.with_columns(city_id=None)), "null", "city_id"),
    (
        "run_city_without_costs",
        _city_costs(lambda df: df.filter(pl.col("from_city_id") != 5)),
        "unknown_id",
        "cities without transport costs",
    ),
    (
        "run_lead_time_negative",
        _ssp(lambda df: df.with_columns(lead_time_days_mean=-1.0)),
        "negative",
        "lead_time_days_mean",
    ),
]:
    case(_name, DataValidationError, _reason, _phrase)(run_with(_run_change))


def _long_matrix(cost: float) -> Callable[[Path], Thunk]:
    """The store-to-store form (no city table) with one route's cost replaced."""

    def build(tmp: Path) -> Thunk:
        run = tiny_run_folder(tmp, city_form=False)
        f = run / "prepared" / "transport_cost_matrix.parquet"
        _cell("cost", cost)(pl.read_parquet(f)).write_parquet(f)
        lanes = tmp / "lanes.csv"  # with a lane table the long matrix is indexed directly
        lanes.write_text("from_store_id,to_store_id,cost\n1,2,0.5\n", encoding="utf-8")
        inputs = PlannerInputs(lane_costs=lanes)
        return lambda: build_run_problem(run, load_config(), inputs)

    return build


case("run_route_cost_nan", DataValidationError, "nan", "NaN")(_long_matrix(float("nan")))
case("run_route_cost_1e300", DataValidationError, "out_of_range", "1e+15")(_long_matrix(1e300))


@case("inventory_symlink_loop", DataValidationError, "not_found", "symlink loop")
def _(tmp: Path) -> Thunk:
    a, b = tmp / "inv.csv", tmp / "inv2.csv"
    os.symlink(b, a)
    os.symlink(a, b)
    return lambda: inventory_on_hand(a, PAIRS)


@case("folder_table_symlink_loop", DataValidationError, "not_found", "symlink loop")
def _(tmp: Path) -> Thunk:
    folder = problem_folder(tmp)
    (folder / "stores.parquet").unlink()
    os.symlink(folder / "stores.parquet", folder / "stores.parquet")
    return lambda: load_problem(folder)


# ----------------------------------------------------------------------------- planner tables

PAIRS = pl.DataFrame({"store_id": [1, 1, 2, 3], "product_id": [7, 8, 7, 7]})


def planner(text: str | bytes, read: Callable[[Path], Any], name: str) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = tmp / name
        if isinstance(text, str):
            path.write_text(text, encoding="utf-8")
        else:
            path.write_bytes(text)
        return lambda: read(path)

    return build


def _inventory(path: Path) -> Any:
    return inventory_on_hand(path, PAIRS)


for _name, _text, _reason, _phrase in [
    ("inventory_inf", "store_id,product_id,on_hand\n1,7,inf\n", "infinite", "finite"),
    ("inventory_negative", "store_id,product_id,on_hand\n1,7,-2\n", "negative", ">= 0"),
    ("inventory_nan", "store_id,product_id,on_hand\n1,7,nan\n", "nan", "NaN"),
    ("inventory_blank", "store_id,product_id,on_hand\n1,7,\n", "null", "missing values"),
    (
        "inventory_unknown_pair",
        "store_id,product_id,on_hand\n9,7,1\n",
        "unknown_id",
        "not in the forecast",
    ),
    ("inventory_negative_store", "store_id,product_id,on_hand\n-1,7,1\n", "negative", "ids"),
    ("inventory_duplicate", "store_id,product_id,on_hand\n1,7,1\n1,7,2\n", "duplicate_key", "dup"),
    ("inventory_header_only", "store_id,product_id,on_hand\n", "empty", "no data rows"),
    ("inventory_semicolons", "store_id;product_id;on_hand\n1;7;1\n", "unreadable", "semicolons"),
    ("inventory_missing_column", "store_id,on_hand\n1,1\n", "missing_column", "product_id"),
    ("inventory_1e300", "store_id,product_id,on_hand\n1,7,1e300\n", "out_of_range", "above 1e+15"),
]:
    case(_name, DataValidationError, _reason, _phrase)(planner(_text, _inventory, "inv.csv"))

case("inventory_utf16", DataValidationError, "unreadable", "UTF-16")(
    planner("store_id,product_id,on_hand\n1,7,1\n".encode("utf-16"), _inventory, "inv.csv")
)
case("inventory_not_utf8", DataValidationError, "unreadable", "not UTF-8")(
    planner(b"store_id,product_id,on_hand\n1,7,\xff\n", _inventory, "inv.csv")
)
case("inventory_zero_bytes", DataValidationError, "empty", "is empty")(
    planner(b"", _inventory, "inv.csv")
)
case("inventory_truncated_parquet", DataValidationError, "unreadable", "truncated")(
    planner(b"PAR1\x00\x01garbage", _inventory, "inv.parquet")
)

STORES = pl.DataFrame({"store_id": [1, 2, 3, 4], "city_id": [0, 0, 5, 5]})


def _lanes(path: Path) -> Any:
    return read_lane_costs(path, STORES)


for _name, _text, _reason, _phrase in [
    ("lane_cost_inf", "from_store_id,to_store_id,cost\n1,2,inf\n", "infinite", "finite"),
    ("lane_cost_negative", "from_store_id,to_store_id,cost\n1,2,-1\n", "negative", ">= 0"),
    ("lane_unknown_store", "from_store_id,to_store_id,cost\n1,9,1\n", "unknown_id", "store"),
    ("lane_cost_1e20", "from_store_id,to_store_id,cost\n1,2,1e20\n", "out_of_range", "1e+15"),
    ("lane_to_itself", "from_store_id,to_store_id,cost\n2,2,1\n", "out_of_range", "itself"),
    ("lane_unknown_city", "from_city_id,to_city_id,cost\n0,7,1\n", "unknown_id", "city"),
    ("lane_no_form", "a,b,cost\n0,7,1\n", "missing_column", "neither"),
    ("lane_open_2", "from_store_id,to_store_id,cost,open\n1,2,1,2\n", "out_of_range", "open"),
]:
    case(_name, DataValidationError, _reason, _phrase)(planner(_text, _lanes, "lanes.csv"))

PRODUCTS = pl.DataFrame(
    {
        "product_id": [7, 8],
        "holding_cost": [0.7, 0.7],
        "stockout_penalty": [2.5, 2.5],
        "manufacturing_cost": [1.0, 1.0],
        "max_production": [10.0, 10.0],
    }
)


def _product_costs(path: Path) -> Any:
    return apply_product_costs(PRODUCTS, path)


for _name, _text, _reason, _phrase in [
    ("product_cost_unknown", "product_id,holding_cost\n99,1\n", "unknown_id", "product"),
    ("product_cost_negative", "product_id,holding_cost\n7,-1\n", "negative", ">= 0"),
    ("product_cost_inf", "product_id,stockout_penalty\n7,inf\n", "infinite", "finite"),
    ("product_cost_no_columns", "product_id,colour\n7,red\n", "missing_column", "none of"),
]:
    case(_name, DataValidationError, _reason, _phrase)(planner(_text, _product_costs, "pc.csv"))

SP = pl.DataFrame(
    {
        "store_id": [1, 2],
        "product_id": [7, 7],
        "demand": [1.0, 1.0],
        "current_inventory": [10.0, 1.0],
        "safety_stock": [9.0, 0.0],
        "max_capacity": [20.0, 20.0],
    }
)


def _capacities(path: Path) -> Any:
    return apply_capacities(SP, path)


for _name, _text, _reason, _phrase in [
    # store 1 must keep 9 units (10 on hand - 1 demand, none shippable above safety stock 9)
    (
        "capacity_below_safety_stock",
        "store_id,product_id,max_capacity\n1,7,2\n",
        "out_of_range",
        "least_capacity",
    ),
    ("capacity_negative", "store_id,product_id,max_capacity\n1,7,-1\n", "negative", ">= 0"),
    ("capacity_nan", "store_id,product_id,max_capacity\n1,7,nan\n", "nan", "NaN"),
    ("capacity_1e18", "store_id,product_id,max_capacity\n1,7,1e18\n", "out_of_range", "1e+15"),
    ("capacity_unknown_pair", "store_id,product_id,max_capacity\n5,7,1\n", "unknown_id", "pairs"),
]:
    case(_name, DataValidationError, _reason, _phrase)(planner(_text, _capacities, "cap.csv"))


# ----------------------------------------------------------------------------- evaluate truth


def eval_run(tmp: Path, truth: pl.DataFrame | bytes, days: int = 7) -> Path:
    """A run folder whose realized demand is ``truth`` (latent form) for the problem below."""
    run, data = tmp / "run", tmp / "data"
    (run / "forecast").mkdir(parents=True)
    (data / "truth").mkdir(parents=True)
    week = [f"2024-07-0{d}" for d in range(1, days + 1)]
    pl.DataFrame({"dt": week}).write_parquet(run / "forecast" / "demand_forecast.parquet")
    target = data / "truth" / "latent_demand.parquet"
    if isinstance(truth, bytes):
        target.write_bytes(truth)
    else:
        truth.write_parquet(target)
    manifest = {"data_dir": str(data), "has_truth": True, "has_eval": False}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run


EVAL_PROBLEM = tiny_problem(
    [{"store_id": s, "demand": 7.0, "current_inventory": 3.0} for s in (1, 2, 3, 4)], {}
)


def truth_frame(stores: list[int], days: list[int]) -> pl.DataFrame:
    rows = [
        {"store_id": s, "product_id": 1, "dt": f"2024-07-0{d}", "latent_demand": 1.0}
        for s in stores
        for d in days
    ]
    return pl.DataFrame(rows)


def truth_case(truth: pl.DataFrame | bytes, days: int = 7) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        run = eval_run(tmp, truth, days)
        return lambda: realized_demand(run, load_config(), EVAL_PROBLEM, "latent")

    return build


case("truth_one_of_four_pairs", StageInputError, "missing_rows", "covers 1 of the 4")(
    truth_case(truth_frame([1], list(range(1, 8))))
)
case("truth_horizon_longer_than_eval", StageInputError, "missing_rows", "absent from it")(
    truth_case(truth_frame([1, 2, 3, 4], [1, 2, 3]))
)
case("truth_truncated_parquet", DataValidationError, "unreadable", "truncated")(
    truth_case(b"PAR1 this is not a whole file")
)
case("truth_negative_demand", DataValidationError, "negative", "negative latent demand")(
    truth_case(truth_frame([1, 2, 3, 4], list(range(1, 8))).with_columns(latent_demand=-1.0))
)
case("truth_missing_column", DataValidationError, "missing_column", "latent_demand")(
    truth_case(truth_frame([1, 2, 3, 4], list(range(1, 8))).drop("latent_demand"))
)


# ----------------------------------------------------------------------------- rama's JSON


def json_case(data: bytes) -> Callable[[Path], Thunk]:
    def build(tmp: Path) -> Thunk:
        path = tmp / "summary.json"
        path.write_bytes(data)
        return lambda: read_json(path, "report", "re-run `rama optimize`")

    return build


case("json_truncated", StageInputError, "unreadable", "not valid JSON")(
    json_case(b'{"status": "optimal", "objecti')
)
case("json_not_utf8", StageInputError, "missing_stage_input", "cannot be read")(
    json_case(b'{"a": "\xff"}')
)


@case("json_missing", StageInputError, "missing_stage_input", "not found")
def _(tmp: Path) -> Thunk:
    return lambda: read_json(tmp / "summary.json", "report", "re-run `rama optimize`")


# ----------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_a_clear_error(name: str, tmp_path: Path) -> None:
    c = CASES[name]
    call = c.build(tmp_path)
    with pytest.raises(RamaError) as info:
        call()
    err = info.value
    assert isinstance(err, c.error), f"{type(err).__name__}: {err}"
    assert err.reason == c.reason, f"{err.reason}: {err}"
    assert c.phrase.lower() in str(err).lower(), str(err)
    if isinstance(err, DataValidationError):
        assert err.reason in REASONS
        assert err.source and err.fix, str(err)


def test_count_of_bad_inputs() -> None:
    print(f"\n{len(CASES)} distinct bad inputs covered")
    assert len(CASES) >= 60


# ----------------------------------------------------------------------------- handled inputs


def test_header_only_problem_table_is_empty_not_a_type_error(tmp_path: Path) -> None:
    """A header-only CSV table is read as an empty table of the right columns; an optional
    table such as demand_points then says 'missing rows', not 'expected integers'."""
    folder = problem_folder(tmp_path)
    (folder / "demand_points.csv").write_text("store_id,product_id,point_1\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        load_problem(folder)
    assert info.value.reason == "missing_rows"
    assert "without demand points" in str(info.value)


def test_capped_outliers_are_reported(tmp_path: Path) -> None:
    daily = load_freshretail(FRESH).with_columns(
        pl.when(pl.int_range(pl.len()) == 20)
        .then(500.0)
        .otherwise(pl.col("sale_amount"))
        .alias("sale_amount")
    )
    with pytest.warns(DataWarning, match="1 outlier value"):
        capped, report = cap_sale_outliers(daily, OutlierRule(1000.0, "cap"), "train.csv")
    assert report.height == 1
    row = report.row(0, named=True)
    assert row["value"] == 500.0 and row["action"] == "cap"
    assert "store_id=0 product_id=38" in row["key"]
    # replaced by the largest ordinary day of the series, and nothing else changed
    series = daily.filter(pl.col("product_id") == 38)["sale_amount"]
    assert row["replaced_by"] == pytest.approx(series.filter(series < 500).max())
    assert capped["sale_amount"][20] == row["replaced_by"]
    assert capped.drop("sale_amount").equals(daily.drop("sale_amount"))
    assert (capped["sale_amount"] != daily["sale_amount"]).sum() == 1


def test_outlier_check_off_and_clean_data_untouched() -> None:
    daily = load_freshretail(FRESH)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same, report = cap_sale_outliers(daily, OutlierRule(1000.0, "cap"), "x")
        assert same is daily and report.height == 0
        big = daily.with_columns(pl.lit(1e300).alias("sale_amount"))
        off, report = cap_sale_outliers(big, OutlierRule(0.0, "cap"), "x")
        assert off is big and report.height == 0


def test_shipping_outlier_capped_keeps_routes(tmp_path: Path) -> None:
    path = write(tmp_path, set_cell(logi_text(), 2, "shipping_costs", "1e12"), "l.csv")
    logistics = load_logistics(path)
    with pytest.warns(DataWarning, match="shipping_costs"):
        capped, report = cap_logistics_outliers(logistics, OutlierRule(1000.0, "cap"), str(path))
    assert report["column"].to_list() == ["shipping_costs"]
    assert float(capped["shipping_costs"].to_numpy().max()) < 1e4
    assert np.isfinite(capped["shipping_costs"].to_numpy()).all()


def test_truth_missing_store_and_day_are_excluded_and_counted(tmp_path: Path) -> None:
    """Store 4 has no row and store 3 lacks a day: both are excluded (NaN), never zero."""
    truth = truth_frame([1, 2, 3], list(range(1, 8))).filter(
        ~((pl.col("store_id") == 3) & (pl.col("dt") == "2024-07-04"))
    )
    run = eval_run(tmp_path, truth)
    actual, note = realized_demand(run, load_config(), EVAL_PROBLEM, "latent")
    assert actual is not None
    order = EVAL_PROBLEM.store_ids[EVAL_PROBLEM.pair_store].tolist()
    got = dict(zip(order, actual.tolist(), strict=True))
    assert got[1] == 7.0 and got[2] == 7.0
    assert np.isnan(got[3]) and np.isnan(got[4])
    assert note["pairs_scored"] == 2 and note["pairs_excluded"] == 2
    assert note["pairs_without_actuals"] == 1 and note["pairs_missing_days"] == 1
    assert note["days_missing"] == []


def test_excluded_pairs_do_not_count_as_zero_demand() -> None:
    """Hand-computed: two stores hold 3 units each; store 1 sold 7, store 2 has no actuals.
    Scored as zero demand, store 2 would add 3 units left over ($2.10 holding) and a 50%
    service level; excluded, only store 1 counts: 4 short ($10), fill rate 3/7."""
    from rama.evaluate.compare import score_realized
    from rama.strategies import Decision

    pb = tiny_problem(
        [{"store_id": s, "demand": 7.0, "current_inventory": 3.0} for s in (1, 2)], {}
    )
    dec = Decision.allocation_only("do_nothing", np.zeros(2))
    fig = score_realized(dec, pb, np.array([7.0, np.nan]))
    assert fig["stockout"] == pytest.approx(10.0)
    assert fig["holding"] == pytest.approx(0.0)
    assert fig["demand_units"] == pytest.approx(7.0)
    assert fig["fill_rate"] == pytest.approx(3 / 7)
    assert fig["cycle_service_level"] == 0.0
    assert fig["pairs_scored"] == 1


def test_single_store_real_sample_prepares(tmp_path: Path) -> None:
    """The repository's real sample has one store in one city: prepare works on it."""
    from rama.prepare import prepare

    data = tmp_path / "D"
    data.mkdir()
    shutil.copy(FRESH, data / "train.csv")
    shutil.copy(LOGI, data / "logistics.csv")
    result = prepare(data, tmp_path / "R", load_config())
    assert (result.stores, result.cities, result.products) == (1, 1, 2)
    assert result.tables["transport_cost_matrix.parquet"] == 0
    assert result.outliers == 0
    assert (tmp_path / "R" / "prepared" / "outliers.csv").is_file()


def test_partial_inventory_default_is_zero_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "inv.csv"
    path.write_text("store_id,product_id,on_hand\n1,7,4\n", encoding="utf-8")
    on_hand, listed = inventory_on_hand(path, PAIRS)
    assert on_hand.tolist() == [4.0, 0.0, 0.0, 0.0] and listed == 1
    run = tiny_run_folder(tmp_path)
    _, report = build_run_problem(run, load_config(), PlannerInputs(inventory=path))
    assert (report.pairs_listed, report.pairs_unlisted) == (1, 3)
