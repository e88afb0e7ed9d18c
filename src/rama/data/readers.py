"""Raw file reading (Parquet or CSV) with readable errors; no validation here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import polars as pl

from rama.errors import DataValidationError
from rama.io import read_csv_text, read_parquet_file, readable_file, unreadable_parquet


def read_raw(path: Path) -> tuple[pl.DataFrame, bool]:
    """Read a ``.parquet`` (as stored) or ``.csv`` (every column as text) file.

    Returns the frame and whether it came from CSV (row numbers then also get a line). A
    missing file, a symlink loop, a truncated Parquet file, a UTF-16 or semicolon-delimited
    CSV, non-UTF-8 bytes: each is a DataValidationError naming the file (:mod:`rama.io`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    fix = "check the path (see docs/data.md for the layout)"
    readable_file(path, "data file", fix)
    if suffix == ".parquet":
        return read_parquet_file(path, "Parquet file", PARQUET_FIX), False
    if suffix == ".csv":
        return read_csv_text(path, "CSV file"), True
    raise DataValidationError(
        str(path),
        f"unsupported file type {suffix or '(none)'}; expected .parquet or .csv",
        reason="unreadable",
        fix="convert the file to Parquet or CSV",
    )


PARQUET_FIX = "re-download or re-export the file"


def _unreadable(path: Path, exc: BaseException) -> DataValidationError:
    return unreadable_parquet(path, exc, PARQUET_FIX)


def parquet_row_groups(path: Path) -> list[int]:
    """Rows of each row group of a Parquet file, from its footer (no data read)."""
    import pyarrow.parquet as pq

    path = readable_file(Path(path), "data file", "check the path (see docs/data.md)")
    try:
        meta = pq.read_metadata(path)
    except BaseException as exc:  # pyarrow errors on a truncated or foreign file
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise _unreadable(path, exc) from exc
    return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]


def read_parquet_rows(
    path: Path, start: int, stop: int, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Rows ``start .. stop - 1`` (0-based) of a Parquet file, as stored (``columns``: only
    these); polars reads only the row groups the range touches."""
    path = Path(path)
    try:
        lf = pl.scan_parquet(path, glob=False)
        if columns is not None:
            lf = lf.select(list(columns))
        return lf.slice(start, stop - start).collect()
    except BaseException as exc:  # a corrupt page can make polars panic (not an Exception)
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise _unreadable(path, exc) from exc


def header_columns(path: Path) -> list[str] | None:
    """The column names of a ``.parquet`` or ``.csv`` file without reading its rows; None
    when the file cannot be read (or is another type)."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            with open(path, "rb") as fh:  # a file handle: [ or * in the path is no pattern
                return list(pl.read_parquet_schema(fh))
        if suffix == ".csv":
            return pl.read_csv(path, n_rows=0, infer_schema=False, glob=False).columns
    except BaseException as exc:  # polars errors and panics on a malformed file
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        return None
    return None
