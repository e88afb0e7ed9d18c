"""The one schema language of rama: every table that crosses a stage boundary is checked here.

A :class:`TableSchema` declares a table: its :class:`Column` s (name, dtype, required or
optional, and value checks: nulls, NaN, sign, infinity), uniqueness keys, vectorized
:class:`RowRule` s (polars expressions True on *offending* rows), per-series date
contiguity and functional :class:`Dependency` s. :func:`validate` applies it and returns the
frame cast to the declared dtypes; the first failing check raises a
:class:`~rama.errors.DataValidationError` that names the file (``source``), the column, how
many rows fail (``count``), up to five offending rows (``examples``: ``row`` = 0-based data
row, plus ``line`` = line in the file for CSV), the fix, and a ``reason`` code
(:data:`REASONS`).

Order of the checks: columns present / absent, row count, types (every value castable),
nulls and NaN, sign and infinity, row rules, unique keys and gap-free series, functional
dependencies. The same checks are available one at a time (:func:`require_columns`,
:func:`check_missing`, :func:`check_unique`, :func:`known_positions`, :func:`coerce`) for
frames that are checked piecewise.

>>> import polars as pl
>>> STOCK = TableSchema(
...     "stock",
...     (id_column("store_id"), nonneg("on_hand", "units")),
...     unique_keys=("store_id",),
... )
>>> validate(pl.DataFrame({"store_id": [1, 2], "on_hand": [3, 0]}), STOCK, "stock.csv")
shape: (2, 2)
┌──────────┬─────────┐
│ store_id ┆ on_hand │
│ ---      ┆ ---     │
│ i64      ┆ f64     │
╞══════════╪═════════╡
│ 1        ┆ 3.0     │
│ 2        ┆ 0.0     │
└──────────┴─────────┘
>>> try:
...     validate(pl.DataFrame({"store_id": [1, 2], "on_hand": [3, -1]}), STOCK, "stock.csv")
... except DataValidationError as exc:
...     print(exc.reason, exc.column, exc.count)
...     print(exc)
negative on_hand 1
stock.csv, column 'on_hand': negative values; expected values >= 0 (units) (1 row); \
e.g. {'row': 1, 'line': 3, 'store_id': 2, 'on_hand': -1.0}. Fix: on_hand must be >= 0 (units); \
correct or remove these rows
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from rama.errors import DataValidationError

__all__ = [
    "REASONS",
    "Column",
    "DataValidationError",
    "DataWarning",
    "Dependency",
    "RowRule",
    "TableSchema",
    "check_magnitudes",
    "check_missing",
    "check_unique",
    "coerce",
    "date_column",
    "fail",
    "id_column",
    "integer",
    "known_positions",
    "list_column",
    "nonneg",
    "number",
    "require_columns",
    "sorted_run_starts",
    "string",
    "timestamp",
    "validate",
]

REASONS: dict[str, str] = {
    "missing_column": "a required column is absent",
    "unexpected_column": "a column the schema does not allow is present",
    "empty": "the table has fewer rows than required",
    "wrong_dtype": "a column's type cannot be converted to the declared type",
    "not_parsable": "some values cannot be read as the declared type",
    "null": "null values in a column that needs a value in every row",
    "nan": "NaN values in a column that needs a number in every row",
    "negative": "negative values in a column that must be >= 0",
    "infinite": "infinite values in a column that must be finite",
    "out_of_range": "values outside the allowed range or set",
    "wrong_length": "lists of the wrong length",
    "duplicate_key": "more than one row per key",
    "not_contiguous": "missing days inside a dated series",
    "inconsistent": "a key maps to more than one value of a column that it determines",
    "unknown_id": "an id that is not in the table it refers to",
    "missing_rows": "keys of another table without a row in this one",
    "size_mismatch": "an array's shape does not match the tables",
    "not_found": "a file or folder does not exist",
    "unreadable": "a file cannot be read or parsed",
    "outlier": "values far outside the column's own distribution (data.outlier_ratio)",
    "invalid": "any other invalid input",
}
"""Every ``reason`` code a :class:`~rama.errors.DataValidationError` may carry, with its meaning."""

PAIR_KEYS: tuple[str, str] = ("store_id", "product_id")
"""The key of every store-product table (a pair of ids)."""

N_EXAMPLES = 5
_ROW = "__rama_row"


# ----------------------------------------------------------------------------- declarations


class DataWarning(UserWarning):
    """Input data rama accepted but changed or defaulted (e.g. outliers capped by
    ``data.outlier_action = "cap"``); the message names the file, column, count and rows."""


@dataclass(frozen=True)
class Column:
    """One column: name, target dtype, presence and value checks.

    ``nonneg`` rejects values < 0 (reason ``negative``), ``finite`` rejects +-inf
    (``infinite``), ``nullable`` allows nulls (else ``null``), ``nan_ok`` allows NaN in a
    float column (else ``nan``). ``unit`` is shown in messages; ``fix`` replaces the default
    advice of the value checks.
    """

    name: str
    dtype: pl.DataType
    required: bool = True
    nullable: bool = False
    nan_ok: bool = False
    nonneg: bool = False
    finite: bool = False
    unit: str = ""
    fix: str | None = None


def id_column(name: str, *, required: bool = True) -> Column:
    """An integer id >= 0 (Int64); whole floats and integer text are accepted and cast."""
    return Column(
        name,
        pl.Int64(),
        required=required,
        nonneg=True,
        fix=f"{name} values are ids: whole numbers >= 0",
    )


def integer(name: str, dtype: pl.DataType | None = None, *, required: bool = True) -> Column:
    """An integer count or flag (default Int64)."""
    return Column(name, dtype if dtype is not None else pl.Int64(), required=required)


def nonneg(
    name: str,
    unit: str = "",
    *,
    allow_inf: bool = False,
    required: bool = True,
    fix: str | None = None,
) -> Column:
    """A number >= 0 (Float64); finite unless ``allow_inf`` (``inf`` = unlimited)."""
    return Column(
        name,
        pl.Float64(),
        required=required,
        nonneg=True,
        finite=not allow_inf,
        unit=unit,
        fix=fix,
    )


def number(
    name: str,
    unit: str = "",
    *,
    finite: bool = False,
    nan_ok: bool = False,
    required: bool = True,
    fix: str | None = None,
) -> Column:
    """A number of any sign (Float64)."""
    return Column(
        name, pl.Float64(), required=required, finite=finite, nan_ok=nan_ok, unit=unit, fix=fix
    )


def string(name: str, *, required: bool = True) -> Column:
    return Column(name, pl.String(), required=required)


def date_column(name: str, *, required: bool = True) -> Column:
    """A calendar day (``pl.Date``; text is parsed with the schema's ``date_formats``)."""
    return Column(name, pl.Date(), required=required)


def timestamp(name: str, *, required: bool = True) -> Column:
    return Column(name, pl.Datetime("us"), required=required)


def list_column(name: str, inner: pl.DataType, *, required: bool = True) -> Column:
    """A list of ``inner`` values (text ``'[1, 2]'`` is parsed)."""
    return Column(name, pl.List(inner), required=required)


@dataclass(frozen=True)
class RowRule:
    """Rows where ``bad`` is True break the rule (reason ``reason``).

    ``show`` is an optional expression displayed in the examples instead of the raw
    value (e.g. a list's length rather than its 24 values).
    """

    column: str
    bad: pl.Expr
    expected: str
    fix: str
    show: pl.Expr | None = None
    reason: str = "out_of_range"


@dataclass(frozen=True)
class Dependency:
    """``key`` must determine each column of ``dependents`` (one value per key)."""

    key: str
    dependents: tuple[str, ...]
    fix: str


@dataclass(frozen=True, init=False)
class TableSchema:
    """A table: its columns (in output order) and the rules it must satisfy.

    ``fields`` may be :class:`Column` s or a mapping name -> dtype (plain required columns).
    ``keep_dtypes`` keeps numeric columns in their own width and every column of the frame
    (only non-numeric columns are converted, e.g. ``dt`` text to Date); by default the result
    has exactly the schema's columns in the declared dtypes.
    """

    name: str
    fields: tuple[Column, ...]
    rules: tuple[RowRule, ...]
    id_columns: tuple[str, ...]  # shown in every example row (default: the unique keys)
    series_keys: tuple[str, ...]  # with ``time_column``: unique and gap-free per series
    time_column: str | None
    unique_keys: tuple[str, ...]  # unique rows (when there is no time column)
    dependencies: tuple[Dependency, ...]
    allow_extra_columns: bool
    date_formats: tuple[str, ...]
    min_rows: int
    keep_dtypes: bool

    def __init__(
        self,
        name: str,
        fields: Sequence[Column] | Mapping[str, pl.DataType],
        *,
        rules: Sequence[RowRule] = (),
        id_columns: Sequence[str] = (),
        series_keys: Sequence[str] = (),
        time_column: str | None = None,
        unique_keys: Sequence[str] = (),
        dependencies: Sequence[Dependency] = (),
        allow_extra_columns: bool = False,
        date_formats: Sequence[str] = ("%Y-%m-%d",),
        min_rows: int = 0,
        keep_dtypes: bool = False,
    ) -> None:
        cols = (
            tuple(Column(n, t) for n, t in fields.items())
            if isinstance(fields, Mapping)
            else tuple(fields)
        )
        values = {
            "name": name,
            "fields": cols,
            "rules": tuple(rules),
            "id_columns": tuple(id_columns) or tuple(unique_keys),
            "series_keys": tuple(series_keys),
            "time_column": time_column,
            "unique_keys": tuple(unique_keys),
            "dependencies": tuple(dependencies),
            "allow_extra_columns": allow_extra_columns,
            "date_formats": tuple(date_formats),
            "min_rows": min_rows,
            "keep_dtypes": keep_dtypes,
        }
        for k, v in values.items():
            object.__setattr__(self, k, v)

    @property
    def columns(self) -> dict[str, pl.DataType]:
        """Every declared column (required and optional) -> its dtype, in order."""
        return {c.name: c.dtype for c in self.fields}

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.fields if c.required]

    def validate(self, df: pl.DataFrame, source: str, *, csv: bool = False) -> pl.DataFrame:
        """Shorthand for :func:`validate` ``(df, self, source, csv=csv)``."""
        return validate(df, self, source, csv=csv)


