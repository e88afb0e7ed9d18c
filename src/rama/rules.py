"""The model's rules, each written once: safety stock, storage capacity, production limit,
simulated inventory, product costs, demand points and great-circle distance.

Every stage that needs one of these numbers calls the function here (the problem builder,
the scenario problems, the synthetic problem generator, the prepare stage), so a rule
changes in one place. This module is a shared leaf: it imports no stage.

Safety stock (units) per store-product pair, H = run.horizon_days::

    L_eff = lead_time_multiplier x L + delay_multiplier x p_delay x max(deviation, 0)   (days)
    ss    = safety_stock_multiplier x z x (demand_std / sqrt(H)) x sqrt(L_eff)
    z     = Phi^-1(service.service_level)

``L`` is the store's city mean lead time (days), ``p_delay`` its delay probability and
``deviation`` its mean delivery-time deviation (days late; early deliveries do not shorten
the exposure). ``demand_std`` is the std of the horizon total, so ``demand_std / sqrt(H)`` is
the daily std (days independent).

Demand scenarios: K equiprobable points per pair, the ``(k - 0.5) / K`` quantiles
(k = 1..K) of a distribution with the forecast's horizon mean and std: a Gamma matched on the
two moments (non-negative and right-skewed like retail demand) or a Normal cut at 0; or of
the forecast's empirical quantile grid of the horizon total (``empirical``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

COST_COMPONENTS = ("holding", "stockout", "transport", "manufacturing", "distribution")
"""The objective's five terms ($), in the working plan's order (section 3.4):
holding x ending inventory + penalty x stockout + transport x transfers + manufacturing x
units made + distribution x units allocated."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km."""

