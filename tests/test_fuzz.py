"""Fuzzing the readers: malformed files must give a RamaError or a valid result, never
another exception (hypothesis, derandomized, a fixed budget of examples per reader).

Each test starts from a valid file (the real samples in tests/data, a tiny problem folder,
small planner tables), applies one random mutation (a cell set to a random token such as
``nan``, ``inf``, ``-1``, ``1e308`` or text; a column dropped, duplicated or added; the
bytes truncated, overwritten with non-UTF-8 or NUL bytes; the delimiter changed; the rows
removed) and reads it. A random small problem's plan always passes the independent check.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rama.data import load_freshretail, load_logistics
from rama.errors import RamaError
from rama.problem import load_problem
from rama.problem.folder import write_problem
from rama.problem.planner_tables import (
    apply_capacities,
    apply_product_costs,
    inventory_on_hand,
    read_lane_costs,
)
from rama.testing.builders import random_problem, tiny_problem

REPO = Path(__file__).resolve().parents[1]
FRESH = REPO / "tests" / "data" / "freshretailnet" / "sample_train_100.csv"
LOGI = REPO / "tests" / "data" / "logistics" / "sample_head5.csv"

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOKENS = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e308",
            "1e400",
            "-1",
            "-0",
            "0",
            "1.5",
            "99999999999999999999999",
            "abc",
            "[1, 2]",
            "[]",
            "2024-02-30",
            "null",
            "true",
            '"',
            "é",
            "<script>",
        ]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)


# ----------------------------------------------------------------------------- mutations


def _set_cell(df: pl.DataFrame, row: int, col: str, value: str) -> pl.DataFrame:
    return df.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=pl.String))
        .otherwise(pl.col(col).cast(pl.String))
        .alias(col)
    )


@st.composite
def mutated_csv(draw: st.DrawFn, base: pl.DataFrame) -> bytes:
    """``base`` (text columns) with one random mutation, as CSV bytes."""
    kind = draw(
        st.sampled_from(
            [
                "cell",
                "cells",
                "drop",
                "extra",
                "rename",
                "rows",
                "truncate",
                "bytes",
                "delimiter",
                "utf16",
                "dup_row",
            ]
        )
    )
    df = base
    cols = df.columns
    if kind in ("cell", "cells"):
        for _ in range(1 if kind == "cell" else draw(st.integers(2, 6))):
            col = draw(st.sampled_from(cols))
            row = draw(st.integers(0, df.height - 1))
            df = _set_cell(df, row, col, draw(TOKENS))
    elif kind == "drop":
        df = df.drop(draw(st.sampled_from(cols)))
    elif kind == "extra":
        df = df.with_columns(pl.lit(draw(TOKENS)).alias(draw(st.text(min_size=1, max_size=6))))
    elif kind == "rename":
        col = draw(st.sampled_from(cols))
        new = draw(st.text(min_size=1, max_size=8))
        if new not in cols:
            df = df.rename({col: new})
    elif kind == "rows":
        n = draw(st.integers(0, df.height))
        df = df.head(n)
    elif kind == "dup_row":
        df = pl.concat([df, df.slice(draw(st.integers(0, df.height - 1)), 1)])
    data = df.write_csv().encode("utf-8")
    if kind == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif kind == "bytes":
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        junk = draw(st.binary(min_size=1, max_size=8))
        data = data[:at] + junk + data[at + len(junk) :]
    elif kind == "delimiter":
        sep = draw(st.sampled_from([";", "\t", "|"]))
        data = df.write_csv(separator=sep).encode("utf-8")
    elif kind == "utf16":
        data = data.decode("utf-8").encode("utf-16")
    return data


def _read_or_rama_error(read: Callable[[Path], Any], path: Path) -> Any:
    """``read(path)``; a RamaError is an accepted outcome, any other exception fails."""
    try:
        return read(path)
    except RamaError as exc:
        assert str(exc), "a RamaError must say what is wrong"
        return None


def _in_tmp(data: bytes, name: str, read: Callable[[Path], Any]) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return _read_or_rama_error(read, path)


# ----------------------------------------------------------------------------- raw loaders

FRESH_TEXT = pl.read_csv(FRESH, infer_schema=False)
LOGI_TEXT = pl.read_csv(LOGI, infer_schema=False)


@FUZZ
@given(mutated_csv(FRESH_TEXT))
def test_freshretail_csv_reader(data: bytes) -> None:
    out = _in_tmp(data, "train.csv", load_freshretail)
    if out is not None:  # a valid result satisfies the contract
        assert out.schema["dt"] == pl.Date and out.schema["sale_amount"] == pl.Float64
        assert np.isfinite(out["sale_amount"].to_numpy()).all()
        assert (out["store_id"] >= 0).all()


@FUZZ
@given(st.integers(0, 10_000), st.binary(max_size=16), st.sampled_from(["cut", "patch"]))
def test_freshretail_parquet_reader(at: int, junk: bytes, how: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.parquet"
        load_freshretail(FRESH).write_parquet(full)
        data = full.read_bytes()
        at = at % (len(data) + 1)
        data = data[:at] if how == "cut" else data[:at] + junk + data[at + len(junk) :]
        path = Path(tmp) / "train.parquet"
        path.write_bytes(data)
        _read_or_rama_error(load_freshretail, path)


FRESH_TYPED = load_freshretail(FRESH)
DTYPES = [pl.String(), pl.Int8(), pl.Int64(), pl.Float32(), pl.Boolean(), pl.Null()]


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(FRESH_TYPED.columns), st.sampled_from(DTYPES)),
        min_size=1,
        max_size=3,
    ),
    st.integers(0, 100),
)
def test_freshretail_parquet_with_wrong_dtypes(casts: list[tuple[str, Any]], rows: int) -> None:
    """Published columns stored in another type (text, narrow ints, floats, booleans, all
    null), possibly with fewer rows: validated or refused, never a crash."""
    df = FRESH_TYPED.head(rows)
    for col, dtype in casts:
        try:
            df = df.with_columns(pl.col(col).cast(dtype, strict=False))
        except pl.exceptions.PolarsError:  # not castable at all (e.g. a list to Int8)
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.parquet"
        df.write_parquet(path)
        _read_or_rama_error(load_freshretail, path)


@FUZZ
@given(mutated_csv(LOGI_TEXT))
def test_logistics_csv_reader(data: bytes) -> None:
    out = _in_tmp(data, "logistics.csv", load_logistics)
    if out is not None:
        assert np.isfinite(out["shipping_costs"].to_numpy()).all()
        assert (out["shipping_costs"] >= 0).all()


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["train.csv", "train.parquet", "x.csv"]))
def test_random_bytes_never_crash_the_loaders(data: bytes, name: str) -> None:
    _in_tmp(data, name, load_freshretail)
    _in_tmp(data, name, load_logistics)


# ----------------------------------------------------------------------------- problem folder

TINY = tiny_problem(
    [
        {"store_id": 1, "demand": 5.0, "current_inventory": 1.0, "safety_stock": 0.5},
        {"store_id": 2, "demand": 1.0, "current_inventory": 6.0, "safety_stock": 0.5},
        {"store_id": 3, "demand": 2.0, "current_inventory": 2.0},
    ],
    {(2, 1): 0.1, (1, 2): 0.1, (3, 1): 0.3},
)
TABLES = ("store_products", "products", "stores", "transport_costs")


def _folder_text(table: str) -> pl.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        write_problem(TINY, Path(tmp) / "p")
        df = pl.read_parquet(Path(tmp) / "p" / f"{table}.parquet")
    return df.select(pl.all().cast(pl.String))


FOLDER_TEXT = {t: _folder_text(t) for t in TABLES}


@st.composite
def mutated_folder(draw: st.DrawFn) -> tuple[str, bytes, str]:
    table = draw(st.sampled_from(TABLES))
    form = draw(st.sampled_from(["csv", "parquet_cut"]))
    return table, draw(mutated_csv(FOLDER_TEXT[table])), form


@FUZZ
@given(mutated_folder(), st.integers(0, 4000))
def test_problem_folder_reader(mutation: tuple[str, bytes, str], cut: int) -> None:
    table, data, form = mutation
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_problem(TINY, Path(tmp) / "problem")
        pq = folder / f"{table}.parquet"
        if form == "csv":
            pq.unlink()
            (folder / f"{table}.csv").write_bytes(data)
        else:
            raw = pq.read_bytes()
            pq.write_bytes(raw[: cut % (len(raw) + 1)])
        out = _read_or_rama_error(load_problem, folder)
        if out is not None:
            assert np.isfinite(out.demand).all() and (out.demand >= 0).all()
            assert out.n_stores >= 1 and out.n_pairs >= 1


# ----------------------------------------------------------------------------- planner tables

PAIRS = pl.DataFrame({"store_id": [1, 1, 2, 3], "product_id": [7, 8, 7, 7]})
STORES = pl.DataFrame({"store_id": [1, 2, 3, 4], "city_id": [0, 0, 5, 5]})
PRODUCTS = pl.DataFrame(
    {
        "product_id": [7, 8],
        "holding_cost": [0.7, 0.7],
        "stockout_penalty": [2.5, 2.5],
        "manufacturing_cost": [1.0, 1.0],
        "max_production": [10.0, 10.0],
    }
)
SP = PAIRS.with_columns(
    demand=pl.lit(2.0),
    current_inventory=pl.lit(3.0),
    safety_stock=pl.lit(1.0),
    max_capacity=pl.lit(20.0),
)

PLANNER: dict[str, tuple[pl.DataFrame, Callable[[Path], Any]]] = {
    "inventory": (
        pl.DataFrame({"store_id": ["1", "2"], "product_id": ["7", "7"], "on_hand": ["3", "0"]}),
        lambda p: inventory_on_hand(p, PAIRS),
    ),
    "lane_costs": (
        pl.DataFrame(
            {"from_store_id": ["1", "2"], "to_store_id": ["2", "3"], "cost": ["0.5", "1"]}
        ),
        lambda p: read_lane_costs(p, STORES),
    ),
    "city_lane_costs": (
        pl.DataFrame({"from_city_id": ["0", "5"], "to_city_id": ["5", "5"], "cost": ["2", "0.1"]}),
        lambda p: read_lane_costs(p, STORES),
    ),
    "product_costs": (
        pl.DataFrame(
            {"product_id": ["7", "8"], "holding_cost": ["1", ""], "max_production": ["inf", "4"]}
        ),
        lambda p: apply_product_costs(PRODUCTS, p),
    ),
    "capacities": (
        pl.DataFrame(
            {"store_id": ["1", "3"], "product_id": ["8", "7"], "max_capacity": ["9", "inf"]}
        ),
        lambda p: apply_capacities(SP, p),
    ),
}


@st.composite
def mutated_planner(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(PLANNER)))
    return name, draw(mutated_csv(PLANNER[name][0]))


@FUZZ
@given(mutated_planner())
def test_planner_table_readers(mutation: tuple[str, bytes]) -> None:
    name, data = mutation
    _in_tmp(data, f"{name}.csv", PLANNER[name][1])


def test_unmutated_planner_tables_are_valid() -> None:
    """The fuzzers' starting points are valid (so a mutation is what makes them fail)."""
    for name, (df, read) in PLANNER.items():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.csv"
            df.write_csv(path)
            assert read(path) is not None, name


# ----------------------------------------------------------------------------- random plans


@settings(max_examples=12, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.booleans())
def test_random_problems_plans_pass_the_independent_check(
    seed: int, n_products: int, tight: bool
) -> None:
    from rama.optimize import solve
    from rama.optimize.check import check_plan

    pb = random_problem(seed, n_products, tight, 0.2)
    plan = solve(pb, "highs")
    check_plan(pb, plan)
