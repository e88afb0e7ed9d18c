"""Runs a planner can trust: reruns reuse what did not change, overrides become part of the
run, partial scenario work merges, stale results are never kept as current, user files are
never replaced, one writer at a time, leftovers of killed stages are cleaned."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner, Result

from rama.cli import app
from rama.pipeline import execute_stage, resolve_data
from rama.run_manifest import StageInputs, read_manifest, stage_states
from rama.run_state import clean_leftovers
from rama.synth import generate_datasets

FAST = ["--scenario-sets", "base", "--set", "forecast.num_boost_round=30"]
LATER = ("optimize", "evaluate", "scenarios")


def rama(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def ok(*args: str | Path) -> Result:
    result = rama(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "data"
    generate_datasets(out, scale=0.01, seed=3)
    return out


def ran(result: Result) -> set[str]:
    return {line.split()[1] for line in result.output.splitlines() if line.startswith("done ")}


def reused(result: Result) -> set[str]:
    return {line.split()[1] for line in result.output.splitlines() if line.startswith("reused")}


def records(run: Path) -> dict[str, dict[str, object]]:
    recs: dict[str, dict[str, object]] = read_manifest(run)["records"]
    return recs


@pytest.mark.slow
def test_rerun_reuses_what_did_not_change_and_a_cost_change_reruns_only_its_stages(
    data: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    first = ok("run", "--data", data, "--out", run, *FAST)
    assert ran(first) >= {"prepare", "forecast", *LATER, "report"}
    before = records(run)

    again = ok("run", "--data", data, "--out", run, *FAST)
    assert reused(again) == {"prepare", "forecast", *LATER}
    assert ran(again) == {"report"}
    assert {k: v["outputs"] for k, v in records(run).items()} == {
        k: v["outputs"] for k, v in before.items()
    }

    cost = ok(
        "run", "--data", data, "--out", run, *FAST, "--set", "costs.stockout_penalty_per_unit=4"
    )
    assert reused(cost) == {"prepare", "forecast"}
    assert ran(cost) == {*LATER, "report"}
    assert "costs.stockout_penalty_per_unit changed" in cost.output
    assert "stockout_penalty_per_unit = 4" in (run / "config.toml").read_text()
    assert records(run)["optimize"]["config"]["costs.stockout_penalty_per_unit"] == 4  # type: ignore[index]

    # the override is part of the run now: the next plain rerun keeps it and reuses everything
    plain = ok("run", "--data", data, "--out", run, *FAST)
    assert reused(plain) == {"prepare", "forecast", *LATER}

    forced = ok("run", "--data", data, "--out", run, *FAST, "--force")
    assert ran(forced) >= {"prepare", "forecast", *LATER}
    assert "rama run" in (run / "rama.log").read_text()


@pytest.mark.slow
def test_stage_overrides_layer_over_the_run_config_and_mark_what_they_invalidate(
    data: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    ok("run", "--data", data, "--out", run, *FAST)
    res = ok("optimize", "--run", run, "--set", "costs.holding_cost_per_unit_day=0.2")
    cfg_text = (run / "config.toml").read_text()
    assert "holding_cost_per_unit_day = 0.2" in cfg_text
    assert "num_boost_round = 30" in cfg_text  # the run's earlier overrides are kept
    assert records(run)["optimize"]["config"]["costs.holding_cost_per_unit_day"] == 0.2  # type: ignore[index]
    # the plan changed, so the evaluation and the sweep made from the old one are stale
    assert "evaluate, scenarios are now stale" in res.output.replace("\n", " ")
    assert not (run / "evaluation").exists() and not (run / "scenarios").exists()
    assert stage_states(run) == {
        "prepare": "current",
        "forecast": "current",
        "optimize": "current",
        "evaluate": "stale",
        "scenarios": "stale",
    }

    # --config FILE layers over RUN/config.toml instead of replacing it
    extra = tmp_path / "extra.toml"
    extra.write_text("[evaluate]\nsamples = 50\n")
    ok("evaluate", "--run", run, "--config", extra)
    cfg_text = (run / "config.toml").read_text()
    assert "holding_cost_per_unit_day = 0.2" in cfg_text and "samples = 50" in cfg_text
    assert records(run)["evaluate"]["config"]["costs.holding_cost_per_unit_day"] == 0.2  # type: ignore[index]

    # an override on a later stage that an earlier stage reads leaves that stage stale
    res = ok("evaluate", "--run", run, "--set", "costs.holding_cost_per_unit_day=0.3")
    assert "optimize does not match the run's present configuration" in res.output.replace(
        "\n", " "
    )
    assert stage_states(run)["optimize"] == "stale"


@pytest.mark.slow
def test_scenarios_only_updates_its_rows_and_keeps_the_others(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    args = ["--scenario-sets", "base,demand_shocks", "--set", "forecast.num_boost_round=30"]
    ok("run", "--data", data, "--out", run, *args)
    full = pl.read_parquet(run / "scenarios" / "scenarios.parquet")
    assert full["scenario"].n_unique() > 2 and not full["stale"].any()

    ok("scenarios", "--run", run, "--only", "base")
    merged = pl.read_parquet(run / "scenarios" / "scenarios.parquet")
    assert merged.height == full.height
    assert merged["scenario"].to_list() == full["scenario"].to_list()
    assert not merged["stale"].any()
    cols = ["scenario", "strategy", "expected_total"]
    assert merged.select(cols).equals(full.select(cols))

    ok("scenarios", "--run", run, "--only", "base", "--set", "scenarios.warm_start=false")
    marked = pl.read_parquet(run / "scenarios" / "scenarios.parquet")
    assert marked.height == full.height
    stale = marked.group_by("scenario").agg(pl.col("stale").all())
    assert dict(stale.iter_rows()) == {
        name: name != "base" for name in full["scenario"].unique().to_list()
    }
    # a plain rerun brings the whole sweep under one key again
    ok("run", "--data", data, "--out", run, *args, "--set", "scenarios.warm_start=false")
    assert not pl.read_parquet(run / "scenarios" / "scenarios.parquet")["stale"].any()


@pytest.mark.slow
def test_prepare_on_other_data_makes_every_later_stage_stale(data: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    ok("run", "--data", data, "--out", run, *FAST)
    other = tmp_path / "other"
    generate_datasets(other, scale=0.01, seed=11)
    res = ok("prepare", "--data", other, "--out", run)
    assert "now stale" in res.output
    states = stage_states(run)
    assert states["prepare"] == "current"
    assert all(states[s] == "stale" for s in ("forecast", *LATER))
    for folder in ("forecast", "problem", "plan", "plans", "evaluation", "scenarios"):
        assert not (run / folder).exists(), folder
    # a later stage on the stale run refuses to use the removed outputs
    res = rama("optimize", "--run", run)
    assert res.exit_code == 2 and "rama forecast" in res.output


def test_a_failed_stage_leaves_no_mix_of_new_and_old_outputs(tmp_path: Path) -> None:
    from rama.config import load_config
    from rama.pipeline import open_run

    cfg = load_config()
    run = tmp_path / "run"
    with open_run(run, cfg):
        for stage in ("prepare", "forecast", "optimize", "evaluate"):
            folder = {"optimize": "plan", "prepare": "prepared"}.get(stage, stage)
            (run / folder).mkdir(parents=True, exist_ok=True)
            (run / folder / "t.csv").write_text(f"{stage}\n")
            execute_stage(run, stage, lambda: None, cfg, StageInputs())  # type: ignore[arg-type,return-value]
        assert set(stage_states(run).values()) == {"current", "not run"}

        def half_written() -> None:
            (run / "problem").mkdir()
            (run / "problem" / "new.csv").write_text("new\n")
            raise RuntimeError("solver crashed")

        with pytest.raises(RuntimeError):
            execute_stage(run, "optimize", half_written, cfg, StageInputs())  # type: ignore[arg-type]
    assert not (run / "problem").exists() and not (run / "plan").exists()
    assert not (run / "evaluation").exists()  # made from the old plan: removed
    assert (run / "forecast" / "t.csv").is_file()  # upstream kept whole
    assert stage_states(run) == {
        "prepare": "current",
        "forecast": "current",
        "optimize": "stale",
        "evaluate": "stale",
        "scenarios": "not run",
    }
    assert records(run)["optimize"]["status"] == "failed"


# ---------------------------------------------------------------- nothing lost


def test_a_typo_in_data_is_an_error_and_generates_nothing(tmp_path: Path) -> None:
    res = rama("run", "--data", tmp_path / "dta", "--out", tmp_path / "run")
    assert res.exit_code == 2
    out = res.output.replace("\n", "")
    assert "does not exist" in out and "train-*-of-*.parquet" in out and "--generate" in out
    assert not (tmp_path / "dta").exists() and not (tmp_path / "run").exists()


def test_a_folder_without_a_train_split_is_an_error_listing_what_was_looked_for(
    tmp_path: Path,
) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    res = rama("run", "--data", user, "--out", tmp_path / "run")
    assert res.exit_code == 2 and "holds no FreshRetailNet train split" in res.output
    res = rama("run", "--data", user, "--out", tmp_path / "run", "--generate", "--scale", "0.01")
    assert res.exit_code == 2 and "rama did not write" in res.output.replace("\n", "")
    assert (user / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in user.iterdir()) == ["notes.txt"]


def test_hugging_face_shard_names_are_read_in_place(tmp_path: Path, data: Path) -> None:
    """The published layout with the Hub's shard name: read, never regenerated over."""
    src = data / "freshretailnet" / "data" / "train.parquet"
    data = tmp_path / "hf"
    (data / "data").mkdir(parents=True)
    shard = data / "data" / "train-00000-of-00001.parquet"
    shard.write_bytes(src.read_bytes())
    before = shard.read_bytes()
    folder, generated = resolve_data(data, generate=True, scale=0.01, seed=1)
    assert folder == data and generated is None
    assert shard.read_bytes() == before


