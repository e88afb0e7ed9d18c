"""Column names the forecaster reads and the schemas of its input frames (:mod:`rama.schema`).

The helpers (``require_columns``, ``reject_nulls``, ``as_date``, ``reject_duplicates``) are
the single checks of :mod:`rama.schema` with the forecaster's defaults, for frames checked
piecewise.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from rama.schema import (
    PAIR_KEYS,
    RowRule,
    TableSchema,
    check_missing,
    check_unique,
    coerce,
    date_column,
    id_column,
    nonneg,
    number,
    validate,
)
from rama.schema import require_columns as _require_columns

KEYS: tuple[str, str] = PAIR_KEYS
"""A series is one store-product pair."""

HIERARCHY: tuple[str, ...] = (
    "city_id",
    "management_group_id",
    "first_category_id",
    "second_category_id",
    "third_category_id",
)
"""Static attributes of a series (city of the store, category path of the product)."""

COVARIATES: tuple[str, ...] = (
    "discount",
    "holiday_flag",
    "activity_flag",
    "precpt",
    "avg_temperature",
    "avg_humidity",
    "avg_wind_level",
)
"""Daily covariates known for the future days (the eval split carries them)."""

SALES = "sale_amount"
OOS_HOURS = "stock_hour6_22_cnt"
HOURS_SALE = "hours_sale"
HOURS_STOCK = "hours_stock_status"
RECOVERED = "recovered_demand"
LOST = "lost_demand"


def _key_range_rule(col: str) -> RowRule:
    c = pl.col(col)
    return RowRule(
        col,
        ((c < 0) | (c >= 2**31)).fill_null(False),
        "ids in [0, 2**31) (categorical codes for LightGBM)",
        "re-encode the ids as small non-negative integers",
    )


_ROW_KEYS = (*KEYS, "dt")
KEY_RULES = tuple(_key_range_rule(c) for c in KEYS)

HISTORY = TableSchema(
    "history",
    (
        id_column("store_id"),
        id_column("product_id"),
        date_column("dt"),
        nonneg(SALES, "normalised sales units", fix="sales must be >= 0"),
        *(number(c) for c in COVARIATES),
        *(id_column(c, required=False) for c in HIERARCHY),
    ),
    rules=KEY_RULES,
    id_columns=_ROW_KEYS,
    unique_keys=_ROW_KEYS,
    allow_extra_columns=True,
    min_rows=1,
    keep_dtypes=True,
)
"""The sales history the forecaster fits on (extra columns, e.g. the hourly lists, are kept;
numeric columns keep their dtype, ``dt`` becomes ``pl.Date``)."""


def require_columns(df: pl.DataFrame, columns: Sequence[str], source: str, fix: str) -> None:
    """Raise :class:`DataValidationError` naming every column of ``columns`` missing in ``df``."""
    _require_columns(df, columns, source, fix=fix)


def reject_nulls(df: pl.DataFrame, columns: Sequence[str], source: str, fix: str) -> None:
    """Raise :class:`DataValidationError` on the first of ``columns`` holding nulls (or NaN)."""
    check_missing(df, columns, source, fix=fix, id_columns=_ROW_KEYS, csv=False)


def series_key() -> pl.Expr:
    """Expression of a single UInt64 key per (store_id, product_id) pair (both < 2**32)."""
    return pl.col("store_id").cast(pl.UInt64) * (2**32) + pl.col("product_id").cast(pl.UInt64)


def check_key_range(df: pl.DataFrame, source: str) -> None:
    """Store and product ids must be integers in [0, 2**31) (categorical codes for LightGBM)."""
    schema = TableSchema("ids", [id_column(c) for c in KEYS], rules=KEY_RULES, keep_dtypes=True)
    validate(df.select(KEYS), schema, source, csv=False)


def as_date(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """``dt`` as ``pl.Date`` (from Date, YYYY-MM-DD strings or Datetime)."""
    return coerce(df, date_column("dt"), source)


def reject_duplicates(df: pl.DataFrame, source: str) -> None:
    """Raise on more than one row per (store_id, product_id, dt)."""
    check_unique(df, _ROW_KEYS, source, fix="aggregate or drop the duplicate rows", csv=False)


def validated_history(history: pl.DataFrame, source: str, *, need_hours: bool) -> pl.DataFrame:
    """Checked history with ``dt`` as Date; absent hierarchy columns are added as nulls and,
    unless the hourly lists will supply it (``need_hours``), ``stock_hour6_22_cnt`` as 0."""
    fix = "load the data with rama.data.load_freshretail (published FreshRetailNet columns)"
    require_columns(history, HISTORY.required, source, fix)
    hist = validate(history, HISTORY, source, csv=False)
    if OOS_HOURS not in hist.columns and not need_hours:
        hist = hist.with_columns(pl.lit(0, pl.Int32).alias(OOS_HOURS))
    for c in HIERARCHY:
        if c not in hist.columns:
            hist = hist.with_columns(pl.lit(None, pl.Int64).alias(c))
    return hist
