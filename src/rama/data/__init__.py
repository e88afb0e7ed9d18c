"""Real-format loaders with validation at the boundary (docs/data.md)."""

from __future__ import annotations

from rama.data.freshretail import (
    freshretail_file,
    freshretail_files,
    has_split,
    load_freshretail,
    split_files,
    validate_freshretail,
)
from rama.data.logistics import (
    load_city_locations,
    load_logistics,
    logistics_file,
    validate_logistics,
)
from rama.data.partitions import (
    DAILY_COLUMNS,
    DEFAULT_PARTITION_ROWS,
    Partition,
    load_daily,
    read_partition,
    split_partitions,
)
from rama.data.schema import CITY_LOCATIONS, FRESHRETAIL, LOGISTICS, LOGISTICS_FILE
from rama.schema import TableSchema
from rama.schema import validate as validate_table

__all__ = [
    "CITY_LOCATIONS",
    "DAILY_COLUMNS",
    "DEFAULT_PARTITION_ROWS",
    "FRESHRETAIL",
    "LOGISTICS",
    "LOGISTICS_FILE",
    "Partition",
    "TableSchema",
    "freshretail_file",
    "freshretail_files",
    "has_split",
    "load_city_locations",
    "load_daily",
    "load_freshretail",
    "load_logistics",
    "logistics_file",
    "read_partition",
    "split_files",
    "split_partitions",
    "validate_freshretail",
    "validate_logistics",
    "validate_table",
]
