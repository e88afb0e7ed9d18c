"""City supply parameters: K-Means on the logistics GPS points, then cities -> clusters.

Clustering space: (longitude x cos(mean latitude), latitude) in degrees, i.e. an
equirectangular projection, so Euclidean distance is proportional to ground distance near the
data's mean latitude. The coordinates are not standardised (that would stretch latitude
relative to longitude). Clusters are numbered west to east by centroid longitude.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from rama.errors import DataValidationError
from rama.prepare.geo import haversine_km

LAT, LON = "vehicle_gps_latitude", "vehicle_gps_longitude"
SUPPLY_STATS = (
    "shipping_costs",
    "lead_time_days",
    "delay_probability",
    "delivery_time_deviation",
    "route_risk_level",
    "disruption_likelihood_score",
    "supplier_reliability_score",
)
GEOGRAPHIC = "geographic_order"
LOCATIONS = "city_locations"


def cluster_logistics(
    logistics: pl.DataFrame, k: int, *, seed: int, n_init: int, source: str = "logistics"
) -> tuple[pl.DataFrame, np.ndarray]:
    """K-Means (k clusters) of the logistics GPS points.

    Returns the cluster table (``cluster_id, centroid_latitude, centroid_longitude,
    n_points`` and ``<stat>_mean``/``<stat>_std`` (ddof=1, 0 for a single point) for every
    ``SUPPLY_STATS`` column) and each row's cluster_id.
    """
    lat = logistics.get_column(LAT).to_numpy().astype(float)
    lon = logistics.get_column(LON).to_numpy().astype(float)
    n_distinct = logistics.select(LAT, LON).unique().height
    if k < 1 or n_distinct < k:
        raise DataValidationError(
            source,
            f"{n_distinct} distinct GPS points cannot form {k} clusters (one per city of the "
            "demand data)",
            column=LAT,
            fix="use the full logistics dataset (32,065 rows)",
        )
    scale = np.cos(np.radians(lat.mean()))
    xy = np.column_stack([lon * scale, lat])
    # One thread: as fast as two for 32k points, immune to oversubscription, reproducible.
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(xy)
    raw = np.asarray(km.labels_, dtype=np.int64)
    # West-to-east numbering: rank the clusters by centroid longitude (then latitude).
    counts = np.bincount(raw, minlength=k)
    c_lat = np.bincount(raw, weights=lat, minlength=k) / counts
    c_lon = np.bincount(raw, weights=lon, minlength=k) / counts
    order = np.lexsort((c_lat, c_lon))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    labels = rank[raw]
    stats = (
        logistics.select(LAT, LON, *SUPPLY_STATS)
        .with_columns(pl.Series("cluster_id", labels))
        .group_by("cluster_id")
        .agg(
            pl.col(LAT).mean().alias("centroid_latitude"),
            pl.col(LON).mean().alias("centroid_longitude"),
            pl.len().cast(pl.Int64).alias("n_points"),
            *[pl.col(c).mean().alias(f"{c}_mean") for c in SUPPLY_STATS],
            *[pl.col(c).std(ddof=1).fill_null(0.0).alias(f"{c}_std") for c in SUPPLY_STATS],
        )
        .sort("cluster_id")
    )
    return stats, labels


def map_cities(
    city_ids: Sequence[int],
    clusters: pl.DataFrame,
    locations: pl.DataFrame | None = None,
    source: str = "city locations",
) -> pl.DataFrame:
    """Assign each city a cluster and a location: ``city_id, cluster_id, mapping_method,
    latitude, longitude``.

    Without ``locations`` (``geographic_order``): cities in ascending id order take the
    clusters in west-to-east order (cluster_id 0, 1, ...), one each, and sit at the cluster
    centroid. With ``locations`` (``city_locations``): each city sits at its given location
    and takes the nearest cluster by great-circle distance (ties: lowest cluster_id).
    """
    ids = np.sort(np.asarray(city_ids, dtype=np.int64))
    c_lat = clusters.get_column("centroid_latitude").to_numpy()
    c_lon = clusters.get_column("centroid_longitude").to_numpy()
    cluster_ids = clusters.get_column("cluster_id").to_numpy()
    if locations is None:
        if len(ids) != len(cluster_ids):
            raise DataValidationError(
                source,
                f"{len(ids)} cities but {len(cluster_ids)} clusters: the geographic-order "
                "mapping needs one cluster per city",
                reason="size_mismatch",
                column="city_id",
                fix="pass --city-locations, or use logistics data with at least one GPS point "
                "per city",
            )
        return pl.DataFrame(
            {
                "city_id": ids,
                "cluster_id": cluster_ids,
                "mapping_method": [GEOGRAPHIC] * len(ids),
                "latitude": c_lat,
                "longitude": c_lon,
            }
        )
    loc = pl.DataFrame({"city_id": ids}).join(locations, on="city_id", how="left")
    missing = loc.filter(pl.col("latitude").is_null()).get_column("city_id").to_list()
    if missing:
        raise DataValidationError(
            source,
            f"no location for {len(missing)} city_id value(s) of the demand data; expected "
            f"one row for each of the {len(ids)} cities",
            column="city_id",
            examples=[{"city_id": c} for c in missing[:5]],
            count=len(missing),
            fix="add a row city_id,latitude,longitude for every city, or omit "
            "--city-locations to use the geographic-order mapping",
        )
    lat = loc.get_column("latitude").to_numpy()
    lon = loc.get_column("longitude").to_numpy()
    dist = haversine_km(lat[:, None], lon[:, None], c_lat[None, :], c_lon[None, :])
    return loc.with_columns(
        pl.Series("cluster_id", cluster_ids[np.argmin(dist, axis=1)]),
        pl.lit(LOCATIONS).alias("mapping_method"),
    ).select("city_id", "cluster_id", "mapping_method", "latitude", "longitude")


def city_supply_params(mapping: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    """One row per city: its mapping, location and its cluster's supply statistics."""
    return mapping.join(clusters, on="cluster_id", how="left").sort("city_id")
