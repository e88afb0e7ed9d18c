"""FreshRetailNet-50K loader: locate a split, read Parquet or the CSV export, validate."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.data.readers import read_raw
from rama.data.schema import FRESHRETAIL
from rama.errors import DataValidationError
from rama.schema import validate as validate_table

SPLITS = ("train", "eval")


def _candidates(path: Path, split: str) -> list[Path]:
    """Where ``split`` may live under a folder, most specific layout first."""
    out: list[Path] = []
    for folder in (path / "data", path / "freshretailnet" / "data", path):
        out.extend(folder / f"{split}.{ext}" for ext in ("parquet", "csv"))
    return out


def freshretail_file(path: Path, split: str = "train") -> Path | None:
    """The file holding ``split`` under ``path``, or None when it does not exist.

    ``path`` may be a file (``.parquet`` or ``.csv``; it stands for the requested split),
    the dataset folder (``path/data/{split}.parquet``), or a data root containing
    ``freshretailnet/``.
    """
    path = Path(path)
    if path.is_file():
        return path
    if path.is_dir():
        return next((p for p in _candidates(path, split) if p.is_file()), None)
    return None


def has_split(path: Path, split: str) -> bool:
    """True when ``split`` ("train" or "eval") exists under ``path`` (see ``freshretail_file``)."""
    return freshretail_file(path, split) is not None


def validate_freshretail(raw: pl.DataFrame, source: str, *, csv: bool = False) -> pl.DataFrame:
    """Validate a FreshRetailNet frame (published or CSV-text types) and return the contract.

    Raises :class:`~rama.errors.DataValidationError` on the first broken rule.
    """
    return validate_table(raw, FRESHRETAIL, source, csv=csv)


def load_freshretail(path: Path, split: str = "train") -> pl.DataFrame:
    """Load and validate one split of FreshRetailNet-50K.

    Returns the published columns and dtypes with ``dt`` as ``pl.Date`` (docs/architecture.md).
    """
    if split not in SPLITS:
        raise DataValidationError(
            str(path),
            f"unknown split {split!r}; expected one of {', '.join(SPLITS)}",
            reason="invalid",
        )
    file = freshretail_file(Path(path), split)
    if file is None:
        tried = ", ".join(str(p) for p in _candidates(Path(path), split)[::2])
        raise DataValidationError(
            str(path),
            f"no FreshRetailNet {split} split found (looked for {tried})",
            reason="not_found",
            fix="point --data to the data root (with freshretailnet/data/train.parquet), "
            "to the dataset folder, or to a .parquet/.csv file; `rama generate` writes one",
        )
    raw, is_csv = read_raw(file)
    return validate_freshretail(raw, str(file), csv=is_csv)
