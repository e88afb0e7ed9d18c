"""Scenario definitions, config validation, and the evaluate / scenarios stages on a tiny run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import Config, load_config
from rama.errors import ConfigError
from rama.evaluate import run_evaluation
from rama.problem import build_problem, store_risk_from_params, write_problem, write_store_risk
from rama.run_manifest import update_manifest
from rama.scenarios import Scenario, parse_custom, run_scenarios, scenario_list
from rama.testing import tiny_run_folder

FAST = {"stochastic.points": 5}


def tiny_run(tmp_path: Path) -> Path:
    """make_run's 4 pairs plus delay columns, a forecast window, a manifest and a truth."""
    run = tiny_run_folder(tmp_path)
    ssp = pl.read_csv(run / "prepared" / "store_supply_params.csv").with_columns(
        pl.Series("delivery_time_deviation_mean", [2.0, 2.0, -1.0, -1.0])
    )
    ssp.write_csv(run / "prepared" / "store_supply_params.csv")
    days = ["2024-07-01", "2024-07-02"]
    hd = pl.read_parquet(run / "forecast" / "horizon_demand.parquet")
    pl.DataFrame(
        {"store_id": [1, 1], "product_id": [7, 7], "dt": [pl.Series(days).str.to_date()[0]] * 2}
    ).write_parquet(run / "forecast" / "demand_forecast.parquet")
    data = tmp_path / "data"
    (data / "truth").mkdir(parents=True)
    rows = [
        {"store_id": s, "product_id": p, "dt": d, "split": "eval", "latent_demand": v}
        for (s, p), v in zip(
            hd.select("store_id", "product_id").iter_rows(), [10.0, 3.0, 2.0, 30.0], strict=True
        )
        for d in days[:1]
    ]
    rows.append(  # outside the window: ignored
        {"store_id": 1, "product_id": 7, "dt": "2024-07-09", "split": "eval", "latent_demand": 99.0}
    )
    pl.DataFrame(rows).write_parquet(data / "truth" / "latent_demand.parquet")
    update_manifest(run, data_dir=str(data), has_eval=False, has_truth=True)
    write_run_problem(run, load_config(overrides=FAST))  # what `rama optimize --run` writes
    return run


def write_run_problem(run: Path, cfg: Config, inventory: Path | None = None) -> None:
    """``RUN/problem/`` and its store_risk table, as the optimize stage writes them."""
    problem = build_problem(run, cfg, inventory)
    ssp = pl.read_csv(run / "prepared" / "store_supply_params.csv")
    write_problem(problem, run / "problem")
    write_store_risk(store_risk_from_params(problem, ssp), problem, run / "problem")


