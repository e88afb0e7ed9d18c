"""The prepare stage: hand-computed kernels, clustering and mapping rules, end to end."""

from __future__ import annotations

import json
import math
import re
import shutil
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rama.cli import app
from rama.config import load_config
from rama.errors import DataValidationError, StageInputError
from rama.prepare import (
    PrepareResult,
    city_transport_costs,
    cluster_logistics,
    haversine_km,
    map_cities,
    pairwise_km,
    plant_location,
    prepare,
    store_product_params,
    store_supply_params,
    store_transport_matrix,
    transport_cost_kernel,
)
from rama.prepare.clustering import LAT, LON, SUPPLY_STATS
from rama.prepare.demand import DAILY_COLUMNS, is_sorted_by, store_product_daily
from rama.run_manifest import read_manifest, update_manifest
from rama.schema import DataWarning

R = 6371.0088
DEG_KM = R * math.pi / 180  # 111.19508 km per degree of a great circle

TRANSPORT = {
    "shipment_size_units": 400.0,
    "reference_distance_km": 1000.0,
    "within_city_handling_cost": 0.05,
    "risk_premium": 0.0,
}

# ----------------------------------------------------------------------------- geometry


def test_haversine_hand_computed() -> None:
    assert haversine_km(0, 0, 0, 1) == pytest.approx(111.19508, rel=1e-6)
    assert haversine_km(0, 0, 0, 90) == pytest.approx(10007.557, rel=1e-6)
    assert haversine_km(90, 0, -90, 0) == pytest.approx(20015.115, rel=1e-6)
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.19508, rel=1e-6)
    # along the 60th parallel: 2R asin(cos 60 sin 0.5 deg) = 55.5970 km
    assert haversine_km(60, 0, 60, 1) == pytest.approx(55.5970, rel=1e-5)
    assert haversine_km(40.7, -74.0, 40.7, -74.0) == 0.0
    d = haversine_km([0, 0], [0, 0], [0, 1], [1, 0])
    np.testing.assert_allclose(d, [DEG_KM, DEG_KM])


coords = st.tuples(st.floats(-89.9, 89.9), st.floats(-179.9, 179.9))


@settings(max_examples=60, deadline=None)
@given(coords, coords, coords)
def test_haversine_is_a_metric(a: tuple, b: tuple, c: tuple) -> None:
    ab, ba = haversine_km(*a, *b), haversine_km(*b, *a)
    assert ab == pytest.approx(ba, abs=1e-9)
    assert 0.0 <= ab <= math.pi * R + 1e-6
    assert haversine_km(*a, *c) <= ab + haversine_km(*b, *c) + 1e-6


