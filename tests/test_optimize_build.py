"""build_problem / run_plan on hand-made run folders."""

from __future__ import annotations

import json
from math import sqrt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.errors import DataValidationError, StageInputError
from rama.planning import run_plan
from rama.problem import build_problem, load_problem
from rama.rules import safety_stock
from rama.testing import tiny_run_folder

Z95 = 1.6448536269514722


def test_safety_stock_formula() -> None:
    ss = safety_stock(np.array([7.0, 0.0]), np.array([4.0, 9.0]), 0.95, 7)
    assert ss[0] == pytest.approx(Z95 * 7.0 / sqrt(7) * 2.0)
    assert ss[1] == 0.0


def test_build_problem_tables(tmp_path: Path) -> None:
    cfg = load_config()
    pb = build_problem(tiny_run_folder(tmp_path), cfg)
    sp = pb.store_products.sort("store_id", "product_id")
    assert sp["safety_stock"].to_list() == pytest.approx(
        [Z95 * 7 / sqrt(7) * 2, 0.0, Z95 * 1 / sqrt(7) * 2, Z95 * 3.5 / sqrt(7) * 3]
    )
    d, s = sp["demand"].to_numpy(), sp["safety_stock"].to_numpy()
    assert sp["max_capacity"].to_list() == pytest.approx(np.maximum(2 * (d + s), 1.0).tolist())
    inv = sp["current_inventory"].to_numpy()
    assert np.all((inv >= 0) & (inv <= 2 * d + 0.05))
    assert np.allclose(inv * 10, np.round(inv * 10))
    assert pb.products["holding_cost"].to_list() == pytest.approx([0.7, 0.7])
    assert pb.products["max_production"].to_list() == pytest.approx([1.5 * 35.0, 1.5 * 7.0])
    assert pb.stores["city_id"].to_list() == [0, 0, 5, 5]
    costs = pb.transport.block(np.arange(4), np.arange(4))
    assert costs[0, 1] == pytest.approx(0.05) and costs[0, 2] == pytest.approx(1.2)
    assert costs[2, 0] == pytest.approx(0.9) and np.isinf(np.diag(costs)).all()
    again = build_problem(tiny_run_folder(tmp_path / "b"), cfg)
    assert again.store_products.equals(pb.store_products)  # seeded
    other = build_problem(tiny_run_folder(tmp_path / "c"), cfg.with_overrides({"run.seed": 3}))
    assert not np.array_equal(other.current_inventory, pb.current_inventory)


def test_long_transport_fallback(tmp_path: Path) -> None:
    pb = build_problem(tiny_run_folder(tmp_path, city_form=False), load_config())
    assert pb.transport.n_routes() == 3
    assert pb.transport.pairs(np.array([2]), np.array([0])).tolist() == [0.9]


def test_user_inventory_file(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    good = pl.DataFrame(
        {"store_id": [3, 1, 1, 2], "product_id": [7, 7, 8, 7], "on_hand": [1.0, 2.0, 3.0, 4.0]}
    )
    good.write_csv(tmp_path / "inv.csv")
    pb = build_problem(run, load_config(), tmp_path / "inv.csv")
    sp = pb.store_products.sort("store_id", "product_id")
    assert sp["current_inventory"].to_list() == [2.0, 3.0, 4.0, 1.0]
    # a partial file: the pair it does not list has nothing on hand
    good.head(3).write_csv(tmp_path / "partial.csv")
    part = build_problem(run, load_config(), tmp_path / "partial.csv")
    listed = {(r[0], r[1]): r[2] for r in good.head(3).iter_rows()}
    for r in part.store_products.iter_rows(named=True):
        key = (r["store_id"], r["product_id"])
        assert r["current_inventory"] == listed.get(key, 0.0)
    cases = {
        "negative": (
            good.with_columns(pl.Series("on_hand", [1.0, -2.0, 3.0, 4.0])),
            "finite number >= 0",
        ),
        "extra": (
            pl.concat([good, pl.DataFrame({"store_id": [4], "product_id": [7], "on_hand": [1.0]})]),
            "not in the forecast",
        ),
        "duplicate": (pl.concat([good, good.head(1)]), "duplicate"),
        "column": (good.rename({"on_hand": "stock"}), "missing column"),
    }
    for name, (frame, message) in cases.items():
        path = tmp_path / f"{name}.csv"
        frame.write_csv(path)
        with pytest.raises(DataValidationError, match=message) as err:
            build_problem(run, load_config(), path)
        assert str(path) in str(err.value)


def test_missing_inputs(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    (run / "forecast" / "horizon_demand.parquet").unlink()
    with pytest.raises(StageInputError, match="rama forecast"):
        build_problem(run, load_config())
    run = tiny_run_folder(tmp_path / "x")
    pl.DataFrame({"store_id": [1], "city_id": [0]}).write_csv(
        run / "prepared" / "store_supply_params.csv"
    )
    with pytest.raises(DataValidationError, match="lead_time_days_mean"):
        build_problem(run, load_config())


def test_run_plan_writes_problem_and_plan(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    summary = run_plan(run, load_config(), threads=1).recommended
    assert summary.status == "optimal" and summary.summary["check"] == "passed"
    back = load_problem(run / "problem")
    assert back.n_pairs == 4 and "city_id" in back.stores.columns
    sl = pl.read_csv(run / "plan" / "service_level.csv")
    assert set(sl["level"]) == {"network", "city", "store", "product"}
    manifest = json.loads((run / "manifest.json").read_text())
    assert "optimize" in manifest["stages"]


def test_problem_from_the_real_samples(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    """Real rows: store 0's two products (horizon demand = 7 x mean daily sales) and the
    logistics sample's mean lead time; one store, so the plan covers deficits by production."""
    daily = (
        pl.read_csv(fresh_sample_csv)
        .group_by("store_id", "product_id")
        .agg(
            (pl.col("sale_amount").mean() * 7).alias("demand"),
            (pl.col("sale_amount").std() * sqrt(7)).alias("demand_std"),
        )
    )
    lead = float(pl.read_csv(logistics_sample_csv)["lead_time_days"].to_numpy().mean())
    run = tmp_path / "run"
    (run / "forecast").mkdir(parents=True)
    (run / "prepared").mkdir()
    daily.write_parquet(run / "forecast" / "horizon_demand.parquet")
    (run / "forecast" / "forecast_summary.json").write_text(
        json.dumps({"first_day": "2024-06-26", "last_day": "2024-07-02"})
    )
    pl.DataFrame(
        {"store_id": [0], "city_id": [0], "lead_time_days_mean": [lead], "distribution_cost": [0.3]}
    ).write_csv(run / "prepared" / "store_supply_params.csv")
    pl.DataFrame({"from_city_id": [0], "to_city_id": [0], "cost": [0.05]}).write_csv(
        run / "prepared" / "city_transport_costs.csv"
    )
    cfg = load_config(overrides={"plan.strategy": "centralized_lp"})
    summary = run_plan(run, cfg, threads=1).recommended
    sp = pl.read_csv(run / "plan" / "store_product_plan.csv")
    assert sp["product_id"].sort().to_list() == [38, 834]
    short = (sp["demand"] - sp["current_inventory"]).clip(lower_bound=0)
    # allocation ($1 + $0.30) is cheaper than a stockout ($2.50): every deficit is produced
    assert sp["allocated"].to_list() == pytest.approx(short.to_list())
    assert summary.fill_rate == pytest.approx(1.0)
    assert summary.number_of_transfers == 0
