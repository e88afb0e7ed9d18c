"""Transfer costs between stores, built from a city x city matrix.

For origin city i and destination city j (``[transport]`` settings)::

    cost[i, j] = within_city_handling_cost
               + [i != j] * shipping_costs_mean(i's cluster) / shipment_size_units
                 * distance_km(i, j) / reference_distance_km                     ($/unit)
    cost[i, j] *= 1 + risk_premium * route_risk_level_mean(i's cluster) / 10   (if > 0)

``distance_km`` is the great-circle distance between the two cities' locations (0 within
a city). A store-to-store transfer costs its cities' entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from rama.prepare.geo import FloatArray, pairwise_km


def transport_cost_kernel(
    dist_km: FloatArray,
    shipping_cost_mean: FloatArray,
    route_risk_mean: FloatArray,
    *,
    shipment_size_units: float,
    reference_distance_km: float,
    within_city_handling_cost: float,
    risk_premium: float,
) -> FloatArray:
    """City x city cost matrix ($/unit) from an (n, n) distance matrix (km) and the
    per-origin cluster means ($/shipment, 0-10 risk); the diagonal is within-city."""
    same = np.eye(dist_km.shape[0], dtype=bool)
    per_unit_km = shipping_cost_mean[:, None] / shipment_size_units / reference_distance_km
    cost = within_city_handling_cost + np.where(same, 0.0, per_unit_km * dist_km)
    if risk_premium > 0:
        cost = cost * (1.0 + risk_premium * route_risk_mean[:, None] / 10.0)
    return np.asarray(cost, dtype=np.float64)


def city_transport_costs(cities: pl.DataFrame, transport: Mapping[str, Any]) -> pl.DataFrame:
    """All ordered city pairs (diagonal included): ``from_city_id, to_city_id, distance_km,
    cost``. ``cities`` is the city_supply_params table."""
    cities = cities.sort("city_id")
    ids = cities.get_column("city_id").to_numpy()
    dist = pairwise_km(cities.get_column("latitude"), cities.get_column("longitude"))
    cost = transport_cost_kernel(
        dist,
        cities.get_column("shipping_costs_mean").to_numpy(),
        cities.get_column("route_risk_level_mean").to_numpy(),
        shipment_size_units=float(transport["shipment_size_units"]),
        reference_distance_km=float(transport["reference_distance_km"]),
        within_city_handling_cost=float(transport["within_city_handling_cost"]),
        risk_premium=float(transport["risk_premium"]),
    )
    n = len(ids)
    return pl.DataFrame(
        {
            "from_city_id": np.repeat(ids, n),
            "to_city_id": np.tile(ids, n),
            "distance_km": dist.ravel(),
            "cost": cost.ravel(),
        }
    )


def store_transport_matrix(stores: pl.DataFrame, city_costs: pl.DataFrame) -> pl.DataFrame:
    """Every ordered pair of distinct stores: ``from_store_id, to_store_id, from_city_id,
    to_city_id, distance_km, cost`` ($/unit), sorted by (from, to). ``stores`` has
    ``store_id, city_id``; ``city_costs`` is the output of :func:`city_transport_costs`.

    Built one column at a time from 32-bit positions (n stores: n x (n - 1) rows, 48 bytes
    a row, plus ~12 bytes a row while it is built)."""
    stores = stores.select("store_id", "city_id").sort("store_id")
    city_ids = np.sort(city_costs.get_column("from_city_id").unique().to_numpy())
    n_c = len(city_ids)
    square = city_costs.sort("from_city_id", "to_city_id")
    dist = square.get_column("distance_km").to_numpy().reshape(n_c, n_c)
    cost = square.get_column("cost").to_numpy().reshape(n_c, n_c)
    sid = stores.get_column("store_id").to_numpy()
    cid = stores.get_column("city_id").to_numpy()
    n = len(sid)
    pos = np.int32 if max(n, n_c * n_c) < 2**31 else np.int64
    cpos = np.searchsorted(city_ids, cid).astype(pos)
    k = max(n - 1, 0)  # row-major (from, to), the diagonal left out
    dst = np.tile(np.arange(k, dtype=pos), n)
    np.add(dst, dst >= np.repeat(np.arange(n, dtype=pos), k), out=dst)
    flat = np.repeat(cpos * n_c, k)  # position in the city x city matrices (dtype pos)
    flat += cpos[dst]
    columns = {
        "from_store_id": np.repeat(sid, k),
        "to_store_id": sid[dst],
        "from_city_id": np.repeat(cid, k),
        "to_city_id": cid[dst],
    }
    del dst
    columns["distance_km"] = dist.ravel()[flat]
    columns["cost"] = cost.ravel()[flat]
    return pl.DataFrame(columns)