def test_pairwise_km_symmetric_zero_diagonal() -> None:
    d = pairwise_km([0.0, 0.0, 10.0], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(np.diag(d), 0.0)
    np.testing.assert_allclose(d, d.T)
    assert d[0, 1] == pytest.approx(DEG_KM)
    assert d[0, 2] == pytest.approx(10 * DEG_KM)


def test_plant_location() -> None:
    lat, lon = np.array([30.0, 40.0, 50.0]), np.array([-100.0, -90.0, -80.0])
    w = np.array([1.0, 1.0, 2.0])
    assert plant_location("demand_weighted_centroid", lat, lon, w) == pytest.approx((42.5, -87.5))
    assert plant_location("demand_weighted_centroid", lat, lon, np.zeros(3)) == pytest.approx(
        (40.0, -90.0)
    )
    assert plant_location("39.5,-95.0", lat, lon, w) == (39.5, -95.0)


# ----------------------------------------------------------------------------- transport


def three_cities(risk: tuple[float, float, float] = (2.0, 4.0, 10.0)) -> pl.DataFrame:
    """Cities on the equator at longitudes 0, 1 and 3 (distances 1, 2 and 3 degrees)."""
    return pl.DataFrame(
        {
            "city_id": [7, 8, 9],
            "latitude": [0.0, 0.0, 0.0],
            "longitude": [0.0, 1.0, 3.0],
            "shipping_costs_mean": [400.0, 800.0, 200.0],
            "route_risk_level_mean": list(risk),
        }
    )


def test_city_costs_hand_computed() -> None:
    costs = city_transport_costs(three_cities(), TRANSPORT)
    assert costs.height == 9
    c = {(a, b): (d, x) for a, b, d, x in costs.iter_rows()}
    assert c[(7, 7)] == (0.0, 0.05)
    d01, c01 = c[(7, 8)]
    assert d01 == pytest.approx(DEG_KM)
    # 0.05 + 400 $/shipment / 400 units * 111.195 km / 1000 km
    assert c01 == pytest.approx(0.05 + 1.0 * 0.1111951)
    assert c[(8, 7)][1] == pytest.approx(0.05 + 2.0 * 0.1111951)  # origin's cluster pays
    assert c[(9, 7)][1] == pytest.approx(0.05 + 0.5 * 0.3335852)
    assert c[(8, 9)][0] == pytest.approx(2 * DEG_KM)


def test_risk_premium_multiplies_origin_risk() -> None:
    costs = city_transport_costs(three_cities(), TRANSPORT | {"risk_premium": 0.5})
    c = {(a, b): x for a, b, _, x in costs.iter_rows()}
    assert c[(7, 8)] == pytest.approx((0.05 + 0.1111951) * (1 + 0.5 * 2 / 10))
    assert c[(9, 9)] == pytest.approx(0.05 * (1 + 0.5 * 10 / 10))


def test_store_matrix_from_city_matrix() -> None:
    city_costs = city_transport_costs(three_cities(), TRANSPORT)
    stores = pl.DataFrame({"store_id": [13, 10, 11, 12], "city_id": [9, 7, 7, 8]})
    m = store_transport_matrix(stores, city_costs)
    assert m.height == 4 * 3
    assert m.columns == [
        "from_store_id",
        "to_store_id",
        "from_city_id",
        "to_city_id",
        "distance_km",
        "cost",
    ]
    assert (m["from_store_id"] != m["to_store_id"]).all()
    assert m.select("from_store_id", "to_store_id").rows()[:3] == [(10, 11), (10, 12), (10, 13)]
    row = {(a, b): (d, x) for a, b, _, _, d, x in m.iter_rows()}
    assert row[(10, 11)] == (0.0, 0.05)  # same city: handling only
    assert row[(10, 12)][1] == pytest.approx(0.05 + 0.1111951)
    assert row[(13, 10)][1] == pytest.approx(0.05 + 0.5 * 0.3335852)


def test_kernel_zero_distance_is_handling_only() -> None:
    d = np.zeros((2, 2))
    cost = transport_cost_kernel(
        d,
        np.array([500.0, 500.0]),
        np.array([5.0, 5.0]),
        shipment_size_units=400,
        reference_distance_km=1000,
        within_city_handling_cost=0.05,
        risk_premium=0.0,
    )
    np.testing.assert_allclose(cost, 0.05)


# ----------------------------------------------------------------------------- demand params


def daily_frame() -> pl.DataFrame:
    """Series A (store 1, product 10, 4 days) and B (store 2, product 10, 2 zero days)."""
    n = 6
    base = {c: [0] * n for c in DAILY_COLUMNS}
    df = pl.DataFrame(base).with_columns(
        pl.Series("city_id", [3, 3, 3, 3, 4, 4]),
        pl.Series("store_id", [1, 1, 1, 1, 2, 2]),
        pl.Series("product_id", [10] * n),
        pl.Series("management_group_id", [5] * n),
        pl.Series("dt", [f"2024-01-0{d}" for d in (1, 2, 3, 4, 1, 2)]).str.to_date(),
        pl.Series("sale_amount", [1.0, 2.0, 3.0, 0.0, 0.0, 0.0]),
        pl.Series("stock_hour6_22_cnt", [0, 4, 16, 0, 0, 0], dtype=pl.Int32),
        pl.Series("discount", [1.0, 0.9, 1.0, 0.8, 1.0, 1.0]),
        pl.Series("holiday_flag", [0, 0, 1, 1, 0, 0], dtype=pl.Int32),
        pl.Series("activity_flag", [1, 0, 0, 0, 0, 0], dtype=pl.Int32),
    )
    return df


def test_pair_params_hand_computed() -> None:
    p = store_product_params(daily_frame())
    assert p.height == 2
    a, b = p.row(0, named=True), p.row(1, named=True)
    assert (a["store_id"], a["product_id"], a["city_id"], a["management_group_id"]) == (1, 10, 3, 5)
    assert a["n_days"] == 4
    assert a["mean_daily_sales"] == pytest.approx(1.5)
    assert a["std_daily_sales"] == pytest.approx(math.sqrt(5 / 3))  # ddof=1
    assert a["cv_daily_sales"] == pytest.approx(math.sqrt(5 / 3) / 1.5)
    assert a["total_sales"] == pytest.approx(6.0)
    assert a["stockout_day_share"] == pytest.approx(0.5)
    assert a["stockout_hour_share"] == pytest.approx(20 / 64)
    assert a["discount_day_share"] == pytest.approx(0.5)
    assert a["holiday_day_share"] == pytest.approx(0.5)
    assert a["promotion_day_share"] == pytest.approx(0.25)
    assert (b["n_days"], b["mean_daily_sales"], b["std_daily_sales"]) == (2, 0.0, 0.0)
    assert b["cv_daily_sales"] is None  # undefined for a zero mean
    assert b["total_sales"] == 0.0


# ----------------------------------------------------------------------------- clustering


def blobs(seed: int = 0, n: int = 60) -> pl.DataFrame:
    """Three tight GPS blobs (west, middle, east) with distinct shipping costs."""
    rng = np.random.default_rng(seed)
    centres = [(35.0, -100.0, 200.0), (45.0, -75.0, 300.0), (40.0, -120.0, 100.0)]
    parts = []
    for lat, lon, cost in centres:
        frame = {c: rng.uniform(0, 1, n) for c in SUPPLY_STATS}
        frame |= {
            LAT: lat + rng.normal(0, 0.3, n),
            LON: lon + rng.normal(0, 0.3, n),
            "shipping_costs": np.full(n, cost),
        }
        parts.append(pl.DataFrame(frame))
    return pl.concat(parts)


def test_kmeans_recovers_blobs_west_to_east() -> None:
    clusters, labels = cluster_logistics(blobs(), 3, seed=1, n_init=4)
    assert clusters["cluster_id"].to_list() == [0, 1, 2]
    assert clusters["n_points"].to_list() == [60, 60, 60]
    np.testing.assert_allclose(clusters["centroid_longitude"], [-120, -100, -75], atol=0.2)
    np.testing.assert_allclose(clusters["centroid_latitude"], [40, 35, 45], atol=0.2)
    assert clusters["shipping_costs_mean"].to_list() == [100.0, 200.0, 300.0]
    assert clusters["shipping_costs_std"].to_list() == [0.0, 0.0, 0.0]
    assert labels[:60].tolist() == [1] * 60  # first blob is the middle one


def test_kmeans_is_deterministic() -> None:
    data = blobs(seed=5, n=200).with_columns(
        pl.col(LAT) + pl.Series(np.random.default_rng(1).normal(0, 3, 600)),
        pl.col(LON) + pl.Series(np.random.default_rng(2).normal(0, 8, 600)),
    )
    a, la = cluster_logistics(data, 5, seed=42, n_init=3)
    b, lb = cluster_logistics(data, 5, seed=42, n_init=3)
    assert a.equals(b)
    np.testing.assert_array_equal(la, lb)
    assert a["centroid_longitude"].is_sorted()
    assert a["n_points"].sum() == 600


def test_too_few_points_for_the_cities() -> None:
    with pytest.raises(DataValidationError, match="cannot form 181 clusters"):
        cluster_logistics(blobs(), 181, seed=0, n_init=1, source="logi.csv")


def test_geographic_order_mapping() -> None:
    clusters, _ = cluster_logistics(blobs(), 3, seed=1, n_init=2)
    m = map_cities([9, 2, 5], clusters)
    assert m["city_id"].to_list() == [2, 5, 9]
    assert m["cluster_id"].to_list() == [0, 1, 2]  # ascending id <-> west to east
    assert set(m["mapping_method"]) == {"geographic_order"}
    np.testing.assert_allclose(m["longitude"], clusters["centroid_longitude"])


def test_city_locations_mapping_nearest_cluster() -> None:
    clusters, _ = cluster_logistics(blobs(), 3, seed=1, n_init=2)
    locations = pl.DataFrame(
        {
            "city_id": [1, 2, 3, 99],
            "latitude": [44.0, 41.0, 36.0, 0.0],
            "longitude": [-76.0, -118.0, -99.0, 0.0],
        }
    )
    m = map_cities([3, 1, 2], clusters, locations)
    assert m["city_id"].to_list() == [1, 2, 3]
    assert m["cluster_id"].to_list() == [2, 0, 1]
    assert m["latitude"].to_list() == [44.0, 41.0, 36.0]  # cities keep their own location
    assert set(m["mapping_method"]) == {"city_locations"}
    # two cities may share a cluster
    close = locations.with_columns(
        pl.lit(-119.0).alias("longitude"), pl.lit(40.0).alias("latitude")
    )
    assert map_cities([1, 2], clusters, close)["cluster_id"].to_list() == [0, 0]


def test_city_locations_missing_city() -> None:
    clusters, _ = cluster_logistics(blobs(), 3, seed=1, n_init=2)
    locations = pl.DataFrame({"city_id": [1], "latitude": [44.0], "longitude": [-76.0]})
    with pytest.raises(DataValidationError) as info:
        map_cities([1, 2, 3], clusters, locations, "cities.csv")
    msg = str(info.value)
    assert "cities.csv" in msg and "column 'city_id'" in msg
    assert "{'city_id': 2}" in msg and info.value.count == 2


def test_store_distribution_cost() -> None:
    cities = pl.DataFrame(
        {
            "city_id": [0, 1],
            "cluster_id": [0, 1],
            "mapping_method": ["city_locations"] * 2,
            "latitude": [0.0, 0.0],
            "longitude": [1.0, 2.0],
            "centroid_latitude": [0.0, 0.0],
            "centroid_longitude": [1.0, 2.0],
            "n_points": [1, 1],
            "shipping_costs_mean": [100.0, 200.0],
        }
    )
    pairs = pl.DataFrame(
        {"store_id": [5, 5, 6], "city_id": [0, 0, 1], "total_sales": [1.0, 2.0, 0.5]}
    )
    dist_cfg = {"base_cost_per_unit": 0.1, "cost_per_unit_per_1000km": 0.4, "plant_location": "0,0"}
    stores, plant = store_supply_params(pairs, cities, dist_cfg)
    assert plant == (0.0, 0.0)
    assert stores["store_id"].to_list() == [5, 6]
    assert stores["total_sales"].to_list() == [3.0, 0.5]
    assert stores["n_products"].to_list() == [2, 1]
    np.testing.assert_allclose(stores["distance_to_plant_km"], [DEG_KM, 2 * DEG_KM])
    np.testing.assert_allclose(
        stores["distribution_cost"], [0.1 + 0.4 * DEG_KM / 1000, 0.1 + 0.4 * 2 * DEG_KM / 1000]
    )
    _, weighted = store_supply_params(
        pairs, cities, dist_cfg | {"plant_location": "demand_weighted_centroid"}
    )
    assert weighted == pytest.approx((0.0, (3.0 * 1 + 0.5 * 2) / 3.5))


# ----------------------------------------------------------------------------- manifest


def test_manifest_helpers(tmp_path: Path) -> None:
    with pytest.raises(StageInputError, match="rama prepare"):
        read_manifest(tmp_path)
    update_manifest(tmp_path, stages=["prepare"], data_dir="/d")
    m = update_manifest(tmp_path, stage="forecast", model="lgbm")
    assert m == {"stages": ["prepare", "forecast"], "data_dir": "/d", "model": "lgbm"}
    assert update_manifest(tmp_path, stage="forecast")["stages"] == ["prepare", "forecast"]
    assert read_manifest(tmp_path)["model"] == "lgbm"


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def prepared_run(
    tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, PrepareResult]:
    run = tmp_path_factory.mktemp("run")
    return run, prepare(tiny_data_dir, run, load_config())


def test_end_to_end_tables(prepared_run: tuple[Path, PrepareResult], tiny_data_dir: Path) -> None:
    run, result = prepared_run
    out = run / "prepared"
    names = {
        "store_product_daily.parquet",
        "store_product_params.parquet",
        "city_supply_params.csv",
        "store_supply_params.csv",
        "transport_cost_matrix.parquet",
        "city_transport_costs.csv",
        "outliers.csv",
        "eda_summary.json",
        "eda_summary.md",
    }
    assert {p.name for p in out.iterdir()} == names
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temp leftovers
    daily = pl.read_parquet(out / "store_product_daily.parquet")
    params = pl.read_parquet(out / "store_product_params.parquet")
    cities = pl.read_csv(out / "city_supply_params.csv")
    stores = pl.read_csv(out / "store_supply_params.csv")
    matrix = pl.read_parquet(out / "transport_cost_matrix.parquet")
    city_costs = pl.read_csv(out / "city_transport_costs.csv")
    train = pl.read_parquet(tiny_data_dir / "freshretailnet" / "data" / "train.parquet")
    n_stores, n_cities = train["store_id"].n_unique(), train["city_id"].n_unique()
    assert daily.height == train.height
    assert "hours_sale" not in daily.columns and daily.schema["dt"] == pl.Date
    assert params.height == train.select("store_id", "product_id").unique().height
    assert params["n_days"].sum() == daily.height
    assert params["total_sales"].sum() == pytest.approx(daily["sale_amount"].sum())
    assert cities.height == n_cities and stores.height == n_stores
    assert matrix.height == n_stores * (n_stores - 1)
    assert city_costs.height == n_cities**2
    assert result.tables["transport_cost_matrix.parquet"] == matrix.height
    assert set(cities["mapping_method"]) == {"geographic_order"}
    assert cities["cluster_id"].n_unique() == n_cities
    assert (stores["distribution_cost"] >= 0.1).all()
    # the store matrix agrees with the city matrix
    joined = matrix.join(
        city_costs, left_on=["from_city_id", "to_city_id"], right_on=["from_city_id", "to_city_id"]
    )
    np.testing.assert_allclose(joined["cost"], joined["cost_right"])


def test_end_to_end_manifest_config_eda(
    prepared_run: tuple[Path, PrepareResult], tiny_data_dir: Path
) -> None:
    run, _ = prepared_run
    manifest = read_manifest(run)
    assert manifest["data_dir"] == str(tiny_data_dir.resolve())
    assert manifest["has_eval"] is True and manifest["has_truth"] is True
    assert manifest["city_mapping"] == "geographic_order"
    assert manifest["stages"] == ["prepare"]
    cfg = tomllib.loads((run / "config.toml").read_text())
    assert cfg == tomllib.loads(load_config().to_toml())
    eda = json.loads((run / "prepared" / "eda_summary.json").read_text())
    assert eda["demand"]["rows"] == manifest["prepare"]["rows"]
    assert eda["logistics"]["rows"] == 32065
    assert sum(eda["logistics"]["risk_classification"].values()) == 32065
    assert eda["clusters"]["k"] == eda["demand"]["cities"]
    assert "# EDA summary" in (run / "prepared" / "eda_summary.md").read_text()


def test_some_transfers_pay_and_some_do_not(prepared_run: tuple[Path, PrepareResult]) -> None:
    """With the defaults, transfer costs straddle both alternatives."""
    run, _ = prepared_run
    cfg = load_config()
    matrix = pl.read_parquet(run / "prepared" / "transport_cost_matrix.parquet")
    stores = pl.read_csv(run / "prepared" / "store_supply_params.csv")
    m = matrix.join(
        stores.select(pl.col("store_id").alias("to_store_id"), "distribution_cost"),
        on="to_store_id",
    )
    penalty = cfg["costs"]["stockout_penalty_per_unit"]
    make = cfg["costs"]["manufacturing_cost_per_unit"] + m["distribution_cost"]
    cost = m["cost"]
    assert 0 < (cost < penalty).sum() < m.height
    assert 0 < (cost < make).sum() < m.height


def test_city_locations_end_to_end(tiny_data_dir: Path, tmp_path: Path) -> None:
    ids = pl.read_parquet(tiny_data_dir / "freshretailnet/data/train.parquet")["city_id"].unique()
    loc = tmp_path / "cities.csv"
    pl.DataFrame(
        {"city_id": ids, "latitude": 40.0, "longitude": np.linspace(-119, -71, len(ids))}
    ).write_csv(loc)
    run = tmp_path / "run"
    result = prepare(tiny_data_dir, run, load_config(), city_locations=loc)
    assert result.city_mapping == "city_locations"
    assert read_manifest(run)["city_mapping"] == "city_locations"
    cities = pl.read_csv(run / "prepared" / "city_supply_params.csv")
    assert set(cities["mapping_method"]) == {"city_locations"}
    assert cities["latitude"].to_list() == [40.0] * len(ids)
    # re-running replaces prepared/ and resets later stages
    update_manifest(run, stage="forecast")
    prepare(tiny_data_dir, run, load_config())
    assert read_manifest(run)["stages"] == ["prepare"]
    assert read_manifest(run)["city_mapping"] == "geographic_order"


@pytest.mark.parametrize(
    ("text", "column", "row"),
    [
        ("city_id,lat,longitude\n0,40,-100\n", "latitude", None),
        ("city_id,latitude,longitude\n0,40,-100\n1,95,-90\n", "latitude", 1),
        ("city_id,latitude,longitude\n0,40,-100\n1,35,-200\n", "longitude", 1),
        ("city_id,latitude,longitude\n0,40,-100\n0,35,-90\n", "city_id", 1),
        ("city_id,latitude,longitude\n0,north,-100\n", "latitude", 0),
        ("city_id,latitude,longitude\n0,40,\n", "longitude", 0),
    ],
)
def test_bad_city_locations_file(
    tiny_data_dir: Path, tmp_path: Path, text: str, column: str, row: int | None
) -> None:
    loc = tmp_path / "cities.csv"
    loc.write_text(text)
    with pytest.raises(DataValidationError) as info:
        prepare(tiny_data_dir, tmp_path / "run", load_config(), city_locations=loc)
    msg = str(info.value)
    assert str(loc) in msg and f"column {column!r}" in msg
    if row is not None:
        assert f"'row': {row}," in msg
    assert not (tmp_path / "run" / "prepared").exists()  # nothing written on failure


def test_city_locations_missing_a_demand_city(tiny_data_dir: Path, tmp_path: Path) -> None:
    loc = tmp_path / "cities.csv"
    loc.write_text("city_id,latitude,longitude\n0,40,-100\n")
    with pytest.raises(DataValidationError, match="no location for"):
        prepare(tiny_data_dir, tmp_path / "run", load_config(), city_locations=loc)


def test_cli_prepare(tiny_data_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "prepare",
            "--data",
            str(tiny_data_dir),
            "--out",
            str(tmp_path / "run"),
            "--set",
            "transport.risk_premium=0.5",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "transport_cost_matrix.parquet" in res.output
    assert "risk_premium = 0.5" in (tmp_path / "run" / "config.toml").read_text()
    broken = tmp_path / "data"
    shutil.copytree(tiny_data_dir, broken)
    (broken / "logistics" / "dynamic_supply_chain_logistics_dataset.csv").unlink()
    res = runner.invoke(app, ["prepare", "--data", str(broken), "--out", str(tmp_path / "r2")])
    assert res.exit_code == 2
    assert "no logistics dataset found" in res.output


def test_daily_table_is_sorted_and_sortedness_check() -> None:
    df = daily_frame()
    assert is_sorted_by(df, ["store_id", "product_id", "dt"])
    shuffled = df.reverse()
    assert not is_sorted_by(shuffled, ["store_id", "product_id", "dt"])
    assert not is_sorted_by(df.with_columns(pl.col("dt").reverse()), ["store_id", "dt"])
    assert store_product_daily(shuffled).equals(df)


def test_prepare_replaces_a_corrupt_manifest(tiny_data_dir: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{not json")
    with pytest.raises(StageInputError, match="not valid JSON"):
        read_manifest(run)
    prepare(tiny_data_dir, run, load_config())
    assert read_manifest(run)["stages"] == ["prepare"]


def test_cli_errors_stay_on_one_line_whatever_the_path_length(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 70) / "data"
    deep.mkdir(parents=True)
    res = CliRunner().invoke(app, ["prepare", "--data", str(deep), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2
    assert "\n" not in res.output.strip()  # not wrapped at the console width
    assert f"{deep}: no FreshRetailNet train split found" in res.output


# ----------------------------------------------------------------------------- bad input


def _with_outlier(tiny_data_dir: Path, out: Path, factor: float) -> Path:
    """A copy of the tiny data with one day of series (0, first product) set to ``factor`` x
    the median of its positive days."""
    data = out / "data"
    shutil.copytree(tiny_data_dir, data)
    f = data / "freshretailnet" / "data" / "train.parquet"
    df = pl.read_parquet(f)
    s0, p0 = df["store_id"][0], df["product_id"][0]
    series = df.filter((pl.col("store_id") == s0) & (pl.col("product_id") == p0))
    med = series.filter(pl.col("sale_amount") > 0)["sale_amount"].median()
    assert isinstance(med, float)
    bump = pl.when(pl.int_range(pl.len()) == 10).then(med * factor).otherwise("sale_amount")
    df.with_columns(bump.alias("sale_amount")).write_parquet(f)
    return data


def test_sales_outlier_is_capped_reported_and_keeps_the_plant(
    prepared_run: tuple[Path, PrepareResult], tiny_data_dir: Path, tmp_path: Path
) -> None:
    """A day at 1,000x its series' median: capped (the plant stays where the clean data puts
    it), listed in outliers.csv and the EDA summary; refused with outlier_action = reject;
    allowed through only with the check off (and then it moves the demand-weighted plant)."""
    _, clean = prepared_run
    data = _with_outlier(tiny_data_dir, tmp_path, 1000.0)
    with pytest.warns(DataWarning, match="1 outlier value"):
        capped = prepare(data, tmp_path / "cap", load_config())
    assert capped.outliers == 1 and capped.outlier_action == "cap"
    assert capped.outlier_examples[0]["column"] == "sale_amount"
    table = pl.read_csv(tmp_path / "cap" / "prepared" / "outliers.csv")
    assert table.height == 1 and table["action"].to_list() == ["cap"]
    assert table["ratio"][0] == pytest.approx(1000.0)
    eda = json.loads((tmp_path / "cap" / "prepared" / "eda_summary.json").read_text())
    assert eda["outliers"]["count"] == 1 and eda["outliers"]["by_column"] == {"sale_amount": 1}
    assert "## Outliers" in (tmp_path / "cap" / "prepared" / "eda_summary.md").read_text()

    def km(a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(haversine_km(a[0], a[1], b[0], b[1]))

    off = prepare(data, tmp_path / "off", load_config(overrides=["data.outlier_ratio=0"]))
    assert km(capped.plant, clean.plant) < 1.0
    assert km(off.plant, clean.plant) > 3 * max(km(capped.plant, clean.plant), 0.1)
    with pytest.raises(DataValidationError) as info:
        prepare(data, tmp_path / "rej", load_config(overrides=['data.outlier_action="reject"']))
    assert info.value.reason == "outlier" and info.value.column == "sale_amount"
    assert "at least 1000x" in str(info.value) and info.value.count == 1


def test_eda_markdown_escapes_names_and_folders(
    tmp_path: Path, fresh_sample_csv: Path, logistics_sample_csv: Path
) -> None:
    """Risk-class values and the data folder's name are data: escaped for Markdown/HTML."""
    data = tmp_path / "d_[x](javascript:alert(1))_|*`"
    data.mkdir()
    shutil.copy(fresh_sample_csv, data / "train.csv")
    logi = pl.read_csv(logistics_sample_csv, infer_schema=False)
    names = ["<script>alert(1)</script>", "[x](javascript:alert(1))", "a|b", "*bold*", "`c`"]
    logi = logi.with_columns(pl.Series("risk_classification", names))
    logi.write_csv(data / "logistics.csv")
    prepare(data, tmp_path / "run", load_config())
    md = (tmp_path / "run" / "prepared" / "eda_summary.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert not re.search(r"(?<!\\)\]\(", md)  # no unescaped "](": no link can open
    assert "\\[x\\](javascript:alert(1))" in md
    assert "a\\|b" in md and "\\*bold\\*" in md and "\\`c\\`" in md
    assert "d\\_\\[x\\](javascript" in md


def test_escape_md_neutralises_markup() -> None:
    from rama.prepare.report import escape_md

    assert escape_md("<b>&</b>") == "&lt;b&gt;&amp;&lt;/b&gt;"
    assert escape_md("a_b*c`d|e[f]g\\h#i~j") == "a\\_b\\*c\\`d\\|e\\[f\\]g\\\\h\\#i\\~j"
    assert escape_md("two\nlines") == "two lines"
    assert escape_md(38) == "38"