# ----------------------------------------------------------------------------- the engine


def validate(
    raw: pl.DataFrame, schema: TableSchema, source: str, *, csv: bool | None = None
) -> pl.DataFrame:
    """Check ``raw`` against ``schema``; return it cast to the schema's dtypes and order.

    ``source`` names the table in messages (a file path or ``"name (in memory)"``); ``csv``
    adds the file ``line`` to example rows (default: True when ``source`` ends in .csv).
    """
    if csv is None:
        csv = str(source).lower().endswith(".csv")
    ctx = _Ctx(source, csv, schema.id_columns)
    _check_columns(raw, schema, source)
    if raw.height < schema.min_rows:
        raise DataValidationError(
            source,
            f"has no data rows (expected a {schema.name} table)",
            reason="empty",
            fix="point to a file that contains data",
        )
    present = [c for c in schema.fields if c.name in raw.columns]
    df = _cast(raw, schema, present, ctx)
    _check_values(df, present, ctx)
    _check_rules(df, schema.rules, ctx)
    if schema.series_keys and schema.time_column:
        _check_series(df, schema, ctx)
    if schema.unique_keys:
        check_unique(df, schema.unique_keys, source, csv=csv, id_columns=schema.id_columns)
    for dep in schema.dependencies:
        _check_dependency(df, dep, ctx)
    return df


