"""Row blocks of a table sorted by a key, cut only where the key changes, so that a group-wise
computation (per store, per store x product) can run one block at a time: each block holds
whole groups, and the transient memory of a ``group_by`` is that of one block, not of the
table.

>>> df = pl.DataFrame({"store_id": [1, 1, 1, 2, 2, 3, 4, 4]})
>>> key_blocks(df, "store_id", 4)
[(0, 5), (5, 3)]
>>> key_blocks(df, "store_id", 100)
[(0, 8)]
"""

from __future__ import annotations

from itertools import pairwise

import polars as pl

BLOCK_ROWS = 250_000
"""Rows per block of the group-wise steps: small blocks are faster as well as smaller (one
``group_by`` over 9 M daily rows takes ~2 GB and ~5 s, over blocks of 250,000 rows ~0.3 GB
and ~1.5 s; benchmarks/bench_prepare.py)."""


def key_blocks(frame: pl.DataFrame, key: str, rows: int = BLOCK_ROWS) -> list[tuple[int, int]]:
    """``(offset, length)`` ranges covering ``frame`` in order, each of at least ``rows`` rows
    (the last one may be shorter), cut after the last row of a ``key`` value, so no value
    of ``key`` straddles two blocks. One block when ``key`` is not in ascending order."""
    if rows < 1:
        raise ValueError(f"rows per block must be >= 1, got {rows}")
    n = frame.height
    if n <= rows:
        return [(0, n)]
    col = frame.get_column(key)
    if col.null_count() or not col.is_sorted():
        return [(0, n)]
    cuts = [0]
    while cuts[-1] + rows < n:
        end = int(col.search_sorted(col[cuts[-1] + rows - 1], side="right"))
        if end >= n:
            break
        cuts.append(end)
    cuts.append(n)
    return [(a, b - a) for a, b in pairwise(cuts)]


def blocks(frame: pl.DataFrame, key: str, rows: int = BLOCK_ROWS) -> list[pl.DataFrame]:
    """The :func:`key_blocks` of ``frame`` as zero-copy slices."""
    return [frame.slice(a, n) for a, n in key_blocks(frame, key, rows)]
