"""Apply a :class:`~rama.data.schema.TableSchema` to a raw frame, vectorized.

Order of the checks: columns present/absent, types (every value castable), nulls and NaN,
row rules, unique and gap-free series, functional dependencies. The first failing check
raises a :class:`~rama.errors.DataValidationError` naming the file, the column, up to five
offending rows (``row`` = 0-based data row; for CSV also ``line`` = line in the file) and
how many rows fail.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from rama.data.schema import RowRule, TableSchema
from rama.errors import DataValidationError

N_EXAMPLES = 5
_ROW = "__rama_row"


def validate_table(
    raw: pl.DataFrame, schema: TableSchema, source: str, *, csv: bool = False
) -> pl.DataFrame:
    """Check ``raw`` against ``schema``; return it cast to the schema's dtypes and order."""
    _check_columns(raw, schema, source)
    if raw.height == 0:
        raise DataValidationError(
            source,
            f"has no data rows (expected a {schema.name} table)",
            fix="point to a file that contains data",
        )
    df = _cast(raw, schema, source, csv)
    _check_nulls(df, schema, source, csv)
    _check_rules(df, schema, source, csv)
    if schema.series_keys and schema.time_column:
        _check_series(df, schema, source, csv)
    if schema.unique_keys:
        _check_unique(df, schema, source, csv)
    for dep in schema.dependencies:
        _check_dependency(
            df, schema, key=dep.key, dependents=dep.dependents, fix=dep.fix, source=source, csv=csv
        )
    return df


# ----------------------------------------------------------------------------- helpers


def _examples(
    df: pl.DataFrame,
    bad: pl.Expr,
    schema: TableSchema,
    columns: list[str | pl.Expr],
    csv: bool,
) -> tuple[list[dict[str, Any]], int]:
    """The first offending rows as plain dicts, and how many rows offend."""
    hits = df.with_row_index(_ROW).filter(bad)
    ids = [c for c in schema.id_columns if c in df.columns]
    names = {c for c in columns if isinstance(c, str)}
    shown: list[str | pl.Expr] = [c for c in ids if c not in names]
    head = hits.head(N_EXAMPLES).select(pl.col(_ROW), *shown, *columns)
    return _to_dicts(head, csv), hits.height


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


