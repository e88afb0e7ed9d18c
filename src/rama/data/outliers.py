"""Magnitude outliers: values far outside their own distribution (``[data]`` settings).

A value ``v`` is an outlier when ``|v| >= outlier_ratio x reference``:

- ``sale_amount``: the reference is the median of the series' (store x product) positive
  days when it has at least :data:`MIN_SERIES_DAYS` of them, else the median of every
  positive day of the split (a series of one huge day has no own scale);
- logistics ``shipping_costs``, ``lead_time_days``, ``delivery_time_deviation``: the median
  of the column's absolute values (a column whose median is 0 is not checked).

``outlier_action = "cap"`` replaces an outlier by the largest non-outlier value of its
series (its column for logistics; the reference when there is none) and reports it (a
:class:`~rama.schema.DataWarning`, ``prepared/outliers.csv``); ``"reject"`` raises a
:class:`~rama.errors.DataValidationError` (reason ``outlier``) naming the rows.
``outlier_ratio = 0`` turns the check off.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from rama.data.blocks import BLOCK_ROWS, blocks
from rama.errors import DataValidationError
from rama.schema import PAIR_KEYS, DataWarning

MIN_SERIES_DAYS = 5
"""Positive days a series needs for its own median to be its reference."""
LOGISTICS_OUTLIER_COLUMNS = ("shipping_costs", "lead_time_days", "delivery_time_deviation")
ACTIONS = ("cap", "reject")
N_EXAMPLES = 5

OUTLIER_COLUMNS = {
    "table": pl.String(),
    "source": pl.String(),
    "column": pl.String(),
    "key": pl.String(),
    "value": pl.Float64(),
    "reference_median": pl.Float64(),
    "ratio": pl.Float64(),
    "action": pl.String(),
    "replaced_by": pl.Float64(),
}
"""The columns of ``prepared/outliers.csv``: one row per outlier value."""


@dataclass(frozen=True)
class OutlierRule:
    """``ratio``: a value >= ratio x its reference median is an outlier (0 = off);
    ``action``: ``"cap"`` or ``"reject"``."""

    ratio: float = 1000.0
    action: str = "cap"

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> OutlierRule:
        """The rule of a config's ``[data]`` section."""
        return cls(float(data["outlier_ratio"]), str(data["outlier_action"]))

    @property
    def enabled(self) -> bool:
        return self.ratio > 0


def empty_report() -> pl.DataFrame:
    """An outlier table without rows."""
    return pl.DataFrame(schema=OUTLIER_COLUMNS)


def _apply(
    flagged: pl.DataFrame,
    rule: OutlierRule,
    *,
    table: str,
    source: str,
    column: str,
    what: str,
) -> pl.DataFrame:
    """Raise (reject) or warn (cap) about ``flagged`` rows (key, value, reference_median,
    replaced_by); return the report rows."""
    report = flagged.select(
        pl.lit(table).alias("table"),
        pl.lit(source).alias("source"),
        pl.lit(column).alias("column"),
        pl.col("key"),
        pl.col("value").cast(pl.Float64),
        pl.col("reference_median").cast(pl.Float64),
        (pl.col("value").abs() / pl.col("reference_median")).alias("ratio"),
        pl.lit(rule.action).alias("action"),
        pl.col("replaced_by").cast(pl.Float64),
    )
    shown = ("key", "value", "reference_median", "replaced_by")
    examples = report.head(N_EXAMPLES).select(shown).to_dicts()
    problem = (
        f"values at least {rule.ratio:g}x their reference median ({what}; "
        f"data.outlier_ratio = {rule.ratio:g})"
    )
    if rule.action == "reject":
        raise DataValidationError(
            source,
            problem,
            reason="outlier",
            column=column,
            examples=[{k: e[k] for k in shown[:3]} for e in examples],
            count=report.height,
            fix='correct these rows, or set data.outlier_action = "cap" to replace them by '
            "the largest ordinary value, or raise data.outlier_ratio",
        )
    warnings.warn(
        DataWarning(
            f"{source}, column {column!r}: {report.height} outlier value(s) capped: {problem}; "
            f"e.g. {'; '.join(str(e) for e in examples)} (all in prepared/outliers.csv; "
            'data.outlier_action = "reject" refuses them instead)'
        ),
        stacklevel=3,
    )
    return report


