"""Exact reuse of a strategy's solve when the problem it reads is identical
(rama.scenarios.reuse)."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.layout import RunLayout
from rama.problem import Problem, load_inputs, scenario_problem
from rama.scenarios import Scenario, run_scenarios
from rama.scenarios import reuse as reuse_mod
from rama.scenarios.reuse import SolveCache, problem_digest
from rama.strategies import StrategyContext
from test_scenarios import FAST, tiny_run

FUEL = {"name": "fuel", "transport": 1.5}
HOLD = {"name": "hold", "holding_cost": 1.5}


def _inputs(tmp_path: Path):  # type: ignore[no-untyped-def]
    run = tiny_run(tmp_path)
    cfg = load_config(overrides=FAST)
    return load_inputs(RunLayout(run).problem, cfg)


def test_digest_ignores_transport_only_for_the_strategies_that_never_read_it(
    tmp_path: Path,
) -> None:
    inputs = _inputs(tmp_path)
    base = scenario_problem(inputs, Scenario("base"))
    fuel = scenario_problem(inputs, Scenario("fuel", transport=1.5))
    again = scenario_problem(inputs, Scenario("again"))
    assert problem_digest(base, "decentralized_lp") == problem_digest(fuel, "decentralized_lp")
    assert problem_digest(base, "decentralized_lp") == problem_digest(again, "decentralized_lp")
    # the centralized LP reads the routes: the fuel shock is another problem for it
    assert problem_digest(base, "centralized_lp") != problem_digest(fuel, "centralized_lp")
    assert problem_digest(base, "centralized_lp") == problem_digest(again, "centralized_lp")
    # the strategy is part of the key
    assert problem_digest(base, "decentralized_lp") != problem_digest(base, "centralized_lp")


def test_digest_changes_with_any_value_the_lp_reads(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    base = scenario_problem(inputs, Scenario("base"))
    key = problem_digest(base, "decentralized_lp")
    for frame_name in ("stores", "products", "store_products"):
        frame: pl.DataFrame = getattr(base, frame_name)
        for col in frame.columns:
            s = frame[col]
            if s.dtype.is_numeric():
                vals = s.to_numpy().copy()
                vals[-1] = vals[-1] + 1
                changed = frame.with_columns(pl.Series(col, vals, dtype=s.dtype))
                # the same values in another dtype are another input too
                other_type = pl.Float32 if s.dtype != pl.Float32 else pl.Float64
                retyped = frame.with_columns(s.cast(other_type))
            else:
                changed = frame.with_columns(s.cast(pl.String) + "x")
                retyped = frame.with_columns(s.cast(pl.Categorical))
            for variant in (changed, retyped):
                other = replace(base, **{frame_name: variant})  # type: ignore[arg-type]
                assert problem_digest(other, "decentralized_lp") != key, (frame_name, col)
    n = base.n_pairs
    pts = np.tile(base.demand[:, None], (1, 3))
    with_pts = replace(base, demand_points=pts)
    assert problem_digest(with_pts, "decentralized_lp") != key
    pts2 = pts.copy()
    pts2[0, 1] += 1e-9
    assert problem_digest(replace(base, demand_points=pts2), "decentralized_lp") != (
        problem_digest(with_pts, "decentralized_lp")
    )
    grid = np.ones((n, 4))
    assert problem_digest(replace(base, demand_grid=grid), "decentralized_lp") != key
    assert problem_digest(replace(base, source="elsewhere"), "decentralized_lp") != key


def test_solve_cache_hands_back_only_identical_problems(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    base = scenario_problem(inputs, Scenario("base"))
    hold = scenario_problem(inputs, Scenario("hold", holding_cost=1.5))
    cache = SolveCache(size=1)
    names = ["do_nothing", "decentralized_lp", "centralized_lp"]
    keys = cache.keys(base, names)
    assert set(keys) == {"decentralized_lp"}  # the warm-started LPs are never reused
    sentinel = object()
    cache.store(keys, {"decentralized_lp": sentinel})  # type: ignore[dict-item]
    assert cache.lookup(cache.keys(base, names)) == {"decentralized_lp": sentinel}
    assert cache.lookup(cache.keys(hold, names)) == {}
    assert cache.hits == 1
    # the first problem's decision stays; the others: the `size` most recently used
    spike = scenario_problem(inputs, Scenario("spike", demand=1.3))
    cache.store(cache.keys(hold, names), {"decentralized_lp": "hold"})  # type: ignore[dict-item]
    cache.store(cache.keys(spike, names), {"decentralized_lp": "spike"})  # type: ignore[dict-item]
    assert cache.lookup(cache.keys(base, names)) == {"decentralized_lp": sentinel}
    assert cache.lookup(cache.keys(hold, names)) == {}
    assert cache.lookup(cache.keys(spike, names)) == {"decentralized_lp": "spike"}
    # the demand grid is compared byte for byte: one value off is another problem
    grid = np.arange(base.n_pairs * 3, dtype=np.float64).reshape(base.n_pairs, 3)
    with_grid = replace(base, demand_grid=grid)
    cache.store(cache.keys(with_grid, names), {"decentralized_lp": "grid"})  # type: ignore[dict-item]
    same = replace(base, demand_grid=grid.copy())
    assert cache.lookup(cache.keys(same, names)) == {"decentralized_lp": "grid"}
    off = grid.copy()
    off[-1, -1] = np.nextafter(off[-1, -1], np.inf)
    assert cache.lookup(cache.keys(replace(base, demand_grid=off), names)) == {}
    assert cache.lookup(cache.keys(replace(base, demand_grid=grid.astype(np.float32)), names)) == {}
    assert SolveCache(size=0).keys(base, names) == {}


@pytest.mark.parametrize("order", [["base", "custom"], ["custom"]])
def test_a_reused_solve_gives_the_table_of_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, order: list[str]
) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "scenarios.sets": order,
            "scenarios.custom": [FUEL, HOLD, {"name": "fuel2", "transport": 2.0}],
            "optimize.threads": 1,
        }
    )
    result = run_scenarios(run, cfg)
    reused = result.table
    assert result.summary["solves_reused"] == (2 if "base" in order else 1)
    monkeypatch.setattr(reuse_mod, "REUSABLE", {})  # every solve fresh
    fresh = run_scenarios(run, cfg).table
    assert reused.columns == fresh.columns
    dec = pl.col("strategy") == "decentralized_lp"
    # the fuel shocks' decentralized LP is the first transport scenario's (or the base's)
    seconds = dict(reused.filter(dec).select("scenario", "seconds").iter_rows())
    first = "base" if "base" in order else "fuel"
    assert seconds[first] > 0 and seconds["hold"] > 0
    assert seconds["fuel2"] == 0.0
    if first == "base":
        assert seconds["fuel"] == 0.0
    assert fresh.filter(dec)["seconds"].min() > 0  # type: ignore[operator]
    # every other column bit-identical (floats compared exactly, NaN/None alike)
    drop = ["seconds", "computed_under", "stale"]
    assert reused.drop(drop).equals(fresh.drop(drop), null_equal=True)


def test_a_reused_solve_writes_the_plan_of_a_fresh_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "scenarios.sets": ["base", "custom"],
            "scenarios.custom": [FUEL],
            "optimize.threads": 1,
        }
    )
    result = run_scenarios(run, cfg, write_plans=True)
    assert result.summary["solves_reused"] == 1
    reused = tmp_path / "reused"
    shutil.copytree(RunLayout(run).scenarios / "plans", reused)
    monkeypatch.setattr(reuse_mod, "REUSABLE", {})
    run_scenarios(run, cfg, write_plans=True)
    fresh = RunLayout(run).scenarios / "plans"
    a, b = reused / "fuel" / "decentralized_lp", fresh / "fuel" / "decentralized_lp"
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and "allocation_plan.csv" in names
    for name in names:
        if name != "summary.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # the summary is the base's solve: the same figures, its own timings
    timing = {"solve_seconds", "block_seconds_total"}
    x, y = (json.loads((p / "summary.json").read_text()) for p in (a, b))
    assert {k: v for k, v in x.items() if k not in timing} == {
        k: v for k, v in y.items() if k not in timing
    }


def test_the_digest_covers_every_problem_field_and_the_context(tmp_path: Path) -> None:
    names = {f.name for f in fields(Problem)}
    assert set(reuse_mod.DIGESTED) == names, names ^ set(reuse_mod.DIGESTED)
    base = scenario_problem(_inputs(tmp_path), Scenario("base"))
    stoch = dict(load_config()["stochastic"])
    ctx = StrategyContext(stoch, threads=1)
    key = problem_digest(base, "decentralized_lp", ctx)
    assert problem_digest(base, "decentralized_lp", StrategyContext(stoch, threads=1)) == key
    for other in (
        StrategyContext(stoch, threads=2),
        StrategyContext(stoch, threads=1, lot=10.0),
        StrategyContext(stoch, threads=1, check=False),
        StrategyContext(stoch, threads=1, backend="cbc"),
        None,
    ):
        assert problem_digest(base, "decentralized_lp", other) != key
