"""The recommended plan: RUN/plan/ is plan.strategy's plan (default stochastic), every plan
strategy's plan is kept in RUN/plans/, and a later stage never deletes them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app

pytestmark = pytest.mark.slow  # one shared prepare + forecast, then several optimize runs
runner = CliRunner()
FAST = ["--set", "stochastic.points=5", "--set", "evaluate.samples=40"]


@pytest.fixture(scope="module")
def forecast_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder with prepared/ and forecast/ (tiny data), read-only: copy it."""
    run = tmp_path_factory.mktemp("rec") / "run"
    for argv in (
        ["prepare", "--data", str(tiny_data_dir), "--out", str(run)],
        ["forecast", "--run", str(run), "--set", "forecast.num_boost_round=20"],
    ):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, res.output
    return run


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out


def _summary(folder: Path) -> dict:
    out: dict = json.loads((folder / "summary.json").read_text())
    return out


@pytest.mark.slow
def test_default_recommendation_is_the_stochastic_plan_and_survives_scenarios(
    forecast_run: Path, tmp_path: Path
) -> None:
    run = _copy(forecast_run, tmp_path)
    # continuous plans: the evaluation's own stochastic strategy is then the same plan
    res = runner.invoke(app, ["optimize", "--run", str(run), *FAST, "--set", "plan.lot_size=0"])
    assert res.exit_code == 0, res.output
    assert "RUN/plan/ = stochastic" in res.output.replace("\n", " ")
    plan = _summary(run / "plan")
    assert plan["strategy"] == "stochastic"
    why = plan["recommended"]
    assert why["chosen_by"] == "plan.strategy = 'auto'" and why["fill_rate_target"] is None
    assert (
        why["config"]["plan"]["strategy"] == "auto" and why["config"]["stochastic"]["points"] == 5
    )
    assert "40 independent draws" in why["comparison_on"]
    comp = why["comparison"]
    assert set(comp) == {"do_nothing", "centralized_lp", "stochastic"}
    # doing nothing stocks out most: every plan fills at least as much on the same draws
    assert all(comp[s]["fill_rate"] >= comp["do_nothing"]["fill_rate"] for s in comp)
    assert why["is_cheapest_expected"] == (why["cheapest_expected"] == "stochastic")
    # RUN/plan/ holds the same files as RUN/plans/stochastic/
    for name in ("transfer_plan.csv", "store_product_plan.csv", "allocation_plan.csv"):
        a = pl.read_csv(run / "plan" / name)
        b = pl.read_csv(run / "plans" / "stochastic" / name)
        assert a.equals(b)
    lp = _summary(run / "plans" / "centralized_lp")
    assert lp["strategy"] == "centralized_lp" and lp["check"] == "passed"
    before = {p: p.stat().st_mtime_ns for p in (run / "plans").rglob("*") if p.is_file()}
    before |= {p: p.stat().st_mtime_ns for p in (run / "plan").rglob("*") if p.is_file()}
    for argv in (["evaluate", "--run", str(run)], ["scenarios", "--run", str(run)]):
        res = runner.invoke(app, [*argv, *FAST, "--set", 'scenarios.sets=["base"]'])
        assert res.exit_code == 0, res.output
    after = {p: p.stat().st_mtime_ns for p in before if p.is_file()}
    assert after == before  # later stages neither delete nor rewrite any plan
    # the evaluation scores the written (stochastic) plan like the stochastic strategy
    ev = pl.read_csv(run / "evaluation" / "evaluation.csv")
    folder = ev.filter(pl.col("strategy") == "plan_folder")
    stoch = ev.filter(pl.col("strategy") == "stochastic")
    assert folder["forecast_total"].item() == pytest.approx(
        stoch["forecast_total"].item(), rel=1e-6
    )


def test_strategy_flag_writes_the_working_plans_lp(forecast_run: Path, tmp_path: Path) -> None:
    run = _copy(forecast_run, tmp_path)
    res = runner.invoke(app, ["optimize", "--run", str(run), "--strategy", "centralized_lp", *FAST])
    assert res.exit_code == 0, res.output
    plan = _summary(run / "plan")
    assert plan["strategy"] == "centralized_lp"
    lp = _summary(run / "plans" / "centralized_lp")
    assert plan["objective"] == lp["objective"]
    assert (run / "plans" / "stochastic" / "summary.json").is_file()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["optimize_inputs"]["strategy"] == "centralized_lp"


def test_unknown_strategy_is_a_config_error(forecast_run: Path, tmp_path: Path) -> None:
    run = _copy(forecast_run, tmp_path)
    res = runner.invoke(app, ["optimize", "--run", str(run), "--strategy", "magic"])
    assert res.exit_code == 2
    assert "plan.strategy" in res.output and "stochastic_fill_rate" in res.output