@dataclass(frozen=True)
class _Ctx:
    source: str
    csv: bool
    id_columns: tuple[str, ...] = field(default=())


def _examples(
    df: pl.DataFrame, bad: pl.Expr | pl.Series, ctx: _Ctx, columns: Sequence[str | pl.Expr]
) -> tuple[list[dict[str, Any]], int]:
    """The first offending rows as plain dicts, and how many rows offend."""
    hits = df.with_row_index(_ROW).filter(bad)
    names = {c for c in columns if isinstance(c, str)}
    ids = [c for c in ctx.id_columns if c in df.columns and c not in names]
    head = hits.head(N_EXAMPLES).select(pl.col(_ROW), *ids, *columns)
    return _to_dicts(head, ctx.csv), hits.height


def _to_dicts(head: pl.DataFrame, csv: bool) -> list[dict[str, Any]]:
    temporal = [c for c, t in head.schema.items() if t.is_temporal()]
    head = head.with_columns(pl.col(temporal).cast(pl.String))
    out: list[dict[str, Any]] = []
    for rec in head.to_dicts():
        row = int(rec.pop(_ROW))
        first: dict[str, Any] = {"row": row}
        if csv:
            first["line"] = row + 2
        out.append(first | rec)
    return out


def fail(
    df: pl.DataFrame,
    bad: pl.Expr | pl.Series,
    source: str,
    problem: str,
    *,
    reason: str,
    column: str | None,
    fix: str,
    id_columns: Sequence[str] = (),
    show: Sequence[str | pl.Expr] | None = None,
    csv: bool | None = None,
) -> DataValidationError:
    """The error for the rows of ``df`` where ``bad`` is True (examples and count filled in).

    Example rows show the ``id_columns`` and ``show`` (default: ``column``).
    """
    if csv is None:
        csv = str(source).lower().endswith(".csv")
    ctx = _Ctx(source, csv, tuple(dict.fromkeys(id_columns)))
    cols = list(show) if show is not None else ([column] if column is not None else [])
    examples, count = _examples(df, bad, ctx, cols)
    return DataValidationError(
        source, problem, reason=reason, column=column, examples=examples, count=count, fix=fix
    )


