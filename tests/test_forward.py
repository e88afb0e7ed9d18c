"""Forward planning on live data: no eval split, no truth. The planning week is the
``run.horizon_days`` days after the last day of data, every stage finishes, and plans are
scored on independent draws of the forecast distribution."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app
from rama.rules import demand_points, demand_samples

FAST = [
    "--set",
    "forecast.num_boost_round=30",
    "--set",
    "stochastic.points=5",
    "--set",
    "evaluate.samples=50",
]


def live_copy(tiny_data_dir: Path, tmp_path: Path) -> Path:
    """The tiny dataset as a live extract: the eval split and the latent truth removed."""
    data = tmp_path / "live"
    shutil.copytree(tiny_data_dir, data)
    (data / "freshretailnet" / "data" / "eval.parquet").unlink()
    shutil.rmtree(data / "truth")
    return data


@pytest.mark.slow
def test_rama_run_on_live_data_finishes_every_stage(tiny_data_dir: Path, tmp_path: Path) -> None:
    data, run = live_copy(tiny_data_dir, tmp_path), tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "--data",
            str(data),
            "--out",
            str(run),
            "--scenario-sets",
            "base,demand_shocks",
            *FAST,
        ],
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["has_eval"] is False and manifest["has_truth"] is False
    assert {"prepare", "forecast", "optimize", "evaluate", "scenarios"} <= set(manifest["stages"])
    # the planning week starts the day after the last day of data
    last = pl.read_parquet(data / "freshretailnet" / "data" / "train.parquet")["dt"].max()
    fc = json.loads((run / "forecast" / "forecast_summary.json").read_text())
    assert fc["first_day"] == str(date.fromisoformat(str(last)) + timedelta(days=1))
    assert fc["assumed_covariate_rows"] > 0  # future covariates assumed, and said so
    # evaluation: no realized figures, forecast figures for every strategy
    ev = pl.read_csv(run / "evaluation" / "evaluation.csv")
    assert ev["realized_total"].null_count() == ev.height
    assert ev["forecast_total"].null_count() == 0 and (ev["forecast_total"] > 0).all()
    summary = json.loads((run / "evaluation" / "summary.json").read_text())
    assert summary["truth"] == "none" and summary["forecast_samples"] == 50
    assert "has not happened" in summary["source"]
    # scenarios too, and the report is written from the forecast figures
    sc = pl.read_csv(run / "scenarios" / "scenarios.csv")
    assert sc["forecast_total"].null_count() == 0
    report = (run / "report.md").read_text()
    assert "Forecast total cost" in report and "## Scenarios" in report


def test_forecast_draws_are_independent_of_the_plan_points() -> None:
    mean, std = np.array([4.0, 10.0]), np.array([2.0, 3.0])
    pts = demand_points(mean, std, 5)
    draws = demand_samples(mean, std, 4000, seed=7)
    assert not np.isin(draws, pts).any()  # no draw is a point the stochastic plan saw
    assert np.allclose(draws.mean(axis=1), mean, rtol=0.05)
    assert np.allclose(draws.std(axis=1), std, rtol=0.08)
    again = demand_samples(mean, std, 4000, seed=7)
    assert np.array_equal(draws, again)  # seeded: the same draws for every strategy and run
    # a foreseen demand shock scales the draws exactly (common random numbers)
    assert np.allclose(demand_samples(1.2 * mean, 1.2 * std, 4000, seed=7), 1.2 * draws)


def test_truth_sales_on_live_data_is_a_clear_error(tiny_data_dir: Path, tmp_path: Path) -> None:
    data, run = live_copy(tiny_data_dir, tmp_path), tmp_path / "run"
    runner = CliRunner()
    for argv in (
        ["prepare", "--data", str(data), "--out", str(run)],
        ["forecast", "--run", str(run), "--set", "forecast.num_boost_round=20"],
        ["optimize", "--run", str(run)],
    ):
        res = runner.invoke(app, argv)
        assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["evaluate", "--run", str(run), "--truth", "sales"])
    assert res.exit_code == 2
    assert "no eval split" in res.output and "--truth auto or none" in res.output


def test_a_series_that_stopped_is_forecast_zero() -> None:
    from datetime import date as d

    from rama.forecast.stage import stale_series, zero_stale

    days = [d(2024, 6, 1) + timedelta(days=k) for k in range(40)]
    history = pl.DataFrame(
        {
            "store_id": [0] * 40 + [0] * 5,
            "product_id": [1] * 40 + [2] * 5,
            "dt": days + days[:5],  # product 2 stops after June 5: 35 days before the end
        }
    )
    stale = stale_series(history, 28)
    assert stale.select("product_id", "last_day").rows() == [(2, d(2024, 6, 5))]
    assert stale_series(history, 0).height == 0
    assert stale_series(history, 40).height == 0
    fc = pl.DataFrame(
        {
            "store_id": [0, 0],
            "product_id": [1, 2],
            "dt": [d(2024, 7, 11)] * 2,
            "horizon": [1, 1],
            "forecast": [3.0, 4.0],
            "q90": [5.0, 6.0],
            "sigma": [1.0, 1.0],
        }
    )
    out = zero_stale(fc, stale)
    assert out["forecast"].to_list() == [3.0, 0.0] and out["sigma"].to_list() == [1.0, 0.0]
    assert out["q90"].to_list() == [5.0, 0.0]
