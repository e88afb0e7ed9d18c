"""Marginal values of capacity from the LP's duals (plan.production_value, plan.storage_value,
plan/marginal_values.csv): hand-computed tiny instances and re-solves of random ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.optimize import solve
from rama.optimize.plan_io import marginal_values, write_plan
from rama.problem.model import Problem, make_problem
from rama.testing.builders import city_problem, random_problem, tiny_problem


def _tables(pb: Problem) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    drop = ("store_idx", "product_idx")
    sp = pb.store_products.drop([c for c in drop if c in pb.store_products.columns])
    products = pb.products.drop([c for c in drop if c in pb.products.columns])
    stores = pb.stores.drop([c for c in drop if c in pb.stores.columns])
    return sp, products, stores


def _with(
    pb: Problem, *, max_production: np.ndarray | None = None, cap: np.ndarray | None = None
) -> Problem:
    sp, products, stores = _tables(pb)
    if max_production is not None:
        products = products.with_columns(pl.Series("max_production", max_production))
    if cap is not None:
        sp = sp.with_columns(pl.Series("max_capacity", cap))
    return make_problem(sp, products, stores, pb.transport)


def _two_stores(max_production: float) -> Problem:
    # two stores without stock, 10 units of demand each; making and distributing a unit costs
    # 1.0 + 0.2 against a stockout penalty of 2.5
    return tiny_problem(
        [
            {"store_id": 1, "demand": 10.0, "current_inventory": 0.0},
            {"store_id": 2, "demand": 10.0, "current_inventory": 0.0},
        ],
        {(1, 2): 0.3, (2, 1): 0.3},
        max_production=max_production,
    )


def test_production_value_is_the_penalty_saved_per_unit_made() -> None:
    # by hand: 12 units made (12 x 1.2 = 14.4) and 8 short (8 x 2.5 = 20.0): $34.40; one more
    # unit of capacity replaces a $2.50 stockout by a $1.20 unit: saves $1.30
    plan = solve(_two_stores(12.0), threads=1)
    assert plan.objective == pytest.approx(34.4)
    assert plan.production_value is not None and plan.storage_value is not None
    assert plan.production_value.tolist() == pytest.approx([1.3])
    assert plan.storage_value.tolist() == [0.0, 0.0]
    more = solve(_two_stores(13.0), threads=1)
    assert plan.objective - more.objective == pytest.approx(1.3)


def test_production_value_is_zero_with_room_to_spare() -> None:
    plan = solve(_two_stores(50.0), threads=1)
    assert plan.production_value is not None
    assert plan.production_value.tolist() == [0.0]


def _full_store(cap: float) -> Problem:
    # store 1 holds 20 for a demand of 5 but may keep only `cap`: the rest must move to store 2
    # at $1.00/unit; a unit held costs $0.10 wherever it is
    return tiny_problem(
        [
            {"store_id": 1, "demand": 5.0, "current_inventory": 20.0, "max_capacity": cap},
            {"store_id": 2, "demand": 0.0, "current_inventory": 0.0},
        ],
        {(1, 2): 1.0},
        holding=0.1,
    )


def test_storage_value_is_the_transfer_saved_per_unit_of_room() -> None:
    # by hand: 5 units moved (5 x 1.0) and 15 held (15 x 0.1): $6.50; one more unit of room at
    # store 1 keeps a unit there instead of shipping it: saves the $1.00 transfer
    plan = solve(_full_store(10.0), threads=1)
    assert plan.objective == pytest.approx(6.5)
    assert plan.storage_value is not None
    assert plan.storage_value.tolist() == pytest.approx([1.0, 0.0])
    assert plan.objective - solve(_full_store(11.0), threads=1).objective == pytest.approx(1.0)


def test_marginal_values_table_and_file(tmp_path: Path) -> None:
    plan = solve(_two_stores(12.0), threads=1)
    table = marginal_values(plan)
    assert table.columns == [
        "resource",
        "store_id",
        "product_id",
        "capacity",
        "used",
        "marginal_value",
    ]
    prod = table.filter(pl.col("resource") == "production").row(0, named=True)
    assert prod == {
        "resource": "production",
        "store_id": None,
        "product_id": 1,
        "capacity": 12.0,
        "used": 12.0,
        "marginal_value": pytest.approx(1.3),
    }
    assert table.filter(pl.col("resource") == "storage")["store_id"].to_list() == [1, 2]
    write_plan(plan, tmp_path / "out")
    back = pl.read_csv(tmp_path / "out" / "marginal_values.csv")
    assert back.height == 3 and back["marginal_value"].max() == pytest.approx(1.3)


def _bracketed(
    f0: float, up: float, down: float, value: float, d: float, step: float | None = None
) -> bool:
    """The objective is convex and non-increasing in a capacity: the value saved per unit
    lies between the right (``+d``) and the left (``-step``, default ``-d``) quotients."""
    right, left = (f0 - up) / d, (down - f0) / (d if step is None else step)
    return right - 1e-5 <= value <= left + 1e-5


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), tight=st.booleans())
def test_production_values_match_re_solves(seed: int, tight: bool) -> None:
    pb = random_problem(seed, 4, tight, 0.1)
    pb = _with(pb, max_production=0.2 * pb.max_production)  # C4 binds for some products
    plan = solve(pb, threads=1)
    assert plan.production_value is not None
    assert (plan.production_value >= 0).all()
    mp = pb.max_production.copy()
    d = 1e-3
    for k in np.flatnonzero(np.isfinite(mp))[:3]:
        up, down = mp.copy(), mp.copy()
        up[k] += d
        down[k] = max(down[k] - d, 0.0)
        step = mp[k] - down[k]
        f_up = solve(_with(pb, max_production=up), threads=1).objective
        if step <= 0:  # capacity 0: only the right quotient exists
            assert plan.production_value[k] >= (plan.objective - f_up) / d - 1e-5
            continue
        f_down = solve(_with(pb, max_production=down), threads=1).objective
        value = float(plan.production_value[k])
        assert _bracketed(plan.objective, f_up, f_down, value, d, step)  # step < d near 0


@settings(max_examples=10, deadline=None)
@given(
    inv=st.lists(st.floats(0, 30).map(lambda x: round(x, 1)), min_size=3, max_size=3),
    demand=st.lists(st.floats(0, 10).map(lambda x: round(x, 1)), min_size=3, max_size=3),
    room=st.floats(0.5, 1.0),
)
def test_storage_values_match_re_solves(inv: list[float], demand: list[float], room: float) -> None:
    # three stores on a line of routes; capacities cut to `room` of what the stock needs, so
    # some store must ship or hold at its limit
    cap = [
        max(round(room * max(i - d, 0.0), 1), 0.0) + 0.5 for i, d in zip(inv, demand, strict=True)
    ]
    pairs = [
        {
            "store_id": s + 1,
            "demand": demand[s],
            "current_inventory": inv[s],
            "max_capacity": cap[s],
        }
        for s in range(3)
    ]
    routes = {(1, 2): 0.4, (2, 3): 0.4, (3, 1): 0.9, (2, 1): 0.5}
    pb = tiny_problem(pairs, routes, holding=0.1, penalty=2.0)
    try:
        plan = solve(pb, threads=1)
    except Exception:  # an infeasible draw (no room for the excess): nothing to check
        return
    assert plan.storage_value is not None and (plan.storage_value >= 0).all()
    d = 1e-3
    for q in range(pb.n_pairs):
        up, down = pb.max_capacity.copy(), pb.max_capacity.copy()
        up[q] += d
        down[q] -= d
        f_up = solve(_with(pb, cap=up), threads=1).objective
        try:
            f_down = solve(_with(pb, cap=down), threads=1).objective
        except Exception:  # one unit less room is infeasible: the left quotient is infinite
            f_down = np.inf
        assert _bracketed(plan.objective, f_up, f_down, float(plan.storage_value[q]), d)


def test_city_hub_duals_match_route_duals() -> None:
    # city-form costs: the LP solved with city hub columns and with store-to-store routes only
    # has one optimum, and both marginal values are duals of that same full LP (re-solves)
    pb = city_problem(4)
    excess = np.maximum(pb.current_inventory - pb.demand, 0.0)
    need = np.bincount(
        pb.pair_product,
        weights=np.maximum(pb.demand - pb.current_inventory, 0.0),
        minlength=pb.n_products,
    )
    cap = np.where(excess > 0, np.maximum(excess - 1.0, 0.5 * excess), pb.max_capacity)
    pb = _with(pb, cap=cap, max_production=0.25 * need)
    hubs, routes = solve(pb, threads=1), solve(pb, threads=1, hubs=False)
    assert hubs.objective == pytest.approx(routes.objective, rel=1e-9)
    assert hubs.production_value is not None and routes.production_value is not None
    assert hubs.storage_value is not None and routes.storage_value is not None
    assert (hubs.production_value > 0).sum() >= 2 and (hubs.storage_value > 0).sum() >= 2
    d = 1e-3
    for k in np.flatnonzero(hubs.production_value > 0)[:2]:
        up, down = pb.max_production.copy(), pb.max_production.copy()
        up[k] += d
        down[k] -= d
        f_up = solve(_with(pb, max_production=up), threads=1).objective
        f_down = solve(_with(pb, max_production=down), threads=1).objective
        for plan, value in ((hubs, hubs.production_value), (routes, routes.production_value)):
            assert _bracketed(plan.objective, f_up, f_down, float(value[k]), d)
    for q in np.flatnonzero(hubs.storage_value > 0)[:2]:
        up, down = pb.max_capacity.copy(), pb.max_capacity.copy()
        up[q] += d
        down[q] -= d
        f_up = solve(_with(pb, cap=up), threads=1).objective
        f_down = solve(_with(pb, cap=down), threads=1).objective
        for plan, value in ((hubs, hubs.storage_value), (routes, routes.storage_value)):
            assert _bracketed(plan.objective, f_up, f_down, float(value[q]), d)


def test_full_stores_solve_without_hubs() -> None:
    # regression: stores holding more than capacity + demand must ship, but the first
    # restricted master (no route columns yet) cannot; column generation used to stop there
    # and report the feasible LP infeasible. It is now seeded from the block's phase-1 plan.
    pb = city_problem(3)
    excess = np.maximum(pb.current_inventory - pb.demand, 0.0)
    pb = _with(
        pb, cap=np.where(excess > 0, np.maximum(excess - 1.0, 0.5 * excess), pb.max_capacity)
    )
    assert (pb.current_inventory - pb.demand > pb.max_capacity).sum() > 10
    hubs, routes = solve(pb, threads=1), solve(pb, threads=1, hubs=False)
    assert routes.objective == pytest.approx(hubs.objective, rel=1e-9)
    assert routes.min_reduced_cost is not None and routes.min_reduced_cost >= -1e-9
    assert hubs.storage_value is not None and routes.storage_value is not None
    assert (routes.storage_value > 0).any()
