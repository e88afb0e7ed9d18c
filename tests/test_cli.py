"""The command line behaves like the tools planners script: --version, --quiet, --json,
one readable line for any failure, tables never cut when piped, the documented defaults and
a config reference that cannot drift; and each stage's declared config sections cover what
it reads (the fingerprints that decide reruns rest on them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from rama import __version__
from rama.cli import app
from rama.config import Config, default_config_text, load_config
from rama.config_reference import reference_markdown, reference_rows
from rama.run_state import spec
from rama.synth import generate_datasets

DOCS = Path(__file__).resolve().parents[1] / "docs" / "config.md"
FAST = ["--scenario-sets", "base", "--set", "forecast.num_boost_round=20"]


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    generate_datasets(root / "data", scale=0.01, seed=2)
    res = cli("run", "--data", root / "data", "--out", root / "run", *FAST)
    assert res.exit_code == 0, res.output
    return root / "run"


def test_version() -> None:
    res = cli("--version")
    assert res.exit_code == 0 and res.output.strip() == f"rama {__version__}"


def test_config_prints_the_documented_defaults_with_their_comments() -> None:
    res = cli("config")
    assert res.exit_code == 0
    assert res.output == default_config_text()
    assert "# $ per unit of unmet demand" in res.output
    res = cli("config", "--set", "costs.stockout_penalty_per_unit=4")
    assert "stockout_penalty_per_unit = 4" in res.output


def test_config_reference_page_is_up_to_date() -> None:
    assert DOCS.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/config.md is out of date: run `rama config --reference > docs/config.md`"
    )
    keys = {r.key for r in reference_rows()}
    assert keys == {f"{s}.{k}" for s, t in load_config().values.items() for k in t}


def test_every_command_help_ends_with_examples() -> None:
    for command in (
        "generate",
        "prepare",
        "forecast",
        "optimize",
        "evaluate",
        "scenarios",
        "report",
        "run",
        "config",
    ):
        res = cli(command, "--help")
        assert res.exit_code == 0 and "Examples:" in res.output, command


@pytest.mark.slow
def test_quiet_prints_nothing_and_json_prints_only_the_summary(small_run: Path) -> None:
    quiet = cli("--quiet", "evaluate", "--run", small_run)
    assert quiet.exit_code == 0 and quiet.stdout == ""
    res = cli("--json", "evaluate", "--run", small_run)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["stage"] == "evaluate"
    assert {"do_nothing", "stochastic"} <= set(summary["result"]["strategies"])
    res = cli("--json", "run", "--out", small_run, "--data", Path(small_run).parent / "data", *FAST)
    summary = json.loads(res.stdout)
    assert summary["reused"] == ["prepare", "forecast", "optimize", "evaluate", "scenarios"]
    assert summary["plan"]["strategy"] == "stochastic" and summary["plan"]["objective"] > 0


@pytest.mark.slow
def test_an_unexpected_error_is_one_line_naming_the_stage_and_the_log(
    small_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rama.evaluate

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(rama.evaluate, "run_evaluation", broken)
    res = cli("evaluate", "--run", small_run)
    assert res.exit_code == 3
    err = res.output.strip().replace("\n", " ")
    assert "rama evaluate stopped on an unexpected ZeroDivisionError" in err
    assert "Traceback" not in res.output
    assert str(small_run / "rama.log") in err
    assert "ZeroDivisionError" in (small_run / "rama.log").read_text()
    res = cli("--debug", "evaluate", "--run", small_run)
    assert "Traceback" in res.output


def test_paths_with_markup_are_printed_verbatim(tmp_path: Path) -> None:
    odd = tmp_path / "[bold]x[/]"
    res = cli("run", "--data", odd, "--out", tmp_path / "r")
    assert res.exit_code == 2
    assert "[bold]x[/]" in res.output.replace("\n", "")


@pytest.mark.slow
def test_tables_are_not_cut_when_piped(small_run: Path) -> None:
    cfg = small_run.parent / "long.toml"
    name = "a_very_long_custom_scenario_name_that_would_not_fit_in_eighty_columns"
    cfg.write_text(f'[scenarios]\nsets = ["custom"]\n[[scenarios.custom]]\nname = "{name}"\n')
    res = cli("scenarios", "--run", small_run, "--config", cfg)
    assert res.exit_code == 0, res.output
    assert name in res.output


# ---------------------------------------------------------------- declared config reads


@dataclass(frozen=True)
class Tracking(Config):
    """A Config that records which sections are read."""

    seen: set[str] = field(default_factory=set, compare=False)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        self.seen.add(section)
        return super().__getitem__(section)


@pytest.mark.slow
def test_each_stage_reads_only_the_config_sections_it_declares(small_run: Path) -> None:
    from rama.evaluate import run_evaluation
    from rama.forecast import run_forecast
    from rama.planning import run_plan
    from rama.prepare import prepare
    from rama.scenarios import run_scenarios

    base = load_config(small_run / "config.toml").with_overrides({"optimize.threads": 1})
    data = small_run.parent / "data"
    runs = {
        "prepare": lambda c: prepare(data, small_run, c),
        "forecast": lambda c: run_forecast(small_run, c),
        "optimize": lambda c: run_plan(small_run, c, None),
        "evaluate": lambda c: run_evaluation(small_run, c),
        "scenarios": lambda c: run_scenarios(small_run, c),
    }
    # prepare's EDA compares transfer costs with the configured costs for information only;
    # costs are deliberately not among its inputs (a cost change never reruns prepare)
    informational = {"prepare": {"costs"}}
    for stage, work in runs.items():
        cfg = Tracking(base.values, base.source)
        work(cfg)
        assert cfg.seen, stage
        extra = cfg.seen - set(spec(stage).sections) - informational.get(stage, set())
        assert not extra, (stage, extra)


def test_warnings_a_planner_wants_before_acting(tmp_path: Path) -> None:
    from rama.cli.run import plan_warnings

    run = tmp_path / "run"
    (run / "forecast").mkdir(parents=True)
    (run / "plan").mkdir()
    rows = "method,target,rows,n_rows,wape,wpe,mae,coverage\n"
    rows += "model,sale_amount,official,10,0.40,0,1,0.8\n"
    rows += "seasonal_naive,sale_amount,official,10,0.35,0,1,\n"
    rows += "moving_average_28,sale_amount,official,10,0.45,0,1,\n"
    rows += "seasonal_naive,latent_demand,official,10,0.10,0,1,\n"  # another target: ignored
    (run / "forecast" / "forecast_metrics.csv").write_text(rows)
    rec = {"strategy": "stochastic_fill_rate", "is_cheapest_expected": False}
    rec |= {"cheapest_expected": "stochastic", "chosen_by": "plan.fill_rate_target"}
    (run / "plan" / "summary.json").write_text(json.dumps({"recommended": rec}))
    (run / "forecast" / "forecast_summary.json").write_text(json.dumps({"stale_series": 3}))
    got = plan_warnings(run)
    assert len(got) == 3
    assert "worse than the seasonal_naive baseline (0.350)" in got[0]
    assert "3 series have no data in the last" in got[1]
    assert "not the cheapest expected (stochastic)" in got[2]
    (run / "forecast" / "forecast_metrics.csv").write_text(rows.replace("0.35", "0.55"))
    rec["is_cheapest_expected"] = True
    (run / "plan" / "summary.json").write_text(json.dumps({"recommended": rec}))
    (run / "forecast" / "forecast_summary.json").write_text(json.dumps({"stale_series": 0}))
    assert plan_warnings(run) == []


@pytest.mark.slow
def test_a_full_disk_is_a_clear_error_and_keeps_the_earlier_outputs(
    small_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import rama.io

    before = (small_run / "evaluation" / "evaluation.csv").read_bytes()

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(small_run / "evaluation"))

    monkeypatch.setattr(rama.io.os, "replace", full)
    res = cli("evaluate", "--run", small_run)
    assert res.exit_code == 2
    err = res.output.replace("\n", " ")
    assert "rama evaluate could not read or write" in err and "No space left on device" in err
    assert "Traceback" not in res.output
    monkeypatch.undo()
    assert (small_run / "evaluation" / "evaluation.csv").read_bytes() == before
