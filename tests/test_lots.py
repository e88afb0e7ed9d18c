"""Plans in whole units or lots: the rounding rules, integrality of lot-grid plans (random
problems, with and without city hubs, deterministic and stochastic), the lot-grid LP optimum
against an integer optimum (PuLP + CBC), the independent check's lot-grid test, the written
files and the stage's cost of rounding."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pulp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rama.config import load_config
from rama.errors import ConfigError, InfeasibleError, PlanCheckError
from rama.optimize import Plan, check_plan, optimize_folder, solve, solve_and_write, write_plan
from rama.optimize.plan import snap
from rama.optimize.plan_io import lot_decimals
from rama.optimize.pulp_backend import build_pulp_model
from rama.problem import (
    Problem,
    make_problem,
    off_grid_inputs,
    on_lot_grid,
    stochastic_problem,
    write_problem,
)
from rama.testing import synthetic_problem

SMALL = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOTS = st.sampled_from([1.0, 0.5, 2.0, 0.25, 0.1])


def _on_grid(x: np.ndarray, lot: float, tol: float = 1e-9) -> bool:
    x = np.asarray(x, dtype=np.float64)
    return bool(np.all(np.abs(x - lot * np.round(x / lot)) <= tol * np.maximum(1.0, np.abs(x))))


def _assert_lot_plan(plan: Plan, lot: float) -> None:
    """Every decision of the plan is a lot multiple (stockout and ending inventory too when
    the plan is deterministic), and the independent check (with its grid test) passes."""
    assert plan.lot_size == lot
    for name in ("t_qty", "allocate", "manufacture", "transfer_in", "transfer_out"):
        assert _on_grid(getattr(plan, name), lot), name
    if plan.problem.demand_points is None:
        assert _on_grid(plan.stockout, lot) and _on_grid(plan.ending_inventory, lot)
    worst = check_plan(plan.problem, plan)
    assert any(k.startswith("lot grid") for k in worst)


def _random_problem(seed: int, n_products: int, tight: bool, noise: float) -> Problem:
    """A small synthetic network; ``tight`` cuts capacities and production (C4/C5 bind)."""
    pb = synthetic_problem(
        n_stores=16,
        n_products=n_products,
        n_pairs=n_products * 6,
        seed=seed,
        noise=noise,
        discounted_lanes=0.0 if noise == 0.0 else 0.005,
    )
    if not tight:
        return pb
    rng = np.random.default_rng(seed)
    sp = pb.store_products.drop("store_idx", "product_idx").with_columns(
        pl.max_horizontal(
            pl.col("max_capacity") * pl.Series(rng.uniform(0.3, 1.0, pb.n_pairs)),
            pl.col("current_inventory") - pl.col("demand"),
        ).alias("max_capacity")
    )
    products = pb.products.with_columns(
        pl.col("max_production") * pl.Series(rng.uniform(0.0, 0.6, pb.n_products)),
        pl.Series("stockout_penalty", rng.uniform(0.5, 4.0, pb.n_products)),
    )
    return make_problem(sp, products, pb.stores, pb.transport)


def _scaled(pb: Problem, factor: float) -> Problem:
    """Quantities x ``factor`` (the synthetic demands are a few units: lots then matter)."""
    cols = ["demand", "demand_std", "current_inventory", "safety_stock", "max_capacity"]
    sp = pb.store_products.drop("store_idx", "product_idx").with_columns(
        *(pl.col(c) * factor for c in cols)
    )
    pr = pb.products.with_columns(pl.col("max_production") * factor)
    return make_problem(sp, pr, pb.stores, pb.transport)


def _solve_or_skip(pb: Problem, lot: float, hubs: bool = True) -> Plan:
    try:
        return solve(pb, threads=1, lot=lot, hubs=hubs)
    except InfeasibleError:  # rounding capacities down can leave no room (lots.py doc)
        assume(False)
        raise


# -- the rounding rules -------------------------------------------------------------------


def _two_stores(**over: list[float]) -> Problem:
    cols = {
        "store_id": [1, 2],
        "product_id": [1, 1],
        "demand": [2.5, 6.4],
        "demand_std": [0.3, 0.0],
        "current_inventory": [10.7, 0.9],
        "safety_stock": [1.2, 0.0],
        "max_capacity": [20.9, float("inf")],
    }
    cols.update(over)
    products = pl.DataFrame(
        {
            "product_id": [1],
            "holding_cost": [0.5],
            "stockout_penalty": [2.5],
            "manufacturing_cost": [1.0],
            "max_production": [7.9],
        }
    )
    stores = pl.DataFrame({"store_id": [1, 2], "distribution_cost": [0.5, 0.5]})
    return make_problem(pl.DataFrame(cols), products, stores, np.array([[0.0, 0.25], [0.25, 0.0]]))


def test_rounding_rules_by_hand() -> None:
    pb = _two_stores()
    g = on_lot_grid(pb, 1.0)
    assert g.demand.tolist() == [3.0, 6.0]  # nearest, halves up
    assert g.current_inventory.tolist() == [10.0, 0.0]  # down
    assert g.safety_stock.tolist() == [2.0, 0.0]  # up
    assert g.max_transfer_out.tolist() == [8.0, 0.0]  # max(0, 10 - 2): a whole number
    assert g.max_capacity.tolist() == [20.0, np.inf]  # down, inf stays
    assert g.max_production.tolist() == [7.0]  # down
    assert g.store_products["demand_std"].to_list() == [0.3, 0.0]  # not an LP quantity
    for col in ("holding_cost", "stockout_penalty", "manufacturing_cost"):
        assert g.products[col].to_list() == pb.products[col].to_list()
    assert g.transport is pb.transport  # routes and their costs unchanged
    h = on_lot_grid(pb, 0.5)
    assert h.demand.tolist() == [2.5, 6.5]
    assert h.current_inventory.tolist() == [10.5, 0.5]
    assert h.safety_stock.tolist() == [1.5, 0.0]
    assert h.max_capacity.tolist() == [20.5, np.inf]
    assert off_grid_inputs(pb, 1.0) and not off_grid_inputs(g, 1.0)
    assert on_lot_grid(g, 1.0).demand.tolist() == g.demand.tolist()  # idempotent
    assert on_lot_grid(pb, 1.0, "nearest").current_inventory.tolist() == [11.0, 1.0]
    with pytest.raises(ValueError, match="inventory"):
        on_lot_grid(pb, 1.0, "up")


def test_capacity_is_never_rounded_below_the_stock_a_store_must_keep() -> None:
    # C5 with the most shipped out: a store keeps min(inv, ss) - demand. Store 1 keeps
    # 10.7 - 0.7 = 10.0 <= 10.5 before rounding; after it (inv 10, ss 10) still 10 <= 10
    pb = _two_stores(
        demand=[0.0, 6.4],
        current_inventory=[10.7, 0.9],
        safety_stock=[10.0, 0.0],
        max_capacity=[10.5, 30.0],
    )
    solve(pb, threads=1)  # feasible unrounded
    g = on_lot_grid(pb, 1.0)
    assert g.max_capacity.tolist() == [10.0, 30.0]
    pb = _two_stores(
        demand=[0.0, 6.4],
        current_inventory=[10.7, 0.9],
        safety_stock=[10.2, 0.0],
        max_capacity=[10.6, 30.0],
    )
    solve(pb, threads=1)
    g = on_lot_grid(pb, 1.0)  # ss 11 > inv 10: store 1 keeps all 10; cap 10.6 -> 10
    assert g.max_capacity.tolist()[0] == 10.0 and g.max_transfer_out.tolist()[0] == 0.0
    pb = _two_stores(
        demand=[0.4, 6.4],
        current_inventory=[10.7, 0.9],
        safety_stock=[9.6, 0.0],
        max_capacity=[9.5, 30.0],
    )
    solve(pb, threads=1)  # keeps 9.6 - 0.4 = 9.2 <= 9.5
    g = on_lot_grid(pb, 1.0)  # keeps min(10, 10) - 0 = 10 > floor(9.5) = 9: raised to 10
    assert g.max_capacity.tolist()[0] == 10.0
    _assert_lot_plan(solve(g, threads=1, lot=1.0), 1.0)


def test_a_solver_value_off_the_grid_is_an_error_not_rounded() -> None:
    assert snap(np.array([2.9999999, 1e-8, 4.0]), 1.0, "transfer").tolist() == [3.0, 0.0, 4.0]
    with pytest.raises(PlanCheckError, match=r"1 transfer value.* off the grid of lot 1"):
        snap(np.array([3.0, 0.3]), 1.0, "transfer")


def test_solve_refuses_a_problem_off_the_grid_and_bad_lots() -> None:
    pb = _two_stores()
    with pytest.raises(ValueError, match="not on the grid"):
        solve(pb, threads=1, lot=1.0)
    with pytest.raises(ValueError):
        on_lot_grid(pb, 0.0)
    with pytest.raises(ValueError):
        solve(on_lot_grid(pb, 1.0), threads=1, lot=-1.0)


def test_stochastic_grid_is_rederived_and_stays_on_the_grid() -> None:
    pb = on_lot_grid(_two_stores(max_capacity=[12.3, 40.0]), 1.0)
    pts = np.array([[0.4, 2.6, 30.0], [1.2, 6.5, 9.9]])
    sp = stochastic_problem(pb, pts)
    g = on_lot_grid(sp, 1.0)
    assert g.demand_points is not None
    # nearest, then clipped at A_cap = cap + demand = 12 + 3 = 15
    assert g.demand_points.tolist() == [[0.0, 3.0, 15.0], [1.0, 7.0, 10.0]]
    assert g.demand.tolist() == pytest.approx([6.0, 6.0])
    assert (g.max_capacity + g.demand).tolist() == pytest.approx([15.0, 46.0])
    assert not off_grid_inputs(g, 1.0)
    _assert_lot_plan(solve(g, threads=1, lot=1.0), 1.0)


# -- integrality on random problems ---------------------------------------------------------


@SMALL
@given(
    seed=st.integers(0, 10_000),
    n_products=st.integers(1, 4),
    tight=st.booleans(),
    noise=st.sampled_from([0.0, 0.15]),  # 0: city form (hub columns)
    hubs=st.booleans(),
    lot=LOTS,
    factor=st.sampled_from([1.0, 7.3]),
)
def test_lot_grid_plans_are_lot_multiples(
    seed: int, n_products: int, tight: bool, noise: float, hubs: bool, lot: float, factor: float
) -> None:
    pb = on_lot_grid(_scaled(_random_problem(seed, n_products, tight, noise), factor), lot)
    plan = _solve_or_skip(pb, lot, hubs)  # raises if the LP's optimum were off the grid
    _assert_lot_plan(plan, lot)
    if noise == 0.0:
        assert pb.city_costs is not None  # city form: hub columns when ``hubs``
    # the plain LP (no snapping) already ends on the grid, at the same optimum
    plain = solve(pb, threads=1, hubs=hubs)
    for name in ("t_qty", "allocate", "stockout", "ending_inventory"):
        assert _on_grid(getattr(plain, name), lot, 1e-6), name
    assert plan.objective == pytest.approx(plain.objective, rel=1e-9, abs=1e-9)
    other = solve(pb, threads=1, lot=lot, hubs=not hubs)
    assert other.objective == pytest.approx(plan.objective, rel=1e-9, abs=1e-9)


@SMALL
@given(
    seed=st.integers(0, 10_000),
    n_products=st.integers(1, 3),
    k_points=st.integers(1, 6),
    noise=st.sampled_from([0.0, 0.15]),
    hubs=st.booleans(),
    lot=st.sampled_from([1.0, 0.5, 2.0]),
)
def test_stochastic_lot_grid_plans_are_lot_multiples(
    seed: int, n_products: int, k_points: int, noise: float, hubs: bool, lot: float
) -> None:
    pb = _scaled(_random_problem(seed, n_products, False, noise), 5.0)
    rng = np.random.default_rng(seed)
    pts = pb.demand[:, None] * rng.gamma(2.0, 0.5, (pb.n_pairs, k_points))
    grid = on_lot_grid(stochastic_problem(on_lot_grid(pb, lot), pts), lot)
    assert not off_grid_inputs(grid, lot)
    plan = _solve_or_skip(grid, lot, hubs)
    _assert_lot_plan(plan, lot)
    # expected stockout and ending stock: means over K grid values
    assert _on_grid(plan.stockout, lot / k_points)


# -- against an integer optimum ---------------------------------------------------------------


def _pulp_optimum(pb: Problem, integer: bool) -> float:
    """The optimum of the plain PuLP model (:mod:`rama.optimize.pulp_backend`), with every
    variable integer when ``integer`` (CBC's branch and bound)."""
    pm = build_pulp_model(pb)
    for v in pm.model.variables():
        v.cat = pulp.LpInteger if integer else pulp.LpContinuous
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        status = pm.model.solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    assert pulp.LpStatus[status] == "Optimal"
    return float(pulp.value(pm.model.objective))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), stochastic=st.booleans())