def test_builtin_scenarios_and_zero_shock_is_base() -> None:
    cfg = load_config()
    names = [s.name for s in scenario_list(cfg["scenarios"])]
    assert names[0] == "base" and "high_disruption" in names and "fuel_shock" in names
    assert "shock_+20%_unforeseen" in names and "shock_-20%_foreseen" in names
    assert len(names) == len(set(names))
    hd = next(s for s in scenario_list(cfg["scenarios"]) if s.name == "high_disruption")
    assert (hd.lead_time, hd.safety_stock, hd.delay) == (1.2, 1.4, 1.8)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"name": "x", "lead": 2.0}, "unknown key 'lead'"),
        ({"name": "x", "transport": -1.5}, "transport = -1.5 is negative"),
        ({"transport": 1.5}, "needs a name"),
        ({"name": "x", "delay": "high"}, "must be a number"),
    ],
)
def test_bad_custom_scenario_is_a_clear_error(tmp_path: Path, table: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_custom([table])
    body = "\n".join(
        f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else f"{k} = {v}"
        for k, v in table.items()
    )
    path = tmp_path / "cfg.toml"
    path.write_text(f"[[scenarios.custom]]\n{body}\n")
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_custom_scenarios_from_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(
        '[scenarios]\nsets = ["base", "custom"]\n'
        '[[scenarios.custom]]\nname = "port_strike"\nlead_time = 2.0\ntransport = 1.3\n'
    )
    scs = scenario_list(load_config(path)["scenarios"])
    assert [s.name for s in scs] == ["base", "port_strike"]
    assert scs[1] == Scenario("port_strike", "custom", lead_time=2.0, transport=1.3)


def test_evaluation_scores_every_strategy_on_the_same_demand(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    s = run_evaluation(run, load_config(overrides=FAST), threads=1)
    assert s.truth == "latent"
    rows = s.strategies
    assert set(rows) >= {"do_nothing", "centralized_lp", "stochastic", "stochastic_fill_rate"}
    # every strategy scored on the same realized demand: the window's latent total
    assert {r["realized_demand_units"] for r in rows.values()} == {45.0}
    table = pl.read_parquet(run / "evaluation" / "evaluation.parquet")
    assert table.height == len(rows)
    # do nothing, by hand: inventory vs realized demand, holding 0.7, penalty 2.5
    pb_inv = (
        pl.read_parquet(run / "evaluation" / "evaluation.parquet")
        .filter(pl.col("strategy") == "do_nothing")
        .row(0, named=True)
    )
    assert pb_inv["realized_manufacturing"] == 0.0 and pb_inv["realized_transport"] == 0.0


def test_scenarios_stage_and_zero_shock_reproduces_base(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "scenarios.sets": ["base", "demand_shocks", "disruptions"],
            "scenarios.demand_shocks": [0.0, 0.2],
            "optimize.threads": 1,
        }
    )
    s = run_scenarios(run, cfg, write_plans=True)
    t = pl.read_parquet(run / "scenarios" / "scenarios.parquet")
    assert t.height == len(s.scenarios) * len(cfg["scenarios"]["strategies"])
    assert (run / "scenarios" / "scenarios.csv").is_file()
    assert (run / "scenarios" / "plans" / "base" / "centralized_lp" / "summary.json").is_file()
    # a 0% shock is the base: run it explicitly as a custom scenario
    cfg0 = cfg.with_overrides(
        {
            "scenarios.sets": ["custom"],
            "scenarios.custom": [{"name": "zero", "realized_demand": 1.0, "demand": 1.0}],
        }
    )
    zero = run_scenarios(run, cfg0).table
    base = t.filter(pl.col("scenario") == "base")
    for col in ("expected_total", "realized_total", "realized_fill_rate"):
        assert zero[col].to_list() == pytest.approx(base[col].to_list())
    up = t.filter(pl.col("scenario") == "shock_+20%_unforeseen")
    assert np.allclose(up["realized_demand_units"].to_numpy(), 45.0 * 1.2)
    assert up["expected_total"].to_list() == pytest.approx(base["expected_total"].to_list())
    # workers: the same table from forked scenario processes
    par = run_scenarios(run, cfg, workers=2).table
    assert par["realized_total"].to_list() == pytest.approx(t["realized_total"].to_list())


def test_scenarios_the_plans_cannot_tell_apart_are_solved_once(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "scenarios.sets": ["base", "demand_shocks"],
            "scenarios.demand_shocks": [-0.1, 0.2],
            "optimize.threads": 1,
        }
    )
    t = run_scenarios(run, cfg).table
    for name in ("shock_-10%_unforeseen", "shock_+20%_unforeseen"):
        rows = t.filter(pl.col("scenario") == name)
        assert set(rows["plans_from"].to_list()) == {"base"}
        assert rows["seconds"].to_list() == [0.0] * rows.height
    foreseen = t.filter(pl.col("scenario") == "shock_+20%_foreseen")
    assert set(foreseen["plans_from"].to_list()) == {"shock_+20%_foreseen"}
    # the reused plans are the base plans: the same units moved and made
    base = t.filter(pl.col("scenario") == "base")
    up = t.filter(pl.col("scenario") == "shock_+20%_unforeseen")
    for col in ("expected_total", "units_transferred", "units_manufactured"):
        assert up[col].to_list() == pytest.approx(base[col].to_list())
    assert Scenario("a", realized_demand=1.2).plan_key() == Scenario("b").plan_key()
    assert Scenario("a", demand=1.2).plan_key() == Scenario("b", forecast_demand=1.2).plan_key()
    assert Scenario("a", demand=1.2).plan_key() != Scenario("b").plan_key()


def test_report_pivots_scenarios_in_run_order() -> None:
    from rama.report import scenario_pivot

    df = pl.DataFrame(
        {
            "scenario": ["z_base", "z_base", "a_shock", "a_shock"],
            "strategy": ["lp", "stochastic", "lp", "stochastic"],
            "realized_total": [10.0, 8.0, 5.0, 7.0],
        }
    )
    wide = scenario_pivot(df, "realized_total")
    assert wide["scenario"].to_list() == ["z_base", "a_shock"]
    assert wide.columns == ["scenario", "lp", "stochastic"]
    assert wide.row(1) == ("a_shock", 5.0, 7.0)


@pytest.mark.parametrize("sets", [["base", "disruptions"], ["disruptions"]])
def test_warm_started_sweep_reaches_the_cold_optima(tmp_path: Path, sets: list[str]) -> None:
    run = tiny_run(tmp_path)
    over = {**FAST, "scenarios.sets": sets, "optimize.threads": 1}
    warm = run_scenarios(run, load_config(overrides={**over, "scenarios.warm_start": True}))
    cold = run_scenarios(run, load_config(overrides={**over, "scenarios.warm_start": False}))
    a, b = warm.table, cold.table
    assert a["scenario"].to_list() == b["scenario"].to_list()
    assert a["strategy"].to_list() == b["strategy"].to_list()
    assert a["expected_total"].to_list() == pytest.approx(b["expected_total"].to_list(), rel=1e-9)


