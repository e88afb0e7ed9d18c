"""`rama run` end to end on a tiny generated network: every stage's outputs, consistent."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app


@pytest.mark.slow
def test_rama_run_end_to_end(tmp_path: Path) -> None:
    data, run = tmp_path / "data", tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--data",
            str(data),
            "--out",
            str(run),
            "--scale",
            "0.01",
            "--generate",
            "--seed",
            "3",
            "--set",
            "forecast.num_boost_round=40",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (data / "freshretailnet" / "data" / "train.parquet").is_file()  # generated first

    manifest = json.loads((run / "manifest.json").read_text())
    assert {"prepare", "forecast", "optimize"} <= set(manifest["stages"])
    assert (run / "evaluation").is_dir() and (run / "scenarios").is_dir()
    # the default run sweeps every configured scenario set
    groups = set(pl.read_parquet(run / "scenarios" / "scenarios.parquet")["group"])
    assert {"base", "disruptions", "demand_shocks", "cost_grid"} <= groups

    params = pl.read_parquet(run / "prepared" / "store_product_params.parquet")
    horizon = pl.read_parquet(run / "forecast" / "horizon_demand.parquet")
    # the forecast covers exactly the series prepare found, each once
    assert horizon.height == params.height
    assert horizon.join(params, on=["store_id", "product_id"], how="anti").height == 0
    assert (horizon["demand"] >= 0).all() and (horizon["demand_std"] >= 0).all()

    plan = run / "plan"
    summary = json.loads((plan / "summary.json").read_text())
    assert summary["status"] == "optimal"
    # the recommended plan is the configured (default: stochastic) strategy's, kept beside
    # the working plan's deterministic LP
    assert summary["strategy"] == summary["recommended"]["strategy"] == "stochastic"
    assert set(summary["recommended"]["comparison"]) >= {"do_nothing", "centralized_lp"}
    lp = run / "plans" / "centralized_lp"
    spp = pl.read_csv(lp / "store_product_plan.csv")
    # the deterministic plan's demand is the forecast's horizon demand, pair for pair, on the
    # default 0.1-unit lot grid (plan.lot_size: nearest multiple)
    joined = spp.join(horizon, on=["store_id", "product_id"])
    assert joined.height == horizon.height
    gap = (joined["demand"] - joined["demand_right"]).abs().max()
    assert gap <= 0.05 + 1e-9  # type: ignore[operator]
    q = pl.read_csv(lp / "transfer_plan.csv")["quantity"].to_numpy()
    assert (abs(q * 10 - (q * 10).round()) <= 1e-6).all() and (q >= 0.1 - 1e-9).all()
    for folder in (plan, lp):
        costs = pl.read_csv(folder / "cost_breakdown.csv")
        total = costs.filter(pl.col("component") == "total")["cost"].item()
        objective = json.loads((folder / "summary.json").read_text())["objective"]
        assert abs(total - objective) <= 1e-6 * max(1.0, abs(total))

    report = (run / "report.md").read_text()
    for section in ("## Data", "## Forecast", "## Plan", "## Out-of-sample", "## Scenarios"):
        assert section in report
    assert str(run.resolve()) in result.output.replace("\n", "")


def test_rama_run_reports_bad_config_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "r"), "--set", "x.y=1"]
    )
    assert result.exit_code == 2
    assert "unknown section 'x'" in result.output
    assert not (tmp_path / "d").exists()  # nothing generated before the config is validated


def _tiny_run(tmp_path: Path) -> Path:
    data, run = tmp_path / "data", tmp_path / "run"
    args = ["run", "--data", str(data), "--out", str(run), "--scale", "0.01", "--generate"]
    args += ["--scenario-sets", "base", "--set", "forecast.num_boost_round=30"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return run


@pytest.mark.slow
def test_evaluate_and_scenarios_commands(tmp_path: Path) -> None:
    run = _tiny_run(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--run", str(run)])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(run / "evaluation" / "evaluation.csv")
    assert {"do_nothing", "centralized_lp", "stochastic"} <= set(table["strategy"])
    # every strategy was scored on the same realized demand
    assert table["realized_demand_units"].n_unique() == 1

    cfg = tmp_path / "scen.toml"
    cfg.write_text(
        '[scenarios]\nsets = ["base", "custom"]\n'
        '[[scenarios.custom]]\nname = "port_strike"\nlead_time = 2.0\ntransport = 1.3\n'
    )
    result = runner.invoke(app, ["scenarios", "--run", str(run), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    sc = pl.read_csv(run / "scenarios" / "scenarios.csv")
    assert set(sc["scenario"]) == {"base", "port_strike"}
    strike = sc.filter(pl.col("scenario") == "port_strike")
    assert (strike["x_transport"] == 1.3).all() and (strike["x_lead_time"] == 2.0).all()

    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenarios.custom]]\nname = "oops"\ntransport = -1.0\n')
    result = runner.invoke(app, ["scenarios", "--run", str(run), "--config", str(bad)])
    assert result.exit_code == 2
    assert "oops" in result.output and "transport" in result.output