def _check_columns(raw: pl.DataFrame, schema: TableSchema, source: str) -> None:
    missing = [c for c in schema.columns if c not in raw.columns]
    if missing:
        raise DataValidationError(
            source,
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
            f"a {schema.name} table has the columns {', '.join(schema.columns)}; "
            f"found {', '.join(raw.columns) or 'no columns'}",
            column=missing[0],
            fix="add the missing columns (names are case-sensitive) or point to the right file",
        )
    extra = [c for c in raw.columns if c not in schema.columns]
    if extra and not schema.allow_extra_columns:
        raise DataValidationError(
            source,
            f"unexpected column{'s' if len(extra) > 1 else ''} {', '.join(extra)}; "
            f"a {schema.name} table has exactly the columns {', '.join(schema.columns)}",
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
        if is_text:
            conv = c.str.strip_chars().cast(target, strict=False)
            return conv, conv.is_null() & not_null
        if not (src.is_numeric() or src == pl.Boolean()):
            return None
        conv = c.cast(target, strict=False)
        bad = conv.is_null() & not_null
        if src.is_float() and target.is_integer():
            bad = bad | (c != c.round())
        return conv, bad
    return None  # pragma: no cover - every schema dtype is handled above


def _cast(raw: pl.DataFrame, schema: TableSchema, source: str, csv: bool) -> pl.DataFrame:
    converted: dict[str, pl.Expr] = {}
    checks: dict[str, pl.Expr] = {}
    for col, target in schema.columns.items():
        src = raw.schema[col]
        if src == target:
            continue
        conv = _converter(col, src, target, schema.date_formats)
        if conv is None:
            raise DataValidationError(
                source,
                f"has type {src}; expected {_dtype_name(target)}",
                column=col,
                examples=[{col: v} for v in raw.get_column(col).head(3).to_list()],
                count=raw.height,
                fix=f"store {col} as {target} (the published type)",
            )
        converted[col], checks[col] = conv
    if not converted:
        return raw.select(list(schema.columns))
    counts = raw.select([b.sum().alias(c) for c, b in checks.items()]).row(0, named=True)
    for col, n_bad in counts.items():
        if n_bad:
            examples, count = _examples(raw, checks[col], schema, [col], csv)
            raise DataValidationError(
                source,
                f"values that cannot be read as {_dtype_name(schema.columns[col])}",
                column=col,
                examples=examples,
                count=count,
                fix=f"correct the values of {col} in these rows "
                f"(expected type {schema.columns[col]})",
            )
    return raw.with_columns(**converted).select(list(schema.columns))


# ----------------------------------------------------------------------------- nulls


def _missing_expr(col: str, dtype: pl.DataType) -> pl.Expr:
    c = pl.col(col)
    bad = c.is_null()
    if dtype.is_float():
        bad = bad | c.is_nan()
    elif isinstance(dtype, pl.List):
        el = pl.element().is_null()
        if _inner(dtype).is_float():
            el = el | pl.element().is_nan()
        bad = bad | c.list.eval(el).list.any()
    return bad


def _check_nulls(df: pl.DataFrame, schema: TableSchema, source: str, csv: bool) -> None:
    exprs = {c: _missing_expr(c, t) for c, t in schema.columns.items()}
    counts = df.select([e.sum().alias(c) for c, e in exprs.items()]).row(0, named=True)
    for col, n_bad in counts.items():
        if n_bad:
            examples, count = _examples(df, exprs[col], schema, [col], csv)
            raise DataValidationError(
                source,
                f"missing values (null or NaN) in a required column; expected "
                f"{_dtype_name(schema.columns[col])} in every row",
                column=col,
                examples=examples,
                count=count,
                fix=f"fill in {col} or remove these rows",
            )


# ----------------------------------------------------------------------------- rules


def _rule_columns(rule: RowRule) -> list[str | pl.Expr]:
    return [rule.show] if rule.show is not None else [rule.column]


def _check_rules(df: pl.DataFrame, schema: TableSchema, source: str, csv: bool) -> None:
    if not schema.rules:
        return
    counts = df.select([r.bad.sum().alias(str(i)) for i, r in enumerate(schema.rules)]).row(0)
    failing = [(r, int(n)) for r, n in zip(schema.rules, counts, strict=True) if n]
    if not failing:
        return
    rule = failing[0][0]
    examples, count = _examples(df, rule.bad, schema, _rule_columns(rule), csv)
    problem = f"expected {rule.expected}"
    if len(failing) > 1:
        others = "; ".join(f"{r.column}: {r.expected} [{n} rows]" for r, n in failing[1:])
        problem += f" (also failing: {others})"
    raise DataValidationError(
        source,
        problem,
        column=rule.column,
        examples=examples,
        count=count,
        fix=f"{rule.fix}; correct or remove these rows",
    )


# ----------------------------------------------------------------------------- keys


def _check_series(df: pl.DataFrame, schema: TableSchema, source: str, csv: bool) -> None:
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
    if n_bad_steps == 0 and n_blocks == df.select(pl.struct(keys).n_unique()).item():
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
    if dup.height:
        hits = (
            df.with_row_index(_ROW)
            .join(dup.select(keys), on=keys, how="semi")
            .filter(pl.struct([*keys, t]).is_duplicated())
            .sort(_ROW)
        )
        examples = _to_dicts(hits.head(N_EXAMPLES).select(_ROW, *schema.id_columns), csv)
        raise DataValidationError(
            source,
            f"duplicate rows: expected one row per {what}, found {dup.height} series "
            "with repeated days",
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
        examples = _to_dicts(
            hits.head(N_EXAMPLES).select(_ROW, *schema.id_columns, "previous_day"), csv
        )
        raise DataValidationError(
            source,
            f"dates not contiguous: expected consecutive days in every {' x '.join(keys)} "
            f"series, found {gaps.height} series with missing days",
            column=t,
            examples=examples,
            count=hits.height,
            fix="add the missing days (with zero sales if nothing sold) or drop the series",
        )


def _check_unique(df: pl.DataFrame, schema: TableSchema, source: str, csv: bool) -> None:
    keys = list(schema.unique_keys)
    bad = pl.struct(keys).is_duplicated()
    if df.select(bad.any()).item():
        examples, count = _examples(df, bad, schema, [], csv)
        raise DataValidationError(
            source,
            f"duplicate {', '.join(keys)}: expected each value once",
            column=keys[0],
            examples=examples,
            count=count,
            fix="keep one row per " + ", ".join(keys),
        )


def _check_dependency(
    df: pl.DataFrame,
    schema: TableSchema,
    *,
    key: str,
    dependents: tuple[str, ...],
    fix: str,
    source: str,
    csv: bool,
) -> None:
    per = (
        df.select(key, *dependents)
        .group_by(key)
        .agg(*[(pl.col(d).min() != pl.col(d).max()).alias(d) for d in dependents])
    )
    for dep in dependents:
        bad_keys = per.filter(pl.col(dep)).get_column(key)
        if bad_keys.len():
            rows = df.with_row_index(_ROW).filter(pl.col(key).is_in(bad_keys.implode()))
            firsts = rows.unique(subset=[key, dep], keep="first", maintain_order=True)
            examples = _to_dicts(firsts.head(N_EXAMPLES).select(_ROW, key, dep), csv)
            raise DataValidationError(
                source,
                f"{bad_keys.len()} {key} value(s) have more than one {dep}; "
                f"expected one {dep} per {key}",
                column=dep,
                examples=examples,
                count=rows.height,
                fix=f"{fix}: correct {dep} in these rows",
            )
