"""Great-circle distances and the central plant's location."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rama.errors import ConfigError

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km."""

FloatArray = npt.NDArray[np.float64]


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in km between points given in degrees (numpy broadcasting)."""
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, float)) - np.radians(np.asarray(lon1, float))
    a = np.sin(dlat / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def pairwise_km(lat: npt.ArrayLike, lon: npt.ArrayLike) -> FloatArray:
    """Symmetric matrix of distances (km) between all points; exact zeros on the diagonal."""
    la, lo = np.asarray(lat, float), np.asarray(lon, float)
    d = haversine_km(la[:, None], lo[:, None], la[None, :], lo[None, :])
    np.fill_diagonal(d, 0.0)
    return d


def plant_location(
    setting: str, lat: npt.ArrayLike, lon: npt.ArrayLike, weights: npt.ArrayLike
) -> tuple[float, float]:
    """The central plant (lat, lon) in degrees.

    ``"demand_weighted_centroid"``: mean of the store locations weighted by ``weights``
    (total sales; unweighted if they sum to 0). Otherwise ``setting`` is ``"lat,lon"``.
    """
    if setting == "demand_weighted_centroid":
        w = np.asarray(weights, float)
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("plant weights must be finite and >= 0")
        if w.sum() <= 0:
            w = np.ones_like(w)
        return (
            float(np.average(np.asarray(lat, float), weights=w)),
            float(np.average(np.asarray(lon, float), weights=w)),
        )
    try:
        plat, plon = (float(x) for x in setting.split(","))
    except ValueError as exc:
        raise ConfigError(
            f"distribution.plant_location: expected \"demand_weighted_centroid\" or 'lat,lon', "
            f"got {setting!r}"
        ) from exc
    return plat, plon
