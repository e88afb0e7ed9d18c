"""The schema language (rama.schema) on hand-made frames: every reason code, its message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.data.readers import read_raw
from rama.errors import DataValidationError
from rama.problem import align_pairs, make_problem
from rama.problem.build import INVENTORY
from rama.problem.model import SCHEMAS
from rama.schema import (
    REASONS,
    Column,
    Dependency,
    RowRule,
    TableSchema,
    check_missing,
    check_unique,
    coerce,
    date_column,
    id_column,
    integer,
    known_positions,
    list_column,
    nonneg,
    number,
    require_columns,
    string,
    validate,
)

SRC = "tables/stock.csv"

STOCK = TableSchema(
    "stock",
    (
        id_column("store_id"),
        nonneg("on_hand", "units"),
        nonneg("capacity", "units; inf = unlimited", allow_inf=True),
        string("label", required=False),
    ),
    rules=(
        RowRule(
            "capacity",
            (pl.col("capacity") > 1e6) & pl.col("capacity").is_finite(),
            "capacity <= 1e6 (or inf)",
            "cap it",
        ),
    ),
    unique_keys=("store_id",),
)


def good() -> pl.DataFrame:
    return pl.DataFrame(
        {"store_id": [1, 2, 3], "on_hand": [1.0, 2.0, 3.0], "capacity": [5.0, 5.0, np.inf]}
    )


def expect(
    run: Callable[[], object],
    reason: str,
    column: str | None,
    count: int | None,
    *phrases: str,
    source: str = SRC,
) -> DataValidationError:
    """``run`` raises a DataValidationError with this reason, naming source, column, count, fix."""
    with pytest.raises(DataValidationError) as info:
        run()
    err = info.value
    msg = str(err)
    assert err.reason == reason, msg
    assert reason in REASONS
    assert err.source == source and msg.startswith(source), msg
    assert err.column == column, msg
    if column is not None:
        assert f"column {column!r}" in msg, msg
    assert err.count == count, msg
    if count is not None:
        assert f"({count} row{'s' if count != 1 else ''})" in msg, msg
    assert err.fix and f"Fix: {err.fix}" in msg, msg
    for phrase in phrases:
        assert phrase in msg, msg
    return err


# ----------------------------------------------------------------------------- valid input


def test_valid_table_is_cast_and_ordered() -> None:
    raw = pl.DataFrame(
        {
            "capacity": [5, 7],
            "label": ["a", "b"],
            "on_hand": [1, 0],
            "store_id": [1.0, 2.0],  # whole floats are ids
        }
    )
    out = validate(raw, STOCK, SRC)
    assert out.columns == ["store_id", "on_hand", "capacity", "label"]
    assert out.schema["store_id"] == pl.Int64 and out.schema["on_hand"] == pl.Float64
    assert out["store_id"].to_list() == [1, 2] and out["capacity"].to_list() == [5.0, 7.0]
    # optional columns may be absent; inf allowed where declared
    assert validate(good(), STOCK, SRC).columns == ["store_id", "on_hand", "capacity"]
    assert STOCK.columns["label"] == pl.String and STOCK.required == [
        "store_id",
        "on_hand",
        "capacity",
    ]


def test_text_columns_are_parsed() -> None:
    raw = good().with_columns(pl.all().cast(pl.String))
    out = STOCK.validate(raw, SRC)
    assert out.equals(validate(good(), STOCK, SRC))


def test_keep_dtypes_keeps_numeric_widths_and_extra_columns() -> None:
    schema = TableSchema(
        "s",
        (id_column("store_id"), date_column("dt"), number("x")),
        allow_extra_columns=True,
        keep_dtypes=True,
    )
    raw = pl.DataFrame(
        {"extra": [[1], [2]], "store_id": [1, 2], "dt": ["2024-01-01", "2024-01-02"], "x": [1, 2]},
        schema_overrides={"store_id": pl.Int32, "x": pl.Int16},
    )
    out = validate(raw, schema, SRC)
    assert out.columns == raw.columns
    assert out.schema["store_id"] == pl.Int32 and out.schema["x"] == pl.Int16
    assert out["dt"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 1, 2)]


def test_problem_schemas_are_written_in_the_language() -> None:
    assert set(SCHEMAS) == {"store_products", "products", "stores", "transport_costs"}
    assert all(isinstance(s, TableSchema) for s in SCHEMAS.values())
    assert SCHEMAS["stores"].required == ["store_id", "distribution_cost"]
    assert INVENTORY.required == ["store_id", "product_id", "on_hand"]


# ----------------------------------------------------------------------------- reason codes


def test_missing_column() -> None:
    expect(
        lambda: validate(good().drop("on_hand"), STOCK, SRC),
        "missing_column",
        "on_hand",
        None,
        "missing column(s) ['on_hand']",
        "found ['store_id', 'capacity']",
    )
    expect(
        lambda: require_columns(good(), ["store_id", "x"], SRC, fix="add x"),
        "missing_column",
        "x",
        None,
        "Fix: add x",
    )


def test_unexpected_column() -> None:
    expect(
        lambda: validate(good().with_columns(pl.lit(1).alias("zone")), STOCK, SRC),
        "unexpected_column",
        "zone",
        None,
        "unexpected column(s) ['zone']",
    )


def test_empty() -> None:
    schema = TableSchema("stock", (id_column("store_id"),), min_rows=1)
    expect(
        lambda: validate(
            pl.DataFrame({"store_id": []}, schema={"store_id": pl.Int64}), schema, SRC
        ),
        "empty",
        None,
        None,
        "has no data rows",
    )
    # by default an empty table is valid
    assert validate(good().head(0), STOCK, SRC).height == 0


def test_wrong_dtype() -> None:
    raw = good().with_columns(pl.lit(dt.date(2024, 1, 1)).alias("on_hand"))
    expect(
        lambda: validate(raw, STOCK, SRC),
        "wrong_dtype",
        "on_hand",
        3,
        "has type Date; expected a number (Float64)",
    )


def test_not_parsable() -> None:
    raw = good().with_columns(pl.Series("store_id", [1.0, 2.5, 3.0]))
    err = expect(
        lambda: validate(raw, STOCK, SRC),
        "not_parsable",
        "store_id",
        1,
        "cannot be read as an integer (Int64)",
    )
    assert err.examples == [{"row": 1, "line": 3, "store_id": 2.5}]
    text = good().with_columns(pl.Series("on_hand", ["1", "two", "3"]))
    expect(
        lambda: validate(text, STOCK, SRC),
        "not_parsable",
        "on_hand",
        1,
        "'on_hand': 'two'",
    )


def test_null_and_nan() -> None:
    raw = good().with_columns(pl.Series("on_hand", [None, 2.0, None]))
    expect(lambda: validate(raw, STOCK, SRC), "null", "on_hand", 2, "missing values (null)")
    raw = good().with_columns(pl.Series("on_hand", [np.nan, 2.0, 3.0]))
    err = expect(lambda: validate(raw, STOCK, SRC), "nan", "on_hand", 1, "NaN values")
    assert err.examples[0]["row"] == 0 and err.examples[0]["store_id"] == 1
    both = good().with_columns(pl.Series("on_hand", [np.nan, None, 3.0]))
    expect(lambda: check_missing(both, ["on_hand"], SRC), "null", "on_hand", 2, "null or NaN")


def test_negative_and_infinite() -> None:
    raw = good().with_columns(pl.Series("on_hand", [-1.0, 2.0, -3.0]))
    expect(
        lambda: validate(raw, STOCK, SRC),
        "negative",
        "on_hand",
        2,
        "expected values >= 0 (units)",
        "on_hand must be >= 0",
    )
    raw = good().with_columns(pl.Series("on_hand", [np.inf, 2.0, 3.0]))
    expect(lambda: validate(raw, STOCK, SRC), "infinite", "on_hand", 1, "must be finite")


def test_row_rule_out_of_range() -> None:
    raw = good().with_columns(pl.Series("capacity", [5.0, 2e6, 3e6]))
    expect(
        lambda: validate(raw, STOCK, SRC),
        "out_of_range",
        "capacity",
        2,
        "expected capacity <= 1e6 (or inf)",
        "cap it",
    )


def test_wrong_length() -> None:
    schema = TableSchema(
        "hours",
        (list_column("h", pl.Float64()),),
        rules=(
            RowRule("h", pl.col("h").list.len() != 2, "2 values", "write 2", reason="wrong_length"),
        ),
    )
    expect(
        lambda: validate(pl.DataFrame({"h": [[1.0, 2.0], [1.0]]}), schema, SRC),
        "wrong_length",
        "h",
        1,
    )


def test_duplicate_key() -> None:
    raw = good().with_columns(pl.Series("store_id", [1, 2, 1]))
    err = expect(
        lambda: validate(raw, STOCK, SRC),
        "duplicate_key",
        "store_id",
        2,
        "duplicate store_id",
        "keep one row per store_id",
    )
    assert [e["row"] for e in err.examples] == [0, 2]
    expect(
        lambda: check_unique(pl.DataFrame({"a": [1, 1], "b": [2, 2]}), ["a", "b"], SRC),
        "duplicate_key",
        "a",
        2,
        "duplicate a/b",
    )


def _series(days: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"s": [1] * len(days), "dt": [dt.date(2024, 1, d) for d in days], "x": [0] * len(days)}
    )


SERIES = TableSchema(
    "series",
    (integer("s"), date_column("dt"), integer("x")),
    id_columns=("s", "dt"),
    series_keys=("s",),
    time_column="dt",
)


def test_series_duplicates_and_gaps() -> None:
    assert validate(_series([1, 2, 3]), SERIES, SRC).height == 3
    expect(
        lambda: validate(_series([1, 2, 2]), SERIES, SRC),
        "duplicate_key",
        "dt",
        2,
        "duplicate rows",
    )
    expect(
        lambda: validate(_series([1, 2, 4]), SERIES, SRC),
        "not_contiguous",
        "dt",
        1,
        "dates not contiguous",
        "'previous_day': '2024-01-02'",
    )


def test_inconsistent_dependency() -> None:
    schema = TableSchema(
        "stores",
        (integer("store_id"), integer("city_id")),
        dependencies=(Dependency("store_id", ("city_id",), "a store is in one city"),),
    )
    raw = pl.DataFrame({"store_id": [1, 1, 2], "city_id": [5, 6, 7]})
    expect(
        lambda: validate(raw, schema, SRC),
        "inconsistent",
        "city_id",
        2,
        "more than one city_id",
        "a store is in one city",
    )


def test_unknown_id_and_missing_rows() -> None:
    df = pl.DataFrame({"store_id": [1, 9]})
    expect(
        lambda: known_positions(df, "store_id", np.array([1, 2]), "store", SRC),
        "unknown_id",
        "store_id",
        1,
        "store_id not found in the store table",
        "'store_id': 9",
    )
    assert known_positions(df.head(1), "store_id", np.array([1, 2]), "store", SRC).tolist() == [0]
    keys = pl.DataFrame({"store_id": [1, 1], "product_id": [7, 8]})
    inv = pl.DataFrame({"store_id": [1, 2], "product_id": [7, 7], "on_hand": [1.0, 1.0]})

    def align(df: pl.DataFrame) -> pl.DataFrame:
        return align_pairs(
            df,
            keys,
            SRC,
            value="on_hand",
            extra=("pairs not in keys", "drop"),
            missing=("absent", "add"),
        )

    expect(lambda: align(inv), "unknown_id", None, 1, "pairs not in keys")
    expect(lambda: align(inv.head(1)), "missing_rows", None, 1, "absent")
    expect(
        lambda: align(pl.concat([inv, inv])),
        "duplicate_key",
        "store_id",
        4,
        "duplicate store_id/product_id",
    )


def test_size_mismatch() -> None:
    sp = pl.DataFrame(
        {
            "store_id": [1],
            "product_id": [7],
            "demand": [1.0],
            "demand_std": [0.0],
            "current_inventory": [0.0],
            "safety_stock": [0.0],
            "max_capacity": [np.inf],
        }
    )
    pr = pl.DataFrame(
        {
            "product_id": [7],
            "holding_cost": [0.1],
            "stockout_penalty": [1.0],
            "manufacturing_cost": [1.0],
            "max_production": [np.inf],
        }
    )
    st = pl.DataFrame({"store_id": [1], "distribution_cost": [0.1]})
    expect(
        lambda: make_problem(sp, pr, st, np.ones((2, 2))),
        "size_mismatch",
        None,
        None,
        "matrix is for 2 stores",
        source="transport_costs (in memory)",
    )


def test_not_found_and_unreadable(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.csv")
    expect(lambda: read_raw(Path(missing)), "not_found", None, None, source=missing)
    broken = tmp_path / "broken.parquet"
    broken.write_text("not parquet")
    expect(lambda: read_raw(broken), "unreadable", None, None, source=str(broken))


def test_coerce_one_column() -> None:
    df = pl.DataFrame({"dt": ["2024-01-01", "bad"], "x": [1, 2]})
    expect(
        lambda: coerce(df, date_column("dt"), SRC),
        "not_parsable",
        "dt",
        1,
        "cannot be read as a date YYYY-MM-DD",
    )
    out = coerce(df.head(1), date_column("dt"), SRC)
    assert out.schema["dt"] == pl.Date and out.schema["x"] == pl.Int64


# ----------------------------------------------------------------------------- issue 11


def test_blank_text_cell_is_a_null_not_a_parse_error() -> None:
    """A quoted empty field ("") or spaces read as text is a missing value (reason null)."""
    schema = TableSchema("t", (id_column("store_id"), nonneg("on_hand", "units")))
    with pytest.raises(DataValidationError) as info:
        validate(pl.DataFrame({"store_id": ["1", "2"], "on_hand": ["3", "  "]}), schema, "t.csv")
    assert info.value.reason == "null" and info.value.count == 1
    assert info.value.examples[0]["line"] == 3
    nullable = TableSchema(
        "t", (id_column("store_id"), Column("cost", pl.Float64(), nullable=True))
    )
    out = validate(pl.DataFrame({"store_id": ["1"], "cost": [""]}), nullable, "t.csv")
    assert out["cost"].to_list() == [None]


def test_ids_are_non_negative() -> None:
    schema = TableSchema("t", (id_column("store_id"),))
    with pytest.raises(DataValidationError) as info:
        validate(pl.DataFrame({"store_id": [3, -1, -2]}), schema, "t")
    assert (info.value.reason, info.value.count) == ("negative", 2)
    assert "ids: whole numbers >= 0" in str(info.value)


def test_check_magnitudes_names_rows_and_allows_inf() -> None:
    from rama.schema import MAX_MAGNITUDE, check_magnitudes

    df = pl.DataFrame({"store_id": [1, 2, 3], "q": [1.0, float("inf"), 2e15]})
    with pytest.raises(DataValidationError) as info:
        check_magnitudes(df, ["q"], "t.parquet", id_columns=["store_id"])
    err = info.value
    assert (err.reason, err.column, err.count) == ("out_of_range", "q", 1)
    assert err.examples[0]["store_id"] == 3
    check_magnitudes(df.head(2), ["q"], "t.parquet")  # inf is 'unlimited', not a magnitude
    check_magnitudes(df.with_columns(q=pl.lit(MAX_MAGNITUDE)), ["q"], "t")


def test_outlier_reason_is_listed() -> None:
    assert "outlier" in REASONS


@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)), min_size=0, max_size=30
    ),
    sort=st.booleans(),
)
@settings(max_examples=80, deadline=None, derandomize=True)
def test_check_unique_sorted_fast_path_agrees_with_hashing(
    rows: list[tuple[int, int, int]], sort: bool
) -> None:
    """Sorted or not, with or without duplicates: check_unique raises exactly when a key
    repeats (the sorted pass and the hash give the same verdict)."""
    from rama.schema import check_unique

    if sort:
        rows = sorted(rows)
    df = pl.DataFrame(
        rows, schema={"a": pl.Int64, "b": pl.Int64, "d": pl.Int64}, orient="row"
    ).with_columns((pl.date(2024, 1, 1) + pl.duration(days=pl.col("d"))).alias("d"))
    dup = len(set(rows)) < len(rows)
    if dup:
        with pytest.raises(DataValidationError, match="duplicate a/b/d") as err:
            check_unique(df, ["a", "b", "d"], "t")
        assert err.value.reason == "duplicate_key"
    else:
        check_unique(df, ["a", "b", "d"], "t")
    # a null key skips the sorted pass: the hash decides (nulls count as equal)
    check_unique(pl.DataFrame({"a": [None, 1]}, schema={"a": pl.Int64}), ["a"], "t")
