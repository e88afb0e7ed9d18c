"""Raw file reading (Parquet or CSV) with readable errors; no validation here."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.errors import DataValidationError
from rama.io import read_csv_text, read_parquet_file, readable_file


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
        return read_parquet_file(path, "Parquet file", "re-download or re-export the file"), False
    if suffix == ".csv":
        return read_csv_text(path, "CSV file"), True
    raise DataValidationError(
        str(path),
        f"unsupported file type {suffix or '(none)'}; expected .parquet or .csv",
        reason="unreadable",
        fix="convert the file to Parquet or CSV",
    )


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
