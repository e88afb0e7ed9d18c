"""The planning week's truth read in pieces (the latent truth scanned, the eval split one
partition at a time) against reading it whole (differential)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from rama.data import load_freshretail
from rama.evaluate import sales
from rama.evaluate.sales import eval_window
from rama.evaluate.truth import _read_truth, _totals
from rama.forecast import recover_demand
from rama.layout import truth_file

KEYS = ["store_id", "product_id", "dt"]


def eval_days(data: Path) -> list[str]:
    ev = load_freshretail(data, "eval")
    return [str(d) for d in ev["dt"].unique().sort().to_list()]


def whole_split(data: Path, days: list[str], chunk_rows: int) -> pl.DataFrame:
    """The eval week as evaluate read it before: the whole split, filtered, recovered."""
    ev = load_freshretail(data, "eval").filter(pl.col("dt").cast(pl.String).is_in(days))
    return recover_demand(
        ev, prior_units=0.1, window=(6, 22), source=f"{data} (eval)", chunk_rows=chunk_rows
    )


@pytest.mark.parametrize(("chunk_rows", "rows", "n_days"), [(500_000, 10**9, 7), (700, 900, 5)])
def test_eval_window_equals_the_whole_split(
    tiny_data_dir: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int, rows: int, n_days: int
) -> None:
    """Several partitions and blocks (a block straddling two partitions), and a window that
    is not the whole split: the same rows, lost and recovered demand, to the bit."""
    days = eval_days(tiny_data_dir)[:n_days]
    want = whole_split(tiny_data_dir, days, chunk_rows)
    monkeypatch.setattr(sales, "CHUNK_ROWS", chunk_rows)
    got = eval_window(tiny_data_dir, days, recover=True, prior_units=0.1, window=(6, 22), rows=rows)
    assert got.height == want.height == 500 * n_days
    cols = [*KEYS, "sale_amount", "stock_hour6_22_cnt", "lost_demand", "recovered_demand"]
    assert got.select(cols).equals(want.select(cols))
    assert (got["lost_demand"] > 0).any()  # the recovery did something
    plain = eval_window(tiny_data_dir, days, recover=False, prior_units=0.1, window=(6, 22))
    assert plain.columns == list(sales.DAILY) and plain.height == got.height
    assert plain.select(KEYS, "sale_amount").equals(want.select(KEYS, "sale_amount"))


def test_eval_window_of_days_outside_the_split_is_empty(tiny_data_dir: Path) -> None:
    got = eval_window(tiny_data_dir, ["1999-01-01"], recover=True, prior_units=0.1, window=(6, 22))
    assert got.height == 0


def test_scanned_latent_truth_equals_the_whole_file(tiny_data_dir: Path) -> None:
    path = truth_file(tiny_data_dir)
    days = eval_days(tiny_data_dir)[1:6]
    whole = pl.read_parquet(path).select(*KEYS, "latent_demand")
    whole = whole.with_columns(pl.col("latent_demand").cast(pl.Float64)).filter(
        pl.col("dt").cast(pl.String).is_in(days) & pl.col("latent_demand").is_finite()
    )
    got = _read_truth(path, days)
    assert got.equals(whole) and got.height == 500 * 5
    a, covered_a = _totals(got, "latent_demand")
    b, covered_b = _totals(whole, "latent_demand")
    assert a.sort(KEYS[:2]).equals(b.sort(KEYS[:2])) and covered_a == covered_b == set(days)
