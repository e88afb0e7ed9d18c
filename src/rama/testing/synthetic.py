"""Seeded generator of planning problems with the real network's shape, in memory.

Full scale is FreshRetailNet's: 18 cities, 898 stores, 865 products, 50,000 store-product
pairs with Zipf-like product reach (a few products in hundreds of stores, most in a few
dozen). Transport is a complete network with a city-based cost (within-city handling, plus the
origin city's shipping rate x great-circle distance) times per-route lognormal noise and a few
discounted lanes, so the costs do not obey the triangle inequality.

The model's numbers come from the shared rules (:mod:`rama.rules`: safety stock, storage
capacity, production limit, product costs, great-circle distance) applied to the
configuration (the shipped defaults unless ``cfg`` is given), as the problem builder does;
only the network itself (cities, reach, demand, lead times, shipping rates) is simulated.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rama.config import Config, load_config
from rama.problem.model import Problem, make_problem
from rama.problem.transport import TransportCosts
from rama.rules import haversine_km, max_production, product_costs, safety_stock, storage_capacity


def zipf_reach(n_products: int, n_stores: int, n_pairs: int, exponent: float = 0.8) -> np.ndarray:
    """Stores per product, c / rank^exponent clipped to [1, n_stores], summing to n_pairs.

    The exponent 0.8 is the dataset generator's (``rama.synth``), so benchmark problems have
    the skew of the synthetic FreshRetailNet data.
    """
    if not n_products <= n_pairs <= n_products * n_stores:
        raise ValueError("n_pairs must lie between n_products and n_products x n_stores")
    ranks = np.arange(1, n_products + 1, dtype=np.float64) ** exponent

    def total(c: float) -> float:
        return float(np.clip(c / ranks, 1, n_stores).sum())

    lo, hi = 0.0, float(n_pairs) * n_products
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if total(mid) < n_pairs else (lo, mid)
    reach = np.clip(np.floor(hi / ranks), 1, n_stores).astype(np.int64)
    short = n_pairs - int(reach.sum())
    room = np.flatnonzero(reach < n_stores)
    reach[room[: max(short, 0)]] += 1
    return reach


def _noisy_costs(
    rng: np.random.Generator,
    city: np.ndarray,
    city_cost: np.ndarray,
    noise: float,
    dtype: type,
    discounted_lanes: float = 0.005,
) -> np.ndarray:
    """Dense store x store costs: city cost x lognormal noise, a share of lanes at half price."""
    n = city.size
    out: np.ndarray = np.empty((n, n), dtype=dtype)
    step = max(1, 4_000_000 // max(n, 1))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        base = city_cost[city[r0:r1, None], city[None, :]].astype(dtype)
        factor = np.exp(noise * rng.standard_normal((r1 - r0, n), dtype=np.float32))
        factor[rng.random((r1 - r0, n), dtype=np.float32) < discounted_lanes] *= 0.5
        out[r0:r1] = base * factor.astype(dtype)
    np.fill_diagonal(out, np.inf)
    return out


def synthetic_problem(
    *,
    n_stores: int = 898,
    n_products: int = 865,
    n_pairs: int = 50_000,
    n_cities: int = 18,
    seed: int = 0,
    noise: float = 0.15,
    horizon_days: int | None = None,
    service_level: float | None = None,
    dtype: type = np.float64,
    discounted_lanes: float = 0.005,
    cfg: Config | None = None,
) -> Problem:
    """A full-scale-shaped problem (defaults) or any other size.

    Costs, capacities, the production limit and safety stock follow :mod:`rama.rules` with
    ``cfg`` (default: the shipped defaults, :func:`rama.config.load_config`):
    ``horizon_days`` and ``service_level`` default to its ``run.horizon_days`` and
    ``service.service_level``. ``noise = 0`` and ``discounted_lanes = 0`` give pure city
    costs (the pipeline's form, which the solver restates with city hubs,
    :mod:`rama.optimize.hubs`).
    """
    cfg = cfg if cfg is not None else load_config()
    horizon = int(cfg["run"]["horizon_days"]) if horizon_days is None else horizon_days
    level = float(cfg["service"]["service_level"]) if service_level is None else service_level
    tr, dc, inv_cfg = cfg["transport"], cfg["distribution"], cfg["inventory"]
    rng = np.random.default_rng(seed)
    lat = rng.uniform(30, 50, n_cities)
    lon = rng.uniform(-120, -70, n_cities)
    shipping = rng.uniform(100, 1000, n_cities)  # $ per shipment over the reference distance
    rate = shipping / float(tr["shipment_size_units"])  # $/unit per reference distance
    lead = rng.uniform(1, 15, n_cities)  # days
    city_w = rng.lognormal(0, 0.7, n_cities)
    city = rng.choice(n_cities, size=n_stores, p=city_w / city_w.sum())
    dist = haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    city_cost = float(tr["within_city_handling_cost"]) + (1 - np.eye(n_cities)) * rate[
        :, None
    ] * dist / float(tr["reference_distance_km"])
    costs = _noisy_costs(rng, city, city_cost, noise, dtype, discounted_lanes)

    reach = zipf_reach(n_products, n_stores, n_pairs)[rng.permutation(n_products)]
    pop = np.log(rng.lognormal(0, 0.5, n_stores))
    stores_of = []
    for n_p in reach:  # Gumbel top-k = weighted sampling without replacement
        keys = pop + rng.gumbel(size=n_stores)
        stores_of.append(np.sort(np.argpartition(-keys, n_p - 1)[:n_p]))
    s_idx = np.concatenate(stores_of)
    p_idx = np.repeat(np.arange(n_products), reach)
    mu = np.exp(rng.normal(-0.3, 0.8, n_products))[p_idx] * rng.lognormal(0, 0.4, s_idx.size)
    demand = np.round(horizon * mu, 3)
    demand_std = rng.uniform(0.3, 1.2, s_idx.size) * mu * np.sqrt(horizon)
    safety = safety_stock(demand_std, lead[city[s_idx]], level, horizon)
    cover = rng.uniform(float(inv_cfg["min_cover"]), float(inv_cfg["max_cover"]), s_idx.size)
    inv = np.round(demand * cover, 1)
    cap = storage_capacity(demand, safety, cfg["capacity"])

    w = np.bincount(city[s_idx], weights=demand, minlength=n_cities)
    plant_lat, plant_lon = np.average(lat, weights=w + 1e-9), np.average(lon, weights=w + 1e-9)
    dist_plant = haversine_km(lat, lon, plant_lat, plant_lon)
    store_ids = np.arange(n_stores, dtype=np.int64)
    product_ids = np.arange(n_products, dtype=np.int64)
    stores = pl.DataFrame(
        {
            "store_id": store_ids,
            "distribution_cost": float(dc["base_cost_per_unit"])
            + float(dc["cost_per_unit_per_1000km"]) * dist_plant[city] / 1000.0,
            "city_id": city.astype(np.int64),
        }
    )
    prod_demand = np.bincount(p_idx, weights=demand, minlength=n_products)
    unit = product_costs(cfg["costs"], horizon)
    products = pl.DataFrame(
        {
            "product_id": product_ids,
            **{name: np.full(n_products, value) for name, value in unit.items()},
            "max_production": max_production(prod_demand, cfg["costs"]),
        }
    )
    store_products = pl.DataFrame(
        {
            "store_id": store_ids[s_idx],
            "product_id": product_ids[p_idx],
            "demand": demand,
            "demand_std": demand_std,
            "current_inventory": inv,
            "safety_stock": safety,
            "max_capacity": cap,
        }
    )
    return make_problem(
        store_products, products, stores, TransportCosts(n_stores, dense=costs), source="synthetic"
    )
