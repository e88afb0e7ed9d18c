"""Raw file reading (Parquet or CSV) with readable errors; no validation here."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.errors import DataValidationError


def read_raw(path: Path) -> tuple[pl.DataFrame, bool]:
    """Read a ``.parquet`` (as stored) or ``.csv`` (every column as text) file.

    Returns the frame and whether it came from CSV (row numbers then also get a line).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataValidationError(
            str(path),
            "file not found",
            reason="not_found",
            fix="check the path (see docs/data.md for the layout)",
        )
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path), False
        if suffix == ".csv":
            return pl.read_csv(path, infer_schema=False), True
    except (pl.exceptions.PolarsError, OSError) as exc:
        kind = "Parquet" if suffix == ".parquet" else "CSV"
        raise DataValidationError(
            str(path),
            f"could not be read as {kind} ({type(exc).__name__}: {exc})",
            reason="unreadable",
            fix=f"check that the file is a complete, uncorrupted {kind} file",
        ) from exc
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
            return list(pl.read_parquet_schema(path))
        if suffix == ".csv":
            return pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError):
        return None
    return None
