"""Partitions of a FreshRetailNet split: row ranges of its files, read and validated one at a
time so that the 24-hour lists of only one partition are in memory (docs/cluster.md, "Data
stages").

A Parquet file is cut at row-group boundaries into ranges of at most ``rows`` rows (a row
group larger than that is sliced), or, with ``align``, every ``rows`` rows rounded to a
multiple of ``align`` (the recovery's blocks); shards are several files; a CSV file is one
partition.
:func:`read_partition` applies the row checks of the FreshRetailNet schema to one partition,
with error rows counted from the start of the file; :func:`check_split` applies the
table-wide checks (gap-free series, one city per store, one category path per product) once
to the concatenated daily columns, so a split read in partitions is checked exactly as
:func:`~rama.data.freshretail.load_freshretail` checks it. :func:`map_partitions` runs one
task per partition on the active Dask cluster (:mod:`rama.cluster`), else one at a time here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from rama import cluster
from rama.data.freshretail import split_files, split_source
from rama.data.readers import parquet_row_groups, read_parquet_rows, read_raw
from rama.data.schema import FRESHRETAIL, FRESHRETAIL_ID_COLUMNS, FRESHRETAIL_LIST_COLUMNS
from rama.errors import DataValidationError
from rama.schema import TableSchema
from rama.schema import validate as validate_table

R = TypeVar("R")
T = TypeVar("T")

DEFAULT_PARTITION_ROWS = 2_000_000
"""Rows per partition (``data.partition_rows``): ~1.5 GB while one is read and checked
(~670 bytes a row with its hourly lists, measured by benchmarks/bench_partitions.py)."""

DAILY_COLUMNS: tuple[str, ...] = tuple(
    c for c in FRESHRETAIL.columns if c not in FRESHRETAIL_LIST_COLUMNS
)
"""The published columns without the two 24-hour lists, in the published order."""

CHECK_COLUMNS = (*FRESHRETAIL_ID_COLUMNS, "dt")
"""Columns the table-wide checks read (kept until they ran, whatever the caller keeps)."""

ROW_SCHEMA = TableSchema(
    FRESHRETAIL.name,
    FRESHRETAIL.fields,
    rules=FRESHRETAIL.rules,
    id_columns=FRESHRETAIL.id_columns,
    allow_extra_columns=FRESHRETAIL.allow_extra_columns,
    date_formats=FRESHRETAIL.date_formats,
)
"""The FreshRetailNet checks that look at one row at a time (columns, types, values, rules)."""

TABLE_SCHEMA = TableSchema(
    FRESHRETAIL.name,
    tuple(c for c in FRESHRETAIL.fields if c.name in CHECK_COLUMNS),
    id_columns=FRESHRETAIL.id_columns,
    series_keys=FRESHRETAIL.series_keys,
    time_column=FRESHRETAIL.time_column,
    dependencies=FRESHRETAIL.dependencies,
    allow_extra_columns=True,
    date_formats=FRESHRETAIL.date_formats,
    min_rows=FRESHRETAIL.min_rows,
    keep_dtypes=True,
)
"""The FreshRetailNet checks across rows (row count, series, dependencies), on daily columns."""


@dataclass(frozen=True)
class Partition:
    """Rows ``start .. stop - 1`` (0-based, ``stop`` None = to the end) of one file of a
    split; ``index`` is its position in the split, ``file_rows`` the file's row count (None
    for CSV, known only once read)."""

    file: Path
    start: int
    stop: int | None
    index: int
    csv: bool
    file_rows: int | None

    @property
    def whole_file(self) -> bool:
        return self.start == 0 and (self.stop is None or self.stop == self.file_rows)


def row_ranges(groups: Sequence[int], rows: int) -> list[tuple[int, int]]:
    """``(start, stop)`` ranges over row groups of ``groups`` rows: consecutive groups while
    they fit in ``rows``; a group larger than ``rows`` is cut into near-equal slices."""
    if rows < 1:
        raise ValueError(f"rows per partition must be >= 1, got {rows}")
    out: list[tuple[int, int]] = []
    first = end = 0
    for n in groups:
        if end > first and end - first + n > rows:
            out.append((first, end))
            first = end
        if n > rows:
            k = -(-n // rows)
            cuts = [end + (n * i) // k for i in range(k + 1)]
            out += list(pairwise(cuts))
            first = end + n
        end += n
    if end > first or not out:
        out.append((first, end))
    return out


def split_partitions(
    path: Path,
    split: str = "train",
    rows: int = DEFAULT_PARTITION_ROWS,
    *,
    align: int | None = None,
) -> list[Partition]:
    """The partitions of ``split`` under ``path`` (files as :func:`split_files` finds them),
    each of at most ``rows`` rows where the file allows it (Parquet).

    By default a Parquet file is cut at row-group boundaries (:func:`row_ranges`: the
    partitions' chunks are the file's row groups, as in one read). With ``align`` it is cut
    every ``rows`` rows rounded down to a multiple of ``align`` (``rows`` when smaller), so
    blocks of ``align`` rows counted from the file's start never straddle two partitions.
    """
    parts: list[Partition] = []
    for file in split_files(Path(path), split):
        if file.suffix.lower() == ".parquet":
            groups = parquet_row_groups(file)
            total = sum(groups)
            if align is None:
                ranges = row_ranges(groups, rows)
            else:
                size = max(1, rows // align * align if rows >= align else rows)
                ranges = [(a, min(a + size, total)) for a in range(0, max(total, 1), size)]
            for a, b in ranges:
                parts.append(Partition(file, a, b, len(parts), False, total))
        else:  # CSV (or a type read_raw rejects, naming the file): the file is one partition
            csv = file.suffix.lower() == ".csv"
            parts.append(Partition(file, 0, None, len(parts), csv, None))
    return parts


def _read(part: Partition, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The partition's rows as stored (Parquet) or as text (CSV)."""
    if part.stop is not None and not part.whole_file:
        return read_parquet_rows(part.file, part.start, part.stop, columns)
    raw, _ = read_raw(part.file)
    return raw if columns is None else raw.select(columns)


