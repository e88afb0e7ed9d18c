"""Loaders of the supply-side inputs: the logistics dataset and a city-locations file."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from rama.data.freshretail import is_freshretail_header
from rama.data.readers import header_columns, read_raw
from rama.data.schema import CITY_LOCATIONS, LOGISTICS, LOGISTICS_FILE
from rama.errors import DataValidationError
from rama.schema import validate as validate_table

LOGISTICS_IDENTIFYING = frozenset(
    {"timestamp", "shipping_costs", "lead_time_days", "delay_probability"}
)
"""A CSV whose header holds these columns (and not FreshRetailNet's) is a logistics file."""


def is_logistics_header(columns: list[str] | None) -> bool:
    """True when ``columns`` (a file's header) are the logistics dataset's, never for a
    FreshRetailNet header."""
    if columns is None or is_freshretail_header(columns):
        return False
    return set(columns) >= LOGISTICS_IDENTIFYING


def logistics_places(path: Path) -> list[str]:
    """Every path and pattern :func:`logistics_file` searches under the folder ``path``."""
    return [
        str(path / "logistics" / LOGISTICS_FILE),
        str(path / LOGISTICS_FILE),
        str(path / "logistics" / "*.csv"),
        str(path / "*.csv"),
    ]


def logistics_file(path: Path) -> Path | None:
    """The logistics CSV under ``path``, identified by its header columns, or None.

    ``path`` may be the CSV itself (returned unless its header is FreshRetailNet's: a
    FreshRetailNet file is never taken for the logistics dataset), or a folder: first
    ``path/logistics/LOGISTICS_FILE`` and ``path/LOGISTICS_FILE``, then any ``.csv`` in
    ``path/logistics/`` and in ``path`` whose header is the logistics dataset's
    (:func:`is_logistics_header`), in name order.
    """
    path = Path(path)
    if path.is_file():
        return None if is_freshretail_header(header_columns(path)) else path
    if not path.is_dir():
        return None
    for p in (path / "logistics" / LOGISTICS_FILE, path / LOGISTICS_FILE):
        if p.is_file() and not is_freshretail_header(header_columns(p)):
            return p
    for folder in (path / "logistics", path):
        for p in sorted(folder.glob("*.csv")):
            if p.is_file() and is_logistics_header(header_columns(p)):
                return p
    return None


def validate_logistics(raw: pl.DataFrame, source: str, *, csv: bool = False) -> pl.DataFrame:
    """Validate a logistics frame: 26 columns, ``timestamp`` Datetime, ranges of GPS and costs."""
    return validate_table(raw, LOGISTICS, source, csv=csv)


def load_logistics(path: Path) -> pl.DataFrame:
    """Load and validate ``dynamic_supply_chain_logistics_dataset.csv`` (file or data root).

    ``timestamp`` is ``pl.Datetime``, ``risk_classification`` String, the rest Float64.
    """
    path = Path(path)
    file = logistics_file(path)
    if file is None:
        if path.is_file():
            raise DataValidationError(
                str(path),
                "is a FreshRetailNet file (its header has store_id, product_id, dt, "
                "sale_amount), not the logistics dataset",
                reason="invalid",
                fix=f"pass the logistics CSV ({LOGISTICS_FILE}) or the data root holding both",
            )
        tried = ", ".join(logistics_places(path))
        raise DataValidationError(
            str(path),
            f"no logistics dataset found (looked for {tried}; a .csv counts when its header "
            f"has the columns {sorted(LOGISTICS_IDENTIFYING)})",
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
