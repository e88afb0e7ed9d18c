"""The prepare stage's sales in partitions of whole stores (``rama.prepare.partitioned``) and
the exact median over partitions (``rama.prepare.order_stats``): the same tables as the
whole-table steps, for any partition size, on a cluster too; splits not as published are
loaded whole."""

from __future__ import annotations

from contextlib import nullcontext
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama import cluster
from rama.data.outliers import OutlierRule
from rama.data.partitions import Partition, row_ranges
from rama.errors import DataValidationError
from rama.prepare import order_stats, partitioned
from rama.prepare.order_stats import Bracket, exact_median, median_of_parts, sketch, take
from rama.schema import DataWarning

CAP, REJECT = OutlierRule(1000.0, "cap"), OutlierRule(1000.0, "reject")

# ---------------------------------------------------------------------------- the median

values = st.one_of(st.floats(0, 50, allow_nan=False, width=32), st.sampled_from([0.0, 1.0, 2.5]))


@settings(max_examples=200, deadline=None)
@given(
    parts=st.lists(st.lists(values, max_size=40), min_size=1, max_size=6),
    points=st.integers(2, 9),
)
def test_the_median_over_partitions_is_polars_median_to_the_bit(
    parts: list[list[float]], points: int
) -> None:
    arrays = [np.array(p, dtype=float) for p in parts]
    # sketches of 2-9 points make the first brackets miss: the widening must stay exact
    got = exact_median([sketch(a, points) for a in arrays], lambda b: [take(a, b) for a in arrays])
    want = pl.Series(np.concatenate(arrays), dtype=pl.Float64).median()
    assert got == want or (got is None and want is None)


def test_the_median_by_hand() -> None:
    assert median_of_parts([np.array([5.0, 1.0, 3.0]), np.array([2.0, 4.0, 6.0])]) == 3.5
    assert median_of_parts([np.array([7.0]), np.array([]), np.array([1.0, 9.0])]) == 7.0
    assert median_of_parts([np.array([]), np.array([])]) is None


def test_the_first_bracket_holds_the_middle_and_few_values() -> None:
    rng = np.random.default_rng(0)
    arrays = [rng.gamma(0.5 + i, 2.0, 100_000) for i in range(10)]
    asked: list[Bracket] = []
    inside: list[int] = []

    def ask(b: Bracket) -> list[order_stats.Slice]:
        asked.append(b)
        slices = [take(a, b) for a in arrays]
        inside.append(sum(s.inside.size for s in slices))
        return slices

    got = exact_median([sketch(a) for a in arrays], ask)
    assert got == np.median(np.concatenate(arrays))
    assert len(asked) == 1 and inside[0] <= 0.01 * 1_000_000  # one pass, < 1 % of the values


# ------------------------------------------------------------------------------ ownership


@settings(max_examples=60, deadline=None)
@given(
    runs=st.lists(st.integers(1, 40), min_size=1, max_size=25),
    group=st.integers(1, 30),
    rows=st.integers(1, 50),
)
def test_every_row_has_one_owner_and_stores_stay_whole(
    tmp_path_factory: pytest.TempPathFactory, runs: list[int], group: int, rows: int
) -> None:
    stores = np.repeat(np.arange(len(runs)) % 7, runs)  # a store may come back later
    file = tmp_path_factory.mktemp("own") / "t.parquet"
    pl.DataFrame({"store_id": stores}).write_parquet(file, row_group_size=group)
    n = stores.size
    groups = [min(group, n - a) for a in range(0, n, group)]
    parts = [
        Partition(file, a, b, i, False, n) for i, (a, b) in enumerate(row_ranges(groups, rows))
    ]
    owned = [o for o in map(partitioned.owned, parts) if o is not None]
    spans = [(o.start, o.stop if o.stop is not None else n) for o in owned]
    assert spans[0][0] == 0 and spans[-1][1] == n
    assert all(b == c for (_, b), (c, _) in pairwise(spans))  # disjoint and gap-free
    for a, b in spans:  # a run of one store is never cut
        assert a == 0 or stores[a - 1] != stores[a]
        assert b == n or stores[b - 1] != stores[b]


# ---------------------------------------------------------------- the same tables as whole


def _with_outliers(train: pl.DataFrame) -> pl.DataFrame:
    """``train`` with a huge day in a long series (its own median) and in a short one (the
    split's median: two positive days)."""
    keys = train.select("store_id", "product_id").unique(maintain_order=True)
    long_s, short_s = keys.row(3), keys.row(40)
    i = pl.int_range(pl.len()).over("store_id", "product_id")
    is_long = (pl.col("store_id") == long_s[0]) & (pl.col("product_id") == long_s[1])
    is_short = (pl.col("store_id") == short_s[0]) & (pl.col("product_id") == short_s[1])
    sale = (
        pl.when(is_long & (i == 10))
        .then(1e7)
        .when(is_short & (i == 5))
        .then(5e6)
        .when(is_short & (i == 6))
        .then(0.5)
        .when(is_short)
        .then(0.0)
        .otherwise(pl.col("sale_amount"))
    )
    return train.with_columns(sale.alias("sale_amount"))


def _data(df: pl.DataFrame, folder: Path, group: int, shards: int = 1) -> Path:
    folder.mkdir(parents=True)
    if shards == 1:
        df.write_parquet(folder / "train.parquet", row_group_size=group)
    else:
        cuts = np.linspace(0, df.height, shards + 1).astype(int)
        for i, (a, b) in enumerate(pairwise(cuts)):
            name = f"train-{i:05d}-of-{shards:05d}.parquet"
            df.slice(int(a), int(b - a)).write_parquet(folder / name, row_group_size=group)
    return folder