def test_evaluate_scores_the_problem_optimize_wrote_with_the_user_inventory(
    tmp_path: Path,
) -> None:
    """`rama optimize --run R --inventory F` then `rama evaluate --run R`: every strategy and
    the written plan are scored on F's stock, and the manifest names F."""
    from rama.planning import run_plan
    from rama.run_manifest import read_manifest

    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "evaluate.strategies": ["do_nothing", "centralized_lp"],
            "plan.strategy": "centralized_lp",
        }
    )
    inv = tmp_path / "stock.csv"
    on_hand = {(1, 7): 40.0, (1, 8): 0.0, (2, 7): 5.0, (3, 7): 0.0}
    pl.DataFrame(
        [{"store_id": s, "product_id": p, "on_hand": v} for (s, p), v in on_hand.items()]
    ).write_csv(inv)
    plan = run_plan(run, cfg, inv).recommended
    s = run_evaluation(run, cfg, threads=1)
    # latent truth of the window (tiny_run): 10, 3, 2, 30 units; penalty 2.5, holding 0.7
    demand = {(1, 7): 10.0, (1, 8): 3.0, (2, 7): 2.0, (3, 7): 30.0}
    short = sum(max(0.0, demand[k] - on_hand[k]) for k in demand)
    left = sum(max(0.0, on_hand[k] - demand[k]) for k in demand)
    nothing = s.strategies["do_nothing"]
    assert nothing["realized_stockout"] == pytest.approx(2.5 * short)
    assert nothing["realized_holding"] == pytest.approx(0.1 * 7 * left)
    # the written plan is the centralized LP's optimum of the same problem
    written = s.strategies["plan_folder"]
    assert written["expected_total"] == pytest.approx(plan.objective, rel=1e-9)
    assert written["expected_total"] == pytest.approx(
        s.strategies["centralized_lp"]["expected_total"], rel=1e-9
    )
    manifest = read_manifest(run)
    assert manifest["optimize_inputs"]["inventory_file"] == str(inv.resolve())
    assert manifest["optimize_inputs"]["inventory"] == "file"
    assert {"optimize", "evaluate"} <= set(manifest["stages"])


def test_overrides_of_a_later_stage_are_recorded_and_reused(tmp_path: Path) -> None:
    """`rama optimize --set ...` writes its numbers into RUN/config.toml and the manifest."""
    from rama.planning import run_plan
    from rama.run_manifest import read_manifest

    run = tiny_run(tmp_path)
    cfg = load_config(overrides={**FAST, "costs.stockout_penalty_per_unit": 4.0})
    run_plan(run, cfg)
    manifest = read_manifest(run)
    assert manifest["optimize_config_overrides"]["costs.stockout_penalty_per_unit"] == 4.0
    assert load_config(run / "config.toml")["costs"]["stockout_penalty_per_unit"] == 4.0
    problem = pl.read_parquet(run / "problem" / "products.parquet")
    assert problem["stockout_penalty"].to_list() == [4.0, 4.0]


def test_evaluate_without_a_problem_folder_names_the_stage_to_run(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    import shutil

    shutil.rmtree(run / "problem")
    from rama.errors import StageInputError

    with pytest.raises(StageInputError, match="rama optimize --run RUN"):
        run_evaluation(run, load_config(overrides=FAST), threads=1)


def test_a_foreseen_shock_is_drawn_once_not_twice(tmp_path: Path) -> None:
    """do_nothing is the same decision under a foreseen and an unforeseen shock of one size,
    scored on the same shocked demand: its forecast figures must agree (they differed by the
    shock squared when the foreseen draws were scaled twice)."""
    run = tiny_run(tmp_path)
    cfg = load_config(
        overrides={
            **FAST,
            "scenarios.sets": ["demand_shocks"],
            "scenarios.demand_shocks": [0.2],
            "scenarios.strategies": ["do_nothing"],
        }
    )
    t = run_scenarios(run, cfg).table
    seen = t.filter(pl.col("scenario") == "shock_+20%_foreseen")
    blind = t.filter(pl.col("scenario") == "shock_+20%_unforeseen")
    for col in ("forecast_stockout_units", "forecast_fill_rate", "forecast_total"):
        assert seen[col].item() == pytest.approx(blind[col].item(), rel=1e-12), col
    assert seen["realized_total"].item() == pytest.approx(blind["realized_total"].item())
