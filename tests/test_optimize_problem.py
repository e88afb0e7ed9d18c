"""The problem folder: schema validation with clear errors, round trips, transport forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama.errors import DataValidationError
from rama.optimize import solve
from rama.problem import TransportCosts, load_problem, make_problem, write_problem
from rama.testing import synthetic_problem
from rama.testing.synthetic import zipf_reach


def _tables(tmp_path: Path) -> Path:
    folder = tmp_path / "problem"
    folder.mkdir()
    pl.DataFrame(
        {
            "store_id": [10, 20, 20],
            "product_id": [1, 1, 2],
            "demand": [5.0, 1.0, 2.0],
            "demand_std": [1.0, 0.5, 0.5],
            "current_inventory": [0.0, 9.0, 1.0],
            "safety_stock": [1.0, 1.0, 0.0],
            "max_capacity": [20.0, 20.0, float("inf")],
        }
    ).write_csv(folder / "store_products.csv")
    pl.DataFrame(
        {
            "product_id": [1, 2],
            "holding_cost": [0.7, 0.7],
            "stockout_penalty": [2.5, 2.5],
            "manufacturing_cost": [1.0, 1.0],
            "max_production": [100.0, float("inf")],
        }
    ).write_csv(folder / "products.csv")
    pl.DataFrame({"store_id": [10, 20], "distribution_cost": [0.2, 0.3]}).write_parquet(
        folder / "stores.parquet"
    )
    pl.DataFrame(
        {"from_store_id": [20, 10], "to_store_id": [10, 20], "cost": [0.1, 0.1]}
    ).write_csv(folder / "transport_costs.csv")
    return folder


def test_load_and_solve_a_csv_parquet_folder(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    pb = load_problem(folder)
    assert pb.n_stores == 2 and pb.n_products == 2 and pb.n_pairs == 3
    assert pb.max_transfer_out.tolist() == [0.0, 8.0, 1.0]  # sorted by (product, store)
    plan = solve(pb, threads=1)
    # store 20 sends 5 of its 8 spare units of product 1 to store 10 at $0.10
    assert plan.t_qty.tolist() == pytest.approx([5.0])
    assert plan.cost_breakdown()["transport"] == pytest.approx(0.5)


def test_write_problem_round_trip(tmp_path: Path) -> None:
    pb = synthetic_problem(n_stores=30, n_products=8, n_pairs=100, seed=2)
    write_problem(pb, tmp_path / "p")
    back = load_problem(tmp_path / "p")
    assert back.n_pairs == pb.n_pairs
    assert back.transport.n_routes() == pb.transport.n_routes() == 30 * 29
    assert solve(back, threads=1).objective == pytest.approx(solve(pb, threads=1).objective)


def _break(folder: Path, name: str, frame: pl.DataFrame) -> None:
    for ext in ("csv", "parquet"):
        (folder / f"{name}.{ext}").unlink(missing_ok=True)
    frame.write_csv(folder / f"{name}.csv")


def test_missing_table(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    (folder / "products.csv").unlink()
    with pytest.raises(DataValidationError, match=r"missing table 'products'"):
        load_problem(folder)


def test_unknown_store_in_a_route(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    _break(
        folder,
        "transport_costs",
        pl.DataFrame({"from_store_id": [20, 99], "to_store_id": [10, 10], "cost": [0.1, 0.2]}),
    )
    with pytest.raises(DataValidationError) as err:
        load_problem(folder)
    msg = str(err.value)
    assert "transport_costs.csv" in msg and "from_store_id" in msg and "99" in msg
    assert err.value.count == 1


def test_negative_cost(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    _break(
        folder,
        "transport_costs",
        pl.DataFrame({"from_store_id": [20], "to_store_id": [10], "cost": [-0.1]}),
    )
    with pytest.raises(DataValidationError, match=r"negative value.*cost must be >= 0"):
        load_problem(folder)


def test_nan_and_missing_values(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    sp = pl.read_csv(folder / "store_products.csv").with_columns(
        pl.Series("demand", [5.0, float("nan"), 2.0])
    )
    _break(folder, "store_products", sp)
    with pytest.raises(DataValidationError, match=r"'demand': NaN value") as err:
        load_problem(folder)
    assert err.value.reason == "nan"
    assert err.value.examples[0]["row"] == 1 and err.value.examples[0]["line"] == 3  # 2nd row
    sp = sp.with_columns(pl.Series("demand", [5.0, None, 2.0]))
    _break(folder, "store_products", sp)
    with pytest.raises(DataValidationError, match="missing value"):
        load_problem(folder)


def test_missing_column_duplicates_text_and_unknown_product(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    sp = pl.read_csv(folder / "store_products.csv")
    _break(folder, "store_products", sp.drop("safety_stock"))
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['safety_stock'\]"):
        load_problem(folder)
    _break(folder, "store_products", pl.concat([sp, sp.head(1)]))
    with pytest.raises(DataValidationError, match="duplicate store_id/product_id"):
        load_problem(folder)
    _break(
        folder,
        "store_products",
        sp.with_columns(pl.col("demand").cast(pl.String).replace("5.0", "five")),
    )
    with pytest.raises(DataValidationError, match="cannot be read as a number"):
        load_problem(folder)
    _break(folder, "store_products", sp.with_columns(pl.Series("product_id", [1, 1, 3])))
    with pytest.raises(DataValidationError, match="product_id not found in the product table"):
        load_problem(folder)


def test_infinite_only_where_allowed(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    pr = pl.read_csv(folder / "products.csv").with_columns(
        pl.Series("holding_cost", [0.7, float("inf")])
    )
    _break(folder, "products", pr)
    with pytest.raises(DataValidationError, match="infinite value"):
        load_problem(folder)


def test_self_routes_are_ignored_and_dense_nan_means_no_route() -> None:
    pb = synthetic_problem(n_stores=6, n_products=2, n_pairs=8, seed=1)
    m = np.full((6, 6), np.nan)
    m[0, 1] = 0.0  # a free route is still a route
    tc = TransportCosts.from_dense(m)
    assert tc.n_routes() == 1
    assert tc.pairs(np.array([0, 1, 2]), np.array([1, 0, 2])).tolist() == [0.0, np.inf, np.inf]
    long = TransportCosts.from_long(
        6, np.array([0, 2, 3]), np.array([1, 2, 4]), np.array([0.0, 5.0, 1.0])
    )
    assert long.csr is not None and long.n_routes() == 2  # (2, 2) dropped, zero kept
    assert long.pairs(np.array([0, 3, 4]), np.array([1, 4, 3])).tolist() == [0.0, 1.0, np.inf]
    assert long.block(np.array([0, 3]), np.array([1, 4, 0])).tolist() == [
        [0.0, np.inf, np.inf],
        [np.inf, 1.0, np.inf],
    ]
    with pytest.raises(DataValidationError, match="negative transport cost"):
        make_problem(
            pb.store_products.drop("store_idx", "product_idx"),
            pb.products,
            pb.stores,
            -np.ones((6, 6)),
        )
    with pytest.raises(DataValidationError, match="matrix is for 5 stores"):
        make_problem(
            pb.store_products.drop("store_idx", "product_idx"),
            pb.products,
            pb.stores,
            np.ones((5, 5)),
        )


def test_generator_shape() -> None:
    reach = zipf_reach(865, 898, 50_000)
    assert reach.sum() == 50_000
    assert reach.max() == 898 and np.median(reach) < 60 and (reach >= 200).sum() >= 10
    pb = synthetic_problem(n_stores=50, n_products=20, n_pairs=300, seed=4)
    assert pb.n_pairs == 300 and pb.transport.n_routes() == 50 * 49
    again = synthetic_problem(n_stores=50, n_products=20, n_pairs=300, seed=4)
    assert pb.store_products.equals(again.store_products)


def test_stochastic_problem_round_trips_through_a_folder(tmp_path: Path) -> None:
    from rama.problem.stochastic import stochastic_problem

    pb = synthetic_problem(n_stores=12, n_products=3, n_pairs=24, seed=4)
    rng = np.random.default_rng(4)
    sp = stochastic_problem(pb, pb.demand[:, None] * rng.gamma(2.0, 0.5, (pb.n_pairs, 4)))
    write_problem(sp, tmp_path / "sto")
    back = load_problem(tmp_path / "sto")
    assert back.demand_points is not None and sp.demand_points is not None
    assert np.allclose(back.demand_points, sp.demand_points, rtol=0, atol=1e-12)
    assert np.allclose(back.demand, sp.demand) and np.allclose(back.max_capacity, sp.max_capacity)
    assert solve(back, threads=1).objective == pytest.approx(solve(sp, threads=1).objective)
    # a deterministic problem writes no points
    write_problem(pb, tmp_path / "det")
    assert load_problem(tmp_path / "det").demand_points is None
    assert not (tmp_path / "det" / "demand_points.parquet").exists()


def test_bad_demand_points_table_names_the_file_and_rows(tmp_path: Path) -> None:
    from rama.problem.stochastic import stochastic_problem

    pb = synthetic_problem(n_stores=8, n_products=2, n_pairs=10, seed=1)
    sp = stochastic_problem(pb, np.repeat(pb.demand[:, None], 3, axis=1))
    write_problem(sp, tmp_path / "p")
    path = tmp_path / "p" / "demand_points.parquet"
    pts = pl.read_parquet(path)
    pts.slice(1).write_parquet(path)  # the first pair lost its points
    with pytest.raises(DataValidationError, match="without demand points") as err:
        load_problem(tmp_path / "p")
    assert err.value.count == 1 and "demand_points" in str(err.value)
    pts.with_columns(pl.lit(-1.0).alias("point_2")).write_parquet(path)
    with pytest.raises(DataValidationError, match="finite and >= 0"):
        load_problem(tmp_path / "p")
    pts.drop("point_2").write_parquet(path)  # point_1, point_3: a gap
    with pytest.raises(DataValidationError, match=r"point_1\.\.point_K"):
        load_problem(tmp_path / "p")