def test_generate_refuses_a_folder_of_user_files(tmp_path: Path) -> None:
    user = tmp_path / "mine"
    user.mkdir()
    (user / "train.parquet").write_bytes(b"not really parquet")
    res = rama("generate", "--out", user, "--scale", "0.01")
    assert res.exit_code == 2 and "rama did not generate" in res.output.replace("\n", "")
    assert (user / "train.parquet").read_bytes() == b"not really parquet"
    # a folder rama generated is regenerated in place
    ours = tmp_path / "ours"
    ok("generate", "--out", ours, "--scale", "0.01")
    ok("generate", "--out", ours, "--scale", "0.01", "--seed", "5")
    assert (ours / ".rama-generated").is_file()


def test_run_out_refuses_a_folder_of_user_files(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    (out / "q3.xlsx").write_bytes(b"\x00budget")
    res = rama("run", "--data", data, "--out", out)
    assert res.exit_code == 2
    assert "already holds files rama did not write (q3.xlsx)" in res.output.replace("\n", "")
    assert sorted(p.name for p in out.iterdir()) == ["q3.xlsx"]
    res = rama("prepare", "--data", data, "--out", data)
    assert res.exit_code == 2 and "overlaps the input --data" in res.output.replace("\n", "")


def test_optimize_out_never_replaces_the_problem_or_user_files(tmp_path: Path) -> None:
    from rama.problem import write_problem
    from rama.testing.builders import random_problem

    problem = tmp_path / "problem"
    write_problem(random_problem(1, 3, False, 0.0), problem)
    before = sorted(p.name for p in problem.iterdir())
    res = rama("optimize", "--problem", problem, "--out", problem)
    assert res.exit_code == 2 and "overlaps the input --problem" in res.output.replace("\n", "")
    res = rama("optimize", "--problem", problem, "--out", problem / "plan")
    assert res.exit_code == 2
    assert sorted(p.name for p in problem.iterdir()) == before
    user = tmp_path / "mine"
    user.mkdir()
    (user / "keep.csv").write_text("a\n")
    res = rama("optimize", "--problem", problem, "--out", user)
    assert res.exit_code == 2 and (user / "keep.csv").read_text() == "a\n"
    plan = tmp_path / "plan"
    ok("optimize", "--problem", problem, "--out", plan)
    ok("optimize", "--problem", problem, "--out", plan)  # rama's own plan folder: replaced


# ---------------------------------------------------------------- one writer, leftovers


def test_a_second_command_on_a_locked_run_is_refused_with_the_holders_pid(
    tmp_path: Path,
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"rama_version": "0.1.0", "stages": []}))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from rama.run_state import run_lock
                with run_lock({str(run)!r}):
                    print("held", flush=True)
                    time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = rama("evaluate", "--run", run)
        assert res.exit_code == 2
        assert f"in use by another rama command (pid {holder.pid})" in res.output.replace("\n", "")
    finally:
        holder.kill()
        holder.wait(timeout=30)
    # the kernel released the dead holder's lock: the next command gets past it
    res = rama("evaluate", "--run", run)
    assert "in use" not in res.output


