"""`rama run --dask local` end to end on a tiny network (a 2-worker LocalCluster started by
the command), compared with the same run without a cluster: the data stages give the same
tables, the forecast (trained with lightgbm.dask) agrees within the tolerance documented in
docs/cluster.md, and the plan solved on the cluster is the exact optimum of its problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app
from rama.optimize.solve import solve
from rama.problem import load_problem, on_lot_grid

SETS = ["--set", "forecast.num_boost_round=40", "--set", "forecast.partition_series=100"]


def _run(data: Path, run: Path, *extra: str) -> None:
    result = CliRunner().invoke(
        app, ["run", "--data", str(data), "--out", str(run), "--seed", "3", *SETS, *extra]
    )
    assert result.exit_code == 0, result.output


def _tables(folder: Path) -> dict[str, pl.DataFrame]:
    out = {}
    for f in sorted(folder.iterdir()):
        if f.suffix == ".parquet":
            out[f.name] = pl.read_parquet(f)
        elif f.suffix == ".csv":
            out[f.name] = pl.read_csv(f)
    return out


@pytest.mark.slow
def test_a_run_on_a_cluster_matches_the_local_run(tiny_data_dir: Path, tmp_path: Path) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    _run(tiny_data_dir, local)
    _run(tiny_data_dir, remote, "--dask", "local")

    # data stages: the same prepared tables, cell for cell
    a, b = _tables(local / "prepared"), _tables(remote / "prepared")
    assert a.keys() == b.keys() and len(a) >= 5
    for name, table in a.items():
        assert table.equals(b[name]), name

    # forecast: the same series and training rows; totals within the documented tolerance
    fa = pl.read_parquet(local / "forecast" / "horizon_demand.parquet")
    fb = pl.read_parquet(remote / "forecast" / "horizon_demand.parquet")
    assert fa.select("store_id", "product_id").equals(fb.select("store_id", "product_id"))
    sa = json.loads((local / "forecast" / "forecast_summary.json").read_text())
    sb = json.loads((remote / "forecast" / "forecast_summary.json").read_text())
    assert sa["train_rows"] == sb["train_rows"]
    ta, tb = float(fa["demand"].sum()), float(fb["demand"].sum())
    assert abs(tb - ta) <= 0.02 * ta
    diff = np.abs(fa["demand"].to_numpy() - fb["demand"].to_numpy()).mean() / fa["demand"].mean()
    assert diff <= 0.10

    # the plan on the cluster is exact for its problem: the local solve of the same problem
    # gives the same objective, and every route was priced
    summary = json.loads((remote / "plans" / "centralized_lp" / "summary.json").read_text())
    problem = load_problem(remote / "problem")
    assert summary["lot_size"] == 0.1  # the plan's default lot grid
    got = solve(on_lot_grid(problem, 0.1), "highs", threads=1, lot=0.1).objective
    assert abs(got - summary["objective"]) <= 1e-9 * max(1.0, abs(got))
    rc = summary.get("min_reduced_cost")
    assert rc is None or rc >= -1e-9
    for folder in (local, remote):
        assert (folder / "scenarios" / "scenarios.parquet").is_file()
        assert (folder / "report.html").is_file()