def _inner(dtype: pl.List) -> pl.DataType:
    inner = dtype.inner
    return inner() if isinstance(inner, type) else inner


def _dtype_name(dtype: pl.DataType) -> str:
    if dtype == pl.Date():
        return "a date YYYY-MM-DD"
    if isinstance(dtype, pl.Datetime):
        return "a timestamp YYYY-MM-DD HH:MM:SS"
    if isinstance(dtype, pl.List):
        return f"a list of {_dtype_name(_inner(dtype))} values"
    if dtype.is_integer():
        return f"an integer ({dtype})"
    if dtype.is_float():
        return f"a number ({dtype})"
    return f"a {dtype} value"


# ----------------------------------------------------------------------------- columns


def require_columns(
    df: pl.DataFrame,
    columns: Sequence[str],
    source: str,
    *,
    fix: str | None = None,
    table: str | None = None,
) -> None:
    """Raise (reason ``missing_column``) naming every column of ``columns`` absent in ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        has = f"; a {table} table has the columns {list(columns)}" if table else ""
        raise DataValidationError(
            source,
            f"missing column(s) {missing}{has}; found {df.columns}",
            reason="missing_column",
            column=missing[0],
            fix=fix
            or "add the missing columns (names are case-sensitive) or point to the right file",
        )


def _check_columns(raw: pl.DataFrame, schema: TableSchema, source: str) -> None:
    require_columns(raw, schema.required, source, table=schema.name)
    extra = [c for c in raw.columns if c not in schema.columns]
    if extra and not schema.allow_extra_columns:
        raise DataValidationError(
            source,
            f"unexpected column(s) {extra}; a {schema.name} table has exactly the columns "
            f"{list(schema.columns)}",
            reason="unexpected_column",
            column=extra[0],
            fix="drop the extra columns or rename them to the published names",
        )


# ----------------------------------------------------------------------------- types


def _parse_list_text(col: str, inner: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """'[0.0, 0.1, ...]' text -> list; and True where an item does not parse."""
    body = (
        pl.col(col).str.strip_chars().str.strip_prefix("[").str.strip_suffix("]").str.strip_chars()
    )
    items = (
        pl.when(body == "")
        .then(pl.lit([], dtype=pl.List(pl.String())))
        .otherwise(body.str.split(","))
    )
    parsed = items.list.eval(pl.element().str.strip_chars().cast(inner, strict=False))
    bad = parsed.list.eval(pl.element().is_null()).list.any()
    return parsed, bad & pl.col(col).is_not_null()


def _parse_temporal(col: str, target: pl.DataType, formats: tuple[str, ...]) -> pl.Expr:
    c = pl.col(col).str.strip_chars()
    if isinstance(target, pl.Datetime):
        tries = [c.str.to_datetime(f, time_unit="us", strict=False) for f in formats]
    else:
        tries = [c.str.to_date(f, strict=False) for f in formats]
    return pl.coalesce(tries) if len(tries) > 1 else tries[0]


def _converter(
    col: str, src: pl.DataType, target: pl.DataType, formats: tuple[str, ...]
) -> tuple[pl.Expr, pl.Expr] | None:
    """(converted value, True where the value cannot be converted); None = incompatible."""
    c = pl.col(col)
    not_null = c.is_not_null()
    is_text = src == pl.String() or isinstance(src, pl.Categorical | pl.Enum)
    if isinstance(target, pl.List):
        if is_text:
            return _parse_list_text(col, _inner(target))
        if isinstance(src, pl.List | pl.Array):
            as_list = c.arr.to_list() if isinstance(src, pl.Array) else c
            conv = as_list.cast(target, strict=False)
            n_null = as_list.list.eval(pl.element().is_null()).list.sum()
            bad = conv.list.eval(pl.element().is_null()).list.sum() != n_null
            return conv, bad & not_null
        return None
    if target == pl.Date() or isinstance(target, pl.Datetime):
        if is_text:
            conv = _parse_temporal(col, target, formats)
        elif src.is_temporal() and src != pl.Time() and not isinstance(src, pl.Duration):
            conv = c.dt.date() if target == pl.Date() else c.cast(target)
        else:
            return None
        return conv, conv.is_null() & not_null
    if target == pl.String():
        return (c.cast(pl.String), pl.lit(False)) if is_text else None
    if target.is_numeric():
        if is_text:  # a blank cell ("" or spaces, e.g. a quoted empty field) is a null
            text = c.cast(pl.String).str.strip_chars()
            conv = text.cast(target, strict=False)
            return conv, conv.is_null() & not_null & (text != "")
        if not (src.is_numeric() or src == pl.Boolean()):
            return None
        conv = c.cast(target, strict=False)
        bad = conv.is_null() & not_null
        if src.is_float() and target.is_integer():
            bad = bad | (c != c.round())
        return conv, bad
    return None  # pragma: no cover - every schema dtype is handled above


def _keeps_own_dtype(src: pl.DataType, target: pl.DataType) -> bool:
    """In ``keep_dtypes`` mode: a numeric column of the target's family stays as it is."""
    if target.is_integer():
        return src.is_integer()
    if target.is_float():
        return src.is_numeric()
    return False


