"""`rama run` end to end on a tiny generated network: every stage's outputs, consistent."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from rama.cli import app


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

    params = pl.read_parquet(run / "prepared" / "store_product_params.parquet")
    horizon = pl.read_parquet(run / "forecast" / "horizon_demand.parquet")
    # the forecast covers exactly the series prepare found, each once
    assert horizon.height == params.height
    assert horizon.join(params, on=["store_id", "product_id"], how="anti").height == 0
    assert (horizon["demand"] >= 0).all() and (horizon["demand_std"] >= 0).all()

    plan = run / "plan"
    summary = json.loads((plan / "summary.json").read_text())
    assert summary["status"] == "optimal"
    spp = pl.read_csv(plan / "store_product_plan.csv")
    # the plan's demand is the forecast's horizon demand, pair for pair
    joined = spp.join(horizon, on=["store_id", "product_id"])
    assert joined.height == horizon.height
    assert (joined["demand"] - joined["demand_right"]).abs().max() < 1e-6  # type: ignore[operator]
    costs = pl.read_csv(plan / "cost_breakdown.csv")
    total = costs.filter(pl.col("component") == "total")["cost"].item()
    assert abs(total - summary["objective"]) <= 1e-6 * max(1.0, abs(total))

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
