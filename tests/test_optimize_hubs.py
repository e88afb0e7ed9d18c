"""City hubs: detection of city-form costs, the hub LP against route column generation and
PuLP, and the decomposition of hub flows into store-to-store transfers (hand-computed)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rama.errors import InfeasibleError
from rama.optimize import solve
from rama.optimize.hubs import HubColumns, hub_transfers, nw_match
from rama.problem import Problem, TransportCosts, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.problem.transport import city_structure
from rama.testing import city_problem, synthetic_problem


def with_transport(pb: Problem, tc: TransportCosts, stores: pl.DataFrame | None = None) -> Problem:
    return make_problem(
        pb.store_products.drop("store_idx", "product_idx"),
        pb.products,
        pb.stores if stores is None else stores,
        tc,
    )


def as_csr(pb: Problem, drop: int = -1) -> TransportCosts:
    """The problem's routes as a CSR matrix, optionally without route number ``drop``."""
    f, t, c = pb.transport.to_long()
    keep = np.arange(f.size) != drop
    csr = sps.csr_array((c[keep], (f[keep], t[keep])), shape=(pb.n_stores, pb.n_stores))
    return TransportCosts(pb.n_stores, csr=csr)


def test_city_costs_are_detected_in_every_storage_form() -> None:
    pb = city_problem(0)
    cc = pb.city_costs
    assert cc is not None
    city = pb.stores["city_id"].to_numpy()
    dense = pb.transport.dense
    assert dense is not None
    # every ordered pair of distinct stores costs its cities' entry, both ways, and pairs of
    # stores in the same city share one within-city cost
    n = pb.n_stores
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    np.testing.assert_array_equal(cc.cost[cc.store_city[i], cc.store_city[j]], dense[i, j])
    same = city[i] == city[j]
    assert same.any() and (~same).any()
    assert (cc.store_city[i] == cc.store_city[j]).tolist() == same.tolist()
    assert cc.n_cities == np.unique(city).size
    f32 = with_transport(pb, TransportCosts.from_dense(dense.astype(np.float32)))
    assert f32.city_costs is not None
    assert city_structure(as_csr(pb), city) is not None


def test_city_costs_are_rejected_when_one_route_differs_or_is_missing() -> None:
    pb = city_problem(1)
    dense = pb.transport.dense
    assert dense is not None
    city = pb.stores["city_id"].to_numpy()
    bent = dense.copy()
    bent[4, 9] += 1e-9  # one route off its city's cost
    assert city_structure(TransportCosts.from_dense(bent), city) is None
    holed = dense.copy()
    holed[4, 9] = np.inf  # one route missing
    assert city_structure(TransportCosts.from_dense(holed), city) is None
    assert city_structure(as_csr(pb), city) is not None
    assert city_structure(as_csr(pb, drop=5), city) is None
    assert with_transport(pb, pb.transport, pb.stores.drop("city_id")).city_costs is None


def test_noisy_costs_are_not_city_costs() -> None:
    pb = synthetic_problem(n_stores=30, n_products=6, n_pairs=90, n_cities=5, seed=2)
    assert pb.city_costs is None


def test_nw_match_hand_computed() -> None:
    # group 0: x = 3, 2 against y = 1, 4; group 1: x = 4 against y = 2 (scaled to 4)
    ix, iy, q = nw_match(
        np.array([0, 0, 1]),
        np.array([3.0, 2.0, 4.0]),
        np.array([0, 0, 1]),
        np.array([1.0, 4.0, 2.0]),
        2,
    )
    assert list(zip(ix.tolist(), iy.tolist(), q.tolist(), strict=True)) == [
        (0, 0, 1.0),
        (0, 1, 2.0),
        (1, 1, 2.0),
        (2, 2, 4.0),
    ]


def test_hub_transfers_drop_what_a_store_would_send_itself() -> None:
    # one city: store 0 ships 5 through the city's own hub arc; stores 0 and 1 receive 2 and 3
    hub = HubColumns(
        out_pair=np.array([0]),
        out_hub=np.array([0]),
        in_pair=np.array([0, 1]),
        in_hub=np.array([0, 0]),
        arc_h=np.array([0]),
        arc_g=np.array([0]),
        arc_cost=np.array([0.05]),
        arc_self=np.array([True]),
        n_h=1,
        n_g=1,
    )
    i, j, q, c = hub_transfers(hub, np.array([5.0]), np.array([2.0, 3.0]), np.array([5.0]))
    assert (i.tolist(), j.tolist(), q.tolist(), c.tolist()) == ([0], [1], [3.0], [0.05])


