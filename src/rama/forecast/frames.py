"""Input frames of the forecaster: Polars or pandas, FreshRetailNet or the long layout.

``DemandForecaster`` works on FreshRetailNet columns (``store_id, product_id, dt,
sale_amount`` and the covariates). A frame in another layout is renamed through a column
mapping ``{frame column: rama column}``; :data:`LONG_LAYOUT` is the mlforecast /
statsforecast layout ``unique_id, ds, y``. A ``unique_id`` column (any type) stands for the
series: it is encoded as ``store_id = 0`` and ``product_id = 0..n-1`` (sorted ids), and the
forecaster puts it back on its outputs. Covariates the frame lacks are filled with neutral
values (:data:`NEUTRAL`: no discount, no holiday or promotion, no weather effect), and the
hierarchy columns are optional, so ``unique_id, ds, y`` alone is a valid history.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from rama.errors import ConfigError, DataValidationError
from rama.forecast.schema import COVARIATES, KEYS

UNIQUE_ID = "unique_id"
LONG_LAYOUT: Mapping[str, str] = {"unique_id": UNIQUE_ID, "ds": "dt", "y": "sale_amount"}
"""The mlforecast layout: series id, date, target."""

NEUTRAL: Mapping[str, float] = {
    "discount": 1.0,
    "holiday_flag": 0.0,
    "activity_flag": 0.0,
    "precpt": 0.0,
    "avg_temperature": 20.0,
    "avg_humidity": 70.0,
    "avg_wind_level": 2.0,
}
"""Values of a covariate absent from a long-layout frame (same on every day: no effect)."""


def as_polars(frame: Any, source: str) -> pl.DataFrame:
    """A Polars frame from a Polars or pandas one (else a DataValidationError)."""
    if isinstance(frame, pl.DataFrame):
        return frame
    if type(frame).__module__.split(".")[0] == "pandas" and hasattr(frame, "columns"):
        return pl.from_pandas(frame)
    raise DataValidationError(
        source,
        f"expected a polars or pandas DataFrame, got {type(frame).__name__}",
        fix="pass a polars.DataFrame or pandas.DataFrame",
    )


def check_columns_map(columns: Mapping[str, str] | None) -> dict[str, str]:
    """The mapping as a dict; its targets must be distinct rama column names."""
    if columns is None:
        return {}
    allowed = {UNIQUE_ID, *KEYS, "dt", "sale_amount", *COVARIATES}
    bad = sorted(v for v in columns.values() if v not in allowed)
    if bad:
        raise ConfigError(
            f"columns maps onto {bad}, which are not forecaster columns; expected targets in "
            f"{sorted(allowed)}, e.g. columns={dict(LONG_LAYOUT)}"
        )
    if len(set(columns.values())) != len(columns):
        raise ConfigError(f"columns maps two frame columns onto one: {dict(columns)}")
    return dict(columns)


def to_rama(
    frame: Any,
    columns: Mapping[str, str] | None,
    source: str,
    ids: pl.DataFrame | None = None,
    *,
    target: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(``frame`` in rama's columns, the ``unique_id -> product_id`` table or None).

    ``ids`` (from an earlier call, at fit time) encodes the ids of a later frame the same way;
    an id it lacks is a DataValidationError. ``target=False``: the frame may lack the mapped
    target (a future frame). With a mapping, absent covariates take :data:`NEUTRAL` values.
    """
    df = as_polars(frame, source)
    mapping = check_columns_map(columns)
    if not mapping and UNIQUE_ID not in df.columns:
        return df, None
    missing = [
        c for c, v in mapping.items() if c not in df.columns and (target or v != "sale_amount")
    ]
    if missing:
        raise DataValidationError(
            source,
            f"columns {missing} of the column mapping are not in the frame "
            f"(it has {df.columns[:12]})",
            reason="missing_column",
            fix="fix the mapping or rename the frame's columns",
        )
    df = df.rename({k: v for k, v in mapping.items() if k in df.columns})
    fill = [pl.lit(v).alias(c) for c, v in NEUTRAL.items() if c not in df.columns]
    df = df.with_columns(fill)
    if UNIQUE_ID not in df.columns:
        return df, None
    if ids is None:
        uniq = df.select(pl.col(UNIQUE_ID).unique().sort())
        ids = uniq.with_columns(
            pl.lit(0, pl.Int64).alias("store_id"),
            pl.int_range(pl.len(), dtype=pl.Int64).alias("product_id"),
        )
    df = df.drop([c for c in KEYS if c in df.columns])
    out = df.join(ids, on=UNIQUE_ID, how="left")
    unknown = out.filter(pl.col("product_id").is_null())
    if unknown.height:
        raise DataValidationError(
            source,
            "unique_id values not in the fitted history",
            column=UNIQUE_ID,
            examples=unknown.select(UNIQUE_ID).unique().head(3).to_dicts(),
            count=unknown.height,
            fix="refit on a history containing these series",
        )
    return out.drop(UNIQUE_ID), ids


def from_rama(
    out: pl.DataFrame, columns: Mapping[str, str] | None, ids: pl.DataFrame | None
) -> pl.DataFrame:
    """An output frame back in the caller's layout: ``unique_id`` (when fitted with one) in
    front of it, and the mapped key columns under the caller's names."""
    if ids is not None:
        out = out.join(ids, on=list(KEYS), how="left").select(
            UNIQUE_ID, *[c for c in out.columns if c not in KEYS]
        )
    back = {v: k for k, v in (columns or {}).items() if v in out.columns and v != k}
    return out.rename(back) if back else out