def test_leftovers_of_killed_stages_are_removed(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / ".forecast.a1b2c3d4.tmp" / "model").mkdir(parents=True)
    (run / ".plan.old").mkdir()
    (run / "plans").mkdir()
    (run / "plans" / ".summary.json.x9y8z7w6.tmp").write_text("{")
    (run / ".keep-me").write_text("user's hidden file")
    (run / "plan.tmp").write_text("not rama's pattern")
    removed = clean_leftovers(run)
    assert removed == [".forecast.a1b2c3d4.tmp", ".plan.old", "plans/.summary.json.x9y8z7w6.tmp"]
    assert sorted(p.name for p in run.iterdir()) == [".keep-me", "plan.tmp", "plans"]


# ---------------------------------------------------------------- crash safety

KILL_FILES = {
    "prepared/store_product_params.parquet": (),
    "forecast/horizon_demand.parquet": (),
    "plan/transfer_plan.csv": (),
    "evaluation/evaluation.csv": ("seconds",),
    "scenarios/scenarios.parquet": ("seconds", "computed_under"),
}


def _table(path: Path, drop: tuple[str, ...]) -> pl.DataFrame:
    df = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
    return df.drop([c for c in df.columns if any(d in c for d in drop)])


@pytest.fixture(scope="module")
def reference(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    ok("run", "--data", data, "--out", run, *FAST)
    return run


def _kill_during(stage: str, data: Path, run: Path) -> None:
    """Start `rama run` in a process and SIGKILL it while ``stage`` is running."""
    cmd = [sys.executable, "-m", "rama.cli", "run", "--data", str(data), "--out", str(run), *FAST]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    manifest = run / "manifest.json"
    try:
        while proc.poll() is None:
            try:
                recs = json.loads(manifest.read_text()).get("records", {})
            except (OSError, ValueError):
                recs = {}
            if recs.get(stage, {}).get("status") == "running":
                proc.kill()
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -9, f"the run ended before {stage} could be killed"


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["prepare", "forecast", "optimize", "evaluate", "scenarios"])
def test_a_run_killed_during_a_stage_resumes_to_the_same_results(
    stage: str, data: Path, reference: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    _kill_during(stage, data, run)
    states = stage_states(run)
    order = list(states)
    assert all(states[s] == "current" for s in order[: order.index(stage)])
    assert states[stage] != "current"

    resumed = ok("run", "--data", data, "--out", run, *FAST)
    assert reused(resumed) == set(order[: order.index(stage)])
    assert stage in ran(resumed)
    assert set(stage_states(run).values()) == {"current"}
    for rel, drop in KILL_FILES.items():
        got, want = _table(run / rel, drop), _table(reference / rel, drop)
        assert got.columns == want.columns, rel
        for col in got.columns:
            g, w = got[col], want[col]
            if g.dtype.is_float():
                assert ((g - w).abs() <= 1e-9 * (1 + w.abs())).all(), (rel, col)
            else:
                assert g.equals(w), (rel, col)
    hidden = [p.name for p in run.iterdir() if p.name.endswith((".tmp", ".old"))]
    assert hidden == []


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("devnull", "cannot be written (Not a directory)"),
        ("file", "is a file, not a folder"),
        ("cwd", "already holds files rama did not write"),
        ("loop", "is a broken symlink or a symlink loop"),
        ("missing_run", "no rama run there (manifest.json missing)"),
    ],
)
def test_bad_output_and_run_paths_are_clear_errors(
    where: str, message: str, tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    if where == "devnull":
        res = rama("prepare", "--data", data, "--out", "/dev/null/run")
    elif where == "file":
        res = rama("prepare", "--data", data, "--out", tmp_path / "notes.txt")
    elif where == "cwd":
        res = rama("prepare", "--data", data, "--out", ".")
    elif where == "loop":
        (tmp_path / "l").symlink_to(tmp_path / "l")
        res = rama("run", "--data", tmp_path / "l", "--out", tmp_path / "r")
    else:
        res = rama("evaluate", "--run", tmp_path / "nowhere")
    assert res.exit_code == 2, res.output
    assert message in res.output.replace("\n", "")
    assert "Traceback" not in res.output
    assert (tmp_path / "notes.txt").read_text() == "x"


def test_a_stage_failing_before_it_replaced_anything_keeps_the_earlier_result(
    tmp_path: Path,
) -> None:
    """A rejected input on a rerun does not delete last week's plan: the earlier outputs are
    kept whole with their record, and the stages after them stay."""
    from rama.config import load_config
    from rama.pipeline import open_run

    cfg = load_config()
    run = tmp_path / "run"
    with open_run(run, cfg):
        for stage, folder in (
            ("prepare", "prepared"),
            ("forecast", "forecast"),
            ("optimize", "plan"),
        ):
            (run / folder).mkdir(parents=True)
            (run / folder / "t.csv").write_text(f"{stage}\n")
            execute_stage(run, stage, lambda: None, cfg, StageInputs())  # type: ignore[arg-type,return-value]
        (run / "evaluation").mkdir()
        (run / "evaluation" / "e.csv").write_text("e\n")
        execute_stage(run, "evaluate", lambda: None, cfg, StageInputs())  # type: ignore[arg-type,return-value]

        def rejected() -> None:
            raise ValueError("inventory.csv: negative on_hand")

        with pytest.raises(ValueError):
            execute_stage(run, "optimize", rejected, cfg, StageInputs())  # type: ignore[arg-type]
    assert (run / "plan" / "t.csv").read_text() == "optimize\n"
    assert (run / "evaluation" / "e.csv").is_file()
    assert (
        records(run)["optimize"]["status"] == "done" and "last_failure" in records(run)["optimize"]
    )
    assert stage_states(run)["optimize"] == "current"
