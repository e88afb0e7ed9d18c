"""``stochastic.distribution = "empirical"``: the stochastic plan's points and the forecast
draws read off the forecast's quantile grid of each horizon total (``Problem.demand_grid``),
with the Gamma for a pair without a grid row."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.errors import DataValidationError
from rama.evaluate.compare import Solved
from rama.optimize import solve
from rama.planning import run_plan
from rama.problem import (
    Problem,
    build_problem,
    forecast_points,
    forecast_samples,
    inputs_from_problem,
    load_problem,
    read_grid,
    scenario_problem,
    stochastic_problem,
    with_penalty,
    write_problem,
)
from rama.problem.folder import grid_columns
from rama.rules import demand_points, demand_samples
from rama.scenario_spec import Scenario
from rama.strategies import STRATEGY_FUNCTIONS, StrategyContext, score
from rama.testing import tiny_problem, tiny_run_folder

LEVELS = (np.arange(1, 21) - 0.5) / 20


def ctx(distribution: str = "empirical", points: int = 20) -> StrategyContext:
    sto = dict(load_config()["stochastic"])
    sto.update(distribution=distribution, points=points)
    return StrategyContext(sto, threads=1)


def with_grid(problem: Problem, grid: list[list[float]]) -> Problem:
    return replace(problem, demand_grid=np.asarray(grid, dtype=np.float64))


def two_pairs() -> Problem:
    pb = tiny_problem(
        [
            {"store_id": 1, "demand": 3.0, "demand_std": 2.0, "current_inventory": 0.0},
            {"store_id": 2, "demand": 10.0, "demand_std": 4.0, "current_inventory": 2.0},
        ],
        {(1, 2): 0.1, (2, 1): 0.1},
    )
    return with_grid(pb, [[0.0, 1.0, 3.0, 7.0], [6.0, 9.0, 11.0, 14.0]])


def test_hand_computed_grid_points() -> None:
    # G = 4 levels 1/8, 3/8, 5/8, 7/8; K = 8 levels (k - 0.5)/8 sit at grid positions
    # k/2 - 0.75: clipped to 0 below the first level, linear between, flat above the last
    pb = two_pairs()
    pts, fallback = forecast_points(pb, 8, "empirical")
    assert fallback == 0
    assert pts[0].tolist() == pytest.approx([0.0, 0.25, 0.75, 1.5, 2.5, 4.0, 6.0, 7.0])
    two, _ = forecast_points(pb, 2, "empirical")  # levels 1/4, 3/4: halfway between
    np.testing.assert_allclose(two, [[0.5, 5.0], [7.5, 12.5]])
    four, _ = forecast_points(pb, 4, "empirical")  # the grid's own levels: the grid
    assert four.tolist() == pb.demand_grid.tolist()  # type: ignore[union-attr]
    # the same rule as rules.grid_quantiles / demand_points(..., "empirical", grid=...)
    assert demand_points(pb.demand, [0, 0], 8, "empirical", grid=pb.demand_grid).tolist() == (
        pts.tolist()
    )


def test_atom_at_zero_gives_zero_low_points() -> None:
    # an intermittent pair: the 6 lowest of 20 levels (up to 0.275) are 0, so P(D = 0) = 0.275
    grid = np.r_[np.zeros(6), np.linspace(1.0, 14.0, 14)]
    pb = with_grid(tiny_problem([{"store_id": 1, "demand": 3.0, "demand_std": 3.0,
                                  "current_inventory": 0.0}], {}), [grid.tolist()])  # fmt: skip
    pts, _ = forecast_points(pb, 20, "empirical")
    assert (pts[0, :6] == 0).all() and (pts[0, 6:] > 0).all()
    ten, _ = forecast_points(pb, 10, "empirical")  # levels 0.05, 0.15, 0.25 fall in the atom
    assert (ten[0, :3] == 0).all() and ten[0, 3] > 0
    gamma, _ = forecast_points(pb, 20, "gamma")  # the two-moment form has no atom
    assert (gamma[0] > 0).all()
    draws, _ = forecast_samples(pb, 20_000, "empirical", seed=3)
    assert (draws == 0).mean() == pytest.approx(0.275, abs=0.01)


def test_a_demand_shock_scales_the_grid_points_and_draws() -> None:
    pb = two_pairs()
    cfg = load_config()
    inputs = inputs_from_problem(pb, cfg, np.array([2.0, 3.0]))
    base = scenario_problem(inputs, Scenario("base"))
    shocked = scenario_problem(inputs, Scenario("up", forecast_demand=1.3))
    assert shocked.demand_grid == pytest.approx(1.3 * pb.demand_grid)  # type: ignore[operator]
    c = ctx(points=8)
    p0 = c.demand_points(base).copy()
    p1 = c.demand_points(shocked)  # reused: the reference's points x 1.3
    assert p1 == pytest.approx(1.3 * p0, rel=1e-12)
    assert p1 == pytest.approx(forecast_points(shocked, 8, "empirical")[0], rel=1e-12)
    d0, _ = forecast_samples(base, 50, "empirical", seed=1)
    d1, _ = forecast_samples(shocked, 50, "empirical", seed=1)
    assert d1 == pytest.approx(1.3 * d0, rel=1e-12)  # common random numbers
    # a different grid with the same mean and std is not taken for a scaled one
    assert shocked.demand_grid is not None
    other = replace(shocked, demand_grid=shocked.demand_grid[:, ::-1].cumsum(axis=1))
    assert c.demand_points(other) == pytest.approx(forecast_points(other, 8, "empirical")[0])


def test_variants_and_subsets_keep_the_grid() -> None:
    pb = two_pairs()
    assert with_penalty(pb, 1.0).demand_grid is pb.demand_grid
    sub = pb.subset(np.array([1]))
    assert sub.demand_grid is not None and sub.demand_grid.shape == (2, 4)
    sp = stochastic_problem(pb, forecast_points(pb, 4, "empirical")[0])
    assert sp.demand_grid is pb.demand_grid


def test_pairs_without_a_grid_row_fall_back_to_the_gamma() -> None:
    pb = two_pairs()
    grid = pb.demand_grid.copy()  # type: ignore[union-attr]
    grid[1] = np.nan  # pair 2 missing from horizon_quantiles
    pb = replace(pb, demand_grid=grid)
    pts, fallback = forecast_points(pb, 20, "empirical")
    assert fallback == 1
    assert pts[1] == pytest.approx(demand_points([10.0], [4.0], 20, "gamma")[0])
    assert pts[0] == pytest.approx(forecast_points(two_pairs(), 20, "empirical")[0][0])
    c = ctx()
    with pytest.warns(UserWarning, match="1 of 2 store-product pairs have no row"):
        c.demand_points(pb)
    assert c.fallback_pairs == 1
    draws, n = forecast_samples(pb, 20_000, "empirical", seed=2)
    assert n == 1
    assert draws[1].mean() == pytest.approx(10.0, rel=0.03)
    assert draws[1].std() == pytest.approx(4.0, rel=0.05)
    # no grid at all: every pair takes the Gamma, the same draws as the gamma distribution
    bare = replace(pb, demand_grid=None)
    assert forecast_points(bare, 5, "empirical")[1] == 2
    d_bare, n_bare = forecast_samples(bare, 30, "empirical", seed=4)
    assert (
        n_bare == 2 and d_bare.tolist() == forecast_samples(bare, 30, "gamma", seed=4)[0].tolist()
    )
    # ... and, the default distribution, no warning: a forecast of means and stds only is
    # the Gamma by design (the plan summary still counts the pairs)
    c_bare = ctx()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c_bare.demand_points(bare)
    assert c_bare.fallback_pairs == 2


def test_full_grid_draws_are_demand_samples_of_the_grid() -> None:
    pb = two_pairs()
    got, _ = forecast_samples(pb, 40, "empirical", seed=9)
    want = demand_samples(pb.demand, [2.0, 4.0], 40, "empirical", seed=9, grid=pb.demand_grid)
    assert got.tolist() == want.tolist()
    solved = Solved("base", pb)
    assert solved.forecast_samples(40, "empirical", 9).tolist() == want.tolist()
    assert solved.fallback_pairs == 0


def _grid_frame(rows: dict[tuple[int, int], np.ndarray]) -> pl.DataFrame:
    cols = grid_columns(20)
    return pl.DataFrame(
        {
            "store_id": [k[0] for k in rows],
            "product_id": [k[1] for k in rows],
            **{c: [float(v[j]) for v in rows.values()] for j, c in enumerate(cols)},
        }
    )


GRID_ROWS = {
    (1, 7): np.r_[np.zeros(5), np.linspace(2.0, 40.0, 15)],  # lumpy, an atom at 0
    (1, 8): np.full(20, 7.0),
    (2, 7): np.zeros(20),
    # (3, 7) is missing: the Gamma of its mean 21 and std 3.5
}


def test_the_grid_travels_from_the_forecast_to_the_problem_folder(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    _grid_frame(GRID_ROWS).write_parquet(run / "forecast" / "horizon_quantiles.parquet")
    pb = build_problem(run, load_config())
    g = pb.demand_grid
    assert g is not None and g.shape == (4, 20)
    keys = list(zip(pb.store_ids[pb.pair_store], pb.product_ids[pb.pair_product], strict=True))
    for i, key in enumerate(keys):
        if key in GRID_ROWS:
            assert g[i].tolist() == GRID_ROWS[key].tolist()
        else:
            assert np.isnan(g[i]).all()
    write_problem(pb, tmp_path / "folder")
    back = load_problem(tmp_path / "folder")
    assert np.array_equal(back.demand_grid, g, equal_nan=True)  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="levels"):  # 19 columns: not (g - 0.5)/19
        read_grid(_grid_frame(GRID_ROWS).drop("q97.5"), pb, "grid.parquet")
    bad = _grid_frame({(1, 7): GRID_ROWS[(1, 7)][::-1]})
    with pytest.raises(DataValidationError, match="decrease"):
        read_grid(bad, pb, "grid.parquet")
    with pytest.raises(DataValidationError, match="not in store_products"):
        read_grid(_grid_frame({(9, 7): GRID_ROWS[(1, 8)]}), pb, "grid.parquet")


def test_stochastic_plan_on_the_empirical_grid(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    _grid_frame(GRID_ROWS).write_parquet(run / "forecast" / "horizon_quantiles.parquet")
    cfg = load_config(overrides={"stochastic.distribution": "empirical"})
    with pytest.warns(UserWarning, match="1 of 4"):
        res = run_plan(run, cfg, threads=1)
    plan = res.plans["stochastic"]
    assert plan.summary["check"] == "passed"
    note = json.loads((run / "plan" / "summary.json").read_text())["recommended"]["distribution"]
    assert note["stochastic.distribution"] == "empirical" and note["fallback_pairs"] == 1

    # the same plan built by hand: points from the grid rows (np.interp over the levels,
    # flat beyond them) and the Gamma for pair (3, 7); solved, scored on its points
    pb = load_problem(run / "problem")
    keys = list(zip(pb.store_ids[pb.pair_store], pb.product_ids[pb.pair_product], strict=True))
    pts = np.empty((pb.n_pairs, 20))
    for i, key in enumerate(keys):
        if key in GRID_ROWS:
            pts[i] = np.interp(LEVELS, LEVELS, GRID_ROWS[key])
        else:
            pts[i] = demand_points([21.0], [3.5], 20, "gamma")[0]
    assert pts == pytest.approx(forecast_points(pb, 20, "empirical")[0])
    sp = stochastic_problem(pb, pts)
    by_hand = solve(sp, threads=1)
    assert plan.objective == pytest.approx(by_hand.objective, abs=0.005)  # written in cents
    c = ctx()
    with pytest.warns(UserWarning):
        dec = STRATEGY_FUNCTIONS["stochastic"](pb, c)
    expected = score(dec, pb, c.clipped_points(pb))
    assert expected["total"] == pytest.approx(by_hand.objective, rel=1e-9)
    # the atom at 0 of pair (1, 7): its 5 lowest points are 0
    i17 = keys.index((1, 7))
    assert (c.clipped_points(pb)[i17, :5] == 0).all()
    # the service figures come from the same distribution: draws of the grid
    sl = pl.read_csv(run / "plans" / "stochastic" / "service_level.csv")
    draws, _ = forecast_samples(
        pb, int(cfg["evaluate"]["samples"]), "empirical", int(cfg["run"]["seed"])
    )
    network = sl.filter(pl.col("level") == "network")
    assert float(network["demand"][0]) == pytest.approx(float(draws.mean(axis=1).sum()))


def test_gamma_default_is_unchanged_by_a_grid() -> None:
    pb = two_pairs()
    pts, n = forecast_points(pb, 20, "gamma")
    assert n == 0 and pts.tolist() == demand_points(pb.demand, [2.0, 4.0], 20).tolist()
    c = ctx("gamma")
    assert c.demand_points(pb).tolist() == pts.tolist()
    draws, _ = forecast_samples(pb, 30, "gamma", seed=1)
    assert draws.tolist() == demand_samples(pb.demand, [2.0, 4.0], 30, "gamma", 1).tolist()


@pytest.mark.parametrize("chunk", [1, 50, 1 << 21])
def test_grid_quantiles_in_chunks_are_the_quantile_function(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """Row chunks (``rules.GRID_CHUNK`` values at a time) give, value for value, the piecewise
    linear quantile function that np.interp computes row by row (flat beyond the levels)."""
    from rama import rules

    rng = np.random.default_rng(5)
    grid = np.sort(rng.gamma(0.7, 3.0, (37, 20)), axis=1)
    grid[3] = 0.0  # a pair that never sells
    grid[4, :8] = 0.0  # an atom at 0
    u = rng.random((37, 11))
    monkeypatch.setattr(rules, "GRID_CHUNK", chunk)
    got = rules.grid_quantiles(grid, u)
    levels = (np.arange(20) + 0.5) / 20
    want = np.stack([np.interp(u[i], levels, grid[i]) for i in range(37)])
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    shared = rules.grid_quantiles(grid, u[0])  # one row of probabilities for every pair
    assert shared == pytest.approx(np.stack([np.interp(u[0], levels, g) for g in grid]))
