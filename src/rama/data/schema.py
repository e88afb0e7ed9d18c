"""Schemas of the raw datasets (FreshRetailNet-50K, logistics, city locations).

They are written in the one schema language of :mod:`rama.schema` (which also applies
them): column dtypes, vectorized row rules (polars expressions True on *offending* rows,
with the expectation and the fix shown in the error message), series and dependencies.
"""

from __future__ import annotations

import polars as pl

from rama.schema import Column, Dependency, RowRule, TableSchema, id_column

HOURS = 24
"""Length of the hourly list columns (hours 0..23)."""
STOCK_HOURS = 16
"""Hours counted by ``stock_hour6_22_cnt`` (06:00-22:00, list positions 6..21)."""


def _len_rule(col: str) -> RowRule:
    return RowRule(
        col,
        pl.col(col).list.len() != HOURS,
        f"a list of {HOURS} hourly values (hours 0..23)",
        f"write exactly {HOURS} values per row in {col}",
        show=pl.col(col).list.len().alias(f"{col} length"),
        reason="wrong_length",
    )


def _range_rule(col: str, lo: float | None, hi: float | None, unit: str, fix: str) -> RowRule:
    c = pl.col(col)
    if lo is not None and hi is not None:
        bad, expected = (c < lo) | (c > hi), f"values in [{lo:g}, {hi:g}] {unit}".rstrip()
    elif lo is not None:
        bad, expected = c < lo, f"values >= {lo:g} {unit}".rstrip()
    else:
        assert hi is not None
        bad, expected = c > hi, f"values <= {hi:g} {unit}".rstrip()
    reason = "negative" if lo == 0 and hi is None else "out_of_range"
    return RowRule(col, bad, expected, fix, reason=reason)


def _binary_rule(col: str, meaning: str) -> RowRule:
    return RowRule(col, ~pl.col(col).is_in([0, 1]), f"0 or 1 ({meaning})", f"set {col} to 0 or 1")


FRESHRETAIL_ID_COLUMNS = (
    "city_id",
    "store_id",
    "management_group_id",
    "first_category_id",
    "second_category_id",
    "third_category_id",
    "product_id",
)
HIERARCHY_COLUMNS = FRESHRETAIL_ID_COLUMNS[2:6]
FRESHRETAIL_LIST_COLUMNS = ("hours_sale", "hours_stock_status")


def _finite(name: str, unit: str = "", *, nonneg: bool = False) -> Column:
    """A Float64 column that must be finite (NaN and +-inf are rejected)."""
    return Column(name, pl.Float64(), finite=True, nonneg=nonneg, unit=unit)


