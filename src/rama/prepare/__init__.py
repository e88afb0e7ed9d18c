"""The prepare stage: demand parameters, city supply clusters, store and transport costs."""

from __future__ import annotations

from rama.prepare.clustering import city_supply_params, cluster_logistics, map_cities
from rama.prepare.demand import store_product_daily, store_product_params
from rama.prepare.geo import haversine_km, pairwise_km, plant_location
from rama.prepare.stage import Prepared, PrepareResult, build_prepared, eda_summary, prepare
from rama.prepare.stores import store_supply_params
from rama.prepare.transport import (
    city_transport_costs,
    store_transport_matrix,
    transport_cost_kernel,
)

__all__ = [
    "PrepareResult",
    "Prepared",
    "build_prepared",
    "city_supply_params",
    "city_transport_costs",
    "cluster_logistics",
    "eda_summary",
    "haversine_km",
    "map_cities",
    "pairwise_km",
    "plant_location",
    "prepare",
    "store_product_daily",
    "store_product_params",
    "store_supply_params",
    "store_transport_matrix",
    "transport_cost_kernel",
]
