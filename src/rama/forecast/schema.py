"""Column names the forecaster reads and a small validation helper shared by its modules."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from rama.errors import DataValidationError

KEYS: tuple[str, str] = ("store_id", "product_id")
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


def require_columns(df: pl.DataFrame, columns: Sequence[str], source: str, fix: str) -> None:
    """Raise :class:`DataValidationError` naming every column of ``columns`` missing in ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataValidationError(
            source,
            f"missing column(s) {missing}; found {df.columns}",
            column=missing[0],
            fix=fix,
        )


def reject_nulls(df: pl.DataFrame, columns: Sequence[str], source: str, fix: str) -> None:
    """Raise :class:`DataValidationError` on the first of ``columns`` holding nulls (or NaN)."""
    present = [c for c in columns if c in df.columns]
    if not present or df.height == 0:
        return
    counts = df.select(
        [
            (
                pl.col(c).is_null() | pl.col(c).is_nan()
                if df.schema[c].is_float()
                else pl.col(c).is_null()
            )
            .sum()
            .alias(c)
            for c in present
        ]
    ).row(0, named=True)
    for col in present:
        if counts[col]:
            bad = pl.col(col).is_null()
            if df.schema[col].is_float():
                bad = bad | pl.col(col).is_nan()
            examples = df.filter(bad).select([*KEYS, "dt", col] if "dt" in df.columns else [col])
            raise DataValidationError(
                source,
                "null or NaN values where a number is required",
                column=col,
                examples=examples.head(3).to_dicts(),
                count=int(counts[col]),
                fix=fix,
            )


def series_key() -> pl.Expr:
    """Expression of a single UInt64 key per (store_id, product_id) pair (both < 2**32)."""
    return pl.col("store_id").cast(pl.UInt64) * (2**32) + pl.col("product_id").cast(pl.UInt64)


def check_key_range(df: pl.DataFrame, source: str) -> None:
    """Store and product ids must be integers in [0, 2**31) (categorical codes for LightGBM)."""
    for col in KEYS:
        lo, hi = df.select(pl.col(col).min().alias("lo"), pl.col(col).max().alias("hi")).row(0)
        if lo is not None and (lo < 0 or hi >= 2**31):
            raise DataValidationError(
                source,
                f"ids must lie in [0, 2**31); found range [{lo}, {hi}]",
                column=col,
                fix="re-encode the ids as small non-negative integers",
            )


def as_date(df: pl.DataFrame, source: str) -> pl.DataFrame:
    """``dt`` as ``pl.Date`` (from Date, YYYY-MM-DD strings or Datetime)."""
    dtype = df.schema["dt"]
    if dtype == pl.Date:
        return df
    if dtype == pl.String:
        parsed = df.with_columns(pl.col("dt").str.to_date("%Y-%m-%d", strict=False))
        bad = parsed.filter(pl.col("dt").is_null())
        if bad.height:
            raise DataValidationError(
                source,
                "dates must be YYYY-MM-DD",
                column="dt",
                count=bad.height,
                examples=df.filter(parsed["dt"].is_null()).select(*KEYS, "dt").head(3).to_dicts(),
                fix="write dt as YYYY-MM-DD",
            )
        return parsed
    if isinstance(dtype, pl.Datetime):
        return df.with_columns(pl.col("dt").dt.date())
    raise DataValidationError(
        source, f"expected a date, found {dtype}", column="dt", fix="load with rama.data"
    )


def reject_duplicates(df: pl.DataFrame, source: str) -> None:
    """Raise on more than one row per (store_id, product_id, dt)."""
    dup = df.filter(pl.struct(*KEYS, "dt").is_duplicated())
    if dup.height:
        raise DataValidationError(
            source,
            "more than one row per store, product and day",
            column="dt",
            examples=dup.select(*KEYS, "dt").head(3).to_dicts(),
            count=dup.height,
            fix="aggregate or drop the duplicate rows",
        )


def validated_history(history: pl.DataFrame, source: str, *, need_hours: bool) -> pl.DataFrame:
    """Checked history with ``dt`` as Date; absent hierarchy columns are added as nulls and,
    unless the hourly lists will supply it (``need_hours``), ``stock_hour6_22_cnt`` as 0."""
    fix = "load the data with rama.data.load_freshretail (published FreshRetailNet columns)"
    require_columns(history, [*KEYS, "dt", SALES, *COVARIATES], source, fix)
    if history.height == 0:
        raise DataValidationError(source, "the history has no rows", fix=fix)
    check_key_range(history, source)
    hist = as_date(history, source)
    reject_nulls(
        hist, [SALES, *COVARIATES, *(c for c in HIERARCHY if c in hist.columns)], source, fix
    )
    neg = hist.filter(pl.col(SALES) < 0)
    if neg.height:
        raise DataValidationError(
            source,
            "negative sales",
            column=SALES,
            count=neg.height,
            examples=neg.select(*KEYS, "dt", SALES).head(3).to_dicts(),
            fix="sales must be >= 0",
        )
    reject_duplicates(hist, source)
    if OOS_HOURS not in hist.columns and not need_hours:
        hist = hist.with_columns(pl.lit(0, pl.Int32).alias(OOS_HOURS))
    for c in HIERARCHY:
        if c not in hist.columns:
            hist = hist.with_columns(pl.lit(None, pl.Int64).alias(c))
    return hist