def _cast(raw: pl.DataFrame, schema: TableSchema, present: list[Column], ctx: _Ctx) -> pl.DataFrame:
    converted: dict[str, pl.Expr] = {}
    checks: dict[str, pl.Expr] = {}
    for column in present:
        col, target = column.name, column.dtype
        src = raw.schema[col]
        if src == target or (schema.keep_dtypes and _keeps_own_dtype(src, target)):
            continue
        conv = _converter(col, src, target, schema.date_formats)
        if conv is None:
            raise DataValidationError(
                ctx.source,
                f"has type {src}; expected {_dtype_name(target)}",
                reason="wrong_dtype",
                column=col,
                examples=[{col: v} for v in raw.get_column(col).head(3).to_list()],
                count=raw.height,
                fix=f"store {col} as {target} (the published type)",
            )
        converted[col], checks[col] = conv
    names = [c.name for c in present]
    if converted:
        counts = raw.select([b.sum().alias(c) for c, b in checks.items()]).row(0, named=True)
        for col, n_bad in counts.items():
            if n_bad:
                target = schema.columns[col]
                examples, count = _examples(raw, checks[col], ctx, [col])
                raise DataValidationError(
                    ctx.source,
                    f"values that cannot be read as {_dtype_name(target)}",
                    reason="not_parsable",
                    column=col,
                    examples=examples,
                    count=count,
                    fix=f"correct the values of {col} in these rows (expected type {target})",
                )
        raw = raw.with_columns(**converted)
    return raw if schema.keep_dtypes else raw.select(names)


def coerce(
    df: pl.DataFrame, column: Column, source: str, *, formats: Sequence[str] = ("%Y-%m-%d",)
) -> pl.DataFrame:
    """``df`` with one column converted to ``column.dtype`` (reasons ``wrong_dtype``,
    ``not_parsable``); other columns untouched."""
    schema = TableSchema(
        column.name, (column,), allow_extra_columns=True, date_formats=formats, keep_dtypes=True
    )
    return _cast(df, schema, [column], _Ctx(source, False, ()))


# ----------------------------------------------------------------------------- values


def _unit(column: Column) -> str:
    return f" ({column.unit})" if column.unit else ""


def _missing(df: pl.DataFrame, column: Column) -> tuple[pl.Expr, pl.Expr]:
    """(null rows, NaN rows) of a column, NaN counted in float and float-list columns."""
    c, dtype = pl.col(column.name), df.schema[column.name]
    nan: pl.Expr = pl.lit(False)
    null = c.is_null()
    if dtype.is_float() and not column.nan_ok:
        nan = c.is_nan().fill_null(False)
    elif isinstance(dtype, pl.List):
        null = null | c.list.eval(pl.element().is_null()).list.any().fill_null(False)
        if _inner(dtype).is_float() and not column.nan_ok:
            nan = c.list.eval(pl.element().is_nan()).list.any().fill_null(False)
    if column.nullable:
        null = pl.lit(False)
    return null, nan