FRESHRETAIL = TableSchema(
    name="FreshRetailNet-50K",
    fields=(
        *(id_column(c) for c in FRESHRETAIL_ID_COLUMNS),
        Column("dt", pl.Date()),
        _finite("sale_amount", "normalised sales units"),
        Column("hours_sale", pl.List(pl.Float64())),
        Column("stock_hour6_22_cnt", pl.Int32()),
        Column("hours_stock_status", pl.List(pl.Int32())),
        _finite("discount", "price ratio, 1 = full price"),
        Column("holiday_flag", pl.Int32()),
        Column("activity_flag", pl.Int32()),
        _finite("precpt", "mm"),
        _finite("avg_temperature", "degrees C"),
        _finite("avg_humidity", "%"),
        _finite("avg_wind_level"),
    ),
    rules=(
        _len_rule("hours_sale"),
        _len_rule("hours_stock_status"),
        _range_rule(
            "sale_amount", 0.0, None, "(normalised sales units)", "sales cannot be negative"
        ),
        RowRule(
            "hours_sale",
            pl.col("hours_sale").list.eval(pl.element().is_infinite()).list.any(),
            "finite hourly sales",
            "hourly sales must be finite numbers",
            show=pl.col("hours_sale").list.max().alias("hours_sale max"),
            reason="infinite",
        ),
        RowRule(
            "hours_sale",
            pl.col("hours_sale").list.min() < 0,
            "hourly sales >= 0",
            "hourly sales cannot be negative",
            show=pl.col("hours_sale").list.min().alias("hours_sale min"),
        ),
        _range_rule(
            "stock_hour6_22_cnt",
            0,
            STOCK_HOURS,
            "(out-of-stock hours between 06:00 and 22:00)",
            f"count the out-of-stock hours 6..21 (at most {STOCK_HOURS})",
        ),
        RowRule(
            "hours_stock_status",
            (pl.col("hours_stock_status").list.min() < 0)
            | (pl.col("hours_stock_status").list.max() > 1),
            "hourly flags 0 or 1 (1 = out of stock)",
            "write 0 (in stock) or 1 (out of stock) for every hour",
            show=pl.col("hours_stock_status").list.max().alias("hours_stock_status max"),
        ),
        _range_rule("discount", 0.0, None, "(price ratio)", "discounts cannot be negative"),
        _binary_rule("holiday_flag", "1 = holiday"),
        _binary_rule("activity_flag", "1 = promotion"),
    ),
    id_columns=("store_id", "product_id", "dt"),
    series_keys=("store_id", "product_id"),
    time_column="dt",
    min_rows=1,
    dependencies=(
        Dependency("store_id", ("city_id",), "a store belongs to exactly one city"),
        Dependency(
            "product_id",
            HIERARCHY_COLUMNS,
            "a product has exactly one place in the category hierarchy",
        ),
    ),
)

LOGISTICS_FILE = "dynamic_supply_chain_logistics_dataset.csv"
LOGISTICS_COLUMNS = (  # the published column order
    "timestamp",
    "vehicle_gps_latitude",
    "vehicle_gps_longitude",
    "fuel_consumption_rate",
    "eta_variation_hours",
    "traffic_congestion_level",
    "warehouse_inventory_level",
    "loading_unloading_time",
    "handling_equipment_availability",
    "order_fulfillment_status",
    "weather_condition_severity",
    "port_congestion_level",
    "shipping_costs",
    "supplier_reliability_score",
    "lead_time_days",
    "historical_demand",
    "iot_temperature",
    "cargo_condition_status",
    "route_risk_level",
    "customs_clearance_time",
    "driver_behavior_score",
    "fatigue_monitoring_score",
    "disruption_likelihood_score",
    "delay_probability",
    "risk_classification",
    "delivery_time_deviation",
)


def _logistics_column(col: str) -> Column:
    if col == "timestamp":
        return Column(col, pl.Datetime("us"))
    if col == "risk_classification":
        return Column(col, pl.String())
    return _finite(col)


LOGISTICS = TableSchema(
    name="logistics",
    fields=tuple(_logistics_column(c) for c in LOGISTICS_COLUMNS),
    rules=(
        _range_rule("vehicle_gps_latitude", -90, 90, "degrees", "latitudes are in -90..90 degrees"),
        _range_rule(
            "vehicle_gps_longitude", -180, 180, "degrees", "longitudes are in -180..180 degrees"
        ),
        _range_rule("shipping_costs", 0, None, "($ per shipment)", "costs cannot be negative"),
        _range_rule("lead_time_days", 0, None, "(days)", "lead times cannot be negative"),
        _range_rule("delay_probability", 0, 1, "", "probabilities are in 0..1"),
        _range_rule("route_risk_level", 0, 10, "(0-10 scale)", "risk levels are in 0..10"),
    ),
    id_columns=("timestamp",),
    min_rows=1,
    date_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d"),
)

CITY_LOCATIONS = TableSchema(
    name="city locations",
    fields={"city_id": pl.Int64(), "latitude": pl.Float64(), "longitude": pl.Float64()},
    rules=(
        _range_rule("latitude", -90, 90, "degrees", "latitudes are in -90..90 degrees"),
        _range_rule("longitude", -180, 180, "degrees", "longitudes are in -180..180 degrees"),
    ),
    id_columns=("city_id",),
    unique_keys=("city_id",),
    allow_extra_columns=True,
    min_rows=1,
)
