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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.io import write_with
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


MATRIX_BLOCK_ROWS = 1 << 22
"""Store pairs per block of the store-to-store matrix (~250 MB while a block is built)."""


@dataclass(frozen=True)
class _StorePairs:
    """What every block of the store matrix reads: store and city ids, the stores' city
    positions and the city x city distance and cost matrices (row-major, flattened)."""

    sid: np.ndarray
    cid: np.ndarray
    cpos: np.ndarray
    dist: np.ndarray
    cost: np.ndarray
    n_c: int
    pos: type


def _store_pairs(stores: pl.DataFrame, city_costs: pl.DataFrame) -> _StorePairs:
    stores = stores.select("store_id", "city_id").sort("store_id")
    city_ids = np.sort(city_costs.get_column("from_city_id").unique().to_numpy())
    n_c = len(city_ids)
    square = city_costs.sort("from_city_id", "to_city_id")
    sid = stores.get_column("store_id").to_numpy()
    cid = stores.get_column("city_id").to_numpy()
    pos = np.int32 if max(len(sid), n_c * n_c) < 2**31 else np.int64
    return _StorePairs(
        sid,
        cid,
        np.searchsorted(city_ids, cid).astype(pos),
        square.get_column("distance_km").to_numpy(),
        square.get_column("cost").to_numpy(),
        n_c,
        pos,
    )


def _pairs_from(sp: _StorePairs, a: int, b: int) -> pl.DataFrame:
    """The matrix rows of origin stores ``a .. b - 1`` (positions in store order)."""
    n, pos = len(sp.sid), sp.pos
    k = max(n - 1, 0)  # row-major (from, to), the diagonal left out
    src: np.ndarray = np.repeat(np.arange(a, b, dtype=pos), k)
    dst: np.ndarray = np.tile(np.arange(k, dtype=pos), b - a)
    np.add(dst, dst >= src, out=dst)
    flat = sp.cpos[src] * pos(sp.n_c)  # position in the city x city matrices (dtype pos)
    flat += sp.cpos[dst]
    columns = {
        "from_store_id": sp.sid[src],
        "to_store_id": sp.sid[dst],
        "from_city_id": sp.cid[src],
        "to_city_id": sp.cid[dst],
    }
    del src, dst
    columns["distance_km"] = sp.dist[flat]
    columns["cost"] = sp.cost[flat]
    return pl.DataFrame(columns)


def store_transport_blocks(
    stores: pl.DataFrame, city_costs: pl.DataFrame, *, rows: int = MATRIX_BLOCK_ROWS
) -> Iterator[pl.DataFrame]:
    """:func:`store_transport_matrix` in blocks of whole origin stores of about ``rows``
    rows each, in order: one block in memory at a time."""
    sp = _store_pairs(stores, city_costs)
    n = len(sp.sid)
    step = max(1, rows // max(n - 1, 1))
    for a in range(0, n, step):
        yield _pairs_from(sp, a, min(a + step, n))


def store_transport_matrix(stores: pl.DataFrame, city_costs: pl.DataFrame) -> pl.DataFrame:
    """Every ordered pair of distinct stores: ``from_store_id, to_store_id, from_city_id,
    to_city_id, distance_km, cost`` ($/unit), sorted by (from, to). ``stores`` has
    ``store_id, city_id``; ``city_costs`` is the output of :func:`city_transport_costs`.

    Built one column at a time from 32-bit positions (n stores: n x (n - 1) rows, 48 bytes
    a row, plus ~12 bytes a row while it is built); :func:`write_store_transport_matrix`
    writes it a block at a time instead."""
    sp = _store_pairs(stores, city_costs)
    return _pairs_from(sp, 0, len(sp.sid))


def write_store_transport_matrix(
    stores: pl.DataFrame, city_costs: pl.DataFrame, target: Path, *, rows: int = MATRIX_BLOCK_ROWS
) -> int:
    """Write :func:`store_transport_matrix` to ``target`` (Parquet, zstd) a block of
    ``rows`` rows at a time, atomically; returns its row count."""
    import pyarrow.parquet as pq

    written = 0

    def write(path: Path) -> None:
        nonlocal written
        writer: pq.ParquetWriter | None = None
        try:
            for block in store_transport_blocks(stores, city_costs, rows=rows):
                table = block.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                written += block.height
            if writer is None:  # no store: an empty table with the columns
                store_transport_matrix(stores, city_costs).write_parquet(path)
        finally:
            if writer is not None:
                writer.close()

    write_with(target, write)
    return written
