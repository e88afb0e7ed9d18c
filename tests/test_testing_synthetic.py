"""The synthetic problem generator takes its model numbers from rama.rules and the config."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rama import rules
from rama.config import load_config
from rama.problem import Problem
from rama.testing import synthetic_problem


def small(**options: Any) -> Problem:
    return synthetic_problem(n_stores=20, n_products=5, n_pairs=60, n_cities=4, seed=3, **options)


def test_defaults_follow_the_shipped_config_and_the_rules() -> None:
    cfg = load_config()
    pb = small()
    horizon = int(cfg["run"]["horizon_days"])
    unit = rules.product_costs(cfg["costs"], horizon)
    for name, value in unit.items():
        assert pb.products[name].to_list() == [value] * pb.n_products
    network = np.bincount(pb.pair_product, weights=pb.demand, minlength=pb.n_products)
    np.testing.assert_array_equal(pb.max_production, rules.max_production(network, cfg["costs"]))
    np.testing.assert_array_equal(
        pb.max_capacity, rules.storage_capacity(pb.demand, pb.safety_stock, cfg["capacity"])
    )
    assert float(pb.distribution_cost.min()) >= float(cfg["distribution"]["base_cost_per_unit"])


def test_a_config_changes_the_costs_and_the_same_seed_the_same_network() -> None:
    cfg = load_config(
        overrides={
            "costs.stockout_penalty_per_unit": 3.0,
            "costs.max_production_multiplier": 2.0,
            "capacity.multiplier": 3.0,
            "run.horizon_days": 14,
        }
    )
    base = small()
    other = small(cfg=cfg)
    assert other.stockout_penalty.tolist() == [3.0] * other.n_products
    assert other.holding_cost.tolist() == pytest.approx([1.4] * other.n_products)
    assert other.pair_store.tolist() == base.pair_store.tolist()  # the same network
    np.testing.assert_array_equal(other.transport.dense, base.transport.dense)
    net = np.bincount(other.pair_product, weights=other.demand, minlength=other.n_products)
    np.testing.assert_allclose(other.max_production, 2.0 * net)
    # an explicit argument overrides the config
    assert small(horizon_days=7, cfg=cfg).holding_cost[0] == pytest.approx(0.7)
