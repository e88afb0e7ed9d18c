"""The prepare stage's sales in partitions of whole stores: this process never holds the
daily table, only a row per pair and what each partition reports (docs/cluster.md, "Data
stages").

1. **Read** (:func:`_read_task`, a task per partition of
   :func:`~rama.data.partitions.split_partitions`): the partition's row range moves to store
   boundaries (:func:`owned`: a store's rows belong to the partition holding its first row),
   its rows are read and checked (the FreshRetailNet row checks, then the table-wide ones,
   which hold for whole stores) and the daily columns written to an Arrow file in a scratch
   folder (``.prepare-partitions.XXXXXXXX.tmp`` in the run folder).
2. **Here**: the checks across partitions (stores ascending, each in one partition; one
   hierarchy place per product) and the median of the positive sales, the outlier rule's
   split-wide reference (:mod:`rama.prepare.order_stats`, exact).
3. **Cap** (:func:`_cap_task`): each file's outliers capped, its pairs' parameters and its
   part of the demand summary.
4. **Here**: the outlier table (warned about or raised once), the summary's median and,
   when the stage writes, the daily table streamed from the files into one Parquet file.

A split not as published (rows out of (store, product, day) order, a store in two files) or
failing any check is loaded whole instead (:func:`~rama.data.partitions.load_daily`), which
sorts it or raises the check's own error with the rows numbered as always. Either way the
tables are those of the whole-table steps: the daily table and the pair parameters equal
them bit for bit, the demand summary's counts too and its means and std to rounding
(tested).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.cluster import scratch_dir
from rama.data.outliers import (
    OutlierRule,
    cap_sale_outliers,
    cap_sales,
    empty_report,
    report_sale_outliers,
)
from rama.data.partitions import (
    CHECK_COLUMNS,
    DAILY_COLUMNS,
    TABLE_SCHEMA,
    Partition,
    load_daily,
    map_partitions,
    read_partition,
    split_partitions,
)
from rama.data.readers import read_parquet_rows
from rama.data.schema import HIERARCHY_COLUMNS
from rama.errors import DataValidationError
from rama.io import sink_parquet, write_parquet
from rama.prepare.demand import is_sorted_by, store_product_daily, store_product_params
from rama.prepare.eda import (
    DemandPartial,
    demand_partial,
    demand_summary,
    merge_demand,
    summarize_demand,
)
from rama.prepare.order_stats import Bracket, Sketch, Slice, exact_median, sketch, take
from rama.schema import PAIR_KEYS
from rama.schema import validate as validate_table

KEYS = (*PAIR_KEYS, "dt")
LOOKAHEAD_ROWS = 65_536
"""Rows of ``store_id`` read at a time while looking for the end of a store's rows."""
STAGE = "prepare"


class Sales:
    """The checked, capped train sales: ``rows`` daily rows, ``pair_params`` (a row per
    pair), ``outliers`` (the outlier table), ``demand`` (the demand summary) and the daily
    table, written by :meth:`write_daily` (from the partition files, or from memory when
    the split was loaded whole; ``partitioned`` says which)."""

    def __init__(
        self,
        rows: int,
        pair_params: pl.DataFrame,
        outliers: pl.DataFrame,
        demand: dict[str, Any],
        *,
        files: tuple[Path, ...] = (),
        daily: pl.DataFrame | None = None,
    ) -> None:
        self.rows, self.pair_params, self.outliers = rows, pair_params, outliers
        self.demand, self.files, self._daily = demand, files, daily
        self.partitioned = daily is None

    def write_daily(self, target: Path) -> None:
        """Write the daily table to ``target`` (Parquet, zstd); a table held in memory is
        dropped once written."""
        if self._daily is not None:
            write_parquet(self._daily, target)
            self._daily = None
        else:
            sink_parquet(pl.concat([pl.scan_ipc(f) for f in self.files]), target)


@contextmanager
def load_sales(
    data_dir: Path, rule: OutlierRule, *, rows: int, source: str, scratch: Path
) -> Iterator[Sales]:
    """The train split of ``data_dir`` read ``rows`` rows at a time as :class:`Sales`; the
    partition files live in a folder under ``scratch`` (the run folder) until the block
    ends. ``source`` names the split in outlier messages."""
    parts = split_partitions(Path(data_dir), "train", rows)
    with scratch_dir("prepare-partitions", scratch) as folder:
        sales = _partitioned(parts, folder, rule, source)
        if sales is None:
            for f in folder.iterdir():  # only the partition files written above
                f.unlink()
            sales = _whole(data_dir, rule, rows, source)
        yield sales


def _whole(data_dir: Path, rule: OutlierRule, rows: int, source: str) -> Sales:
    """The split loaded and capped as one table (sorted when it is not)."""
    loaded = [store_product_daily(load_daily(Path(data_dir), "train", rows=rows))]
    daily, outliers = cap_sale_outliers(loaded.pop(), rule, source)
    params = store_product_params(daily)
    return Sales(daily.height, params, outliers, demand_summary(daily, params), daily=daily)


# ------------------------------------------------------------------------------ ownership


def _store_at(file: Path, row: int) -> Any:
    return read_parquet_rows(file, row, row + 1, ["store_id"]).item()


def _run_end(file: Path, row: int, store: Any, total: int) -> int:
    """The first row at or after ``row`` whose store is not ``store`` (``total`` if none)."""
    while row < total:
        stop = min(row + LOOKAHEAD_ROWS, total)
        col = read_parquet_rows(file, row, stop, ["store_id"]).get_column("store_id")
        other = (col != store).fill_null(True).arg_true()
        if other.len():
            return row + int(other[0])
        row = stop
    return total


