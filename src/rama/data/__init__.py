"""Real-format loaders with validation at the boundary (docs/data.md)."""

from __future__ import annotations

from rama.data.freshretail import (
    freshretail_file,
    freshretail_files,
    has_split,
    load_freshretail,
    validate_freshretail,
)
from rama.data.logistics import (
    load_city_locations,
    load_logistics,
    logistics_file,
    validate_logistics,
)
from rama.data.schema import CITY_LOCATIONS, FRESHRETAIL, LOGISTICS, LOGISTICS_FILE
from rama.schema import TableSchema
from rama.schema import validate as validate_table

__all__ = [
    "CITY_LOCATIONS",
    "FRESHRETAIL",
    "LOGISTICS",
    "LOGISTICS_FILE",
    "TableSchema",
    "freshretail_file",
    "freshretail_files",
    "has_split",
    "load_city_locations",
    "load_freshretail",
    "load_logistics",
    "logistics_file",
    "validate_freshretail",
    "validate_logistics",
    "validate_table",
]
