"""The planner's own data (docs/data.md, "Bring your own data"): a partial inventory file and
the optional lane-cost, product-cost and capacity tables, applied over the derived numbers
of a tiny run, and every table's bad inputs (file, column, count, fix and reason code)."""

from __future__ import annotations

import json
from math import sqrt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.config import load_config
from rama.errors import DataValidationError
from rama.optimize import solve
from rama.planning import run_plan
from rama.problem import (
    BuildReport,
    PlannerInputs,
    Problem,
    build_problem,
    build_run_problem,
    load_inputs,
    scenario_problem,
)
from rama.scenario_spec import Scenario
from rama.scenarios.reuse import problem_digest
from rama.testing import tiny_run_folder

Z95 = 1.6448536269514722
SS_1_7 = Z95 * 7.0 / sqrt(7) * 2.0  # store 1 product 7: std 7 over 7 days, lead time 4 days
SS_2_7 = Z95 * 1.0 / sqrt(7) * 2.0  # store 2 product 7: std 1


def csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def build(run: Path, **files: Path) -> tuple[Problem, BuildReport]:
    return build_run_problem(run, load_config(), PlannerInputs(**files))


def pair_values(problem: Problem, column: str) -> dict[tuple[int, int], float]:
    sp = problem.store_products
    return {
        (int(s), int(p)): float(v)
        for s, p, v in zip(sp["store_id"], sp["product_id"], sp[column], strict=True)
    }


# ----------------------------------------------------------------------------- inventory


