"""The planning inputs of a run (its problem and per-store lead-time risk, read from
``RUN/problem/``) and the problem of a scenario built from them.

``load_inputs`` reads the problem the optimize stage wrote (``RUN/problem/``: forecast,
prepared tables, config and the simulated or user inventory it was built with) and the
``store_risk`` table beside it, so that a scenario can rebuild its safety stock.
``scenario_problem`` applies a :class:`~rama.scenario_spec.Scenario` with the rules of
:mod:`rama.rules`:

    demand, demand_std  x forecast factor (forecast_demand x demand)
    demand_grid         x forecast factor (the quantiles of a total scaled by f)
    safety_stock        safety_stock(std, L, service level, H; lead_time, delay,
                        safety_stock multipliers)
    max_capacity        storage_capacity(demand, safety_stock, [capacity])
    holding / stockout / manufacturing cost, transport   x their multipliers
    max_production      max_production(the product's network demand, [costs]); the
                        base's values when the forecast factor is 1 (the same rule of the
                        same demand, to the bit)
    current_inventory   unchanged (a fact, not a forecast)

A capacity the planner gave (``--capacities``, ``--product-costs``' ``max_production``;
:mod:`rama.problem.given`) is a fact too: every scenario keeps the base's value. So the
base scenario's problem is the run's problem itself, value for value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.problem.folder import load_problem
from rama.problem.given import GivenValues, read_given
from rama.problem.model import Problem, make_problem
from rama.problem.risk import StoreRisk, read_store_risk
from rama.problem.transport import scale_transport
from rama.rules import max_production, safety_stock, storage_capacity
from rama.scenario_spec import Scenario


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """Base problem of the run plus the per-pair lead-time risk (problem pair order)."""

    base: Problem
    cfg: Config
    lead_time: np.ndarray  # days
    delay_probability: np.ndarray | None  # 0-1
    delivery_deviation: np.ndarray | None  # days
    store_delay_probability: np.ndarray | None  # per store (problem store order)
    given: GivenValues | None = None  # the planner's capacities (None: every one the rule's)


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


def inputs_from_risk(problem: Problem, cfg: Config, risk: StoreRisk) -> PlanningInputs:
    """Inputs of ``problem`` with its per-store ``risk`` spread onto the pairs."""
    s = problem.pair_store
    p_delay, deviation = risk.delay_probability, risk.delivery_deviation_days
    if p_delay is None or deviation is None:
        return PlanningInputs(problem, cfg, risk.lead_time_days[s], None, None, None)
    return PlanningInputs(problem, cfg, risk.lead_time_days[s], p_delay[s], deviation[s], p_delay)


def load_inputs(problem_dir: Path, cfg: Config) -> PlanningInputs:
    """The problem folder ``problem_dir`` (``RUN/problem/``), its ``store_risk`` table and the
    capacities the planner gave (``planner_given``, :mod:`rama.problem.given`)."""
    problem = load_problem(problem_dir)
    inputs = inputs_from_risk(problem, cfg, read_store_risk(problem_dir, problem))
    return replace(inputs, given=read_given(problem_dir, problem))


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
    cap = storage_capacity(demand, ss, cfg["capacity"])
    given = inputs.given
    if given is not None and given.max_capacity.any():
        cap = np.where(given.max_capacity, base.max_capacity, cap)
    if f == 1.0:
        production = base.max_production
    else:
        network = np.bincount(base.pair_product, weights=demand, minlength=base.n_products)
        production = max_production(network, cfg["costs"])
        if given is not None and given.max_production.any():
            production = np.where(given.max_production, base.max_production, production)
    sp = base.store_products.select(
        "store_id",
        "product_id",
        pl.Series("demand", demand),
        pl.Series("demand_std", std),
        "current_inventory",
        pl.Series("safety_stock", ss),
        pl.Series("max_capacity", cap),
    )
    products = base.products.with_columns(
        pl.col("holding_cost") * scenario.holding_cost,
        pl.col("stockout_penalty") * scenario.stockout_penalty,
        pl.col("manufacturing_cost") * scenario.manufacturing_cost,
        pl.Series("max_production", production, dtype=pl.Float64),
    )
    transport = base.transport
    if scenario.transport != 1.0:
        transport = scale_transport(transport, scenario.transport)
    out = make_problem(sp, products, base.stores, transport, validate=False, source=base.source)
    grid = None if base.demand_grid is None else base.demand_grid * f
    return replace(out, demand_grid=grid)