def check_missing(
    df: pl.DataFrame,
    columns: Sequence[Column | str],
    source: str,
    *,
    fix: str | None = None,
    id_columns: Sequence[str] = (),
    csv: bool | None = None,
) -> None:
    """Raise on the first of ``columns`` (present in ``df``) holding nulls or NaN.

    The reason is ``null`` (nulls, possibly with NaN) or ``nan`` (NaN only); ``count`` is the
    number of rows missing a value either way.
    """
    cols = [c if isinstance(c, Column) else Column(c, df.schema[c]) for c in columns if _has(df, c)]
    if not cols or df.height == 0:
        return
    if csv is None:
        csv = str(source).lower().endswith(".csv")
    ctx = _Ctx(source, csv, tuple(id_columns))
    _check_missing(df, cols, ctx, fix)


def _has(df: pl.DataFrame, c: Column | str) -> bool:
    return (c.name if isinstance(c, Column) else c) in df.columns


def _check_missing(df: pl.DataFrame, cols: list[Column], ctx: _Ctx, fix: str | None) -> None:
    exprs = {c.name: _missing(df, c) for c in cols}
    counts = df.select(
        *[null.sum().alias(f"null:{n}") for n, (null, _) in exprs.items()],
        *[nan.sum().alias(f"nan:{n}") for n, (_, nan) in exprs.items()],
    ).row(0, named=True)
    for column in cols:
        col = column.name
        n_null, n_nan = counts[f"null:{col}"], counts[f"nan:{col}"]
        if not (n_null or n_nan):
            continue
        null, nan = exprs[col]
        what = (
            "missing values (null)"
            if not n_nan
            else "NaN values"
            if not n_null
            else "missing values (null and NaN)"
        )
        examples, count = _examples(df, null | nan, ctx, [col])
        raise DataValidationError(
            ctx.source,
            f"{what} where {_dtype_name(df.schema[col])} is required in every row "
            "(null or NaN = missing)",
            reason="null" if n_null else "nan",
            column=col,
            examples=examples,
            count=count,
            fix=fix or f"fill in {col} or remove these rows",
        )


def _check_values(df: pl.DataFrame, present: list[Column], ctx: _Ctx) -> None:
    if df.height == 0:
        return
    _check_missing(df, present, ctx, None)
    checks: list[tuple[str, Column, pl.Expr, str, str]] = []
    for column in present:
        c, numeric = pl.col(column.name), df.schema[column.name].is_numeric()
        fix = column.fix
        if column.nonneg and numeric:
            checks.append(
                (
                    "negative",
                    column,
                    (c < 0).fill_null(False),
                    f"negative values; expected values >= 0{_unit(column)}",
                    fix or f"{column.name} must be >= 0{_unit(column)}",
                )
            )
        if column.finite and df.schema[column.name].is_float():
            checks.append(
                (
                    "infinite",
                    column,
                    c.is_infinite().fill_null(False),
                    f"infinite values; expected finite numbers{_unit(column)}",
                    fix or f"{column.name} must be finite",
                )
            )
    if not checks:
        return
    counts = df.select([e.sum().alias(str(i)) for i, (_, _, e, _, _) in enumerate(checks)]).row(0)
    for (reason, column, bad, problem, fix), n in zip(checks, counts, strict=True):
        if n:
            examples, count = _examples(df, bad, ctx, [column.name])
            raise DataValidationError(
                ctx.source,
                problem,
                reason=reason,
                column=column.name,
                examples=examples,
                count=count,
                fix=f"{fix}; correct or remove these rows",
            )


# ----------------------------------------------------------------------------- rules


def _check_rules(df: pl.DataFrame, rules: tuple[RowRule, ...], ctx: _Ctx) -> None:
    if not rules or df.height == 0:
        return
    counts = df.select([r.bad.sum().alias(str(i)) for i, r in enumerate(rules)]).row(0)
    failing = [(r, int(n)) for r, n in zip(rules, counts, strict=True) if n]
    if not failing:
        return
    rule = failing[0][0]
    shown = [rule.show] if rule.show is not None else [rule.column]
    examples, count = _examples(df, rule.bad, ctx, shown)
    problem = f"expected {rule.expected}"
    if len(failing) > 1:
        others = "; ".join(f"{r.column}: {r.expected} [{n} rows]" for r, n in failing[1:])
        problem += f" (also failing: {others})"
    raise DataValidationError(
        ctx.source,
        problem,
        reason=rule.reason,
        column=rule.column,
        examples=examples,
        count=count,
        fix=f"{rule.fix}; correct or remove these rows",
    )