def test_lot_grid_optimum_equals_the_integer_optimum(seed: int, stochastic: bool) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    sp = pl.DataFrame(
        {
            "store_id": np.arange(1, n + 1),
            "product_id": np.ones(n, dtype=np.int64),
            "demand": rng.uniform(0, 9, n),
            "demand_std": np.zeros(n),
            "current_inventory": rng.uniform(0, 12, n),
            "safety_stock": rng.uniform(0, 3, n),
            "max_capacity": rng.uniform(8, 15, n),
        }
    )
    products = pl.DataFrame(
        {
            "product_id": [1],
            "holding_cost": [float(rng.uniform(0.1, 1.0))],
            "stockout_penalty": [float(rng.uniform(1.0, 4.0))],
            "manufacturing_cost": [float(rng.uniform(0.5, 2.0))],
            "max_production": [float(rng.uniform(0, 10))],
        }
    )
    stores = pl.DataFrame(
        {"store_id": np.arange(1, n + 1), "distribution_cost": rng.uniform(0, 1, n)}
    )
    cost = rng.uniform(0.05, 1.5, (n, n))
    cost[rng.uniform(size=(n, n)) < 0.3] = np.inf  # some pairs are no route
    np.fill_diagonal(cost, 0.0)
    pb = make_problem(sp, products, stores, cost)
    if stochastic:
        pb = stochastic_problem(pb, pb.demand[:, None] * rng.gamma(2.0, 0.5, (n, 3)))
    grid = on_lot_grid(pb, 1.0)
    plan = _solve_or_skip(grid, 1.0)
    _assert_lot_plan(plan, 1.0)
    integer = _pulp_optimum(grid, integer=True)
    assert integer == pytest.approx(_pulp_optimum(grid, integer=False), rel=1e-7, abs=1e-7)
    # the PuLP model's objective leaves out constants of the stochastic cost: compare plans
    assert plan.objective == pytest.approx(
        solve(grid, "pulp", lot=1.0).objective, rel=1e-7, abs=1e-7
    )
    if not stochastic:
        assert plan.objective == pytest.approx(integer, rel=1e-7, abs=1e-7)


