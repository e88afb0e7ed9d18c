"""The forecaster built one partition of series at a time: the same model for any partition
size, a training sample that does not depend on the partitioning, and the fit on a Dask
LocalCluster (lightgbm.dask) agreeing with the local one within a measured tolerance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama import cluster
from rama.data import load_freshretail
from rama.forecast.model import DemandForecaster
from rama.forecast.training_rows import hash_uniform, series_partitions, split_by_series

FAST: dict[str, Any] = {"num_boost_round": 40, "num_leaves": 15}


@pytest.fixture(scope="module")
def train(tiny_data_dir: Path) -> pl.DataFrame:
    return load_freshretail(tiny_data_dir, "train")


def test_hash_uniform_is_uniform_and_order_free() -> None:
    keys = np.arange(200_000, dtype=np.int64)
    u = hash_uniform(keys, seed=3, stream=1)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs((u < 0.1).mean() - 0.1) < 0.005
    perm = np.random.default_rng(0).permutation(len(keys))
    assert np.array_equal(hash_uniform(keys[perm], 3, 1), u[perm])  # a key's number is its own
    assert not np.array_equal(hash_uniform(keys, 3, 2), u)  # streams differ
    assert not np.array_equal(hash_uniform(keys, 4, 1), u)  # seeds differ


@given(n=st.integers(0, 500), size=st.integers(-1, 600))
@settings(max_examples=60, deadline=None)
def test_series_partitions_cover_every_series_once(n: int, size: int) -> None:
    parts = series_partitions(n, size)
    covered = np.concatenate([np.arange(a, b) for a, b in parts]) if parts else np.array([])
    assert np.array_equal(covered, np.arange(n))
    assert all(b > a for a, b in parts)
    if size > 0:
        assert all(b - a <= size for a, b in parts)


@given(
    days=st.lists(st.integers(1, 4), min_size=1, max_size=12),
    size=st.integers(0, 5),
    seed=st.integers(0, 10),
)
@settings(max_examples=60, deadline=None)
def test_split_by_series_cuts_sorted_and_shuffled_histories_alike(
    days: list[int], size: int, seed: int
) -> None:
    # series k: store k // 3, product 2**31 - 1 - k % 3 (large ids: the key's low word), with
    # days[k] rows each; the sorted history is cut by binary search, the shuffled one sorted
    n = len(days)
    store = np.repeat(np.arange(n) // 3, days).astype(np.int64)
    product = np.repeat(2**31 - 1 - np.arange(n) % 3, days).astype(np.int64)
    day = np.concatenate([np.arange(d) for d in days])
    long = pl.DataFrame({"store_id": store, "product_id": product, "day": day}).sort(
        "store_id", "product_id", "day"
    )
    series = long.select("store_id", "product_id").unique(maintain_order=True)
    shuffled = long.sample(fraction=1.0, shuffle=True, seed=seed)
    a, b = split_by_series(long, series, size), split_by_series(shuffled, series, size)
    assert [p[0] for p in a] == [r[0] for r in series_partitions(n, size)] == [p[0] for p in b]
    for (_, rows, ser), (_, rows_b, ser_b) in zip(a, b, strict=True):
        assert ser.equals(ser_b)
        assert rows.equals(rows_b.sort("store_id", "product_id", "day"))  # same rows
        assert rows.select("store_id", "product_id").unique(maintain_order=True).equals(ser)
        assert rows.height == long.join(ser, on=["store_id", "product_id"], how="semi").height


@pytest.mark.parametrize("size", [3, 37, 499])
def test_any_partition_size_gives_the_same_model(train: pl.DataFrame, size: int) -> None:
    whole = DemandForecaster(partition_series=0, **FAST).fit(train)
    parted = DemandForecaster(partition_series=size, **FAST).fit(train)
    assert parted.n_partitions_ == -(-whole.series_.height // size) > 1
    assert parted.n_train_rows_ == whole.n_train_rows_
    a, b = whole.predict(), parted.predict()
    assert a.equals(b)  # every column, bit for bit
    assert whole.backtest_.equals(parted.backtest_)
    assert whole.tail_.sort(["store_id", "product_id", "dt"]).equals(
        parted.tail_.sort(["store_id", "product_id", "dt"])
    )
    assert whole.short_series_ == parted.short_series_


def test_shuffled_history_gives_the_same_model(train: pl.DataFrame) -> None:
    a = DemandForecaster(partition_series=100, **FAST).fit(train).predict()
    shuffled = train.sample(fraction=1.0, shuffle=True, seed=1)
    b = DemandForecaster(partition_series=100, **FAST).fit(shuffled).predict()
    assert a.equals(b)


def test_max_train_rows_samples_about_that_many(train: pl.DataFrame) -> None:
    full = DemandForecaster(max_train_rows=None, **FAST).fit(train).n_train_rows_
    target = full // 4
    got = DemandForecaster(max_train_rows=target, **FAST).fit(train).n_train_rows_
    # a binomial(full, 1/4) count: within 5 standard deviations
    assert abs(got - target) <= 5 * np.sqrt(full * 0.25 * 0.75)
    seeds = {
        DemandForecaster(max_train_rows=target, seed=s, **FAST).fit(train).n_train_rows_
        for s in (1, 2, 3)
    }
    assert len(seeds) > 1  # the seed picks the rows


def _wape(pred: np.ndarray, actual: np.ndarray) -> float:
    return float(np.abs(pred - actual).sum() / actual.sum())


@pytest.mark.slow
def test_the_fit_on_a_cluster_agrees_with_the_local_fit(
    train: pl.DataFrame, tiny_data_dir: Path
) -> None:
    """lightgbm.dask is not bitwise the serial fit (bins from each worker's rows, bagging per
    worker); the forecasts must agree to within what a different seed changes locally."""
    local = DemandForecaster(partition_series=100, **FAST).fit(train)
    other_seed = DemandForecaster(partition_series=100, seed=7, **FAST).fit(train)
    with cluster.use_cluster("local", n_workers=2) as client:
        assert client is not None
        remote = DemandForecaster(partition_series=100, **FAST).fit(train)
    assert remote.n_train_rows_ == local.n_train_rows_  # the same rows, built on the workers
    assert remote.series_.equals(local.series_)
    ev = load_freshretail(tiny_data_dir, "eval").sort(["store_id", "product_id", "dt"])
    actual = ev["sale_amount"].to_numpy().astype(np.float64)
    pl_, pr, ps = (
        m.predict(m.make_future_frame())["forecast"].to_numpy() for m in (local, remote, other_seed)
    )
    total_diff = abs(pr.sum() - pl_.sum()) / pl_.sum()
    seed_diff = abs(ps.sum() - pl_.sum()) / pl_.sum()
    assert total_diff <= max(0.02, 2 * seed_diff)
    assert abs(_wape(pr, actual) - _wape(pl_, actual)) <= max(
        0.02, 2 * abs(_wape(ps, actual) - _wape(pl_, actual))
    )
    row_diff = np.abs(pr - pl_).mean() / pl_.mean()
    seed_row_diff = np.abs(ps - pl_).mean() / pl_.mean()
    # measured 4.8 % here (4.3-5.1 % over eleven fits before the fit was reproducible)
    # against 2.5 % for another seed; a fit on censored sales (no recovery) differs by
    # 10.0 % and one of half the boosting rounds by 17.4 %
    assert row_diff <= max(0.08, 3 * seed_row_diff)


@pytest.mark.slow
def test_the_fit_on_a_cluster_is_reproducible(train: pl.DataFrame) -> None:
    """Four fits on two LocalClusters train one model: each worker's partitions are one
    chunk in partition order, and lightgbm.dask ranks the workers in the chunks' order (it
    drew one of two models at random before: a 1-in-8 chance that four fits agreed)."""
    forecasts = []
    for _ in range(2):
        with cluster.use_cluster("local", n_workers=2):
            for _ in range(2):
                m = DemandForecaster(partition_series=100, **FAST).fit(train)
                forecasts.append(m.predict(m.make_future_frame())["forecast"].to_numpy())
    assert all(np.array_equal(f, forecasts[0]) for f in forecasts[1:])


@pytest.mark.slow
def test_a_worker_killed_while_building_features_is_retried(
    train: pl.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rama.cluster import KILL_ONCE_ENV

    marker = tmp_path / "killed"
    run = tmp_path / "run"
    run.mkdir()
    monkeypatch.setenv(KILL_ONCE_ENV, f"forecast:{marker}")  # inherited by the workers
    with cluster.use_cluster("local", n_workers=2, scratch=run):
        fc = DemandForecaster(partition_series=100, **FAST).fit(train)
    assert marker.is_file()  # a worker did die on a partition
    assert list(run.iterdir()) == []  # the partitions' scratch files are gone
    local = DemandForecaster(partition_series=100, **FAST).fit(train)
    assert fc.n_train_rows_ == local.n_train_rows_
    assert fc.tail_.equals(local.tail_) and fc.series_.equals(local.series_)
