"""Tiny real and generated networks end to end: the real 100-row FreshRetailNet sample (one
store, two products, no eval split) laid out as a CSV-export folder, a one-product network
and a product carried by one store only. ``rama run`` finishes with a report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from rama.cli import app

FAST = [
    "--set",
    "forecast.num_boost_round=20",
    "--set",
    "stochastic.points=5",
    "--set",
    "evaluate.samples=20",
    "--scenario-sets",
    "base",
]
STAGES = {"prepare", "forecast", "optimize", "evaluate", "scenarios"}


def rama_run(data: Path, run: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", "--data", str(data), "--out", str(run), *FAST, *extra])
    assert result.exit_code == 0, result.output
    assert (run / "report.md").is_file()
    manifest: dict[str, Any] = json.loads((run / "manifest.json").read_text())
    assert set(manifest["stages"]) >= STAGES, manifest["stages"]
    summary = json.loads((run / "plan" / "summary.json").read_text())
    assert summary["status"] == "optimal"
    return manifest


def test_real_sample_csv_export_folder(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    """The CSV export as a folder: ``D/train.csv`` (no eval.csv) beside the logistics CSV
    under a name of its own, found by its header (train.csv is never taken for it)."""
    data, run = tmp_path / "D", tmp_path / "R"
    data.mkdir()
    shutil.copy(fresh_sample_csv, data / "train.csv")
    shutil.copy(logistics_sample_csv, data / "supply_chain_export.csv")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("store_id,product_id,on_hand\n0,38,3\n", encoding="utf-8")
    manifest = rama_run(data, run, "--inventory", str(inventory))
    assert not (data / "freshretailnet").exists()  # nothing generated over the user's data
    assert manifest["has_eval"] is False
    inputs = manifest["optimize_inputs"]
    assert (inputs["pairs"], inputs["pairs_listed"], inputs["pairs_unlisted"]) == (2, 1, 1)
    sp = pl.read_parquet(run / "problem" / "store_products.parquet").sort("product_id")
    assert sp["store_id"].unique().to_list() == [0]
    assert sp["current_inventory"].to_list() == [3.0, 0.0]


def test_real_sample_freshretailnet_subfolder(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    data, run = tmp_path / "D", tmp_path / "R"
    (data / "freshretailnet").mkdir(parents=True)
    (data / "logistics").mkdir()
    shutil.copy(fresh_sample_csv, data / "freshretailnet" / "train.csv")
    shutil.copy(logistics_sample_csv, data / "logistics" / "logistics.csv")
    rama_run(data, run)


def _filtered(tiny_data_dir: Path, out: Path, keep: pl.Expr) -> Path:
    (out / "freshretailnet" / "data").mkdir(parents=True)
    for split in ("train", "eval"):
        name = Path("freshretailnet") / "data" / f"{split}.parquet"
        pl.read_parquet(tiny_data_dir / name).filter(keep).write_parquet(out / name)
    shutil.copytree(tiny_data_dir / "logistics", out / "logistics")
    return out


@pytest.mark.slow
def test_one_product_network(tmp_path: Path, tiny_data_dir: Path) -> None:
    train = pl.read_parquet(tiny_data_dir / "freshretailnet" / "data" / "train.parquet")
    product = int(train["product_id"].to_numpy().min())
    data = _filtered(tiny_data_dir, tmp_path / "D", pl.col("product_id") == product)
    rama_run(data, tmp_path / "R")
    sp = pl.read_parquet(tmp_path / "R" / "problem" / "store_products.parquet")
    assert sp["product_id"].unique().to_list() == [product]


@pytest.mark.slow
def test_product_in_one_store_only(tmp_path: Path, tiny_data_dir: Path) -> None:
    train = pl.read_parquet(tiny_data_dir / "freshretailnet" / "data" / "train.parquet")
    wide, lone = train["product_id"].unique().sort().head(2).to_list()
    store = int(train.filter(pl.col("product_id") == lone)["store_id"].to_numpy().min())
    keep = (pl.col("product_id") == wide) | (
        (pl.col("product_id") == lone) & (pl.col("store_id") == store)
    )
    data = _filtered(tiny_data_dir, tmp_path / "D", keep)
    rama_run(data, tmp_path / "R")
    sp = pl.read_parquet(tmp_path / "R" / "problem" / "store_products.parquet")
    assert sp.filter(pl.col("product_id") == lone)["store_id"].to_list() == [store]


def test_rama_prepare_on_the_single_store_sample(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    """`rama prepare` on the repository's real sample (one store, one city, two products,
    five logistics rows): no traceback, one city, no store-to-store route, no outlier."""
    data, run = tmp_path / "D", tmp_path / "R"
    data.mkdir()
    shutil.copy(fresh_sample_csv, data / "train.csv")
    shutil.copy(logistics_sample_csv, data / "logistics.csv")
    result = CliRunner().invoke(app, ["prepare", "--data", str(data), "--out", str(run)])
    assert result.exit_code == 0, result.output
    cities = pl.read_csv(run / "prepared" / "city_supply_params.csv")
    assert cities.height == 1
    assert pl.read_parquet(run / "prepared" / "transport_cost_matrix.parquet").height == 0
    assert pl.read_csv(run / "prepared" / "outliers.csv").height == 0
