"""The optimizer on hand-solved tiny networks, random small problems and infeasible inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rama.errors import InfeasibleError
from rama.optimize import check_plan, solve
from rama.problem import Problem, TransportCosts, make_problem
from rama.testing import random_problem, synthetic_problem, tiny_problem


def transfers(plan: Any) -> dict[tuple[int, int], float]:
    pb = plan.problem
    sid = pb.store_ids[pb.pair_store]
    return {
        (int(sid[f]), int(sid[t])): float(q)
        for f, t, q in zip(plan.t_from, plan.t_to, plan.t_qty, strict=True)
    }


SURPLUS_A = {"store_id": 1, "demand": 0.0, "current_inventory": 10.0}
DEFICIT_B = {"store_id": 2, "demand": 10.0, "current_inventory": 0.0}


@pytest.mark.parametrize(("cost", "moved"), [(3.2 - 0.01, 10.0), (3.2 + 0.01, 0.0)])
def test_transfer_iff_cheaper_than_the_stockout_it_prevents(cost: float, moved: float) -> None:
    # no production: B's only alternative is a stockout at $2.50; A keeps stock at $0.70
    # so moving a unit saves 2.5 + 0.7 = $3.20 - cost
    pb = tiny_problem([SURPLUS_A, DEFICIT_B], {(1, 2): cost}, max_production=0.0)
    plan = solve(pb, threads=1)
    assert transfers(plan).get((1, 2), 0.0) == pytest.approx(moved)
    assert plan.stockout.sum() == pytest.approx(10.0 - moved)
    expected = moved * cost + (10 - moved) * (2.5 + 0.7)
    assert plan.objective == pytest.approx(expected)


@pytest.mark.parametrize(("cost", "moved"), [(1.5 + 0.7 - 0.01, 10.0), (1.5 + 0.7 + 0.01, 0.0)])
def test_transfer_iff_cheaper_than_the_production_it_replaces(cost: float, moved: float) -> None:
    # B can be served by production at mc 1.0 + distribution 0.5 = $1.50 < penalty
    pb = tiny_problem([SURPLUS_A, DEFICIT_B], {(1, 2): cost}, dist={1: 0.5, 2: 0.5})
    plan = solve(pb, threads=1)
    assert transfers(plan).get((1, 2), 0.0) == pytest.approx(moved)
    assert plan.manufacture.sum() == pytest.approx(10.0 - moved)
    assert plan.stockout.sum() == pytest.approx(0.0)


def test_safety_stock_blocks_a_transfer() -> None:
    a = {**SURPLUS_A, "safety_stock": 10.0}  # max(0, 10 - 10) = 0 units may leave A
    plan = solve(tiny_problem([a, DEFICIT_B], {(1, 2): 0.01}, max_production=0.0), threads=1)
    assert transfers(plan) == {}
    assert plan.stockout.sum() == pytest.approx(10.0)
    partly = {**SURPLUS_A, "safety_stock": 6.0}  # only 4 units may leave
    plan = solve(tiny_problem([partly, DEFICIT_B], {(1, 2): 0.01}, max_production=0.0), threads=1)
    assert transfers(plan) == {(1, 2): pytest.approx(4.0)}


def test_capacity_forces_stock_elsewhere() -> None:
    # A holds 20 units, needs 0 and may keep 5: 15 must leave, B has room for 6, C for the rest
    a = {"store_id": 1, "demand": 0.0, "current_inventory": 20.0, "max_capacity": 5.0}
    b = {"store_id": 2, "demand": 0.0, "current_inventory": 0.0, "max_capacity": 6.0}
    c = {"store_id": 3, "demand": 0.0, "current_inventory": 0.0, "max_capacity": 100.0}
    plan = solve(tiny_problem([a, b, c], {(1, 2): 0.1, (1, 3): 0.9}), threads=1)
    assert transfers(plan) == {(1, 2): pytest.approx(6.0), (1, 3): pytest.approx(9.0)}
    assert plan.ending_inventory.tolist() == pytest.approx([5.0, 6.0, 9.0])


def test_production_capacity_limits_allocation() -> None:
    b = {"store_id": 2, "demand": 10.0, "current_inventory": 0.0, "max_capacity": 0.0}
    plan = solve(tiny_problem([b], {}, dist={2: 0.3}), threads=1)
    assert plan.allocate.tolist() == pytest.approx([10.0])
    assert plan.manufacture.tolist() == pytest.approx([10.0])
    # C4: only 4 units can be made, the other 6 stock out
    plan = solve(tiny_problem([b], {}, max_production=4.0), threads=1)
    assert plan.allocate.tolist() == pytest.approx([4.0])
    assert plan.stockout.tolist() == pytest.approx([6.0])
    assert plan.fill_rate == pytest.approx(0.4)


def test_production_capacity_goes_to_the_store_where_it_saves_most() -> None:
    # 10 units for 20 units of deficit: they go to B (distribution $0.10), C stocks out
    b = {**DEFICIT_B, "store_id": 2}
    c = {"store_id": 3, "demand": 10.0, "current_inventory": 0.0}
    plan = solve(tiny_problem([b, c], {}, max_production=10.0, dist={2: 0.1, 3: 1.2}), threads=1)
    assert plan.allocate.tolist() == pytest.approx([10.0, 0.0])
    pulp_plan = solve(tiny_problem([b, c], {}, max_production=10.0, dist={2: 0.1, 3: 1.2}), "pulp")
    assert plan.objective == pytest.approx(pulp_plan.objective, rel=1e-7)


def test_non_metric_route_that_pruning_rules_would_drop() -> None:
    # A -> B direct costs 3.0 but A -> H -> B costs 0.1 + 0.1 (triangle inequality broken).
    # H is balanced (neither surplus nor deficit) and may ship 10 units (no safety stock):
    # a surplus->deficit pruning rule drops both legs, and a rule trusting direct costs to be
    # the cheapest path finds only the direct route. The optimum ships A's 10 units via H.
    a = {"store_id": 1, "demand": 0.0, "current_inventory": 10.0}
    h = {"store_id": 5, "demand": 10.0, "current_inventory": 10.0}
    b = {"store_id": 2, "demand": 10.0, "current_inventory": 0.0}
    routes = {(1, 2): 3.0, (1, 5): 0.1, (5, 2): 0.1, (2, 1): 3.0, (5, 1): 0.1, (2, 5): 0.1}
    pb = tiny_problem([a, h, b], routes, max_production=0.0)
    plan = solve(pb, threads=1)
    assert transfers(plan) == {(1, 5): pytest.approx(10.0), (5, 2): pytest.approx(10.0)}
    assert plan.objective == pytest.approx(2.0)
    assert plan.objective == pytest.approx(solve(pb, "pulp").objective, rel=1e-7)
    assert plan.min_reduced_cost is not None and plan.min_reduced_cost >= -1e-9
    # with H's safety stock at 4, only 6 units may leave H: the other 4 go direct
    capped = tiny_problem([a, {**h, "safety_stock": 4.0}, b], routes, max_production=0.0)
    assert transfers(solve(capped, threads=1)) == {
        (1, 2): pytest.approx(4.0),
        (1, 5): pytest.approx(6.0),
        (5, 2): pytest.approx(6.0),
    }


def test_routes_out_of_non_senders_are_not_needed_but_priced_exactly() -> None:
    pb = synthetic_problem(n_stores=25, n_products=6, n_pairs=90, seed=7)
    plan = solve(pb, threads=1)
    assert plan.stats["routes_priced"] > 0
    assert plan.min_reduced_cost is not None and plan.min_reduced_cost >= -1e-9


SMALL = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SMALL
@given(
    seed=st.integers(0, 10_000),
    n_products=st.integers(1, 5),
    cap_tight=st.booleans(),
    noise=st.sampled_from([0.0, 0.15, 0.6]),
)
def test_random_plans_are_feasible_and_match_pulp(
    seed: int, n_products: int, cap_tight: bool, noise: float
) -> None:
    pb = random_problem(seed, n_products, cap_tight, noise)
    plan = solve(pb, threads=1)  # solve() already ran the independent check
    worst = check_plan(pb, plan, 1e-6)
    assert worst["C1 inventory balance"] <= 1e-6
    reference = solve(pb, "pulp")
    assert plan.objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)
    assert plan.min_reduced_cost is None or plan.min_reduced_cost >= -1e-9


@SMALL
@given(seed=st.integers(0, 10_000), factor=st.floats(1.05, 5.0))
def test_raising_the_stockout_penalty_never_raises_stockout(seed: int, factor: float) -> None:
    pb = random_problem(seed, 3, True, 0.15)
    raised = make_problem(
        pb.store_products.drop("store_idx", "product_idx"),
        pb.products.with_columns(pl.col("stockout_penalty") * factor),
        pb.stores,
        pb.transport,
    )
    before = solve(pb, threads=1).stockout.sum()
    after = solve(raised, threads=1).stockout.sum()
    assert after <= before + 1e-6


def _with_transport(pb: Problem, tc: TransportCosts) -> Problem:
    return make_problem(
        pb.store_products.drop("store_idx", "product_idx"), pb.products, pb.stores, tc
    )


def _same_plan(a: Any, b: Any, rel: float = 1e-9) -> None:
    assert a.objective == pytest.approx(b.objective, rel=rel)
    for name in ("allocate", "stockout", "ending_inventory", "transfer_in", "transfer_out"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-6, abs=1e-6), name
    assert a.manufacture == pytest.approx(b.manufacture, rel=1e-6, abs=1e-6)
    assert transfers(a) == pytest.approx(transfers(b), rel=1e-6, abs=1e-6)


def test_parallel_workers_and_transport_forms_agree() -> None:
    pb = synthetic_problem(n_stores=60, n_products=40, n_pairs=700, seed=3)
    assert pb.transport.dense is not None and pb.transport.dense.dtype == np.float64
    one = solve(pb, threads=1)
    _same_plan(solve(pb, threads=2), one)
    # the same routes and costs stored as CSR: the same plan
    f, t, c = pb.transport.to_long()
    csr = TransportCosts(pb.n_stores, csr=sps.csr_array((c, (f, t)), shape=(pb.n_stores,) * 2))
    as_csr = _with_transport(pb, csr)
    assert as_csr.transport.csr is not None and as_csr.transport.n_routes() == f.size
    _same_plan(solve(as_csr, threads=1), one)
    # float32 costs: rounded by up to 6e-8 relative, so the optimum moves as little
    f32 = TransportCosts.from_dense(pb.transport.dense.astype(np.float32))
    as32 = _with_transport(pb, f32)
    assert as32.transport.dtype == np.float32
    plan32 = solve(as32, threads=1)
    assert plan32.objective == pytest.approx(one.objective, rel=1e-6)
    assert plan32.min_reduced_cost is not None and plan32.min_reduced_cost >= -1e-9
    assert plan32.objective == pytest.approx(solve(as32, "pulp").objective, rel=1e-7)


def test_sparse_network_matches_pulp() -> None:
    pb = synthetic_problem(n_stores=20, n_products=4, n_pairs=40, seed=11)
    f, t, c = pb.transport.to_long()
    keep = np.random.default_rng(0).random(f.size) < 0.2  # 20% of routes: stored as CSR
    tc = TransportCosts.from_long(pb.n_stores, f[keep], t[keep], c[keep])
    assert tc.csr is not None
    sparse = make_problem(
        pb.store_products.drop("store_idx", "product_idx"), pb.products, pb.stores, tc
    )
    assert solve(sparse, threads=1).objective == pytest.approx(
        solve(sparse, "pulp").objective, rel=1e-6
    )


def test_infeasible_safety_stock_names_the_pair() -> None:
    a = {
        "store_id": 1,
        "demand": 0.0,
        "current_inventory": 20.0,
        "max_capacity": 5.0,
        "safety_stock": 20.0,
    }
    b = {"store_id": 2, "demand": 0.0, "current_inventory": 0.0}
    with pytest.raises(InfeasibleError) as err:
        solve(tiny_problem([a, b], {(1, 2): 0.1}), threads=1)
    assert len(err.value.pairs) == 1
    pair = err.value.pairs[0]
    assert (pair["store_id"], pair["product_id"]) == (1, 1)
    assert pair["unplaceable_units"] == pytest.approx(15.0)
    assert "safety" in pair["reason"]
    assert "store 1 product 1" in str(err.value)


def test_infeasible_nowhere_to_send() -> None:
    a = {"store_id": 1, "demand": 0.0, "current_inventory": 20.0, "max_capacity": 5.0}
    b = {"store_id": 2, "demand": 0.0, "current_inventory": 0.0}
    with pytest.raises(InfeasibleError) as err:
        solve(tiny_problem([a, b], {(2, 1): 0.1}), threads=1)  # only a route into A
    assert "no route" in err.value.pairs[0]["reason"]


def test_infeasible_receivers_full_and_pulp_backend_diagnoses_too() -> None:
    a = {"store_id": 1, "demand": 0.0, "current_inventory": 20.0, "max_capacity": 5.0}
    b = {"store_id": 2, "demand": 0.0, "current_inventory": 3.0, "max_capacity": 4.0}
    pb = tiny_problem([a, b], {(1, 2): 0.1})
    for backend in ("highs", "pulp"):
        with pytest.raises(InfeasibleError) as err:
            solve(pb, backend)
        (pair,) = err.value.pairs
        assert pair["store_id"] == 1
        assert pair["unplaceable_units"] == pytest.approx(14.0)  # 15 must go, room for 1
        assert "no room" in pair["reason"]


def test_one_infeasible_product_among_feasible_ones() -> None:
    pb = synthetic_problem(n_stores=30, n_products=10, n_pairs=120, seed=5)
    sp = pb.store_products.drop("store_idx", "product_idx")
    first = sp.row(0, named=True)
    sp = sp.with_columns(
        pl.when(
            (pl.col("store_id") == first["store_id"])
            & (pl.col("product_id") == first["product_id"])
        )
        .then(pl.lit(1e4))
        .otherwise(pl.col("current_inventory"))
        .alias("current_inventory")
    )
    bad = make_problem(sp, pb.products, pb.stores, pb.transport)
    with pytest.raises(InfeasibleError) as err:
        solve(bad, threads=2)
    assert {(p["store_id"], p["product_id"]) for p in err.value.pairs} == {
        (first["store_id"], first["product_id"])
    }


def test_large_products_float32_costs_match_pulp() -> None:
    # products in > ROUTE_LIST_MAX_REACH stores use dense pricing; with float32 costs the
    # rounds are screened in float32 and the last one is the exact float64 pass
    pb = synthetic_problem(n_stores=170, n_products=2, n_pairs=300, seed=8, dtype=np.float32)
    assert np.diff(pb.product_start).max() > 120
    plan = solve(pb, threads=1)
    assert plan.min_reduced_cost is not None and plan.min_reduced_cost >= -1e-9
    assert plan.objective == pytest.approx(solve(pb, "pulp").objective, rel=1e-6)
