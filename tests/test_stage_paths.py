"""Differential tests of the stages' shortcuts against their plain paths: the scenario
sweep's shared draws and positions (rama.scenarios.runner), and the plan files dated in
memory before they are written (rama.planning)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.evaluate import ScoringDemand
from rama.optimize import solve, write_plan
from rama.optimize.plan_io import PLAN_FILES, plan_frames
from rama.planning.calendar import PlanningWeek, date_frames, date_plan_folder
from rama.problem import inputs_from_problem
from rama.scenario_spec import Scenario
from rama.scenarios.runner import DrawCache, evaluate_scenario, plan_groups
from rama.strategies import StrategyContext
from rama.testing import city_problem

SCENARIOS = [
    Scenario("base", "base"),
    Scenario("shock_unforeseen", "demand_shocks", realized_demand=1.2),
    Scenario("fuel", "disruptions", transport=1.5),
    Scenario("shock_foreseen", "demand_shocks", demand=1.2),
    Scenario("pricey", "cost_grid", stockout_penalty=1.6, holding_cost=0.5),
    Scenario("slow", "custom", lead_time=1.5, safety_stock=1.2),
]
STRATEGIES = ["do_nothing", "order_up_to", "centralized_lp", "stochastic"]


def _rows(shared: bool) -> list[dict]:
    cfg = load_config(overrides={"stochastic.points": 4})
    pb = city_problem(3, n_stores=12, n_products=4, n_pairs=36)
    inputs = inputs_from_problem(pb, cfg, np.full(pb.n_pairs, 3.0))
    ctx = StrategyContext(dict(cfg["stochastic"]), threads=1)
    realized = pb.demand * np.linspace(0.5, 1.5, pb.n_pairs)
    demand = ScoringDemand(realized, 25, 7)
    draws = DrawCache() if shared else None
    rows: list[dict] = []
    for group in plan_groups(SCENARIOS):
        cache: dict = {}
        for sc in group:
            rows += evaluate_scenario(inputs, sc, STRATEGIES, demand, ctx, None, cache, draws)[0]
    if draws is not None:  # do nothing under the base draws: base, fuel and pricey
        assert draws.positions.hits >= 2
        assert draws.scaled == 1  # shock_foreseen: the base draws x 1.2
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_shared_draws_and_positions_give_the_rows_of_fresh_ones() -> None:
    shared, fresh = _rows(shared=True), _rows(shared=False)
    assert len(shared) == len(SCENARIOS) * len(STRATEGIES)
    for got, want in zip(shared, fresh, strict=True):
        if got["scenario"] != "shock_foreseen":
            assert got == want  # every figure to the bit
            continue
        # the foreseen shock scores on the base draws x 1.2, the fresh path draws its own
        # Gamma of shape (1.2 m / 1.2 s)^2: the same values but for the last bits
        assert got.keys() == want.keys()
        for k, v in got.items():
            if isinstance(v, float):
                assert v == pytest.approx(want[k], rel=1e-12, abs=1e-12, nan_ok=True), k
            else:
                assert v == want[k], k


def test_draws_are_shared_by_forecast_factor_and_kept_bounded() -> None:
    class Problem:  # the forecast a DrawCache reads: mean, std, grid
        def __init__(self, mean: list[float]) -> None:
            self.demand = np.array(mean)
            self.store_products = pl.DataFrame({"demand_std": 0.5 * self.demand})
            self.demand_grid = None

    class Solved:
        def __init__(self, mean: tuple[float, float] = (2.0, 4.0)) -> None:
            self.problem = Problem(list(mean))
            self.samples: np.ndarray | None = None
            self.fallback_pairs = 0
            self.calls = 0

        def forecast_samples(self, n: int, dist: str, seed: int) -> np.ndarray:
            self.calls += 1
            self.samples = np.full((2, n), float(seed))
            return self.samples

    cache, demand = DrawCache(), ScoringDemand(None, 3, 1)
    first, again = Solved(), Solved()
    other, last = Solved((1.0, 4.0)), Solved((3.0, 4.0))  # not the base x their factor
    base = cache.draws(first, 1.0, demand, "gamma")  # type: ignore[arg-type]
    assert cache.draws(again, 1.0, demand, "gamma") is base  # type: ignore[arg-type]
    assert again.calls == 0 and again.samples is base
    cache.draws(other, 0.8, demand, "gamma")  # type: ignore[arg-type]
    cache.draws(last, 1.2, demand, "gamma")  # type: ignore[arg-type]
    assert other.calls == last.calls == 1 and cache.scaled == 0
    assert sorted(cache._draws) == [1.0, 1.2]  # the base's and the last other only
    # a forecast that is the base's x 1.5 (mean and std): the base draws x 1.5, no new draw
    grown = Solved((3.0, 6.0))
    got = cache.draws(grown, 1.5, demand, "gamma")  # type: ignore[arg-type]
    assert grown.calls == 0 and cache.scaled == 1 and got.tolist() == (1.5 * base).tolist()


@pytest.mark.parametrize("lot", [0.0, 0.5])
def test_plan_tables_dated_in_memory_are_the_dated_files(tmp_path: Path, lot: float) -> None:
    from rama.problem import on_lot_grid

    pb = city_problem(5, n_stores=12, n_products=4, n_pairs=36)
    pb = on_lot_grid(pb, lot) if lot else pb
    plan = solve(pb, threads=1, lot=lot)
    assert plan.t_qty.size and (plan.allocate > 0).any()
    week = PlanningWeek(date(2024, 7, 1), date(2024, 7, 7))
    days = np.arange(pb.n_stores) % 9  # some moves land after the week
    old = tmp_path / "old"
    write_plan(plan, old)
    counts_old = date_plan_folder(old, pb, week, days)
    dated, counts_new = date_frames(plan_frames(plan), pb, week, days)
    assert counts_new == counts_old and counts_old["transfers_arriving_after_week"] > 0
    new = tmp_path / "new"
    new.mkdir()
    for name, frame in dated.items():
        frame.write_csv(new / name)
    csvs = [f for f in PLAN_FILES if f.endswith(".csv")]
    assert sorted(dated) == sorted(csvs)
    for name in csvs:
        assert (new / name).read_bytes() == (old / name).read_bytes(), name
