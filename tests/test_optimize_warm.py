"""Warm starts: a recorded basis restarts a similar problem's solve at the same optimum."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from rama.optimize import solve
from rama.problem import Problem, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.testing import city_problem, synthetic_problem


def changed(pb: Problem, holding: float = 1.0, safety: float = 1.0, demand: float = 1.0) -> Problem:
    sp = pb.store_products.drop("store_idx", "product_idx").with_columns(
        pl.col("safety_stock") * safety, pl.col("demand") * demand
    )
    products = pb.products.with_columns(pl.col("holding_cost") * holding)
    return make_problem(sp, products, pb.stores, pb.transport)


@pytest.mark.parametrize(
    ("holding", "safety", "demand"), [(1.8, 1.0, 1.0), (1.0, 1.6, 1.0), (0.5, 0.3, 1.2)]
)
def test_warm_start_reaches_the_cold_optimum(holding: float, safety: float, demand: float) -> None:
    pb = city_problem(7, n_stores=40, n_products=8, n_pairs=160)
    ref = solve(pb, threads=1, record_basis=True)
    assert ref.basis is not None and len(ref.basis) == ref.stats["blocks"]
    other = changed(pb, holding, safety, demand)
    cold = solve(other, threads=1)
    warm = solve(other, threads=2, warm_start=ref.basis)  # also through the worker pool
    # the constraint matrix does not change with costs, safety stock or demand: every block
    assert warm.stats["warm_started_blocks"] == warm.stats["blocks"]
    assert cold.stats["warm_started_blocks"] == 0
    assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
    assert warm.min_reduced_cost is not None and warm.min_reduced_cost >= -1e-9
    assert warm.stats["simplex_iterations"] <= cold.stats["simplex_iterations"]


def test_warm_start_of_the_stochastic_plan() -> None:
    pb = city_problem(8, n_stores=30, n_products=5, n_pairs=90)
    rng = np.random.default_rng(8)
    pts = np.sort(pb.demand[:, None] * rng.gamma(2.0, 0.5, (pb.n_pairs, 6)), axis=1)
    ref = solve(stochastic_problem(pb, pts), threads=1, record_basis=True)
    other = stochastic_problem(changed(pb, holding=1.5), pts)
    warm = solve(other, threads=1, warm_start=ref.basis)
    assert warm.stats["warm_started_blocks"] > 0
    assert warm.objective == pytest.approx(solve(other, threads=1).objective, rel=1e-9)


def test_a_basis_of_another_layout_is_not_used() -> None:
    pb = city_problem(9, n_stores=30, n_products=6, n_pairs=100)
    ref = solve(pb, threads=1, record_basis=True)
    sub = pb.subset(pb.product_ids[:3])  # other blocks: no key matches
    plan = solve(sub, threads=1, warm_start=ref.basis)
    assert plan.stats["warm_started_blocks"] == 0
    assert plan.objective == pytest.approx(solve(sub, threads=1).objective, rel=1e-9)
    # noisy costs (no city form): blocks that took route columns are not recorded
    noisy = synthetic_problem(n_stores=30, n_products=6, n_pairs=100, seed=9)
    rec = solve(noisy, threads=1, record_basis=True)
    assert rec.basis is not None and len(rec.basis) < rec.stats["blocks"]
    again = solve(noisy, threads=1, warm_start=rec.basis)
    assert again.objective == pytest.approx(rec.objective, rel=1e-9)
