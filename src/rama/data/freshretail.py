"""FreshRetailNet-50K loader: locate a split, read Parquet or the CSV export, validate."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.data.readers import header_columns, read_raw
from rama.data.schema import FRESHRETAIL
from rama.errors import DataValidationError
from rama.schema import validate as validate_table

SPLITS = ("train", "eval")
EXTENSIONS = ("parquet", "csv")
IDENTIFYING_COLUMNS = frozenset({"store_id", "product_id", "dt", "sale_amount", "hours_sale"})
"""A file whose header holds these columns is taken for FreshRetailNet (and never for the
logistics dataset, rama.data.logistics)."""


def folders(path: Path) -> tuple[Path, ...]:
    """The folders a split may be in, most specific layout first: the dataset's own
    ``data/``, a data root's ``freshretailnet/data/`` and ``freshretailnet/`` (the CSV export
    laid out as a folder), and ``path`` itself."""
    return (path / "data", path / "freshretailnet" / "data", path / "freshretailnet", path)


def patterns(split: str) -> tuple[str, ...]:
    """File names of ``split`` in a folder: ``train.parquet``, ``train.csv`` and the
    Hugging Face shards ``train-00000-of-00001.parquet`` (or ``.csv``)."""
    return (
        *(f"{split}.{ext}" for ext in EXTENSIONS),
        *(f"{split}-*-of-*.{ext}" for ext in EXTENSIONS),
    )


def is_freshretail_header(columns: list[str] | None) -> bool:
    """True when ``columns`` (a file's header) are FreshRetailNet's."""
    return columns is not None and set(columns) >= IDENTIFYING_COLUMNS


def _candidates(path: Path, split: str) -> list[Path]:
    """Where ``split`` may live under a folder (exact names; shards are globbed), most
    specific layout first."""
    return [folder / name for folder in folders(path) for name in patterns(split)]


def looked_for(path: Path, split: str) -> list[str]:
    """Every path and pattern searched for ``split`` under ``path`` (for messages)."""
    return [str(p) for p in _candidates(Path(path), split)]


def _foreign(file: Path) -> bool:
    """True when the header of a split-named file shows it is not FreshRetailNet (e.g. the
    logistics dataset saved as ``train.csv``): such a file is skipped."""
    cols = header_columns(file)
    return cols is not None and not is_freshretail_header(cols)


def freshretail_files(path: Path, split: str = "train") -> list[Path]:
    """Every file of ``split`` under ``path`` (several for a sharded export), or [].

    ``path`` may be a file (``.parquet`` or ``.csv``; it stands for the train split, so a
    single file never doubles as the eval split), the dataset folder
    (``path/data/{split}.parquet``), a data root containing ``freshretailnet/``, or a folder
    holding the CSV export (``train.csv``, ``eval.csv``) or Hugging Face shards
    (``train-00000-of-00001.parquet``). The first folder and name (:func:`patterns`) that
    match win; a file whose header is not FreshRetailNet's is skipped.
    """
    path = Path(path)
    if path.is_file():
        return [path] if split == "train" else []
    if not path.is_dir():
        return []
    for folder in folders(path):
        for pattern in patterns(split):
            exact = folder / pattern
            if "*" not in pattern and exact.is_symlink() and not exact.exists():
                return [exact]  # a broken symlink (a loop, no target): reading it says so
            found = sorted(p for p in folder.glob(pattern) if p.is_file() and not _foreign(p))
            if found:
                return found
    return []


def freshretail_file(path: Path, split: str = "train") -> Path | None:
    """The (first) file holding ``split`` under ``path``, or None when there is none (see
    :func:`freshretail_files`)."""
    files = freshretail_files(path, split)
    return files[0] if files else None


def has_split(path: Path, split: str) -> bool:
    """True when ``split`` ("train" or "eval") exists under ``path`` (see
    :func:`freshretail_files`)."""
    return bool(freshretail_files(path, split))


def validate_freshretail(raw: pl.DataFrame, source: str, *, csv: bool = False) -> pl.DataFrame:
    """Validate a FreshRetailNet frame (published or CSV-text types) and return the contract.

    Raises :class:`~rama.errors.DataValidationError` on the first broken rule.
    """
    return validate_table(raw, FRESHRETAIL, source, csv=csv)


def split_files(path: Path, split: str = "train") -> list[Path]:
    """The files of ``split`` under ``path`` (:func:`freshretail_files`); an unknown split or
    no file is a DataValidationError (``invalid``, ``not_found``) listing where it looked."""
    if split not in SPLITS:
        raise DataValidationError(
            str(path),
            f"unknown split {split!r}; expected one of {', '.join(SPLITS)}",
            reason="invalid",
        )
    files = freshretail_files(Path(path), split)
    if not files:
        tried = ", ".join(looked_for(Path(path), split))
        raise DataValidationError(
            str(path),
            f"no FreshRetailNet {split} split found (looked for {tried}; files whose header "
            "is not FreshRetailNet's are skipped)",
            reason="not_found",
            fix="point --data to the data root (with freshretailnet/data/train.parquet), "
            "to the dataset folder, to a folder holding train.csv / eval.csv or "
            "train-00000-of-00001.parquet shards, or to a .parquet/.csv file; "
            "`rama generate` writes one",
        )
    return files


def split_source(files: list[Path], split: str) -> str:
    """How messages name a split read from ``files``: the file, or its folder's shards."""
    if len(files) == 1:
        return str(files[0])
    return f"{files[0].parent}/{split} shards ({len(files)} files)"


def load_freshretail(path: Path, split: str = "train") -> pl.DataFrame:
    """Load and validate one split of FreshRetailNet-50K.

    Returns the published columns and dtypes with ``dt`` as ``pl.Date`` (docs/architecture.md).
    The whole split, hourly lists included, is in memory: :mod:`rama.data.partitions` reads
    it a partition at a time.
    """
    files = split_files(Path(path), split)
    frames = [read_raw(f) for f in files]
    is_csv = frames[0][1]
    if len(frames) == 1:
        raw = frames[0][0]
    else:
        try:
            raw = pl.concat([f for f, _ in frames], how="vertical_relaxed")
        except pl.exceptions.PolarsError as exc:
            raise DataValidationError(
                str(files[0].parent),
                f"the {len(files)} {split} shards do not share one set of columns ({exc})",
                reason="unreadable",
                fix="re-download the shards of one export",
            ) from exc
    source = split_source(files, split)
    return validate_freshretail(raw, source, csv=is_csv and len(frames) == 1)
