"""Loaders of the supply-side inputs: the logistics dataset and a city-locations file."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.data.readers import read_raw
from rama.data.schema import CITY_LOCATIONS, LOGISTICS, LOGISTICS_FILE
from rama.errors import DataValidationError
from rama.schema import validate as validate_table


def logistics_file(path: Path) -> Path | None:
    """The logistics CSV: ``path`` itself, ``path/LOGISTICS_FILE`` or ``path/logistics/...``."""
    path = Path(path)
    if path.is_file():
        return path
    for p in (path / "logistics" / LOGISTICS_FILE, path / LOGISTICS_FILE):
        if p.is_file():
            return p
    return None


def validate_logistics(raw: pl.DataFrame, source: str, *, csv: bool = False) -> pl.DataFrame:
    """Validate a logistics frame: 26 columns, ``timestamp`` Datetime, ranges of GPS and costs."""
    return validate_table(raw, LOGISTICS, source, csv=csv)


def load_logistics(path: Path) -> pl.DataFrame:
    """Load and validate ``dynamic_supply_chain_logistics_dataset.csv`` (file or data root).

    ``timestamp`` is ``pl.Datetime``, ``risk_classification`` String, the rest Float64.
    """
    file = logistics_file(Path(path))
    if file is None:
        raise DataValidationError(
            str(path),
            f"no logistics dataset found (looked for {path}/logistics/{LOGISTICS_FILE} "
            f"and {path}/{LOGISTICS_FILE})",
            reason="not_found",
            fix="point --data to the data root holding logistics/, or pass the CSV file",
        )
    raw, is_csv = read_raw(file)
    return validate_logistics(raw, str(file), csv=is_csv)


def load_city_locations(path: Path) -> pl.DataFrame:
    """Load a city-locations table: ``city_id, latitude, longitude`` (degrees), one row per city.

    Extra columns (e.g. a city name) are allowed and dropped.
    """
    raw, is_csv = read_raw(Path(path))
    return validate_table(raw, CITY_LOCATIONS, str(path), csv=is_csv)
