"""Realized-cost arithmetic on a hand-made plan."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.evaluate.compare import score_realized
from rama.optimize import solve
from rama.strategies import Decision, score
from rama.testing import tiny_problem
from rama.testing.builders import random_problem


def test_realized_cost_of_a_hand_made_plan() -> None:
    # store 1: inv 10, sends 4 to store 2 ($0.5/unit); store 2: inv 0, gets 4 + 3 allocated
    pb = tiny_problem(
        [
            {"store_id": 1, "demand": 5.0, "current_inventory": 10.0},
            {"store_id": 2, "demand": 8.0, "current_inventory": 0.0},
        ],
        {(1, 2): 0.5},
        holding=0.7,
        penalty=2.5,
        mc=1.0,
        dist={1: 0.2, 2: 0.3},
    )
    dec = Decision(
        "hand",
        allocate=np.array([0.0, 3.0]),
        transfer_in=np.array([0.0, 4.0]),
        transfer_out=np.array([4.0, 0.0]),
        transport_cost=2.0,
        units_transferred=4.0,
    )
    # realized demand 9 and 5: store 1 has 6 -> short 3; store 2 has 7 -> 2 left over
    r = score(dec, pb, np.array([9.0, 5.0]))
    assert r["holding"] == pytest.approx(0.7 * 2)
    assert r["stockout"] == pytest.approx(2.5 * 3)
    assert r["transport"] == pytest.approx(2.0)
    assert r["manufacturing"] == pytest.approx(3.0)
    assert r["distribution"] == pytest.approx(0.9)
    assert r["total"] == pytest.approx(1.4 + 7.5 + 2.0 + 3.0 + 0.9)
    assert r["fill_rate"] == pytest.approx(1 - 3 / 14)
    assert r["cycle_service_level"] == pytest.approx(0.5)
    # two equiprobable demand points: the expected figures are the mean
    e = score(dec, pb, np.array([[9.0, 5.0], [5.0, 7.0]]))
    assert e["stockout_units"] == pytest.approx((3 + 0) / 2 + 0)
    assert e["holding"] == pytest.approx(0.7 * (1 + 2 + 0) / 2)
    assert e["cycle_service_level"] == pytest.approx((0.5 + 1.0) / 2)


def test_plan_scored_on_its_own_forecast_is_its_objective() -> None:
    pb = tiny_problem(
        [
            {"store_id": 1, "demand": 2.0, "current_inventory": 10.0},
            {"store_id": 2, "demand": 8.0, "current_inventory": 1.0},
            {"store_id": 3, "demand": 3.0, "current_inventory": 0.0},
        ],
        {(1, 2): 0.4, (1, 3): 3.5},
    )
    plan = solve(pb, threads=1)
    r = score(Decision.from_plan("lp", plan), pb, pb.demand)
    assert r["total"] == pytest.approx(plan.objective)
    assert r["fill_rate"] == pytest.approx(plan.fill_rate)


# ----------------------------------------------------------------------------- missing actuals


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 1000), st.floats(0.0, 1.0))
def test_excluded_pairs_are_left_out_not_zeroed(seed: int, share_missing: float) -> None:
    """Differential: with some pairs NaN, the realized figures equal a per-pair computation
    over the other pairs only; with none NaN they equal ``score`` exactly."""
    pb = random_problem(seed, 3, False, 0.2)
    rng = np.random.default_rng(seed)
    dec = Decision.allocation_only("alloc", rng.uniform(0, 2, pb.n_pairs))
    actual = rng.uniform(0, 10, pb.n_pairs)
    assert score_realized(dec, pb, actual) == score(dec, pb, actual) | {
        "pairs_scored": float(pb.n_pairs)
    }
    missing = rng.uniform(size=pb.n_pairs) < share_missing
    fig = score_realized(dec, pb, np.where(missing, np.nan, actual))
    keep = ~missing
    avail = dec.available(pb)
    short = np.maximum(actual - avail, 0.0)[keep]
    ending = np.maximum(avail - actual, 0.0)[keep]
    p = pb.pair_product[keep]
    assert fig["stockout"] == pytest.approx(float(np.dot(pb.stockout_penalty[p], short)))
    assert fig["holding"] == pytest.approx(float(np.dot(pb.holding_cost[p], ending)))
    assert fig["demand_units"] == pytest.approx(float(actual[keep].sum()))
    assert fig["pairs_scored"] == keep.sum()
    full = score(dec, pb, actual)
    assert fig["manufacturing"] == pytest.approx(full["manufacturing"])
    expected_csl = float((short <= 1e-9).mean()) if keep.any() else 1.0
    assert fig["cycle_service_level"] == pytest.approx(expected_csl)