def test_plan_files_are_dated_and_service_is_expected_under_the_forecast(
    forecast_run: Path, tmp_path: Path
) -> None:
    import math
    from datetime import date, timedelta

    run = _copy(forecast_run, tmp_path)
    res = runner.invoke(app, ["optimize", "--run", str(run), *FAST])
    assert res.exit_code == 0, res.output
    fc = json.loads((run / "forecast" / "forecast_summary.json").read_text())
    first, last = date.fromisoformat(fc["first_day"]), date.fromisoformat(fc["last_day"])
    plan = _summary(run / "plan")
    assert plan["planning_week"] == {"first_day": str(first), "last_day": str(last)}
    for path in (run / "plan").glob("*.csv"):
        df = pl.read_csv(path, try_parse_dates=True)
        assert df["week_first_day"].unique().to_list() == [first], path.name
        assert df["week_last_day"].unique().to_list() == [last], path.name
    # arrival = first day + ceil(L + p_delay x max(deviation, 0)) of the receiving store
    risk = pl.read_parquet(run / "problem" / "store_risk.parquet")
    eff = {
        r["store_id"]: math.ceil(
            r["lead_time_days"]
            + r["delay_probability"] * max(r["delivery_deviation_days"], 0.0)
            - 1e-9
        )
        for r in risk.iter_rows(named=True)
    }
    late = 0
    for name, col in (("transfer_plan.csv", "to_store_id"), ("allocation_plan.csv", "store_id")):
        df = pl.read_csv(run / "plan" / name, try_parse_dates=True)
        assert df.height > 0
        for r in df.iter_rows(named=True):
            assert r["ship_date"] == first
            assert r["arrival_date"] == first + timedelta(days=eff[r[col]])
            assert r["arrives_in_week"] == (r["arrival_date"] <= last)
            late += not r["arrives_in_week"]
    assert plan["transfers_arriving_after_week"] + plan["allocations_arriving_after_week"] == late
    # service figures: what the plan expects on the forecast draws, next to the targets
    sl = pl.read_csv(run / "plan" / "service_level.csv")
    net = sl.filter(pl.col("level") == "network").row(0, named=True)
    comp = plan["recommended"]["comparison"]["stochastic"]
    assert net["fill_rate"] == pytest.approx(comp["fill_rate"], rel=1e-9)
    assert net["cycle_service_level"] == pytest.approx(comp["cycle_service_level"], rel=1e-9)
    assert net["fill_rate"] == pytest.approx(plan["expected_fill_rate"])
    assert net["fill_rate"] < 1.0  # no longer the LP's own 100% on its point forecast
    assert net["cycle_service_level_target"] == 0.95
    assert set(sl["level"]) == {"network", "city", "store", "product"}


def test_whole_unit_plans_through_the_stage(forecast_run: Path, tmp_path: Path) -> None:
    run = _copy(forecast_run, tmp_path)
    res = runner.invoke(app, ["optimize", "--run", str(run), *FAST, "--set", "plan.lot_size=1"])
    assert res.exit_code == 0, res.output
    for strategy in ("centralized_lp", "stochastic"):
        folder = run / "plans" / strategy
        for name, cols in (
            ("transfer_plan.csv", ["quantity"]),
            ("allocation_plan.csv", ["quantity"]),
            ("manufacturing_schedule.csv", ["quantity"]),
        ):
            df = pl.read_csv(folder / name)
            for c in cols:
                q = df[c].to_numpy()
                assert (abs(q - q.round()) <= 1e-9).all(), (strategy, name)
        assert _summary(folder)["lot_size"] == 1.0
    lots = _summary(run / "plan")["recommended"]["lots"]
    assert lots["lot_size"] == 1.0
    # the lot-grid optimum can only cost more than the continuous one... except that the
    # grid also rounds demand to the nearest unit; both are reported, with their difference
    assert lots["rounding_cost"] == pytest.approx(
        lots["lot_grid_objective"] - lots["continuous_objective"]
    )
    assert lots["continuous_expected_total"] > 0 and lots["lot_grid_expected_total"] > 0
    assert "rounding_cost_skipped" not in lots  # "auto": a small network is solved


def test_rounding_cost_never_keeps_the_plan_and_says_why(
    forecast_run: Path, tmp_path: Path
) -> None:
    run = _copy(forecast_run, tmp_path)
    res = runner.invoke(
        app, ["optimize", "--run", str(run), *FAST, "--set", "plan.rounding_cost=never"]
    )
    assert res.exit_code == 0, res.output
    lots = _summary(run / "plan")["recommended"]["lots"]
    assert lots["rounding_cost"] is None and "continuous_objective" not in lots
    assert "never" in lots["rounding_cost_skipped"]
    assert _summary(run / "plan")["check"] == "passed"


def test_a_fill_rate_target_makes_the_fill_rate_variant_the_recommendation(
    forecast_run: Path, tmp_path: Path
) -> None:
    run = _copy(forecast_run, tmp_path)
    more = ["--set", "plan.fill_rate_target=0.97", "--set", "stochastic.fill_rate_tolerance=0.005"]
    res = runner.invoke(app, ["optimize", "--run", str(run), *FAST, *more])
    assert res.exit_code == 0, res.output
    plan = _summary(run / "plan")
    why = plan["recommended"]
    assert plan["strategy"] == "stochastic_fill_rate" and why["fill_rate_target"] == 0.97
    assert "plan.fill_rate_target = 0.97" in why["chosen_by"]
    # the LP's expected fill rate on its own points meets the target within the tolerance
    assert plan["fill_rate"] >= 0.97 - 0.005
    assert set(why["comparison"]) == {
        "do_nothing",
        "centralized_lp",
        "stochastic",
        "stochastic_fill_rate",
    }