# -- the independent check and the written files -------------------------------------------


def test_check_rejects_a_plan_off_the_grid(tmp_path: Path) -> None:
    pb = _scaled(synthetic_problem(n_stores=20, n_products=4, n_pairs=40, seed=3), 3.7)
    grid = on_lot_grid(pb, 1.0)
    plan = solve(grid, threads=1, lot=1.0)
    assert plan.t_qty.size > 0
    out = write_plan(plan, tmp_path / "plan")
    check_plan(grid, out)  # as written: passes
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lot_size"] == 1.0
    # the same files claimed for a lot of 2 units: some quantity is odd
    summary["lot_size"] = 2.0
    (out / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(PlanCheckError, match=r"lot grid .*not a multiple of lot_size 2"):
        check_plan(grid, out)
    # a continuous plan (fractional transfers) claimed as a whole-unit plan
    cont = solve(pb, threads=1)
    assert not _on_grid(cont.t_qty, 1.0)
    out2 = write_plan(cont, tmp_path / "cont")
    check_plan(pb, out2)
    s2 = json.loads((out2 / "summary.json").read_text())
    assert "lot_size" not in s2
    s2["lot_size"] = 1.0
    (out2 / "summary.json").write_text(json.dumps(s2))
    with pytest.raises(PlanCheckError, match=r"lot grid transfer_plan\.csv quantity"):
        check_plan(pb, out2)


@pytest.mark.parametrize("lot", [1.0, 0.1, 0.25])
def test_written_lot_plans_carry_no_solver_noise(tmp_path: Path, lot: float) -> None:
    pb = _scaled(synthetic_problem(n_stores=20, n_products=4, n_pairs=40, seed=5), 4.1)
    plan = solve(on_lot_grid(pb, lot), threads=1, lot=lot)
    out = write_plan(plan, tmp_path / "plan")
    d = lot_decimals(lot)
    for name in ("transfer_plan.csv", "allocation_plan.csv", "manufacturing_schedule.csv"):
        for text in pl.read_csv(out / name, infer_schema_length=0)["quantity"].to_list():
            frac = text.partition(".")[2]
            assert len(frac.rstrip("0")) <= d, (name, text)
    spp = pl.read_csv(out / "store_product_plan.csv", infer_schema_length=0)
    for col in ("transfer_in", "transfer_out", "allocated", "stockout", "ending_inventory"):
        assert all(len(t.partition(".")[2].rstrip("0")) <= d for t in spp[col].to_list()), col
    costs = pl.read_csv(out / "transfer_plan.csv", infer_schema_length=0)["cost"].to_list()
    assert all(len(t.partition(".")[2]) <= 2 for t in costs)  # to the cent
    check_plan(plan.problem, out)


def test_stage_reports_the_cost_of_rounding(tmp_path: Path) -> None:
    pb = _scaled(synthetic_problem(n_stores=20, n_products=5, n_pairs=50, seed=2), 2.3)
    _, cont = solve_and_write(pb, tmp_path / "cont", threads=1)
    assert "lot_size" not in cont.summary and "continuous_objective" not in cont.summary
    plan, res = solve_and_write(pb, tmp_path / "lots", threads=1, lot_size=1.0)
    s = res.summary
    assert s["lot_size"] == 1.0 and s["check"] == "passed"
    assert s["continuous_objective"] == pytest.approx(cont.objective, rel=1e-9)
    assert s["rounding_cost"] == pytest.approx(res.objective - cont.objective, abs=1e-6)
    assert s["rounding_cost_pct"] == pytest.approx(
        100 * (res.objective - cont.objective) / cont.objective
    )
    assert any(k.startswith("lot grid") for k in check_plan(plan.problem, tmp_path / "lots"))
    written = json.loads((tmp_path / "lots" / "summary.json").read_text())
    assert written["continuous_objective"] == s["continuous_objective"]


def test_rounding_cost_never_skips_the_continuous_solve(tmp_path: Path) -> None:
    pb = _scaled(synthetic_problem(n_stores=20, n_products=5, n_pairs=50, seed=2), 2.3)
    _, always = solve_and_write(pb, tmp_path / "always", threads=1, lot_size=1.0)
    _, never = solve_and_write(
        pb, tmp_path / "never", threads=1, lot_size=1.0, rounding_cost="never"
    )
    assert never.objective == always.objective  # the same lot plan, its cost unknown
    assert never.summary["rounding_cost"] is None and "continuous_objective" not in never.summary
    assert "never" in never.summary["rounding_cost_skipped"]
    assert "rounding_cost_skipped" not in always.summary
    written = json.loads((tmp_path / "never" / "summary.json").read_text())
    assert written["rounding_cost"] is None and never.summary["check"] == "passed"


def test_rounding_cost_auto_solves_up_to_the_pair_limit() -> None:
    from rama.problem import lots

    assert lots.rounding_cost_skipped("auto", lots.ROUNDING_COST_MAX_PAIRS, 0.1) is None
    why = lots.rounding_cost_skipped("auto", lots.ROUNDING_COST_MAX_PAIRS + 1, 0.1)
    assert why is not None and '"always"' in why
    assert lots.rounding_cost_skipped("always", 10**9, 0.1) is None
    assert lots.rounding_cost_skipped("never", 1, 0.0) is None  # no lot: nothing to round
    with pytest.raises(ValueError, match=r"plan\.rounding_cost"):
        lots.rounding_cost_skipped("sometimes", 1, 0.1)
    assert load_config(None)["plan"]["rounding_cost"] == "auto"
    with pytest.raises(ConfigError, match=r"plan\.rounding_cost"):
        load_config(None, ["plan.rounding_cost=sometimes"])


def test_config_key_plan_lot_size() -> None:
    assert load_config(None)["plan"]["lot_size"] == 0.1  # the data's 0.1-unit grid
    assert load_config(None, ["plan.lot_size=1"])["plan"]["lot_size"] == 1
    with pytest.raises(ConfigError, match=r"plan\.lot_size"):
        load_config(None, ["plan.lot_size=-1"])


def test_rama_optimize_reads_plan_lot_size(tmp_path: Path) -> None:
    pb = _scaled(synthetic_problem(n_stores=12, n_products=3, n_pairs=24, seed=4), 3.1)
    write_problem(pb, tmp_path / "problem")
    cfg = load_config(None, ["plan.lot_size=1"])
    res = optimize_folder(tmp_path / "problem", tmp_path / "plan", cfg, threads=1)
    assert res.summary["lot_size"] == 1.0 and "rounding_cost" in res.summary
    cont = load_config(None, ["plan.lot_size=0"])
    base = optimize_folder(tmp_path / "problem", tmp_path / "plan0", cont, threads=1)
    assert "lot_size" not in base.summary
    assert res.summary["continuous_objective"] == pytest.approx(base.objective, rel=1e-9)
