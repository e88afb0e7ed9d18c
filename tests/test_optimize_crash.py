"""The stochastic crash basis (rama.optimize.lp_model._newsvendor_crash): each pair alone at
its newsvendor level, a valid basis, and the same optimum as any other start."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.optimize import solve
from rama.optimize.lp_model import _newsvendor_crash
from rama.problem import stochastic_problem
from rama.testing import synthetic_problem


def test_crash_by_hand() -> None:
    # pair 0: rhs 1.5, segments 1+1+1 units at -3, -1, -0.5 $/unit, deficit $2/unit: only the
    #   first segment is worth paying for (-1 + 2 > 0), and 1.5 units are free: the first is
    #   full, the second holds 0.5 (basic), the third is empty
    # pair 1: rhs -0.5 (below the lowest point): the deficit pays; segment 1 (-5 + 1 < 0) full
    # pair 2: rhs 0.5, both segments pay (-4 + 2, -3 + 2 < 0): level 2, deficit 1.5 basic
    # pair 3: rhs 5 above every segment: all full, the C1 row basic
    sq = np.array([0, 0, 0, 1, 1, 2, 2, 3, 3])
    width = np.array([1.0, 1, 1, 2, 2, 1, 1, 1, 1])
    cost = np.array([-3.0, -1, -0.5, -5, -0.5, -4, -3, -1, -0.5])
    rhs = np.array([1.5, -0.5, 0.5, 5.0])
    pays, full, basic = _newsvendor_crash(rhs, sq, width, cost, np.array([2.0, 1, 2, 1]))
    assert pays.tolist() == [False, True, True, False]
    assert full.tolist() == [True, False, False, True, False, True, True, True, True]
    assert basic.tolist() == [False, True, False, False, False, False, False, False, False]


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(-20, 60),  # rhs in tenths
            st.lists(st.integers(1, 15), min_size=1, max_size=6),  # widths in tenths
            st.floats(-5, 0.0),  # lowest segment cost
            st.floats(0.0, 2.0),  # cost step
            st.floats(0.1, 6.0),  # deficit cost
        ),
        min_size=1,
        max_size=6,
    )
)
def test_crash_is_one_basic_per_pair_at_the_pairs_optimum(rows: list) -> None:
    """On the lot grid (tenths, float spans and ties at breakpoints included): at most one
    basic column per pair, never full and basic at once, and the crash's point is the pair's
    own optimum (brute force over every breakpoint and the free level)."""
    sq = np.concatenate([np.full(len(r[1]), q) for q, r in enumerate(rows)])
    width = np.concatenate([np.array(r[1]) / 10 for r in rows])
    # the model's segment costs: slope_k - h < 0, increasing in k
    cost = np.concatenate([np.minimum(r[2] + r[3] * np.arange(len(r[1])), 0.0) for r in rows])
    rhs = np.array([r[0] / 10 for r in rows])
    dcost = np.array([r[4] for r in rows])
    pays, full, basic = _newsvendor_crash(rhs, sq, width, cost, dcost)
    assert not (full & basic).any()
    per_pair = np.bincount(sq, weights=basic, minlength=rhs.size) + pays
    assert (per_pair <= 1).all()
    for q in range(rhs.size):
        w, c = width[sq == q], cost[sq == q]
        x = np.where(full[sq == q], w, 0.0)
        if basic[sq == q].any():
            x[basic[sq == q]] = rhs[q] - x.sum()
        got = float(c @ x + dcost[q] * max(0.0, x.sum() - rhs[q]))
        ends = np.concatenate([[0.0], np.cumsum(w)])
        levels = np.append(ends, np.clip(rhs[q], 0.0, ends[-1]))

        def at(level: float, w: np.ndarray = w, c: np.ndarray = c, q: int = q) -> float:
            fill = np.clip(level - (np.cumsum(w) - w), 0.0, w)
            return float(c @ fill + dcost[q] * max(0.0, level - rhs[q]))

        assert got <= min(at(v) for v in levels) + 1e-9


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(2, 8), spread=st.floats(0.0, 1.5))
def test_stochastic_optimum_is_the_same_from_any_start(seed: int, k: int, spread: float) -> None:
    """The crash only starts the simplex: the proven optimum equals PuLP/CBC's (every route
    a variable, no basis given)."""
    pb = synthetic_problem(n_stores=12, n_products=3, n_pairs=24, seed=seed)
    rng = np.random.default_rng(seed)
    pts = pb.demand[:, None] * (1 + spread * rng.uniform(-1, 1, (pb.n_pairs, k)))
    sp = stochastic_problem(pb, np.maximum(pts, 0.0))
    highs = solve(sp, "highs", threads=1)
    pulp = solve(sp, "pulp", threads=1)
    assert highs.min_reduced_cost is not None and highs.min_reduced_cost >= -1e-9
    assert abs(highs.objective - pulp.objective) <= 1e-6 * max(1.0, abs(pulp.objective))