def owned(part: Partition) -> Partition | None:
    """The rows ``part`` owns: from the first store that starts in its range to the end of
    the store it ends in (None when a store begun earlier covers the whole range). Both
    neighbours decide a boundary from the same rows, so every row has one owner, whatever
    the order of the file."""
    if part.whole_file or part.stop is None or part.file_rows is None:
        return part
    total, file = part.file_rows, part.file
    start = part.start
    if start > 0:
        start = _run_end(file, start, _store_at(file, start - 1), total)
    if start >= part.stop:
        return None
    stop = part.stop
    if stop < total:
        stop = _run_end(file, stop, _store_at(file, stop - 1), total)
    return Partition(file, start, stop, part.index, part.csv, total)


# ---------------------------------------------------------------------------------- tasks


NO_VALUES = Sketch(0, np.empty(0))


@dataclass(frozen=True)
class _Read:
    """A partition once read: its Arrow file (None when it owns no row or failed), rows,
    whether it is ordered and passed the checks, its first and last (store, product, day),
    its products' hierarchy places and the sketch of its positive sales."""

    file: Path | None
    rows: int
    ok: bool
    first: tuple[Any, ...] | None = None
    last: tuple[Any, ...] | None = None
    paths: pl.DataFrame | None = None
    positive: Sketch = NO_VALUES


def _read_task(folder: Path, part: Partition) -> _Read:
    """Map task: read, check and write one partition's owned rows."""
    own = owned(part)
    if own is None:
        return _Read(None, 0, True)
    try:
        daily = read_partition(own, DAILY_COLUMNS)
        if not is_sorted_by(daily, list(KEYS)):
            return _Read(None, daily.height, False)
        validate_table(daily.select(CHECK_COLUMNS), TABLE_SCHEMA, str(part.file), csv=part.csv)
    except DataValidationError:
        return _Read(None, 0, False)
    file = folder / f"part-{part.index:06d}.arrow"
    daily.write_ipc(file, compression="lz4")
    sales = daily.get_column("sale_amount")
    return _Read(
        file,
        daily.height,
        True,
        tuple(daily.select(KEYS).row(0)),
        tuple(daily.select(KEYS).row(-1)),
        daily.select("product_id", *HIERARCHY_COLUMNS).unique(),
        sketch(sales.filter(sales > 0).to_numpy()),
    )


def _take_task(shared: tuple[Bracket, bool], file: Path) -> Slice:
    """Map task: a file's :class:`~rama.prepare.order_stats.Slice` of its (positive) sales."""
    bracket, positive = shared
    sales = pl.read_ipc(file, columns=["sale_amount"]).get_column("sale_amount")
    return take((sales.filter(sales > 0) if positive else sales).to_numpy(), bracket)


@dataclass(frozen=True)
class _Capped:
    flagged: pl.DataFrame
    params: pl.DataFrame
    demand: DemandPartial
    sales: Sketch


def _cap_task(shared: tuple[float | None, OutlierRule], file: Path) -> _Capped:
    """Map task: cap a file's outliers (rewriting it when any), its pair parameters and
    demand partial."""
    ref, rule = shared
    daily = pl.read_ipc(file)
    flagged = pl.DataFrame()
    if ref is not None and rule.enabled:
        daily, flagged = cap_sales(daily, ref, rule)
        if flagged.height:
            tmp = file.with_name(file.name + ".capped")
            daily.write_ipc(tmp, compression="lz4")
            os.replace(tmp, file)
    return _Capped(
        flagged,
        store_product_params(daily),
        demand_partial(daily),
        sketch(daily.get_column("sale_amount").to_numpy()),
    )


# ---------------------------------------------------------------------------------- client


def _consistent(reads: list[_Read]) -> bool:
    """Every partition ordered and checked, stores ascending across partitions (so each
    store, hence each series, lies in one), one hierarchy place per product."""
    kept = [r for r in reads if r.rows]
    if not kept or not all(r.ok for r in reads):
        return False
    if any(
        a.last is None or b.first is None or not a.last[0] < b.first[0] for a, b in pairwise(kept)
    ):
        return False
    paths = pl.concat([r.paths for r in kept if r.paths is not None]).unique()
    return paths.height == paths.get_column("product_id").n_unique()


def _median(files: list[Path], sketches: list[Sketch], *, positive: bool) -> float | None:
    def ask(bracket: Bracket) -> list[Slice]:
        return map_partitions(_take_task, (bracket, positive), files, stage=STAGE)

    return exact_median(sketches, ask)


def _partitioned(
    parts: list[Partition], folder: Path, rule: OutlierRule, source: str
) -> Sales | None:
    """The :class:`Sales` of ``parts`` read into ``folder``; None when the split must be
    loaded whole."""
    reads = map_partitions(_read_task, folder, parts, stage=STAGE)
    if not _consistent(reads):
        return None
    kept = [r for r in reads if r.file is not None]
    files = [r.file for r in kept if r.file is not None]
    ref = _median(files, [r.positive for r in kept], positive=True) if rule.enabled else None
    capped = map_partitions(_cap_task, (ref, rule), files, stage=STAGE)
    flagged = [c.flagged for c in capped if c.flagged.height]
    outliers = report_sale_outliers(pl.concat(flagged), rule, source) if flagged else empty_report()
    params = pl.concat([c.params for c in capped]).sort(list(PAIR_KEYS))
    median = _median(files, [c.sales for c in capped], positive=False)
    stats, store_days = merge_demand([c.demand for c in capped], median)
    demand = summarize_demand(stats, store_days, params)
    return Sales(int(stats["rows"]), params, outliers, demand, files=tuple(files))
