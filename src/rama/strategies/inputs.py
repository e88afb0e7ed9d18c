"""The planning inputs of a run, and the problem of a scenario built from them.

``load_inputs`` builds the base problem once (``rama.optimize.build_problem``: forecast,
prepared tables, config, simulated or user inventory) and keeps the per-pair lead-time risk
(city mean lead time, delay probability, delivery deviation) so that a scenario can rebuild
its safety stock. ``scenario_problem`` applies a :class:`~rama.scenarios.spec.Scenario`:

    demand, demand_std  x forecast factor (forecast_demand x demand)
    safety_stock        rama.risk.safety_stock(std, L, service level, H; lead_time, delay,
                        safety_stock multipliers)
    max_capacity        max(capacity.multiplier x (demand + safety_stock), capacity.minimum_units)
    holding / stockout / manufacturing cost, transport   x their multipliers
    max_production      costs.max_production_multiplier x the product's network demand
    current_inventory   unchanged (a fact, not a forecast)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.io import require_file
from rama.problem import Problem, build_problem, make_problem, scale_transport
from rama.rules import safety_stock
from rama.scenario_spec import Scenario

RISK_COLS = ("lead_time_days_mean", "delay_probability_mean", "delivery_time_deviation_mean")


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """Base problem of the run plus the per-pair lead-time risk (problem pair order)."""

    base: Problem
    cfg: Config
    lead_time: np.ndarray  # days
    delay_probability: np.ndarray | None  # 0-1
    delivery_deviation: np.ndarray | None  # days
    store_delay_probability: np.ndarray | None  # per store (problem store order)


def inputs_from_problem(
    problem: Problem,
    cfg: Config,
    lead_time: np.ndarray,
    delay_probability: np.ndarray | None = None,
    delivery_deviation: np.ndarray | None = None,
    store_delay_probability: np.ndarray | None = None,
) -> PlanningInputs:
    """Inputs for an in-memory problem (per-pair arrays in its pair order)."""
    return PlanningInputs(
        problem, cfg, lead_time, delay_probability, delivery_deviation, store_delay_probability
    )


def load_inputs(run_dir: Path, cfg: Config, inventory_file: Path | None = None) -> PlanningInputs:
    """The run's base problem and lead-time risk (``RUN/prepared``, ``RUN/forecast``)."""
    run_dir = Path(run_dir)
    problem = build_problem(run_dir, cfg, inventory_file)
    ssp_path = require_file(
        run_dir / "prepared" / "store_supply_params.csv", "evaluate", "run `rama prepare` first"
    )
    ssp = pl.read_csv(ssp_path, infer_schema_length=10000)
    cols = [c for c in RISK_COLS if c in ssp.columns]
    stores = problem.stores.select("store_id").join(
        ssp.select("store_id", *cols).with_columns(pl.col("store_id").cast(pl.Int64)),
        on="store_id",
        how="left",
    )
    per_store = {c: stores[c].cast(pl.Float64).fill_null(0.0).to_numpy() for c in cols}
    s = problem.pair_store
    has_delay = len(cols) == len(RISK_COLS)
    return PlanningInputs(
        base=problem,
        cfg=cfg,
        lead_time=per_store[RISK_COLS[0]][s],
        delay_probability=per_store[RISK_COLS[1]][s] if has_delay else None,
        delivery_deviation=per_store[RISK_COLS[2]][s] if has_delay else None,
        store_delay_probability=per_store[RISK_COLS[1]] if has_delay else None,
    )


def scenario_problem(inputs: PlanningInputs, scenario: Scenario) -> Problem:
    """The deterministic problem of ``scenario`` (module doc); pair order unchanged."""
    cfg, base = inputs.cfg, inputs.base
    horizon = int(cfg["run"]["horizon_days"])
    f = scenario.forecast_factor
    demand = base.demand * f
    std = base.store_products["demand_std"].to_numpy().astype(np.float64) * f
    stretch = bool(cfg["risk"]["stretch_lead_time"]) and inputs.delay_probability is not None
    ss = safety_stock(
        std,
        inputs.lead_time,
        float(cfg["service"]["service_level"]),
        horizon,
        delay_probability=inputs.delay_probability if stretch else None,
        delivery_deviation_days=inputs.delivery_deviation if stretch else None,
        lead_time_multiplier=scenario.lead_time,
        delay_multiplier=scenario.delay,
        multiplier=scenario.safety_stock,
    )
    cap_cfg = cfg["capacity"]
    cap = np.maximum(float(cap_cfg["multiplier"]) * (demand + ss), float(cap_cfg["minimum_units"]))
    sp = base.store_products.select(
        "store_id",
        "product_id",
        pl.Series("demand", demand),
        pl.Series("demand_std", std),
        "current_inventory",
        pl.Series("safety_stock", ss),
        pl.Series("max_capacity", cap),
    )
    network = np.bincount(base.pair_product, weights=demand, minlength=base.n_products)
    products = base.products.with_columns(
        pl.col("holding_cost") * scenario.holding_cost,
        pl.col("stockout_penalty") * scenario.stockout_penalty,
        pl.col("manufacturing_cost") * scenario.manufacturing_cost,
        pl.Series("max_production", float(cfg["costs"]["max_production_multiplier"]) * network),
    )
    transport = base.transport
    if scenario.transport != 1.0:
        transport = scale_transport(transport, scenario.transport)
    return make_problem(sp, products, base.stores, transport, validate=False, source=base.source)


def with_penalty(problem: Problem, extra: float) -> Problem:
    """``problem`` with ``extra`` $/unit added to every stockout penalty."""
    products = problem.products.with_columns(pl.col("stockout_penalty") + extra)
    return make_problem(
        problem.store_products.drop("store_idx", "product_idx"),
        products,
        problem.stores,
        problem.transport,
        validate=False,
        source=problem.source,
    )


def without_routes(problem: Problem) -> Problem:
    """``problem`` with no store-to-store route (each store supplied by the plant only)."""
    import scipy.sparse as sps

    from rama.problem import TransportCosts

    n = problem.n_stores
    empty = TransportCosts(n, csr=sps.csr_array((n, n), dtype=np.float64))
    return make_problem(
        problem.store_products.drop("store_idx", "product_idx"),
        problem.products,
        problem.stores,
        empty,
        validate=False,
        source=problem.source,
    )


__all__ = [
    "PlanningInputs",
    "inputs_from_problem",
    "load_inputs",
    "scenario_problem",
    "with_penalty",
    "without_routes",
]
