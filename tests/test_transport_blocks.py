"""The store-to-store matrix a block of origin stores at a time, and its summary from the city
pairs weighted by their store pairs: the same as the whole matrix and the summary over it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama.prepare.eda import quantiles, transport_summary, weighted_quantiles
from rama.prepare.transport import (
    store_transport_blocks,
    store_transport_matrix,
    write_store_transport_matrix,
)

COSTS = {"manufacturing_cost_per_unit": 1.0, "stockout_penalty_per_unit": 1.5}


def _summary_over_matrix(
    matrix: pl.DataFrame, stores: pl.DataFrame, costs: dict[str, float]
) -> dict[str, Any]:
    """The summary over the whole matrix, as prepare computed it before (verbatim, without
    the slicing)."""
    cost = matrix.get_column("cost").to_numpy()
    sid = stores.get_column("store_id").to_numpy()
    dist_cost = stores.get_column("distribution_cost").to_numpy()
    to_pos = np.searchsorted(sid, matrix.get_column("to_store_id").to_numpy())
    cheaper_than_alt = int((cost < costs["manufacturing_cost_per_unit"] + dist_cost[to_pos]).sum())
    cross = (matrix.get_column("from_city_id") != matrix.get_column("to_city_id")).to_numpy()
    penalty = costs["stockout_penalty_per_unit"]
    n = max(len(cost), 1)
    n_cross = int(cross.sum())
    return {
        "store_pairs": len(cost),
        "within_city_pairs": len(cost) - n_cross,
        "cross_city_pairs": n_cross,
        "cost": quantiles(cost),
        "cross_city_cost": quantiles(cost[cross]),
        "distance_km": quantiles(matrix.get_column("distance_km").to_numpy()[cross]),
        "share_cheaper_than_stockout_penalty": float((cost < penalty).sum() / n),
        "share_cheaper_than_manufacturing_plus_distribution": float(cheaper_than_alt / n),
        "stockout_penalty_per_unit": penalty,
        "distribution_cost": quantiles(dist_cost),
    }


def _network(seed: int, n_cities: int, n_stores: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Stores (sorted by id, random cities and distribution costs) and a city x city cost
    table with ties (costs on a 0.25 grid)."""
    rng = np.random.default_rng(seed)
    city_ids = np.sort(rng.choice(100, n_cities, replace=False))
    ids = np.repeat(city_ids, n_cities), np.tile(city_ids, n_cities)
    same = ids[0] == ids[1]
    city_costs = pl.DataFrame(
        {
            "from_city_id": ids[0],
            "to_city_id": ids[1],
            "distance_km": np.where(same, 0.0, rng.integers(1, 9, n_cities**2) * 50.0),
            "cost": np.where(same, 0.25, rng.integers(1, 9, n_cities**2) * 0.25),
        }
    )
    stores = pl.DataFrame(
        {
            "store_id": np.sort(rng.choice(10_000, n_stores, replace=False)),
            "city_id": rng.choice(city_ids, n_stores),
            "distribution_cost": rng.integers(0, 4, n_stores) * 0.25,
        }
    )
    return stores, city_costs


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n_cities=st.integers(1, 5),
    n_stores=st.integers(1, 25),
    rows=st.integers(1, 60),
)
def test_blocks_are_the_matrix_and_the_city_summary_is_the_matrix_summary(
    seed: int, n_cities: int, n_stores: int, rows: int, assert_close: Any
) -> None:
    stores, city_costs = _network(seed, n_cities, n_stores)
    matrix = store_transport_matrix(stores, city_costs)
    blocks = list(store_transport_blocks(stores, city_costs, rows=rows))
    assert pl.concat(blocks).equals(matrix)
    assert all(b.height <= max(rows, n_stores - 1) for b in blocks)  # one origin at least
    assert_close(
        transport_summary(stores, city_costs, COSTS), _summary_over_matrix(matrix, stores, COSTS)
    )


def test_the_written_matrix_is_the_matrix(tmp_path: Path) -> None:
    stores, city_costs = _network(3, 4, 40)
    n = write_store_transport_matrix(stores, city_costs, tmp_path / "m.parquet", rows=100)
    back = pl.read_parquet(tmp_path / "m.parquet")
    assert n == 40 * 39 and back.equals(store_transport_matrix(stores, city_costs))
    one = write_store_transport_matrix(stores.head(1), city_costs, tmp_path / "one.parquet")
    assert one == 0 and pl.read_parquet(tmp_path / "one.parquet").columns == back.columns


def test_the_summary_by_hand() -> None:
    # two cities: A holds stores 1, 2; B holds store 3. Pairs: 1-2, 2-1 within A (0.25),
    # 1-3, 2-3 (A -> B, 1.0), 3-1, 3-2 (B -> A, 2.0)
    city_costs = pl.DataFrame(
        {
            "from_city_id": [1, 1, 2, 2],
            "to_city_id": [1, 2, 1, 2],
            "distance_km": [0.0, 100.0, 100.0, 0.0],
            "cost": [0.25, 1.0, 2.0, 0.25],
        }
    )
    stores = pl.DataFrame(
        {"store_id": [1, 2, 3], "city_id": [1, 1, 2], "distribution_cost": [0.5, 0.5, 0.0]}
    )
    got = transport_summary(stores, city_costs, COSTS)
    assert (got["store_pairs"], got["within_city_pairs"], got["cross_city_pairs"]) == (6, 2, 4)
    assert got["cost"]["p50"] == 1.0 and got["cost"]["max"] == 2.0
    assert got["cost"]["mean"] == pytest.approx((2 * 0.25 + 2 * 1.0 + 2 * 2.0) / 6)
    assert got["share_cheaper_than_stockout_penalty"] == pytest.approx(4 / 6)
    # cheaper than 1.0 + the destination's distribution cost: 1-2, 2-1 (0.25 < 1.5) and
    # 1-3, 2-3 (1.0 < 1.0? no); 3-1, 3-2 (2.0 < 1.5? no)
    assert got["share_cheaper_than_manufacturing_plus_distribution"] == pytest.approx(2 / 6)


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]), min_size=1, max_size=8),
    data=st.data(),
)
def test_weighted_quantiles_are_the_repeated_values_quantiles(
    values: list[float], data: Any
) -> None:
    weights = data.draw(st.lists(st.integers(0, 6), min_size=len(values), max_size=len(values)))
    repeated = np.repeat(np.array(values), weights)
    got, want = weighted_quantiles(np.array(values), np.array(weights)), quantiles(repeated)
    assert got.keys() == want.keys()
    for k, w in want.items():
        assert (got[k] is None and w is None) or got[k] == pytest.approx(w, rel=1e-12), k