def _has_outlier(block: pl.DataFrame, global_ref: float, rule: OutlierRule) -> bool:
    """Whether a series of ``block`` (whole series) has a day >= ratio x its reference: its
    largest day is (one group_by, no per-row window)."""
    s = pl.col("sale_amount")
    pos = s.filter(s > 0)
    per_pair = block.group_by(PAIR_KEYS).agg(
        pos.count().alias("n"), pos.median().alias("median"), s.max().alias("top")
    )
    ref = (
        pl.when(pl.col("n") >= MIN_SERIES_DAYS)
        .then(pl.col("median"))
        .otherwise(pl.lit(float(global_ref)))
    )
    return bool(per_pair.select((pl.col("top") >= rule.ratio * ref).any()).item())


def _mark_block(block: pl.DataFrame, global_ref: float, rule: OutlierRule) -> pl.DataFrame | None:
    """``block`` (whole series) with ``__ref`` (its reference median), ``__out`` (an outlier)
    and ``__cap`` (the replacement) per row; None when it has no outlier (the rule as one
    table-wide expression, applied to whole series)."""
    s = pl.col("sale_amount")
    keys = list(PAIR_KEYS)
    pos = s.filter(s > 0)
    series_ref = (
        pl.when(pos.count().over(keys) >= MIN_SERIES_DAYS)
        .then(pos.median().over(keys))
        .otherwise(pl.lit(float(global_ref)))
    )
    marked = block.select(*keys, "dt", s, series_ref.alias("__ref")).with_columns(
        (s >= rule.ratio * pl.col("__ref")).alias("__out")
    )
    if not marked.select(pl.col("__out").any()).item():
        return None
    ordinary = s.filter(~pl.col("__out")).max().over(keys)
    return marked.with_columns(pl.coalesce(ordinary, pl.col("__ref")).alias("__cap"))


