"""rama.io.read_csv_typed: the frame of full type inference, whatever the file holds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rama import io

CELLS = st.one_of(
    st.none(),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(repr),
    st.sampled_from(["true", "false", "x", "2026-12-01", "1e3"]),
)


@settings(max_examples=60, deadline=None)
@given(
    columns=st.lists(
        st.tuples(st.lists(CELLS, min_size=1, max_size=4), st.integers(0, 12), CELLS),
        min_size=1,
        max_size=4,
    ),
    infer=st.integers(1, 6),
)
def test_typed_read_equals_full_inference(
    tmp_path_factory: pytest.TempPathFactory, columns: list, infer: int
) -> None:
    """A column is a run of early values, then ``late`` at some row: the fast read equals
    ``infer_schema_length=None`` (types and values) with the guess window cut anywhere."""
    n = max(len(early) + at + 1 for early, at, _ in columns)
    cols = {}
    for c, (early, at, late) in enumerate(columns):
        vals = (early * n)[:n]
        vals[min(at + len(early), n - 1)] = late
        cols[f"c{c}"] = ["" if v is None else v for v in vals]
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    lines = [",".join(cols)] + [",".join(cols[k][r] for k in cols) for r in range(n)]
    path.write_text("\n".join(lines) + "\n")
    old = io.INFER_ROWS
    try:
        io.INFER_ROWS = infer
        got = io.read_csv_typed(path)
    finally:
        io.INFER_ROWS = old
    want = pl.read_csv(path, infer_schema_length=None)
    assert got.schema == want.schema
    assert got.equals(want)


def test_typed_read_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,,true\n1,,true\n2.5,x,false\n")
    old = io.INFER_ROWS
    try:
        io.INFER_ROWS = 2  # a: ints then a float; b: empty then text
        got = io.read_csv_typed(path)
    finally:
        io.INFER_ROWS = old
    assert got.schema == pl.Schema({"a": pl.Float64, "b": pl.String, "c": pl.Boolean})
    assert got["a"].to_list() == [1.0, 1.0, 2.5] and got["b"].to_list() == [None, None, "x"]