def test_partial_inventory_unlisted_pairs_have_nothing(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n3,7,5\n1,7,2.5\n")
    problem, report = build(run, inventory=inv)
    assert pair_values(problem, "current_inventory") == {
        (1, 7): 2.5,
        (1, 8): 0.0,
        (2, 7): 0.0,
        (3, 7): 5.0,
    }
    assert (report.pairs_listed, report.pairs_unlisted) == (2, 2)
    # the old entry point reads the same file the same way
    assert build_problem(run, load_config(), inv).current_inventory.tolist() == (
        problem.current_inventory.tolist()
    )


def test_partial_inventory_recorded_in_manifest(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n1,7,20\n")
    cfg = load_config().with_overrides({"stochastic.points": 3, "evaluate.samples": 10})
    run_plan(run, cfg, inv)
    inputs = json.loads((run / "manifest.json").read_text())["optimize_inputs"]
    assert inputs["inventory_file"] == str(inv.resolve())
    assert inputs["inventory"] == "file"
    assert (inputs["pairs"], inputs["pairs_listed"], inputs["pairs_unlisted"]) == (4, 1, 3)
    assert inputs["lane_costs_file"] is None and inputs["capacities_rows"] is None
    # later stages read RUN/problem/: the same numbers
    written = pl.read_parquet(run / "problem" / "store_products.parquet")
    held = written.filter(pl.col("current_inventory") > 0).select(
        "store_id", "product_id", "current_inventory"
    )
    assert held.rows() == [(1, 7, 20.0)]


def test_inventory_row_outside_the_forecast_is_an_error(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n1,7,2\n4,7,1\n")
    with pytest.raises(DataValidationError) as info:
        build(run, inventory=inv)
    err = info.value
    assert err.reason == "unknown_id" and err.count == 1
    assert err.examples[0]["store_id"] == 4 and err.examples[0]["line"] == 3
    assert str(inv) in str(err) and "Fix:" in str(err)


# ----------------------------------------------------------------------------- applied tables


def hand_costs(tmp_path: Path) -> Path:
    """Both products: no production, stockout $10/unit, holding $1/unit."""
    return csv(
        tmp_path,
        "products.csv",
        "product_id,holding_cost,stockout_penalty,manufacturing_cost,max_production\n"
        "7,1,10,100,0\n8,1,10,100,0\n",
    )


def test_lane_cost_replaced_changes_the_plan(tmp_path: Path) -> None:
    """Store 1 holds 30 of product 7 (demand 14, safety stock 8.7: 21.3 shippable), store 3
    none (demand 21). Shipping a unit 1 -> 3 saves $10 stockout and $1 holding; product 8 at
    store 1 (7 demanded, none on hand, no production) stocks out: $70 in every plan."""
    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n1,7,30\n")
    costs = hand_costs(tmp_path)
    base, _ = build(run, inventory=inv, product_costs=costs)
    cheap = csv(tmp_path, "cheap.csv", "from_store_id,to_store_id,cost\n1,3,0.5\n")
    dear = csv(tmp_path, "dear.csv", "from_store_id,to_store_id,cost\n1,3,20\n")
    closed = csv(tmp_path, "closed.csv", "from_store_id,to_store_id,cost,open\n1,3,,0\n")
    assert max(SS_1_7, 0) < 30 - 16  # all 16 surplus units may ship (C2)
    # derived city cost 0 -> 5 is 1.2: ship the 16 surplus units
    expected = {
        None: 16 * 1.2 + (21 - 16) * 10 + 70,
        cheap: 16 * 0.5 + (21 - 16) * 10 + 70,
        dear: 21 * 10 + 16 * 1 + 70,  # dearer than the stockout it saves: keep and hold
        closed: 21 * 10 + 16 * 1 + 70,
    }
    for lanes, total in expected.items():
        problem, report = build(
            run, inventory=inv, product_costs=costs, **({"lane_costs": lanes} if lanes else {})
        )
        plan = solve(problem)
        assert plan.objective == pytest.approx(total), lanes
        if lanes is not None:
            assert report.lane_costs_rows == 1
    problem, report = build(run, inventory=inv, product_costs=costs, lane_costs=closed)
    assert (report.lanes_set, report.lanes_closed) == (0, 1)
    s1, s3 = 0, 2  # store positions
    assert np.isinf(problem.transport.pairs(np.array([s1]), np.array([s3])))[0]
    # unlisted lanes keep the derived cost
    assert problem.transport.pairs(np.array([s3]), np.array([s1]))[0] == pytest.approx(0.9)
    assert base.transport.pairs(np.array([s1]), np.array([s3]))[0] == pytest.approx(1.2)


def test_city_lane_costs_set_every_store_lane(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    lanes = csv(tmp_path, "lanes.csv", "from_city_id,to_city_id,cost\n0,5,0.3\n0,0,0.01\n")
    problem, report = build(run, lane_costs=lanes)
    t = problem.transport
    # stores 1, 2 are in city 0, stores 3, 4 in city 5 (positions 0..3)
    assert t.pairs(np.array([0, 0, 1, 1]), np.array([2, 3, 2, 3])).tolist() == [0.3] * 4
    assert t.pairs(np.array([0, 1]), np.array([1, 0])).tolist() == [0.01, 0.01]
    assert t.pairs(np.array([2]), np.array([0]))[0] == pytest.approx(0.9)  # unlisted
    assert (report.lane_costs_rows, report.lanes_set, report.lanes_closed) == (2, 6, 0)


def test_store_lanes_on_the_long_transport_form(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path, city_form=False)  # routes 1->2, 2->1, 3->1
    lanes = csv(
        tmp_path, "lanes.csv", "from_store_id,to_store_id,cost,open\n1,2,0.7,1\n3,1,,0\n1,4,2,1\n"
    )
    problem, _ = build(run, lane_costs=lanes)
    f, t, c = problem.transport.to_long()
    assert sorted(zip(f.tolist(), t.tolist(), c.tolist(), strict=True)) == [
        (0, 1, 0.7),
        (0, 3, 2.0),
        (1, 0, 0.05),
    ]


def test_product_costs_replace_the_config(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    base, _ = build(run)
    costs = csv(
        tmp_path, "products.csv", "product_id,stockout_penalty,max_production\n8,99,inf\n7,,3\n"
    )
    problem, report = build(run, product_costs=costs)
    new, old = problem.products, base.products
    assert new["stockout_penalty"].to_list() == [old["stockout_penalty"][0], 99.0]
    assert new["max_production"].to_list() == [3.0, float("inf")]
    assert new["holding_cost"].equals(old["holding_cost"])
    assert report.product_costs_rows == 2


def test_capacities_replace_the_rule(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    base, _ = build(run)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n1,7,30\n")
    caps = csv(tmp_path, "caps.csv", "store_id,product_id,max_capacity\n1,7,5\n3,7,inf\n")
    problem, report = build(run, inventory=inv, capacities=caps)
    got, old = pair_values(problem, "max_capacity"), pair_values(base, "max_capacity")
    assert got == {(1, 7): 5.0, (1, 8): old[(1, 8)], (2, 7): old[(2, 7)], (3, 7): float("inf")}
    assert (report.capacities_rows, report.capacity_must_ship) == (2, 1)
    plan = solve(problem)  # 30 - 14 = 16 left, room for 5: 11 units must leave store 1
    assert float(plan.t_qty.sum()) >= 11 - 1e-6


def test_scenarios_keep_the_planners_capacities(tmp_path: Path) -> None:
    """A capacity the planner gave is a fact every scenario keeps; the rule's capacities follow
    the scenario's demand; the base scenario's problem is the run's problem, value for value."""
    run = tiny_run_folder(tmp_path)
    caps = csv(tmp_path, "caps.csv", "store_id,product_id,max_capacity\n1,7,40\n")
    costs = csv(tmp_path, "products.csv", "product_id,max_production,holding_cost\n7,3,\n8,,1\n")
    cfg = load_config().with_overrides({"stochastic.points": 3, "evaluate.samples": 10})
    run_plan(run, cfg, capacities=caps, product_costs=costs)
    given = pl.read_parquet(run / "problem" / "planner_given.parquet")
    assert sorted(given.rows()) == [("max_capacity", 1, 7), ("max_production", None, 7)]
    inputs = load_inputs(run / "problem", cfg)
    base = inputs.base
    same = scenario_problem(inputs, Scenario("base"))
    assert problem_digest(same, "centralized_lp") == problem_digest(base, "centralized_lp")
    shock = scenario_problem(inputs, Scenario("up", forecast_demand=1.5))
    cap, cap0 = pair_values(shock, "max_capacity"), pair_values(base, "max_capacity")
    assert cap[(1, 7)] == cap0[(1, 7)] == 40.0  # the planner's shelf
    for key in set(cap) - {(1, 7)}:  # the rule's: more demand, more room
        assert cap[key] > cap0[key]
    prod = dict(zip(shock.product_ids.tolist(), shock.max_production.tolist(), strict=True))
    prod0 = dict(zip(base.product_ids.tolist(), base.max_production.tolist(), strict=True))
    assert prod[7] == prod0[7] == 3.0  # the planner's plant
    assert prod[8] == pytest.approx(1.5 * prod0[8], rel=1e-12)  # the rule: x network demand
    # a folder without the table (an older rama): every capacity is the rule's
    (run / "problem" / "planner_given.parquet").unlink()
    old = scenario_problem(load_inputs(run / "problem", cfg), Scenario("up", forecast_demand=1.5))
    assert old.max_production.tolist()[0] != 3.0


def test_capacity_no_plan_can_respect_is_reported(tmp_path: Path) -> None:
    """Store 2 (demand 0, safety stock 1.24) holds 10 of product 7: it may ship at most
    10 - 1.24, so 1.24 units stay whatever the plan; a capacity of 1 cannot hold them."""
    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n2,7,10\n")
    caps = csv(tmp_path, "caps.csv", "store_id,product_id,max_capacity\n2,7,1\n")
    with pytest.raises(DataValidationError) as info:
        build(run, inventory=inv, capacities=caps)
    err = info.value
    assert err.reason == "out_of_range" and err.column == "max_capacity" and err.count == 1
    assert err.examples[0]["least_capacity"] == pytest.approx(SS_2_7)
    assert str(caps) in str(err) and "raise max_capacity" in str(err)


# ----------------------------------------------------------------------------- bad inputs

# table -> (keyword, header, a good row, a row with an unknown id, the value column)
TABLES = {
    "inventory": ("inventory", "store_id,product_id,on_hand", "1,7,2", "9,7,1", "on_hand"),
    "lane_costs": ("lane_costs", "from_store_id,to_store_id,cost", "1,3,0.5", "1,9,1", "cost"),
    "product_costs": (
        "product_costs",
        "product_id,holding_cost,stockout_penalty",
        "7,1,2",
        "99,1,2",
        "holding_cost",
    ),
    "capacities": (
        "capacities",
        "store_id,product_id,max_capacity",
        "1,7,50",
        "2,8,1",
        "max_capacity",
    ),
}


def value_row(good: str, header: str, column: str, value: str) -> str:
    cells = good.split(",")
    cells[header.split(",").index(column)] = value
    return ",".join(cells)


def expect(
    run: Path, keyword: str, path: Path, reason: str, column: str | None, count: int | None
) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        build(run, **{keyword: path})
    err = info.value
    msg = str(err)
    assert err.reason == reason, msg
    assert str(path) in msg, msg
    assert "Fix:" in msg, msg
    if column is not None:
        assert err.column == column and f"column {column!r}" in msg, msg
    if count is not None:
        assert err.count == count and f"({count} row" in msg, msg
    return err


@pytest.mark.parametrize("table", list(TABLES))
def test_bad_inputs(tmp_path: Path, table: str) -> None:
    run = tiny_run_folder(tmp_path)
    keyword, header, good, unknown, col = TABLES[table]
    key = header.split(",")[0]
    missing = key if table == "product_costs" else col  # product costs: any cost column
    cases: dict[str, tuple[str | bytes, str, str | None, int | None]] = {
        "missing_column": (
            header.replace(missing, "something_else") + f"\n{good}\n",
            "missing_column",
            missing,
            None,
        ),
        "non_number": (
            f"{header}\n{good}\n{value_row(good, header, col, 'lots')}\n",
            "not_parsable",
            col,
            1,
        ),
        "negative": (
            f"{header}\n{value_row(good, header, col, '-1')}\n",
            "negative",
            col,
            1,
        ),
        "duplicate_key": (f"{header}\n{good}\n{good}\n", "duplicate_key", key, 2),
        "unknown_id": (f"{header}\n{good}\n{unknown}\n", "unknown_id", None, 1),
        "empty_file": ("", "empty", None, None),
        "header_only": (f"{header}\n", "empty", None, None),
        "not_utf8": (f"{header}\n{good}\n".encode() + b"\xe9\xff,1,2\n", "unreadable", None, None),
    }
    for name, (text, reason, column, count) in cases.items():
        path = tmp_path / f"{table}-{name}.csv"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        err = expect(run, keyword, path, reason, column, count)
        if name in ("non_number", "negative", "unknown_id"):
            assert err.examples and "line" in err.examples[0], name
        if name == "not_utf8":
            assert "UTF-8" in str(err) and "line 3" in str(err)
    absent = tmp_path / f"{table}-absent.csv"
    expect(run, keyword, absent, "not_found", None, None)


def test_lane_table_specific_errors(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    cases = {
        "inf": ("from_store_id,to_store_id,cost\n1,3,inf\n", "infinite", "cost", 1),
        "nan": ("from_store_id,to_store_id,cost\n1,3,NaN\n", "nan", "cost", 1),
        "blank_open": ("from_store_id,to_store_id,cost\n1,3,\n", "null", "cost", 1),
        "self": ("from_store_id,to_store_id,cost\n1,1,0.2\n", "out_of_range", "to_store_id", 1),
        "open_flag": (
            "from_store_id,to_store_id,cost,open\n1,3,0.2,2\n",
            "out_of_range",
            "open",
            1,
        ),
        "unknown_city": ("from_city_id,to_city_id,cost\n0,7,1\n", "unknown_id", "to_city_id", 1),
        "neither": ("from,to,cost\n1,3,1\n", "missing_column", "from_store_id", None),
        "both": (
            "from_store_id,to_store_id,from_city_id,to_city_id,cost\n1,3,0,5,1\n",
            "unexpected_column",
            "from_store_id",
            None,
        ),
    }
    for name, (text, reason, column, count) in cases.items():
        path = csv(tmp_path, f"lanes-{name}.csv", text)
        expect(run, "lane_costs", path, reason, column, count)


def test_product_table_specific_errors(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    cases = {
        "no_cost_column": ("product_id,colour\n7,red\n", "missing_column", "holding_cost", None),
        "inf_holding": ("product_id,holding_cost\n7,inf\n", "infinite", "holding_cost", 1),
    }
    for name, (text, reason, column, count) in cases.items():
        path = csv(tmp_path, f"products-{name}.csv", text)
        expect(run, "product_costs", path, reason, column, count)


def test_parquet_tables_are_read(tmp_path: Path) -> None:
    run = tiny_run_folder(tmp_path)
    path = tmp_path / "caps.parquet"
    pl.DataFrame({"store_id": [1], "product_id": [8], "max_capacity": [3.0]}).write_parquet(path)
    problem, report = build(run, capacities=path)
    assert pair_values(problem, "max_capacity")[(1, 8)] == 3.0
    assert report.capacities_rows == 1


def test_cli_optimize_takes_the_four_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rama.cli import app

    run = tiny_run_folder(tmp_path)
    inv = csv(tmp_path, "inv.csv", "store_id,product_id,on_hand\n1,7,30\n")
    lanes = csv(tmp_path, "lanes.csv", "from_store_id,to_store_id,cost\n1,3,0.5\n")
    costs = hand_costs(tmp_path)
    caps = csv(tmp_path, "caps.csv", "store_id,product_id,max_capacity\n3,7,100\n")
    args = ["optimize", "--run", str(run), "--inventory", str(inv), "--lane-costs", str(lanes)]
    args += ["--product-costs", str(costs), "--capacities", str(caps)]
    args += ["--set", "stochastic.points=3", "--set", "evaluate.samples=10"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "1 pairs listed, 3 forecast pairs not listed (0 on hand)" in out
    assert "lane costs" in out and "capacities" in out
    inputs = json.loads((run / "manifest.json").read_text())["optimize_inputs"]
    for key, path in {
        "inventory_file": inv,
        "lane_costs_file": lanes,
        "product_costs_file": costs,
        "capacities_file": caps,
    }.items():
        assert inputs[key] == str(path.resolve())
    rows = (inputs["lane_costs_rows"], inputs["product_costs_rows"], inputs["capacities_rows"])
    assert rows == (1, 2, 1)
    # the written problem (what evaluation and scenarios read) carries the replaced numbers
    products = pl.read_parquet(run / "problem" / "products.parquet")
    assert products["stockout_penalty"].to_list() == [10.0, 10.0]
    bad = CliRunner().invoke(
        app,
        [
            "optimize",
            "--problem",
            str(run),
            "--out",
            str(tmp_path / "o"),
            "--capacities",
            str(caps),
        ],
    )
    assert bad.exit_code != 0 and "--capacities goes with --run" in " ".join(bad.output.split())