# ----------------------------------------------------------------------------- keys


def check_unique(
    df: pl.DataFrame,
    keys: Sequence[str],
    source: str,
    *,
    fix: str | None = None,
    id_columns: Sequence[str] = (),
    csv: bool | None = None,
) -> None:
    """Raise (reason ``duplicate_key``) when a combination of ``keys`` occurs twice.

    Rows already in strictly increasing key order (files written sorted, as the published
    splits are) are unique: that is checked first, in one pass without hashing (a hash of
    the keys takes about 190 bytes a row, gigabytes on a large network)."""
    keys = list(keys)
    if df.height < 2:
        return
    starts = sorted_run_starts(df, keys)
    if starts is not None and starts.all():
        return
    bad = pl.struct(keys).is_duplicated()
    if df.select(bad.any()).item():
        raise fail(
            df,
            bad,
            source,
            f"duplicate {'/'.join(keys)}: more than one row per {' x '.join(keys)}, "
            "expected each key once",
            reason="duplicate_key",
            column=keys[0],
            fix=fix or "keep one row per " + ", ".join(keys),
            id_columns=[*id_columns, *keys],
            show=[],
            csv=csv,
        )


def sorted_run_starts(df: pl.DataFrame, keys: Sequence[str]) -> pl.Series | None:
    """When the rows are in non-decreasing lexicographic order of ``keys`` (integer, date or
    text keys without nulls): per row, True where its key differs from the previous row's
    (the first row of each key). None otherwise. One pass, no hashing.

    >>> df = pl.DataFrame({"s": [0, 0, 1, 1], "d": [1, 2, 2, 2]})
    >>> sorted_run_starts(df, ["s"]).to_list()
    [True, False, True, False]
    >>> sorted_run_starts(df, ["s", "d"]).to_list()
    [True, True, True, False]
    >>> sorted_run_starts(df.reverse(), ["s", "d"]) is None
    True
    """
    schema = df.schema
    if not all(
        schema[k].is_integer() or schema[k].is_temporal() or schema[k] == pl.String for k in keys
    ):
        return None
    if df.height == 0 or df.select(pl.sum_horizontal(pl.col(keys).null_count())).item():
        return None
    greater, equal = pl.lit(False), pl.lit(True)
    for k in keys:
        now, before = pl.col(k), pl.col(k).shift(1)
        greater = greater | (equal & (now > before))
        equal = equal & (now == before)
    out = df.select(
        (greater | equal).slice(1).all().alias("ordered"), greater.fill_null(True).alias("start")
    )
    return out["start"] if out["ordered"][0] else None


MAX_MAGNITUDE = 1e15
"""Largest finite quantity or cost a planning table may hold (units or $/unit): HiGHS takes
numbers >= 1e20 as infinite and loses precision long before, so a larger value is a data
error (``inf`` stays allowed where a column documents it as "unlimited")."""


def check_magnitudes(
    df: pl.DataFrame,
    columns: Sequence[str],
    source: str,
    *,
    id_columns: Sequence[str] = (),
    limit: float = MAX_MAGNITUDE,
) -> None:
    """Raise (reason ``out_of_range``) on the first of ``columns`` (numeric, present) holding a
    finite value with ``|value| > limit``."""
    cols = [c for c in columns if c in df.columns and df.schema[c].is_numeric()]
    if not cols or df.height == 0:
        return
    bad = {c: pl.col(c).is_finite() & (pl.col(c).abs() > limit) for c in cols}
    counts = df.select(*[e.sum().alias(c) for c, e in bad.items()]).row(0, named=True)
    for col in cols:
        if counts[col]:
            raise fail(
                df,
                bad[col],
                source,
                f"values above {limit:g} in magnitude; expected realistic quantities and costs "
                "(the solver takes numbers near 1e20 as infinite)",
                reason="out_of_range",
                column=col,
                fix=f"correct {col} in these rows (use inf where the column allows 'unlimited')",
                id_columns=id_columns,
            )


