"""The scoring kernel (rama.strategies.score.position): hand-computed figures, and the
chunked computation against the whole-array one (bit for bit), with the paths built on it
(expected service, the plan comparison, the scenario sweep's forecast figures)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.planning.service import expected_service
from rama.planning.stage import compare_plans, positions
from rama.strategies import Decision, score
from rama.strategies.score import EPS, position, score_position
from rama.testing import random_problem, tiny_problem

score_module = importlib.import_module("rama.strategies.score")  # the module, not score()


def _whole_array(avail: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, ...]:
    """The figures as computed before the kernel: one n x S temporary per figure."""
    d = d[:, None] if d.ndim == 1 else d
    diff = d - avail[:, None]
    return (
        d.mean(axis=1),
        np.maximum(diff, 0.0).mean(axis=1),
        np.maximum(-diff, 0.0).mean(axis=1),
        (diff <= EPS).mean(axis=1),
    )


def test_position_by_hand() -> None:
    # stock 4 against the points 2, 4, 9: short (0 + 0 + 5) / 3, left (2 + 0 + 0) / 3, and
    # two of three points met; stock 0 against demand 3: 3 short, none left, not met
    pos = position(np.array([4.0, 0.0]), np.array([[2.0, 4.0, 9.0], [3.0, 3.0, 3.0]]))
    assert pos.demand.tolist() == [5.0, 3.0]
    assert pos.stockout.tolist() == [5.0 / 3.0, 3.0]
    assert pos.ending.tolist() == [2.0 / 3.0, 0.0]
    assert pos.no_stockout.tolist() == [2.0 / 3.0, 0.0]
    scaled = position(np.array([4.0, 0.0]), np.array([[2.0, 4.0, 9.0], [3.0, 3.0, 3.0]]), 2.0)
    assert scaled.demand.tolist() == [10.0, 6.0]  # points 4, 8, 18: short (0 + 4 + 14) / 3
    assert scaled.stockout.tolist() == [6.0, 6.0]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 70),
    s=st.integers(1, 9),
    chunk=st.integers(1, 16),
    scale=st.sampled_from([1.0, 0.0, 0.8, 1.25]),
    seed=st.integers(0, 10_000),
    one_d=st.booleans(),
    threaded=st.booleans(),
)
def test_chunked_position_is_the_whole_array_bit_for_bit(
    n: int, s: int, chunk: int, scale: float, seed: int, one_d: bool, threaded: bool
) -> None:
    rng = np.random.default_rng(seed)
    d = rng.gamma(1.5, 3.0, (n, s)).round(rng.integers(0, 3))  # ties at the stock too
    d = d[:, 0] if one_d else d
    avail = rng.integers(0, 12, n).astype(np.float64)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(score_module, "CHUNK_PAIRS", chunk)
        # threaded: the blocks shared by 4 threads whatever the machine's cores
        mp.setattr(score_module, "THREAD_VALUES", 0 if threaded else 10**12)
        mp.setattr(score_module.os, "cpu_count", lambda: 4)
        got = position(avail, d, scale)
    want = _whole_array(avail, d * scale)
    for a, b in zip((got.demand, got.stockout, got.ending, got.no_stockout), want, strict=True):
        assert a.tobytes() == b.tobytes()


def test_score_and_service_from_one_position_equal_their_own() -> None:
    pb = random_problem(4, 5, True, 0.15)
    rng = np.random.default_rng(1)
    draws = pb.demand[:, None] * rng.gamma(2.0, 0.5, (pb.n_pairs, 30))
    dec = Decision.allocation_only("x", rng.uniform(0.0, 3.0, pb.n_pairs))
    pos = position(dec.available(pb), draws)
    assert score_position(dec, pb, pos) == score(dec, pb, draws)
    given = expected_service(
        dec, pb, None, service_level_target=0.95, fill_rate_target=0.9, pos=pos
    )
    own = expected_service(dec, pb, draws, service_level_target=0.95, fill_rate_target=0.9)
    assert given.equals(own)
    with pytest.raises(ValueError, match="forecast draws"):
        expected_service(dec, pb, None, service_level_target=0.95, fill_rate_target=0.9)
    # the plan comparison with and without the positions known
    decs = {"x": dec}
    assert compare_plans(pb, decs, draws, positions(pb, decs, draws)) == compare_plans(
        pb, decs, draws
    )
    only = compare_plans(pb, decs, draws, do_nothing=False)
    assert list(only) == ["x"] and only["x"] == compare_plans(pb, decs, draws)["x"]


def test_score_still_refuses_a_demand_of_another_shape() -> None:
    pb = tiny_problem([{"store_id": 1, "demand": 2.0, "current_inventory": 1.0}], {})
    dec = Decision.allocation_only("x", np.zeros(1))
    with pytest.raises(ValueError, match="demand has 2 rows, the problem 1 pairs"):
        score(dec, pb, np.ones(2))
