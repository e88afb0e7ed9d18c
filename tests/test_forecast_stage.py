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
from rama.errors import DataValidationError, StageInputError
from rama.forecast import run_forecast
from rama.forecast.stage import ForecastResult
from rama.run_manifest import read_manifest, update_manifest
from rama.run_state import stamp

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
    stamp(run)  # a run folder rama made (the CLI writes only into those)
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
    # one fit by default: no comparison model without recovery
    assert set(m["method"]) == {"model", "seasonal_naive", "moving_average_28"}
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


def _train_only(tiny_data_dir: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    (data / "freshretailnet" / "data").mkdir(parents=True)
    shutil.copy(
        tiny_data_dir / "freshretailnet" / "data" / "train.parquet",
        data / "freshretailnet" / "data" / "train.parquet",
    )
    return _run_dir(tmp_path, data, has_eval=False, has_truth=False)


def test_one_fit_by_default_backtest_is_the_calibration_week(
    tiny_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an eval split the stage fits once; the backtest rows are the fitted model's
    own calibration week (the last 7 train days seen from the day before them)."""
    from rama.forecast import model as model_mod

    run = _train_only(tiny_data_dir, tmp_path)
    fits: list[int] = []
    real_fit = model_mod.DemandForecaster.fit

    def counting_fit(self: model_mod.DemandForecaster, *a: object, **k: object) -> object:
        fits.append(1)
        return real_fit(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(model_mod.DemandForecaster, "fit", counting_fit)
    res = run_forecast(run, load_config(overrides=FAST))
    assert len(fits) == 1
    assert "same fit" in res.backtest_window
    bt = pl.read_parquet(run / "forecast" / "backtest_predictions.parquet")
    saved = pl.read_parquet(run / "forecast" / "model" / "backtest.parquet")
    assert str(bt["dt"].min()) == "2024-06-19" and str(bt["dt"].max()) == "2024-06-25"
    j = bt.join(saved, on=["store_id", "product_id", "dt"])
    assert j.height == bt.height and (j["model"] == j["forecast"]).all()
    assert set(saved["horizon"].unique()) == set(range(1, 8))
    m = pl.read_csv(run / "forecast" / "forecast_metrics.csv")
    assert set(m["method"]) == {"model", "seasonal_naive", "moving_average_28"}


def test_sampled_calibration_week_scores_every_method_on_the_same_series(
    tiny_data_dir: Path, tmp_path: Path
) -> None:
    """forecast.max_calibration_series below the series count: the same-fit backtest covers
    the sampled series only, and the baselines are scored on exactly those rows."""
    run = _train_only(tiny_data_dir, tmp_path)
    n_series = pl.read_parquet(
        tiny_data_dir / "freshretailnet" / "data" / "train.parquet",
        columns=["store_id", "product_id"],
    ).n_unique()
    cap = max(1, n_series // 3)
    res = run_forecast(run, load_config(overrides=FAST | {"forecast.max_calibration_series": cap}))
    bt = pl.read_parquet(run / "forecast" / "backtest_predictions.parquet")
    sampled = bt.select("store_id", "product_id").n_unique()
    assert 0 < sampled < n_series
    assert f"the {sampled:,} of {n_series:,} series sampled" in res.backtest_window
    for method in ("model", "seasonal_naive", "moving_average_28"):
        assert bt[method].null_count() == 0, method  # every scored row has every method


def test_extra_fits_only_when_asked(tiny_data_dir: Path, tmp_path: Path) -> None:
    run = _train_only(tiny_data_dir, tmp_path)
    cfg = load_config(overrides=FAST | {"forecast.backtest_extra_fits": True})
    res = run_forecast(run, cfg)
    assert "same fit" not in res.backtest_window
    methods = set(pl.read_csv(run / "forecast" / "forecast_metrics.csv")["method"])
    assert methods == {"model", "model_no_recovery", "seasonal_naive", "moving_average_28"}


@pytest.mark.parametrize(
    ("name", "damage", "error", "match"),
    [
        ("model.txt", "truncate", StageInputError, "not a readable LightGBM model"),
        ("model.txt", "garbage", StageInputError, "not a readable LightGBM model"),
        ("forecaster.json", "truncate", StageInputError, "not valid JSON"),
        ("history_tail.parquet", "truncate", DataValidationError, "could not be read as Parquet"),
        ("series.parquet", "truncate", DataValidationError, "could not be read as Parquet"),
    ],
)
def test_reuse_model_with_a_damaged_file_names_it(
    eval_run: tuple[Path, ForecastResult],
    tmp_path: Path,
    name: str,
    damage: str,
    error: type[Exception],
    match: str,
) -> None:
    """A truncated or corrupt file under RUN/forecast/model/ is a typed error naming the file
    and saying to refit with `rama forecast` (no traceback from LightGBM or Polars)."""
    run, _ = eval_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    path = copy / "forecast" / "model" / name
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2] if damage == "truncate" else b"\x00garbage\n" * 50)
    with pytest.raises(error, match=match) as info:
        run_forecast(copy, load_config(overrides=FAST), reuse_model=True)
    msg = str(info.value)
    assert name in msg and "rama forecast" in msg and "without --reuse-model" in msg
    res = CliRunner().invoke(app, ["forecast", "--run", str(copy), "--reuse-model"])
    assert res.exit_code != 0 and "Traceback" not in res.output and name in res.output


def test_cli_extra_fits_flag(eval_run: tuple[Path, ForecastResult], tmp_path: Path) -> None:
    run, _ = eval_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    sets = [x for k, v in FAST.items() for x in ("--set", f"{k}={v}")]
    res = CliRunner().invoke(app, ["forecast", "--run", str(copy), "--extra-fits", *sets])
    assert res.exit_code == 0, res.output
    assert "model_no_recovery" in res.output
    methods = set(pl.read_csv(copy / "forecast" / "forecast_metrics.csv")["method"])
    assert "model_no_recovery" in methods
