"""Pairwise great-circle distances (:func:`rama.rules.haversine_km`) and the central plant's
location."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rama.errors import ConfigError
from rama.rules import haversine_km

FloatArray = npt.NDArray[np.float64]


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