def _shifted(err: DataValidationError, part: Partition) -> DataValidationError:
    """``err`` with example rows (and CSV lines) counted from the start of the file."""
    if part.whole_file:
        return err
    examples = [
        {k: v + part.start if k in ("row", "line") else v for k, v in e.items()}
        for e in err.examples
    ]
    stop = part.stop if part.stop is not None else part.start
    return DataValidationError(
        err.source or str(part.file),
        f"{err.problem} in rows {part.start}..{stop - 1} of the file",
        reason=err.reason,
        column=err.column,
        examples=examples,
        count=err.count,
        fix=err.fix,
    )


def read_partition(part: Partition, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """One partition, checked by :data:`ROW_SCHEMA` (published dtypes, ``dt`` as Date);
    ``columns``: keep only these. Errors name the file and the file's row numbers."""
    raw = _read(part)
    try:
        df = validate_table(raw, ROW_SCHEMA, str(part.file), csv=part.csv)
    except DataValidationError as err:
        raise _shifted(err, part) from err
    return df if columns is None else df.select(columns)


def _daily_task(columns: tuple[str, ...], part: Partition) -> pl.DataFrame:
    """Map task: one checked partition's ``columns`` plus the table-wide check columns."""
    return read_partition(part, list(dict.fromkeys((*columns, *CHECK_COLUMNS))))


def check_split(
    frames: Sequence[pl.DataFrame], parts: Sequence[Partition], split: str
) -> pl.DataFrame:
    """The partitions' daily frames concatenated without a copy and checked by
    :data:`TABLE_SCHEMA`, rows numbered across the split (as ``load_freshretail`` numbers
    them). The chunks stay the files' row groups, as in one read, so polars sums and writes
    the frame alike (when no partition cuts a row group)."""
    daily = pl.concat(frames, how="vertical", rechunk=False)
    files = list(dict.fromkeys(p.file for p in parts))
    validate_table(
        daily, TABLE_SCHEMA, split_source(files, split), csv=parts[0].csv and len(files) == 1
    )
    return daily


def map_partitions(
    fn: Callable[[Any, T], R],
    shared: Any,
    parts: Sequence[T],
    *,
    stage: str,
    noun: str = "partitions",
) -> list[R]:
    """``fn(shared, part)`` for every partition (a :class:`Partition`, or a file a stage
    wrote for its partition), in order: one Dask task each on the active cluster (the
    workers read the files themselves), else one at a time here."""
    if cluster.active() is not None and len(parts) > 1:
        return cluster.map_tasks(fn, shared, parts, stage=stage, noun=noun)
    return [fn(shared, p) for p in parts]


def load_daily(
    path: Path,
    split: str = "train",
    *,
    rows: int = DEFAULT_PARTITION_ROWS,
    columns: Sequence[str] = DAILY_COLUMNS,
    stage: str = "prepare",
) -> pl.DataFrame:
    """The checked ``split`` without the hourly lists (``columns``, default every daily
    column), read ``rows`` rows at a time: the lists of one partition are in memory at once
    and are checked exactly as :func:`~rama.data.freshretail.load_freshretail` checks them."""
    parts = split_partitions(Path(path), split, rows)
    frames = map_partitions(_daily_task, tuple(columns), parts, stage=stage)
    return check_split(frames, parts, split).select(columns)