def _one_chunk(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column in one chunk (the layout the table-wide cap gave), copied a
    column at a time: a column's old chunks are freed before the next one is copied when
    nothing else holds them."""
    for name in frame.columns:
        if frame.get_column(name).n_chunks() > 1:
            frame = frame.with_columns(frame.get_column(name).rechunk())
    return frame


def sale_reference(daily: pl.DataFrame) -> float | None:
    """The split-wide reference of a series too short for its own: the median of every
    positive ``sale_amount`` (None when there is none)."""
    s = pl.col("sale_amount")
    ref = daily.select(s.filter(s > 0).median()).item()
    return None if ref is None else float(ref)


def cap_sales(
    daily: pl.DataFrame, global_ref: float, rule: OutlierRule, *, block_rows: int = BLOCK_ROWS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``daily`` (whole series) with outlier sales capped, and its flagged rows (``key``,
    ``value``, ``reference_median``, ``replaced_by``; no row and ``daily`` itself when there
    is none), ``global_ref`` being :func:`sale_reference` of the whole split. Neither warns
    nor raises: :func:`report_sale_outliers` does, once for the split. The series' medians
    are computed ``block_rows`` rows of whole stores at a time; a capped table comes in one
    chunk per column (see :func:`cap_sale_outliers`)."""
    s = pl.col("sale_amount")
    parts = blocks(daily, "store_id", block_rows)
    marks = [
        _mark_block(b, global_ref, rule) if _has_outlier(b, global_ref, rule) else None
        for b in parts
    ]
    marked = [m for m in marks if m is not None]
    if not marked:
        return daily, pl.DataFrame(schema=_FLAGGED)
    flagged = pl.concat(
        [
            m.filter(pl.col("__out")).select(
                pl.format("store_id={} product_id={} dt={}", "store_id", "product_id", "dt").alias(
                    "key"
                ),
                s.cast(pl.Float64).alias("value"),
                pl.col("__ref").cast(pl.Float64).alias("reference_median"),
                pl.col("__cap").cast(pl.Float64).alias("replaced_by"),
            )
            for m in marked
        ]
    )
    sales = [
        b.get_column("sale_amount")
        if m is None
        else m.select(pl.when(pl.col("__out")).then(pl.col("__cap")).otherwise(s)).to_series()
        for b, m in zip(parts, marks, strict=True)
    ]
    capped = daily.with_columns(pl.concat([c.cast(pl.Float64) for c in sales]).alias("sale_amount"))
    del daily, parts, marks, marked, sales  # the caller may have handed over the only reference
    return _one_chunk(capped), flagged


_FLAGGED = {
    "key": pl.String(),
    "value": pl.Float64(),
    "reference_median": pl.Float64(),
    "replaced_by": pl.Float64(),
}


def report_sale_outliers(flagged: pl.DataFrame, rule: OutlierRule, source: str) -> pl.DataFrame:
    """The outlier table of the split's flagged sales (:func:`cap_sales`): raised as one
    DataValidationError (``reject``) or warned about once (``cap``); empty when none."""
    if flagged.height == 0:
        return empty_report()
    return _apply(
        flagged,
        rule,
        table="train",
        source=source,
        column="sale_amount",
        what="the median of the series' positive days",
    )


def cap_sale_outliers(
    daily: pl.DataFrame, rule: OutlierRule, source: str, *, block_rows: int = BLOCK_ROWS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``daily`` (store, product, dt, sale_amount, ...) with outlier sales capped, and the
    outlier table (:data:`OUTLIER_COLUMNS`); ``daily`` itself when there is none.

    The series' medians are computed ``block_rows`` rows of whole stores at a time
    (:func:`~rama.data.blocks.key_blocks`; the whole table when it is not sorted by store),
    so the memory beyond ``daily`` is that of one block. A capped table comes in one chunk
    per column, copied a column at a time: pass the only reference to ``daily`` (e.g.
    ``cap_sale_outliers(frames.pop(), ...)``) and it needs one column more than ``daily``."""
    if not rule.enabled or daily.height == 0:
        return daily, empty_report()
    ref = sale_reference(daily)
    if ref is None:
        return daily, empty_report()
    held = [daily]
    del daily  # cap_sales gets the only reference the caller handed over
    capped, flagged = cap_sales(held.pop(), ref, rule, block_rows=block_rows)
    return capped, report_sale_outliers(flagged, rule, source)


def cap_logistics_outliers(
    logistics: pl.DataFrame, rule: OutlierRule, source: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``logistics`` with outliers of :data:`LOGISTICS_OUTLIER_COLUMNS` capped (sign kept),
    and the outlier table."""
    if not rule.enabled or logistics.height == 0:
        return logistics, empty_report()
    reports, updates = [], []
    for col in LOGISTICS_OUTLIER_COLUMNS:
        if col not in logistics.columns:
            continue
        c = pl.col(col)
        ref = logistics.select(c.abs().median()).item()
        if ref is None or not ref > 0:
            continue
        out = c.abs() >= rule.ratio * ref
        if not logistics.select(out.any()).item():
            continue
        largest = logistics.select(c.abs().filter(~out).max()).item()
        cap = float(largest) if largest is not None else float(ref)
        with_row = logistics.with_row_index("__row")
        flagged = with_row.filter(out).select(
            pl.format("row={} timestamp={}", "__row", "timestamp").alias("key"),
            c.alias("value"),
            pl.lit(float(ref)).alias("reference_median"),
            (c.sign() * cap).alias("replaced_by"),
        )
        reports.append(
            _apply(
                flagged,
                rule,
                table="logistics",
                source=source,
                column=col,
                what="the column's median absolute value",
            )
        )
        updates.append(pl.when(out).then(c.sign() * cap).otherwise(c).alias(col))
    if not reports:
        return logistics, empty_report()
    return logistics.with_columns(updates), pl.concat(reports)
