"""Atomic output: write to a temporary path beside the target, then move into place."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from rama.errors import DataValidationError, StageInputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary file path in ``target``'s folder; rename onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; it replaces ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, _DIR_MODE)  # mkdtemp makes 0700
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _write(target: Path, writer: Callable[[Path], object]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_parquet(df: pl.DataFrame, target: Path) -> Path:
    """Write ``df`` as Parquet (zstd) atomically."""
    return _write(target, lambda p: df.write_parquet(p, compression="zstd"))


def write_csv(df: pl.DataFrame, target: Path) -> Path:
    """Write ``df`` as CSV atomically."""
    return _write(target, df.write_csv)


def write_json(obj: Any, target: Path) -> Path:
    """Write ``obj`` as indented JSON atomically."""

    def dump(p: Path) -> None:
        p.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")

    return _write(target, dump)


def write_text(text: str, target: Path) -> Path:
    """Write text atomically."""
    return _write(target, lambda p: p.write_text(text, encoding="utf-8"))


def read_table(folder: Path, name: str) -> pl.DataFrame:
    """Read ``folder/name.parquet`` or ``folder/name.csv`` (Parquet preferred)."""
    folder = Path(folder)
    pq, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    if pq.is_file():
        return pl.read_parquet(pq)
    if csv.is_file():
        try:
            return pl.read_csv(csv, infer_schema_length=10000)
        except pl.exceptions.PolarsError as exc:
            raise DataValidationError(
                str(csv), f"could not be parsed as CSV ({exc})", fix="check the file format"
            ) from exc
    raise DataValidationError(
        str(folder),
        f"missing table {name!r}: expected {name}.parquet or {name}.csv",
        fix=f"add the {name} table to the folder",
    )


def require_file(path: Path, stage: str, hint: str) -> Path:
    """Return ``path`` if it exists, else a StageInputError saying which stage makes it."""
    path = Path(path)
    if not path.exists():
        raise StageInputError(f"{stage}: {path} not found; {hint}")
    return path
