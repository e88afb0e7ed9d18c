"""Variants of a problem that strategies solve: raised stockout penalties, no routes (the
forecast's quantile grid, ``Problem.demand_grid``, is kept)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import scipy.sparse as sps

from rama.problem.model import Problem, make_problem
from rama.problem.transport import TransportCosts


def with_penalty(problem: Problem, extra: float) -> Problem:
    """``problem`` with ``extra`` $/unit added to every stockout penalty."""
    products = problem.products.with_columns(pl.col("stockout_penalty") + extra)
    out = make_problem(
        problem.store_products.drop("store_idx", "product_idx"),
        products,
        problem.stores,
        problem.transport,
        validate=False,
        source=problem.source,
    )
    return replace(out, demand_grid=problem.demand_grid)


def without_routes(problem: Problem) -> Problem:
    """``problem`` with no store-to-store route (each store supplied by the plant only)."""
    n = problem.n_stores
    empty = TransportCosts(n, csr=sps.csr_array((n, n), dtype=np.float64))
    out = make_problem(
        problem.store_products.drop("store_idx", "product_idx"),
        problem.products,
        problem.stores,
        empty,
        validate=False,
        source=problem.source,
    )
    return replace(out, demand_grid=problem.demand_grid)