SMALL = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SMALL
@given(seed=st.integers(0, 10_000), tight=st.booleans())
def test_hubs_and_route_generation_reach_the_same_optimum(seed: int, tight: bool) -> None:
    pb = city_problem(seed)
    if tight:  # production capacity binds: C3/C4 kept ("general" products)
        pb = make_problem(
            pb.store_products.drop("store_idx", "product_idx"),
            pb.products.with_columns(pl.col("max_production") * 0.2),
            pb.stores,
            pb.transport,
        )
    hubs = solve(pb, threads=1)  # both plans pass the independent check inside solve()
    routes = solve(pb, threads=1, hubs=False)
    assert hubs.stats["hub_columns"] > 0 and routes.stats["hub_columns"] == 0
    assert hubs.objective == pytest.approx(routes.objective, rel=1e-9, abs=1e-9)
    assert hubs.min_reduced_cost is not None and hubs.min_reduced_cost >= -1e-9
    assert not np.any(hubs.t_from == hubs.t_to)


def test_hubs_match_pulp_on_a_larger_network_and_in_the_stochastic_model() -> None:
    pb = city_problem(5, n_stores=150, n_products=3, n_pairs=260)
    assert np.diff(pb.product_start).max() > 120  # a product priced by the dense pricer
    plan = solve(pb, threads=2)
    assert plan.objective == pytest.approx(solve(pb, "pulp").objective, rel=1e-6)
    rng = np.random.default_rng(5)
    pts = np.sort(pb.demand[:, None] * rng.gamma(2.0, 0.5, (pb.n_pairs, 5)), axis=1)
    sp = stochastic_problem(pb, pts)
    assert solve(sp, threads=1).objective == pytest.approx(
        solve(sp, threads=1, hubs=False).objective, rel=1e-9
    )


def test_infeasibility_is_diagnosed_with_hubs_too() -> None:
    pb = city_problem(3, n_stores=12, n_products=1, n_pairs=12)
    sp = pb.store_products.drop("store_idx", "product_idx")
    first = sp.row(0, named=True)
    # the first store holds far more than it can keep and may ship nothing (safety stock)
    sp = sp.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(1000.0))
        .otherwise(pl.col("current_inventory"))
        .alias("current_inventory"),
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(1000.0))
        .otherwise(pl.col("safety_stock"))
        .alias("safety_stock"),
    )
    bad = make_problem(sp, pb.products, pb.stores, pb.transport)
    assert bad.city_costs is not None
    with pytest.raises(InfeasibleError) as err:
        solve(bad, threads=1)
    assert {(p["store_id"], p["product_id"]) for p in err.value.pairs} == {
        (first["store_id"], first["product_id"])
    }


@SMALL
@given(seed=st.integers(0, 10_000))
def test_hub_proof_is_the_least_reduced_cost_over_every_route(seed: int) -> None:
    from rama.optimize.colgen import make_pricers
    from rama.optimize.hubs import hub_columns, hub_min_reduced_cost
    from rama.optimize.lp_model import build_block_lp, production_may_bind
    from rama.optimize.pricing import price_all

    pb = city_problem(seed, n_stores=20, n_products=3, n_pairs=40)
    assert pb.city_costs is not None
    products = np.arange(pb.n_products)
    model, _, _ = build_block_lp(pb, products, production_may_bind(pb))
    hub = hub_columns(pb, model, pb.city_costs)
    if hub is None:
        return
    rng = np.random.default_rng(seed)
    alpha, beta = rng.normal(0, 2, model.n), rng.normal(0, 2, model.n)
    got, n_routes = hub_min_reduced_cost(hub, model.sender, alpha, beta)
    want = price_all(make_pricers(pb, model), alpha, beta, 1e9).min_reduced_cost
    assert got == want
    # brute force: every route from a pair that may ship to another store of its product
    prod = model.pair_product
    store = pb.pair_store[model.pairs]
    dense = pb.transport.dense
    assert dense is not None
    i, j = np.nonzero((prod[:, None] == prod[None, :]) & model.sender[:, None])
    keep = (i != j) & np.isfinite(dense[store[i], store[j]])
    assert n_routes == int(keep.sum())
    rc = dense[store[i], store[j]] - alpha[i] + beta[j]
    assert got == rc[keep].min()