FloatArray = npt.NDArray[np.float64]


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in km between points given in degrees (numpy broadcasting).

    >>> round(float(haversine_km(0.0, 0.0, 0.0, 1.0)), 3)  # one degree along the equator
    111.195
    """
    p1, p2 = np.radians(np.asarray(lat1, float)), np.radians(np.asarray(lat2, float))
    dlat = p2 - p1
    dlon = np.radians(np.asarray(lon2, float)) - np.radians(np.asarray(lon1, float))
    a = np.sin(dlat / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2.0) ** 2
    return np.asarray(2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def effective_lead_time(
    lead_time_days: npt.ArrayLike,
    delay_probability: npt.ArrayLike | None = None,
    delivery_deviation_days: npt.ArrayLike | None = None,
    *,
    lead_time_multiplier: float = 1.0,
    delay_multiplier: float = 1.0,
) -> FloatArray:
    """``L x lead_mult + delay_mult x p_delay x max(deviation, 0)`` (days, >= 0)."""
    lead = lead_time_multiplier * np.asarray(lead_time_days, dtype=np.float64)
    if delay_probability is None or delivery_deviation_days is None:
        return np.maximum(lead, 0.0)
    p = np.clip(np.asarray(delay_probability, dtype=np.float64), 0.0, 1.0)
    late = np.maximum(np.asarray(delivery_deviation_days, dtype=np.float64), 0.0)
    return np.maximum(lead + delay_multiplier * p * late, 0.0)


def safety_stock(
    demand_std: npt.ArrayLike,
    lead_time_days: npt.ArrayLike,
    service_level: float,
    horizon_days: int,
    *,
    delay_probability: npt.ArrayLike | None = None,
    delivery_deviation_days: npt.ArrayLike | None = None,
    lead_time_multiplier: float = 1.0,
    delay_multiplier: float = 1.0,
    multiplier: float = 1.0,
) -> FloatArray:
    """Safety stock ``ss = multiplier x z x (sigma_H / sqrt(H)) x sqrt(L_eff)`` (units).

    Parameters
    ----------
    demand_std : array_like
        ``sigma_H``, std of the horizon demand total per pair (units).
    lead_time_days : array_like
        ``L``, replenishment lead time per pair (days).
    service_level : float
        Cycle service level ``alpha`` in (0, 1); ``z = Phi^-1(alpha)``.
    horizon_days : int
        ``H``, days in the planning horizon; ``sigma_H / sqrt(H)`` is the daily std.
    delay_probability, delivery_deviation_days : array_like, optional
        ``p_delay`` (0-1) and mean lateness (days): the lead time is stretched by
        ``delay_multiplier x p_delay x max(deviation, 0)`` (:func:`effective_lead_time`).
    lead_time_multiplier, delay_multiplier, multiplier : float
        Scenario multipliers on ``L``, the expected delay and the result (1 = base).

    Returns
    -------
    numpy.ndarray
        Safety stock per pair (units, >= 0).

    Examples
    --------
    A horizon std of 7 units over 7 days (daily std sqrt(7) = 2.646 units) and a 4-day lead
    time at a 95% service level (z = 1.645): 1.645 x 2.646 x sqrt(4) = 8.704 units.

    >>> round(float(safety_stock([7.0], [4.0], 0.95, 7)[0]), 3)
    8.704
    """
    z = NormalDist().inv_cdf(service_level)
    daily = np.asarray(demand_std, dtype=np.float64) / np.sqrt(horizon_days)
    lead = effective_lead_time(
        lead_time_days,
        delay_probability,
        delivery_deviation_days,
        lead_time_multiplier=lead_time_multiplier,
        delay_multiplier=delay_multiplier,
    )
    return np.asarray(multiplier * z * daily * np.sqrt(lead))


def storage_capacity(
    demand: npt.ArrayLike, safety: npt.ArrayLike, capacity: Mapping[str, Any]
) -> FloatArray:
    """C5's ``max_capacity = max(multiplier x (demand + safety stock), minimum_units)`` (units).

    ``capacity`` is the config's ``[capacity]`` table (``multiplier``, ``minimum_units``).

    >>> storage_capacity([1.0, 0.1], [0.5, 0.0], {"multiplier": 2.0, "minimum_units": 1.0})
    array([3., 1.])
    """
    d = np.asarray(demand, dtype=np.float64)
    s = np.asarray(safety, dtype=np.float64)
    return np.maximum(float(capacity["multiplier"]) * (d + s), float(capacity["minimum_units"]))


def max_production(network_demand: npt.ArrayLike, costs: Mapping[str, Any]) -> FloatArray:
    """C4's ``max_production[p] = max_production_multiplier x network horizon demand`` (units).

    >>> max_production([10.0], {"max_production_multiplier": 1.5})
    array([15.])
    """
    mult = float(costs["max_production_multiplier"])
    return mult * np.asarray(network_demand, dtype=np.float64)


def product_costs(costs: Mapping[str, Any], horizon_days: int) -> dict[str, float]:
    """Per-unit costs of every product for one period of ``horizon_days`` days ($/unit):
    ``holding_cost = holding_cost_per_unit_day x H``, ``stockout_penalty``,
    ``manufacturing_cost`` (the config's ``[costs]`` table).

    >>> product_costs({"holding_cost_per_unit_day": 0.1, "stockout_penalty_per_unit": 2.5,
    ...                "manufacturing_cost_per_unit": 1.0}, 7)["stockout_penalty"]
    2.5
    """
    return {
        "holding_cost": float(costs["holding_cost_per_unit_day"]) * horizon_days,
        "stockout_penalty": float(costs["stockout_penalty_per_unit"]),
        "manufacturing_cost": float(costs["manufacturing_cost_per_unit"]),
    }


def uniform_cover_inventory(
    demand: npt.ArrayLike, min_cover: float, max_cover: float, seed: int
) -> FloatArray:
    """Simulated on-hand stock ``demand x U(min_cover, max_cover)``, rounded to the data's
    0.1 grid (units; seed ``seed``)."""
    d = np.asarray(demand, dtype=np.float64)
    rng = np.random.default_rng(seed)
    return np.asarray(np.round(d * rng.uniform(min_cover, max_cover, d.size), 1))


DISTRIBUTIONS = ("gamma", "normal", "empirical")
"""The horizon demand distributions of the stochastic plan (``stochastic.distribution``)."""


def _unknown(distribution: str) -> ValueError:
    return ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")


def _spread(
    mean: npt.ArrayLike, std: npt.ArrayLike, k: int, distribution: str
) -> tuple[FloatArray, npt.NDArray[np.bool_], FloatArray, FloatArray]:
    """``k`` copies of each pair's mean (cut at 0), which pairs spread (``std > 0`` and
    ``mean > 0``), and their mean and std as columns."""
    if distribution not in ("gamma", "normal"):
        raise _unknown(distribution)
    m = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    s = np.maximum(np.asarray(std, dtype=np.float64), 0.0)
    ok = (s > 0) & (m > 0)
    return np.repeat(m[:, None], k, axis=1), ok, m[ok, None], s[ok, None]


def demand_points(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    k: int,
    distribution: str = "gamma",
    *,
    grid: npt.ArrayLike | None = None,
) -> FloatArray:
    """``n x k`` equiprobable demand points (units): the ``(j - 0.5) / k`` quantiles.

    ``gamma``: shape ``(mean / std)^2``, scale ``std^2 / mean``; ``normal``: ``mean + std z``
    cut at 0. A pair with ``std == 0`` or ``mean == 0`` gets ``k`` copies of its mean.
    ``empirical``: the quantile function of ``grid`` (``n x G`` quantiles at ``(g - 0.5) / G``,
    piecewise linear, :func:`grid_quantiles`) at the same levels; ``mean`` and ``std`` only
    give the row count then (a pair without a grid: see
    :func:`rama.problem.stochastic.forecast_points`).

    >>> demand_points([2.0], [0.0], 3)
    array([[2., 2., 2.]])
    >>> demand_points([1.0], [1.0], 2, "empirical", grid=[[0.0, 0.0, 2.0, 4.0]])
    array([[0., 3.]])
    """
    q = (np.arange(1, k + 1) - 0.5) / k
    if distribution == "empirical":
        g = _checked_grid(grid, np.asarray(mean).shape[0] if np.ndim(mean) else 1)
        return grid_quantiles(g, q)
    out, ok, mo, so = _spread(mean, std, k, distribution)
    if mo.size == 0:
        return out
    if distribution == "gamma":
        out[ok] = _gamma_quantiles((mo / so) ** 2, q) * (so**2 / mo)
    elif distribution == "normal":
        z = np.array([NormalDist().inv_cdf(float(x)) for x in q])
        out[ok] = np.maximum(mo + so * z[None, :], 0.0)
    else:
        raise _unknown(distribution)
    return out


QUANTILE_CHUNK = 16_384
"""Rows of Gamma quantiles per thread task in :func:`_gamma_quantiles`."""


def _gamma_quantiles(shape: FloatArray, q: FloatArray) -> FloatArray:
    """``gammaincinv(shape, q)`` of unit scale, ``len(shape) x len(q)``: the same values as
    one call, computed in row chunks on the machine's cores (the ufunc releases the GIL;
    ~0.4 us a value, 10 M values for a 10x network's 20 points)."""
    n = shape.shape[0]
    workers = min(os.cpu_count() or 1, -(-n // QUANTILE_CHUNK))
    if workers <= 1:
        return np.asarray(special.gammaincinv(shape, q[None, :]), dtype=np.float64)
    out = np.empty((n, q.size), dtype=np.float64)

    def fill(start: int) -> None:
        rows = slice(start, start + QUANTILE_CHUNK)
        out[rows] = special.gammaincinv(shape[rows], q[None, :])

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fill, range(0, n, QUANTILE_CHUNK)))
    return out


