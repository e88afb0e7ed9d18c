"""Risk inputs: stretched lead time, safety stock, demand points, transport scaling."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.problem import TransportCosts, scale_transport
from rama.rules import demand_points, effective_lead_time, safety_stock
from rama.rules import safety_stock as risk_ss

Z95 = 1.6448536269514722


def test_lead_time_stretched_by_expected_delay() -> None:
    lt = effective_lead_time(np.array([4.0, 4.0]), np.array([0.5, 0.5]), np.array([6.0, -2.0]))
    assert lt.tolist() == [7.0, 4.0]  # early deliveries do not shorten the exposure
    lt = effective_lead_time(
        np.array([4.0]),
        np.array([0.5]),
        np.array([6.0]),
        lead_time_multiplier=1.5,
        delay_multiplier=0.0,
    )
    assert lt.tolist() == [6.0]


def test_safety_stock_with_delay_and_multiplier() -> None:
    ss = risk_ss(
        np.array([7.0]),
        np.array([4.0]),
        0.95,
        7,
        delay_probability=np.array([0.5]),
        delivery_deviation_days=np.array([10.0]),
        multiplier=1.4,
    )
    assert ss[0] == pytest.approx(1.4 * Z95 * 7 / sqrt(7) * 3.0)
    # the optimizer's function is the same formula without delay
    assert safety_stock(np.array([7.0]), np.array([4.0]), 0.95, 7)[0] == pytest.approx(
        Z95 * 7 / sqrt(7) * 2
    )


@settings(max_examples=30, deadline=None)
@given(mean=st.floats(0.5, 200), cv=st.floats(0.05, 2.0), dist=st.sampled_from(["gamma", "normal"]))
def test_demand_points_are_sorted_quantiles_with_the_forecast_mean(
    mean: float, cv: float, dist: str
) -> None:
    pts = demand_points(np.array([mean, 0.0, mean]), np.array([mean * cv, 1.0, 0.0]), 200, dist)
    assert np.all(np.diff(pts, axis=1) >= 0) and np.all(pts >= 0)
    assert pts[1].tolist() == [0.0] * 200 and pts[2].tolist() == [mean] * 200
    if dist == "gamma":
        assert pts[0].mean() == pytest.approx(mean, rel=0.03)


def test_scale_transport_dense_and_sparse() -> None:
    dense = TransportCosts.from_dense(np.array([[np.inf, 1.0], [2.0, np.inf]]))
    out = scale_transport(dense, np.array([2.0, 3.0]))
    assert out.dense is not None and out.dense[0, 1] == 2.0 and out.dense[1, 0] == 6.0
    assert np.isinf(out.dense[0, 0])
    sparse = TransportCosts.from_long(3, np.array([0, 2]), np.array([1, 0]), np.array([1.0, 2.0]))
    s2 = scale_transport(sparse, 1.5)
    assert s2.pairs(np.array([0, 2]), np.array([1, 0])).tolist() == [1.5, 3.0]
