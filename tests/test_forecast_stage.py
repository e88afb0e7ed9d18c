"""run_forecast and `rama forecast` on a tiny generated dataset (with and without eval)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app
from rama.config import load_config
from rama.errors import StageInputError
from rama.forecast import run_forecast
from rama.forecast.stage import ForecastResult
from rama.run_manifest import read_manifest, update_manifest

FAST = {
    "forecast.num_boost_round": 25,
    "forecast.num_leaves": 15,
    "forecast.num_threads": 1,
}


def _run_dir(tmp: Path, data_dir: Path, *, has_eval: bool = True, has_truth: bool = True) -> Path:
    run = tmp / "run"
    update_manifest(
        run,
        data_dir=str(data_dir.resolve()),
        has_eval=has_eval,
        has_truth=has_truth,
        stages=["prepare"],
    )
    return run


@pytest.fixture(scope="module")
def eval_run(
    tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, ForecastResult]:
    run = _run_dir(tmp_path_factory.mktemp("fc_eval"), tiny_data_dir)
    summary = run_forecast(run, load_config(overrides=FAST))
    return run, summary


def test_outputs_and_contracts(eval_run: tuple[Path, ForecastResult]) -> None:
    run, summary = eval_run
    out = run / "forecast"
    for name in (
        "demand_forecast.parquet",
        "horizon_demand.parquet",
        "forecast_metrics.csv",
        "recovery_summary.csv",
        "forecast_summary.json",
        "model/model.txt",
        "model/forecaster.json",
    ):
        assert (out / name).is_file(), name
    hz = pl.read_parquet(out / "horizon_demand.parquet")
    assert hz.columns == ["store_id", "product_id", "demand", "demand_std"]
    assert hz.height == 500 and hz.null_count().sum_horizontal().item() == 0
    assert (hz["demand"] >= 0).all() and (hz["demand_std"] > 0).all()
    df = pl.read_parquet(out / "demand_forecast.parquet")
    assert df.height == 500 * 7
    assert str(df["dt"].min()) == summary.first_day == "2024-06-26"
    assert (df["q10"] <= df["q50"]).all() and (df["q50"] <= df["q90"]).all()
    tot = (
        df.group_by("store_id", "product_id")
        .agg(pl.col("forecast").sum())
        .sort("store_id", "product_id")
    )
    assert tot["forecast"].to_list() == pytest.approx(hz["demand"].to_list())
    m = pl.read_csv(out / "forecast_metrics.csv")
    assert set(m["method"]) == {
        "model",
        "model_no_recovery",
        "seasonal_naive",
        "moving_average_28",
    }
    assert set(m["target"]) == {"sale_amount", "latent_demand"}
    official = m.filter((pl.col("rows") == "official") & (pl.col("target") == "sale_amount"))
    assert official["n_rows"].n_unique() == 1  # every method scored on the same rows
    model = official.filter(pl.col("method") == "model").row(0, named=True)
    naive = official.filter(pl.col("method") == "seasonal_naive").row(0, named=True)
    assert model["wape"] < naive["wape"]
    assert 0.5 < model["coverage"] < 0.98
    rec = pl.read_csv(out / "recovery_summary.csv")
    assert rec["stockout_hours"][0] == "all" and "recovered_bias" in rec.columns
    manifest = read_manifest(run)
    assert "forecast" in manifest["stages"] and manifest["forecast"]["horizon_days"] == 7
    state = json.loads((out / "forecast_summary.json").read_text())
    assert state["backtest_window"] == "eval split"


def test_reuse_model_predicts_without_refitting(eval_run: tuple[Path, ForecastResult]) -> None:
    run, _ = eval_run
    before = pl.read_parquet(run / "forecast" / "demand_forecast.parquet")
    summary = run_forecast(run, load_config(overrides=FAST), reuse_model=True)
    after = pl.read_parquet(run / "forecast" / "demand_forecast.parquet")
    assert after.equals(before)
    assert summary.summary["reused_model"] is True
    methods = set(pl.read_csv(run / "forecast" / "forecast_metrics.csv")["method"])
    assert "model" in methods and "model_no_recovery" not in methods
    other = load_config(overrides=FAST | {"run.horizon_days": 5})
    with pytest.raises(StageInputError, match="without --reuse-model"):
        run_forecast(run, other, reuse_model=True)


def test_without_eval_split_holds_out_the_last_week(tiny_data_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "freshretailnet" / "data").mkdir(parents=True)
    shutil.copy(
        tiny_data_dir / "freshretailnet" / "data" / "train.parquet",
        data / "freshretailnet" / "data" / "train.parquet",
    )
    run = _run_dir(tmp_path, data, has_eval=False, has_truth=False)
    cfg = load_config(overrides=FAST | {"forecast.recover_demand": False})
    summary = run_forecast(run, cfg)
    assert summary.backtest_window.startswith("last 7 train days")
    assert summary.summary["assumed_covariate_rows"] == 500 * 7
    assert summary.summary["target"] == "sale_amount"
    m = pl.read_csv(run / "forecast" / "forecast_metrics.csv")
    assert set(m["method"]) == {"model_no_recovery", "seasonal_naive", "moving_average_28"}
    assert summary.first_day == "2024-06-26"


def test_missing_manifest_is_a_stage_error(tmp_path: Path) -> None:
    with pytest.raises(StageInputError, match="rama prepare"):
        run_forecast(tmp_path / "nowhere", load_config())


def test_cli(eval_run: tuple[Path, ForecastResult], tmp_path: Path) -> None:
    run, _ = eval_run
    runner = CliRunner()
    sets = [x for k, v in FAST.items() for x in ("--set", f"{k}={v}")]
    res = runner.invoke(app, ["forecast", "--run", str(run), "--reuse-model", *sets])
    assert res.exit_code == 0, res.output
    assert "WAPE" in res.output and "seasonal_naive" in res.output
    bad = runner.invoke(app, ["forecast", "--run", str(tmp_path / "none")])
    assert bad.exit_code == 2 and "StageInputError" in bad.output
    assert "--reuse-model" in runner.invoke(app, ["forecast", "--help"]).output