def known_positions(
    df: pl.DataFrame,
    column: str,
    ids: np.ndarray,
    what: str,
    source: str,
    *,
    id_columns: Sequence[str] = (),
    fix: str | None = None,
) -> np.ndarray:
    """Positions of ``df[column]`` in the sorted unique ``ids``; an unknown id raises
    (reason ``unknown_id``) naming ``what`` (the table the ids come from)."""
    vals = df[column].to_numpy().astype(np.int64)
    pos = np.searchsorted(ids, vals)
    ok = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == vals) if ids.size else pos < 0
    if not ok.all():
        raise fail(
            df,
            pl.Series(~ok),
            source,
            f"{column} not found in the {what} table",
            reason="unknown_id",
            column=column,
            fix=fix or f"add the {what} to the {what} table or remove these rows",
            id_columns=id_columns,
        )
    return pos


def _check_series(df: pl.DataFrame, schema: TableSchema, ctx: _Ctx) -> None:
    """One row per (series, day) and consecutive days within each series."""
    keys, t = list(schema.series_keys), schema.time_column
    assert t is not None
    # Fast path (published order): each series is one block of rows, days ascending by 1.
    same = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in keys])
    step_ok = (pl.col(t) - pl.col(t).shift(1)).dt.total_days() == 1
    n_blocks, n_bad_steps = df.select(
        (~same.fill_null(False)).sum().alias("blocks"),
        (same & ~step_ok).fill_null(False).sum().alias("bad_steps"),
    ).row(0)
    if n_bad_steps == 0 and (  # sorted by series: each series is one block, no hashing
        sorted_run_starts(df, keys) is not None
        or n_blocks == df.select(pl.struct(keys).n_unique()).item()
    ):
        return
    per = (
        df.select(*keys, t)
        .group_by(keys)
        .agg(
            pl.len().alias("n"),
            pl.col(t).n_unique().alias("n_unique"),
            ((pl.col(t).max() - pl.col(t).min()).dt.total_days() + 1).alias("span"),
        )
    )
    dup = per.filter(pl.col("n") != pl.col("n_unique"))
    what = " x ".join([*keys, t])
    ids = [c for c in schema.id_columns if c in df.columns]
    if dup.height:
        hits = (
            df.with_row_index(_ROW)
            .join(dup.select(keys), on=keys, how="semi")
            .filter(pl.struct([*keys, t]).is_duplicated())
            .sort(_ROW)
        )
        examples = _to_dicts(hits.head(N_EXAMPLES).select(_ROW, *ids), ctx.csv)
        raise DataValidationError(
            ctx.source,
            f"duplicate rows: expected one row per {what}, found {dup.height} series "
            "with repeated days",
            reason="duplicate_key",
            column=t,
            examples=examples,
            count=hits.height,
            fix="remove the duplicated rows (keep one row per series and day)",
        )
    gaps = per.filter(pl.col("span") != pl.col("n"))
    if gaps.height:
        rows = (
            df.with_row_index(_ROW)
            .join(gaps.select(keys), on=keys, how="semi")
            .sort([*keys, t])
            .with_columns(pl.col(t).shift(1).over(keys).alias("previous_day"))
        )
        after_gap = (pl.col(t) - pl.col("previous_day")).dt.total_days() > 1
        hits = rows.filter(after_gap)
        examples = _to_dicts(hits.head(N_EXAMPLES).select(_ROW, *ids, "previous_day"), ctx.csv)
        raise DataValidationError(
            ctx.source,
            f"dates not contiguous: expected consecutive days in every {' x '.join(keys)} "
            f"series, found {gaps.height} series with missing days",
            reason="not_contiguous",
            column=t,
            examples=examples,
            count=hits.height,
            fix="add the missing days (with zero sales if nothing sold) or drop the series",
        )


def _check_dependency(df: pl.DataFrame, dep: Dependency, ctx: _Ctx) -> None:
    key = dep.key
    per = (
        df.select(key, *dep.dependents)
        .group_by(key)
        .agg(*[(pl.col(d).min() != pl.col(d).max()).alias(d) for d in dep.dependents])
    )
    for col in dep.dependents:
        bad_keys = per.filter(pl.col(col)).get_column(key)
        if bad_keys.len():
            rows = df.with_row_index(_ROW).filter(pl.col(key).is_in(bad_keys.implode()))
            firsts = rows.unique(subset=[key, col], keep="first", maintain_order=True)
            examples = _to_dicts(firsts.head(N_EXAMPLES).select(_ROW, key, col), ctx.csv)
            raise DataValidationError(
                ctx.source,
                f"{bad_keys.len()} {key} value(s) have more than one {col}; "
                f"expected one {col} per {key}",
                reason="inconsistent",
                column=col,
                examples=examples,
                count=rows.height,
                fix=f"{dep.fix}: correct {col} in these rows",
            )