def demand_samples(
    mean: npt.ArrayLike,
    std: npt.ArrayLike,
    n_samples: int,
    distribution: str = "gamma",
    seed: int = 0,
    *,
    grid: npt.ArrayLike | None = None,
) -> FloatArray:
    """``n x n_samples`` independent random draws of each pair's horizon demand (units).

    The same distribution as :func:`demand_points` (a Gamma matched on the forecast's mean
    and std, or a Normal cut at 0), but drawn at random from a seeded generator
    (``numpy.random.default_rng(SeedSequence([seed, 2]))``) instead of placed at quantiles,
    so that a plan optimized against the points is scored on demand it has not seen. A pair
    with ``std == 0`` or ``mean == 0`` always takes its mean.

    ``distribution="empirical"`` draws from ``grid`` instead (``n x G`` quantiles of each
    pair's total at the levels ``(g - 0.5) / G``, e.g. the forecast's
    ``horizon_quantiles.parquet``): inverse-CDF sampling of the piecewise-linear quantile
    function (:func:`grid_quantiles`); an atom at 0 or a lumpy tail in the grid is kept.
    ``mean`` and ``std`` only give the row count then.

    >>> demand_samples([3.0], [0.0], 4).tolist()
    [[3.0, 3.0, 3.0, 3.0]]
    >>> d = demand_samples([5.0], [2.0], 20_000, seed=1)
    >>> round(float(d.mean()), 1), round(float(d.std()), 1)
    (5.0, 2.0)
    >>> z = demand_samples([1.0], [1.0], 20_000, "empirical", grid=[[0, 0, 1, 3]], seed=1)
    >>> round(float((z == 0).mean()), 2)  # an atom at 0: u <= 0.375 (the 2nd level)
    0.38
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
    if distribution == "empirical":
        g = _checked_grid(grid, np.asarray(mean).shape[0] if np.ndim(mean) else 1)
        return grid_quantiles(g, rng.random((g.shape[0], n_samples)))
    out, ok, mo, so = _spread(mean, std, n_samples, distribution)
    if mo.size == 0:
        return out
    if distribution == "gamma":
        shape = (mo / so) ** 2
        scale = so**2 / mo
        out[ok] = rng.gamma(np.broadcast_to(shape, (mo.shape[0], n_samples))) * scale
    elif distribution == "normal":
        out[ok] = np.maximum(mo + so * rng.standard_normal((mo.shape[0], n_samples)), 0.0)
    else:
        raise _unknown(distribution)
    return out


def _checked_grid(grid: npt.ArrayLike | None, n: int) -> FloatArray:
    if grid is None:
        raise ValueError('distribution "empirical" needs grid= (n x G quantiles per pair)')
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.shape[0] != n or g.shape[1] < 1:
        raise ValueError(f"grid expected shape ({n}, G >= 1), got {g.shape}")
    if not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("grid values must be finite and >= 0 (units)")
    return np.asarray(np.maximum.accumulate(g, axis=1))


def grid_quantiles(grid: npt.ArrayLike, u: npt.ArrayLike) -> FloatArray:
    """Row-wise quantiles at probabilities ``u`` (``n x m``, or ``m`` shared by every row)
    of the distributions given by ``grid`` (``n x G`` quantiles at ``(g - 0.5) / G``):
    linear between the grid points, flat beyond the first and last (units).

    >>> grid_quantiles([[0.0, 2.0]], [0.25, 0.5, 0.75, 1.0]).tolist()
    [[0.0, 1.0, 2.0, 2.0]]
    """
    g = np.asarray(grid, dtype=np.float64)
    n, n_g = g.shape
    p = np.broadcast_to(np.asarray(u, dtype=np.float64), (n, np.shape(u)[-1]))
    out = np.empty(p.shape, dtype=np.float64)
    step = max(1, GRID_CHUNK // max(1, p.shape[1]))  # rows at a time: bounded temporaries
    for a in range(0, n, step):
        b = min(n, a + step)
        pos = np.clip(p[a:b] * n_g - 0.5, 0.0, n_g - 1.0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_g - 1)
        rows = np.arange(a, b)[:, None]
        frac = pos - lo
        out[a:b] = g[rows, lo] * (1.0 - frac) + g[rows, hi] * frac
    return out


GRID_CHUNK = 1 << 21
"""Values of :func:`grid_quantiles` computed at a time (its temporaries are about 8 arrays of
this many float64: 130 MB, where the whole 10x sample table would need 6 GB)."""


def delay_premium_factor(delay_probability: npt.ArrayLike, premium: float) -> FloatArray:
    """Per sending store: ``1 + premium x p_delay`` (dimensionless)."""
    return 1.0 + premium * np.clip(np.asarray(delay_probability, dtype=np.float64), 0.0, 1.0)
