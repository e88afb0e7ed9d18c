"""`rama optimize` end to end, and the independent plan check catching tampered files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app
from rama.errors import PlanCheckError
from rama.optimize import check_plan, solve, write_plan
from rama.optimize.plan_io import PLAN_FILES
from rama.problem import load_problem, write_problem
from rama.testing import synthetic_problem, tiny_run_folder

runner = CliRunner()


def flat(output: str) -> str:
    """Rich wraps long lines: compare with single spaces."""
    return " ".join(output.split())


@pytest.fixture()
def problem_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "problem"
    write_problem(synthetic_problem(n_stores=25, n_products=8, n_pairs=90, seed=9), folder)
    return folder


def test_cli_problem_folder_both_backends_and_exports(problem_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan"
    res = runner.invoke(
        app, ["optimize", "--problem", str(problem_dir), "--out", str(out), "--threads", "1"]
    )
    assert res.exit_code == 0, res.output
    assert "total (objective)" in res.output and "check passed" in flat(res.output)
    assert sorted(p.name for p in out.iterdir() if p.name[0] != ".") == sorted(PLAN_FILES)
    assert (out / ".rama-run").is_file()  # stamped: a rerun may replace it, nothing else
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["backend"] == "highs"
    assert summary["min_reduced_cost"] >= -1e-9
    out2 = tmp_path / "plan_pulp"
    res = runner.invoke(
        app,
        [
            "optimize",
            "--problem",
            str(problem_dir),
            "--out",
            str(out2),
            "--backend",
            "pulp",
            "--write-lp",
            str(tmp_path / "m.lp"),
            "--write-mps",
            str(tmp_path / "m.mps"),
        ],
    )
    assert res.exit_code == 0, res.output
    pulp_summary = json.loads((out2 / "summary.json").read_text())
    assert pulp_summary["objective"] == pytest.approx(summary["objective"], rel=1e-6)
    lp_text = (tmp_path / "m.lp").read_text()
    assert "C1_balance_" in lp_text and "C2_transfer_out_" in lp_text and "Minimize" in lp_text
    assert (tmp_path / "m.mps").stat().st_size > 0


def test_cli_errors_are_friendly(problem_dir: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["optimize", "--problem", str(problem_dir)])
    assert res.exit_code == 2 and "needs --out" in flat(res.output)
    res = runner.invoke(app, ["optimize"])
    assert res.exit_code == 2 and "either --problem" in flat(res.output)
    (problem_dir / "stores.parquet").unlink()
    res = runner.invoke(
        app, ["optimize", "--problem", str(problem_dir), "--out", str(tmp_path / "o")]
    )
    assert res.exit_code == 2 and "missing table 'stores'" in flat(res.output)
    res = runner.invoke(
        app, ["optimize", "--problem", str(problem_dir), "--out", "o", "--backend", "cplex"]
    )
    assert res.exit_code == 2 and "optimize.backend" in flat(res.output)


def test_cli_infeasible_writes_the_culprits(tmp_path: Path) -> None:
    pb = synthetic_problem(n_stores=10, n_products=3, n_pairs=12, seed=1)
    sp = pb.store_products.drop("store_idx", "product_idx").with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(1e5)
        .otherwise(pl.col("current_inventory"))
        .alias("current_inventory")
    )
    folder = tmp_path / "bad"
    folder.mkdir()
    write_problem(pb, folder)
    sp.write_parquet(folder / "store_products.parquet")
    res = runner.invoke(app, ["optimize", "--problem", str(folder), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "InfeasibleError" in flat(res.output)
    culprits = pl.read_csv(tmp_path / "o" / "infeasible_pairs.csv")
    assert culprits.height == 1 and culprits["unplaceable_units"][0] > 0


def _tamper(out: Path, name: str, frame: pl.DataFrame) -> None:
    frame.write_csv(out / name)


def test_check_catches_tampered_plans(problem_dir: Path, tmp_path: Path) -> None:
    pb = load_problem(problem_dir)
    plan = solve(pb, threads=1)
    out = tmp_path / "plan"
    write_plan(plan, out)
    assert check_plan(pb, out)["C1 inventory balance"] <= 1e-9
    original = {n: pl.read_csv(out / n) for n in PLAN_FILES[:-1]}
    tp = original["transfer_plan.csv"]
    sp = original["store_product_plan.csv"]
    edits = {
        "C1 inventory balance": (
            "store_product_plan.csv",
            sp.with_columns(pl.col("ending_inventory") + 0.5),
        ),
        "transfer_(in|out) matches": (
            "transfer_plan.csv",
            tp.with_columns(pl.col("quantity") * 1.01),
        ),
        "transfer unit cost": ("transfer_plan.csv", tp.with_columns(pl.col("unit_cost") * 0.5)),
        "cost_breakdown": (
            "cost_breakdown.csv",
            original["cost_breakdown.csv"].with_columns(pl.col("cost") + 1.0),
        ),
        "C3 allocation": (
            "manufacturing_schedule.csv",
            original["manufacturing_schedule.csv"].with_columns(pl.col("quantity") + 1.0),
        ),
        "disagree on the store-product": ("store_product_plan.csv", sp.head(sp.height - 1)),
        "disagree on the store-product pairs .3 rows": (  # a pair twice (2 rows), one lost
            "store_product_plan.csv",
            pl.concat([sp.head(1), sp.head(sp.height - 1)]),
        ),
        "allocates to a store-product pair the problem does not have": (
            "allocation_plan.csv",
            original["allocation_plan.csv"].with_columns(pl.col("product_id") + 10_000),
        ),
        "lists a product the problem does not have, or one twice": (
            "manufacturing_schedule.csv",
            pl.concat([original["manufacturing_schedule.csv"]] * 2),
        ),
    }
    for expected, (name, frame) in edits.items():
        _tamper(out, name, frame)
        with pytest.raises(PlanCheckError, match=expected):
            check_plan(pb, out)
        _tamper(out, name, original[name])
    summary = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text(
        json.dumps({**summary, "objective": summary["objective"] + 1})
    )
    with pytest.raises(PlanCheckError, match="summary objective"):
        check_plan(pb, out)
    # a route that does not exist in the problem
    bad = tp.head(1).with_columns(pl.col("to_store_id").alias("from_store_id"))
    _tamper(out, "transfer_plan.csv", pl.concat([tp, bad]))
    with pytest.raises(PlanCheckError):
        check_plan(pb, out)


def test_cli_run_folder_with_inventory(tmp_path: Path) -> None:

    run = tiny_run_folder(tmp_path)
    inv = tmp_path / "inv.csv"
    pl.DataFrame(
        {"store_id": [1, 1, 2, 3], "product_id": [7, 8, 7, 7], "on_hand": [0.0, 9.0, 30.0, 0.0]}
    ).write_csv(inv)
    res = runner.invoke(
        app, ["optimize", "--run", str(run), "--inventory", str(inv), "--threads", "1"]
    )
    assert res.exit_code == 0, res.output
    sp = pl.read_csv(run / "plan" / "store_product_plan.csv").sort("store_id", "product_id")
    assert sp["current_inventory"].to_list() == [0.0, 9.0, 30.0, 0.0]
    assert (run / "problem" / "transport_costs.parquet").is_file()
    res = runner.invoke(
        app,
        [
            "optimize",
            "--problem",
            str(run / "problem"),
            "--out",
            str(tmp_path / "o"),
            "--inventory",
            str(inv),
        ],
    )
    assert res.exit_code == 2 and "--inventory goes with --run" in flat(res.output)
