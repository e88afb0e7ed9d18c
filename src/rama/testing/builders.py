"""Builders of small problems and run folders shared by the tests, docs and benchmarks
(imported, never copied between test files).

- :func:`tiny_problem`: one product at a few stores, every number given;
- :func:`random_problem`: a seeded network-shaped problem, optionally with tight storage
  and production capacities and random penalties (the hypothesis tests' generator);
- :func:`city_problem`: a seeded problem whose transport costs have city form (city hubs);
- :func:`tiny_run_folder`: a run folder with ``prepared/`` and ``forecast/`` tables of four
  pairs (what ``rama prepare`` and ``rama forecast`` would write), for stage tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.problem.model import Problem, make_problem
from rama.testing.synthetic import synthetic_problem


def tiny_problem(
    pairs: list[dict[str, Any]],
    routes: dict[tuple[int, int], float],
    *,
    holding: float = 0.7,
    penalty: float = 2.5,
    mc: float = 1.0,
    max_production: float = 1e9,
    dist: dict[int, float] | None = None,
) -> Problem:
    """One product (id 1) at the stores of ``pairs`` (``store_id``, ``demand``,
    ``current_inventory``, optional ``safety_stock``, ``max_capacity``, ``demand_std``;
    units); ``routes`` map (from, to) store ids to $/unit; costs in $/unit for the period;
    ``dist`` the distribution cost per store (default 0.2)."""
    defaults = {"product_id": 1, "demand_std": 0.0, "safety_stock": 0.0, "max_capacity": 1e6}
    sp = pl.DataFrame([{**defaults, **p} for p in pairs])
    stores = sorted(int(p["store_id"]) for p in pairs)
    dist = dist or {}
    return make_problem(
        sp,
        pl.DataFrame(
            {
                "product_id": [1],
                "holding_cost": [holding],
                "stockout_penalty": [penalty],
                "manufacturing_cost": [mc],
                "max_production": [max_production],
            }
        ),
        pl.DataFrame({"store_id": stores, "distribution_cost": [dist.get(s, 0.2) for s in stores]}),
        pl.DataFrame(
            {
                "from_store_id": [k[0] for k in routes],
                "to_store_id": [k[1] for k in routes],
                "cost": list(routes.values()),
            },
            schema={"from_store_id": pl.Int64, "to_store_id": pl.Int64, "cost": pl.Float64},
        ),
    )


def random_problem(seed: int, n_products: int, cap_tight: bool, noise: float) -> Problem:
    """18 stores, ``n_products`` products in 6 stores each on average (seeded); with
    ``cap_tight`` storage capacities are cut to 30-100% (never below what C5 needs to stay
    feasible), production limits to 0-60% and penalties drawn in $0.5-4.0/unit."""
    pb = synthetic_problem(
        n_stores=18, n_products=n_products, n_pairs=n_products * 6, seed=seed, noise=noise
    )
    if not cap_tight:
        return pb
    rng = np.random.default_rng(seed)
    sp = pb.store_products.drop("store_idx", "product_idx").with_columns(
        (pl.col("max_capacity") * pl.Series(rng.uniform(0.3, 1.0, pb.n_pairs))).alias(
            "max_capacity"
        )
    )
    sp = sp.with_columns(
        pl.max_horizontal("max_capacity", pl.col("current_inventory") - pl.col("demand"))
    )
    products = pb.products.with_columns(
        (pl.col("max_production") * pl.Series(rng.uniform(0.0, 0.6, pb.n_products))),
        pl.Series("stockout_penalty", rng.uniform(0.5, 4.0, pb.n_products)),
    )
    return make_problem(sp, products, pb.stores, pb.transport)


def city_problem(seed: int, n_stores: int = 30, n_products: int = 6, n_pairs: int = 90) -> Problem:
    """A seeded problem with pure city-form transport costs (5 cities, no lane noise)."""
    return synthetic_problem(
        n_stores=n_stores,
        n_products=n_products,
        n_pairs=n_pairs,
        n_cities=5,
        seed=seed,
        noise=0.0,
        discounted_lanes=0.0,
    )


def tiny_run_folder(tmp_path: Path, *, city_form: bool = True) -> Path:
    """``tmp_path/run`` with the tables the optimize stage reads: four pairs
    ((1, 7), (1, 8), (2, 7), (3, 7)) in ``forecast/horizon_demand.parquet``, the planning
    week 2024-07-01..07 in ``forecast/forecast_summary.json``, four stores in
    two cities in ``prepared/store_supply_params.csv`` and city transport costs (or, without
    ``city_form``, three store-to-store routes in ``transport_cost_matrix.parquet``), stamped
    as rama's with a manifest of the two stages."""
    run = tmp_path / "run"
    (run / "forecast").mkdir(parents=True)
    (run / "prepared").mkdir()
    pl.DataFrame(
        {
            "store_id": [1, 1, 2, 3],
            "product_id": [7, 8, 7, 7],
            "demand": [14.0, 7.0, 0.0, 21.0],
            "demand_std": [7.0, 0.0, 1.0, 3.5],
        }
    ).write_parquet(run / "forecast" / "horizon_demand.parquet")
    week = {"first_day": "2024-07-01", "last_day": "2024-07-07", "horizon_days": 7}
    (run / "forecast" / "forecast_summary.json").write_text(json.dumps(week), encoding="utf-8")
    pl.DataFrame(
        {
            "store_id": [1, 2, 3, 4],
            "city_id": [0, 0, 5, 5],
            "cluster_id": [0, 0, 1, 1],
            "latitude": [40.0, 40.0, 35.0, 35.0],
            "longitude": [-100.0, -100.0, -90.0, -90.0],
            "lead_time_days_mean": [4.0, 4.0, 9.0, 9.0],
            "delay_probability_mean": [0.7, 0.7, 0.6, 0.6],
            "distribution_cost": [0.2, 0.2, 0.5, 0.5],
        }
    ).write_csv(run / "prepared" / "store_supply_params.csv")
    if city_form:
        pl.DataFrame(
            {
                "from_city_id": [0, 0, 5, 5],
                "to_city_id": [0, 5, 0, 5],
                "distance_km": [0.0, 1000.0, 1000.0, 0.0],
                "cost": [0.05, 1.2, 0.9, 0.05],
            }
        ).write_csv(run / "prepared" / "city_transport_costs.csv")
    else:
        pl.DataFrame(
            {"from_store_id": [1, 2, 3], "to_store_id": [2, 1, 1], "cost": [0.05, 0.05, 0.9]}
        ).write_parquet(run / "prepared" / "transport_cost_matrix.parquet")
    # a run folder rama made: stamped, with a manifest naming the stages that wrote it
    from rama import __version__
    from rama.run_state import stamp

    stamp(run)
    manifest = {"rama_version": __version__, "stages": ["prepare", "forecast"]}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run
