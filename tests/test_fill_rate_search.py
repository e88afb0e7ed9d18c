"""The penalty search of the fill-rate plan (rama.strategies.fill_rate.search_penalty) on
fill-rate curves of known shape: hand-computed steps and a property over concave curves."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.strategies.fill_rate import search_penalty


def test_linear_curve_hand_computed() -> None:
    # fill = 0.9 + 0.01 lam: from lam = 1 (fill 0.91) the secant through (0, 0.90) and
    # (1, 0.91) needs 4 more $/unit, capped at 4x the last step (4): lam = 5 hits 0.95
    seen = search_penalty(lambda lam: 0.9 + 0.01 * lam, 0.95, 1e-12, 8, lambda f0: 1.0)
    assert [lam for lam, _ in seen] == pytest.approx([0.0, 1.0, 5.0])
    assert seen[-1][1] == pytest.approx(0.95)


def test_step_is_capped_and_a_flat_start_doubles() -> None:
    # a tiny first rise would extrapolate far: the step is at most 4x the last one
    seen = search_penalty(lambda lam: 0.9 + 1e-4 * lam, 0.95, 1e-6, 3, lambda f0: 1.0)
    assert [lam for lam, _ in seen] == pytest.approx([0.0, 1.0, 5.0])
    # no rise at all: doubling, as before
    flat = search_penalty(lambda lam: 0.9, 0.95, 1e-6, 4, lambda f0: 1.0)
    assert [lam for lam, _ in flat] == pytest.approx([0.0, 1.0, 2.0, 4.0])


def test_met_at_zero_or_within_tolerance_needs_one_solve() -> None:
    called: list[float] = []

    def guess(f0: float) -> float:
        called.append(f0)
        return 1.0

    assert search_penalty(lambda lam: 0.96, 0.95, 1e-3, 8, guess) == [(0.0, 0.96)]
    assert search_penalty(lambda lam: 0.9495, 0.95, 1e-3, 8, guess) == [(0.0, 0.9495)]
    assert called == []  # no guess is computed when nothing is searched


def test_overshoot_brackets_then_regula_falsi() -> None:
    # a guess far above the answer: the bracket [0, 10] and a regula falsi step inside it
    def fill(lam: float) -> float:
        return 1.0 - 0.1 * math.exp(-0.3 * lam)

    seen = search_penalty(fill, 0.95, 1e-4, 12, lambda f0: 10.0)
    lo_fill, hi_fill = fill(0.0), fill(10.0)
    expected = 0.0 + (0.95 - lo_fill) * 10.0 / (hi_fill - lo_fill)
    assert 0.0 < expected < 10.0
    assert seen[2][0] == pytest.approx(expected)
    assert abs(seen[-1][1] - 0.95) <= 1e-4


@settings(max_examples=200, deadline=None)
@given(
    f0=st.floats(0.5, 0.94),
    rate=st.floats(0.02, 3.0),
    gap=st.floats(0.01, 0.3),
    guess_scale=st.floats(0.1, 10.0),
    tol=st.sampled_from([1e-3, 2.5e-3, 5e-3]),
)
def test_concave_curves_converge_without_repeating_a_solve(
    f0: float, rate: float, gap: float, guess_scale: float, tol: float
) -> None:
    """fill(lam) = top - (top - f0) exp(-rate lam), top = target + gap: concave and
    increasing, like the LP's expected fill rate; any first guess within 10x of the answer."""
    target = 0.95
    top = min(target + gap, 1.0)

    def fill(lam: float) -> float:
        return top - (top - f0) * math.exp(-rate * lam)

    answer = -math.log((top - target) / (top - f0)) / rate
    seen = search_penalty(fill, target, tol, 12, lambda _: answer * guess_scale)
    lams = [lam for lam, _ in seen]
    assert len(set(lams)) == len(lams)  # never the same solve twice
    assert all(lam >= 0 for lam in lams)
    assert abs(seen[-1][1] - target) <= tol  # converged within the budget
    assert len(seen) <= 12