def _tables(
    data: Path, rows: int, rule: OutlierRule, scratch: Path, *, warns: bool = True
) -> dict[str, Any]:
    with (
        pytest.warns(DataWarning, match="2 outlier") if warns else nullcontext(),
        partitioned.load_sales(data, rule, rows=rows, source="train", scratch=scratch) as sales,
    ):
        sales.write_daily(scratch / "daily.parquet")
        left = sorted(p.name for p in scratch.iterdir())
    assert not [n for n in sorted(p.name for p in scratch.iterdir()) if n != "daily.parquet"]
    return {
        "partitioned": sales.partitioned,
        "daily": pl.read_parquet(scratch / "daily.parquet"),
        "params": sales.pair_params,
        "outliers": sales.outliers,
        "demand": sales.demand,
        "rows": sales.rows,
        "scratch": left,
    }


def _whole(
    data: Path,
    rule: OutlierRule,
    scratch: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    warns: bool = True,
) -> Any:
    with monkeypatch.context() as m:
        m.setattr(partitioned, "_partitioned", lambda *a: None)
        return _tables(data, 10**9, rule, scratch, warns=warns)


def _same(got: dict[str, Any], want: dict[str, Any], assert_close: Any) -> None:
    assert got["daily"].equals(want["daily"])
    assert got["params"].equals(want["params"])
    assert got["outliers"].equals(want["outliers"])
    assert got["rows"] == want["rows"]
    assert_close(got["demand"], want["demand"])


@pytest.fixture(scope="module")
def spiked(tiny_data_dir: Path) -> pl.DataFrame:
    return _with_outliers(
        pl.read_parquet(tiny_data_dir / "freshretailnet" / "data" / "train.parquet")
    )


@pytest.mark.parametrize("rows", [45, 1_000, 7_000, 100_000])
def test_partitions_of_whole_stores_give_the_whole_tables(
    tmp_path: Path,
    spiked: pl.DataFrame,
    rows: int,
    monkeypatch: pytest.MonkeyPatch,
    assert_close: Any,
) -> None:
    data = _data(spiked, tmp_path / "data", 1_000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = _tables(data, rows, CAP, tmp_path / "a")
    want = _whole(data, CAP, tmp_path / "b", monkeypatch)
    assert got["partitioned"] and not want["partitioned"]
    assert [n.split(".")[1] for n in got["scratch"]] == ["prepare-partitions", "parquet"]
    assert want["outliers"].height == 2  # both spikes, one by the split's median
    _same(got, want, assert_close)


def test_a_rejected_outlier_is_the_same_error(
    tmp_path: Path, spiked: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(spiked, tmp_path / "data", 1_000)
    errors = []
    for scratch, whole in ((tmp_path / "a", False), (tmp_path / "b", True)):
        scratch.mkdir()
        with monkeypatch.context() as m, pytest.raises(DataValidationError) as err:
            if whole:
                m.setattr(partitioned, "_partitioned", lambda *a: None)
            with partitioned.load_sales(data, REJECT, rows=2_000, source="train", scratch=scratch):
                pass
        errors.append(err.value)
        assert list(scratch.iterdir()) == []  # the partition files are gone
    assert errors[0].reason == "outlier" and errors[0].count == 2
    assert str(errors[0]) == str(errors[1]) and errors[0].examples == errors[1].examples


@pytest.mark.parametrize("case", ["store_in_two_files", "shuffled"])
def test_a_split_not_as_published_is_loaded_whole(
    tmp_path: Path,
    spiked: pl.DataFrame,
    case: str,
    monkeypatch: pytest.MonkeyPatch,
    assert_close: Any,
) -> None:
    if case == "store_in_two_files":
        data = _data(spiked, tmp_path / "data", 1_000, shards=4)
    else:
        data = _data(spiked.sample(fraction=1.0, shuffle=True, seed=1), tmp_path / "data", 1_000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = _tables(data, 3_000, CAP, tmp_path / "a")
    want = _whole(data, CAP, tmp_path / "b", monkeypatch)
    assert not got["partitioned"]
    _same(got, want, assert_close)


def test_the_real_sample_csv_is_one_partition(
    tmp_path: Path, fresh_sample_csv: Path, monkeypatch: pytest.MonkeyPatch, assert_close: Any
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    got = _tables(fresh_sample_csv, 3_000, CAP, tmp_path / "a", warns=False)
    want = _whole(fresh_sample_csv, CAP, tmp_path / "b", monkeypatch, warns=False)
    assert got["partitioned"] and got["rows"] == 100
    _same(got, want, assert_close)


def test_a_bad_row_is_the_whole_paths_error(
    tmp_path: Path, spiked: pl.DataFrame, bad_sale: Any
) -> None:
    data = _data(bad_sale(spiked, 12_345), tmp_path / "data", 1_000)
    with (
        pytest.raises(DataValidationError) as err,
        partitioned.load_sales(data, CAP, rows=3_000, source="train", scratch=tmp_path),
    ):
        pass
    assert err.value.examples[0]["row"] == 12_345 and err.value.column == "sale_amount"
    assert str(err.value.source).endswith("train.parquet")
    assert list(tmp_path.glob(".prepare-partitions.*")) == []


@pytest.mark.slow
def test_on_a_local_cluster_the_sales_are_the_local_ones(
    tmp_path: Path, spiked: pl.DataFrame
) -> None:
    data = _data(spiked, tmp_path / "data", 1_000)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    local = _tables(data, 5_000, CAP, tmp_path / "a")
    with cluster.use_cluster("local", n_workers=2, scratch=tmp_path / "b"):
        remote = _tables(data, 5_000, CAP, tmp_path / "b")
    assert remote["partitioned"]
    for k in ("daily", "params", "outliers"):
        assert remote[k].equals(local[k]), k
    assert remote["demand"] == local["demand"]  # the same partitions, merged in order
