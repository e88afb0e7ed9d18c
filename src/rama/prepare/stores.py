"""Store supply parameters: each store's city, cluster, location and distribution cost.

Stores have no coordinates of their own: a store sits at its city's location. The central
plant is at ``[distribution] plant_location``; for every store::

    distance_to_plant_km = haversine(plant, store location)                        (km)
    distribution_cost    = base_cost_per_unit
                         + cost_per_unit_per_1000km * distance_to_plant_km / 1000  ($/unit)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from rama.prepare.geo import haversine_km, plant_location


def store_supply_params(
    pair_params: pl.DataFrame, cities: pl.DataFrame, distribution: Mapping[str, Any]
) -> tuple[pl.DataFrame, tuple[float, float]]:
    """One row per store, and the plant's (lat, lon).

    Columns: ``store_id, city_id, cluster_id, latitude, longitude, total_sales,
    n_products``, the city's supply statistics (``<stat>_mean``, ``<stat>_std``),
    ``distance_to_plant_km``, ``distribution_cost``.
    """
    per_store = pair_params.group_by("store_id").agg(
        pl.col("city_id").first(),
        pl.col("total_sales").sum(),
        pl.len().cast(pl.Int64).alias("n_products"),
    )
    supply = cities.drop("mapping_method", "centroid_latitude", "centroid_longitude", "n_points")
    stores = per_store.join(supply, on="city_id", how="left").sort("store_id")
    lat = stores.get_column("latitude").to_numpy()
    lon = stores.get_column("longitude").to_numpy()
    plat, plon = plant_location(
        str(distribution["plant_location"]), lat, lon, stores.get_column("total_sales").to_numpy()
    )
    dist = haversine_km(plat, plon, lat, lon)
    cost = float(distribution["base_cost_per_unit"]) + float(
        distribution["cost_per_unit_per_1000km"]
    ) * (dist / 1000.0)
    first = ["store_id", "city_id", "cluster_id", "latitude", "longitude", "total_sales"]
    out = stores.select(*first, pl.exclude(first)).with_columns(
        pl.Series("distance_to_plant_km", dist), pl.Series("distribution_cost", cost)
    )
    return out, (plat, plon)
