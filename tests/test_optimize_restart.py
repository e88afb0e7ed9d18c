"""A block whose simplex ends neither optimal nor infeasible (HiGHS "Unknown" was seen at 10x,
on a warm-started fill-rate solve) is started again: cold, then with the other simplex variant.
The answer is the undisturbed solve's; with no way out it is an error naming the block."""

from __future__ import annotations

import highspy
import pytest

from rama.optimize import colgen, solve
from rama.testing import synthetic_problem

PROBLEM = dict(n_stores=20, n_products=3, n_pairs=45, n_cities=4, seed=3, noise=0.3)


def _stall(mp: pytest.MonkeyPatch, heal_at: int) -> list[int]:
    """From now on every block's HiGHS stops after 0 simplex iterations (status "Iteration
    limit reached": neither optimal nor infeasible) until its restart number ``heal_at``
    lifts the limit. Returns the list the restarts made are appended to."""
    made: list[int] = []
    make, restart = colgen.new_highs, colgen._restart

    def stalling(dual_simplex: bool = False) -> highspy.Highs:
        h = make(dual_simplex=dual_simplex)
        h.setOptionValue("simplex_iteration_limit", 0)
        return h

    def restarting(h: highspy.Highs, attempt: int, dual_simplex: bool) -> None:
        made.append(attempt)
        restart(h, attempt, dual_simplex)
        if attempt >= heal_at:
            h.setOptionValue("simplex_iteration_limit", 2**31 - 1)

    mp.setattr(colgen, "new_highs", stalling)
    mp.setattr(colgen, "_restart", restarting)
    return made


@pytest.mark.parametrize("heal_at", [0, 1])
def test_a_stalled_block_is_restarted_and_gives_the_same_plan(
    monkeypatch: pytest.MonkeyPatch, heal_at: int
) -> None:
    problem = synthetic_problem(**PROBLEM)  # type: ignore[arg-type]
    want = solve(problem, threads=1)
    made = _stall(monkeypatch, heal_at)
    got = solve(problem, threads=1)
    assert got.status == want.status == "optimal"
    assert got.objective == pytest.approx(want.objective, rel=1e-9)
    assert got.min_reduced_cost is not None and got.min_reduced_cost >= -1e-9
    assert made and set(made) == set(range(heal_at + 1))  # each block: 0, then 1 if needed
    assert got.stats["restarted_blocks"] == got.stats["blocks"] > 0
    assert want.stats["restarted_blocks"] == 0


def test_a_block_that_never_finishes_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = synthetic_problem(**PROBLEM)  # type: ignore[arg-type]
    made = _stall(monkeypatch, heal_at=99)
    with pytest.raises(RuntimeError, match=r"Iteration limit.* products \[.*also after a cold"):
        solve(problem, threads=1)
    assert made[:2] == [0, 1]
