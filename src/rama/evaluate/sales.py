"""The eval split's sales of the planning week, read one partition at a time
(:mod:`rama.data.partitions`): the 24-hour lists of one partition and of one recovery block
are in memory at once, never those of the whole split.

The numbers are those of loading the whole split (``load_freshretail``), keeping the forecast
days and running :func:`rama.forecast.recover_demand` on them: the same checks (row checks
per partition, then the table-wide ones), the same blocks of
:data:`~rama.forecast.recovery.CHUNK_ROWS` kept rows in the same order, so the same sums.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import polars as pl

from rama.data.partitions import (
    CHECK_COLUMNS,
    DEFAULT_PARTITION_ROWS,
    check_split,
    read_partition,
    split_partitions,
)
from rama.errors import DataValidationError
from rama.forecast import recover_demand
from rama.forecast.recovery import (
    CHUNK_ROWS,
    BlockStats,
    block_stats,
    check_settings,
    reduce_blocks,
    with_lost,
)
from rama.problem import PAIR_KEYS as KEYS

PROFILE_PRIOR_DAYS = float(
    inspect.signature(recover_demand).parameters["profile_prior_days"].default
)
"""The hourly profiles' prior weight (days) of :func:`recover_demand`'s default, which the
eval week's recovery has always used."""

LISTS = ("hours_sale", "hours_stock_status")
DAILY = (*KEYS, "dt", "sale_amount", "stock_hour6_22_cnt")


class _Blocks:
    """Kept rows with their lists, cut into blocks of ``CHUNK_ROWS`` as they arrive; a
    recovery error is kept (raised after the table-wide checks, as the whole-split path
    raises it)."""

    def __init__(self, window: tuple[int, int], source: str) -> None:
        self.window, self.source = window, source
        self.stats: list[BlockStats] = []
        self.pending: list[pl.DataFrame] = []
        self.rows = 0
        self.error: DataValidationError | None = None

    def add(self, rows: pl.DataFrame) -> None:
        """Queue ``rows``; make the full blocks."""
        if rows.height:
            self.pending.append(rows)
            self.rows += rows.height
        while self.rows >= CHUNK_ROWS:
            self._block()

    def finish(self) -> list[BlockStats]:
        """The last (short) block; every block's statistics, or the first recovery error."""
        if self.rows:
            self._block()
        if self.error is not None:
            raise self.error
        return self.stats

    def _block(self) -> None:
        buf = pl.concat(self.pending, rechunk=False)
        block, rest = buf.head(CHUNK_ROWS), buf.slice(CHUNK_ROWS)
        # a copy of the rest, so that the partition it is a view of can be freed
        self.pending = [pl.concat([rest, rest.clear()])] if rest.height else []
        self.rows = rest.height
        if self.error is None:
            try:
                self.stats.append(block_stats(block, self.window, self.source))
            except DataValidationError as err:
                self.error = err


def eval_window(
    data_dir: Path,
    days: list[str],
    *,
    recover: bool,
    prior_units: float,
    window: tuple[int, int],
    rows: int = DEFAULT_PARTITION_ROWS,
    prior_days: float = 0.0,
) -> pl.DataFrame:
    """The checked eval split's rows of ``days`` (``YYYY-MM-DD``): store_id, product_id, dt,
    sale_amount, stock_hour6_22_cnt, plus ``lost_demand`` and ``recovered_demand`` when
    ``recover`` (the ``[forecast]`` recovery settings ``prior_units``, ``prior_days``,
    ``window``), the
    hourly profiles estimated from these rows alone."""
    source = f"{data_dir} (eval)"
    if recover:
        check_settings(prior_units, PROFILE_PRIOR_DAYS, window, prior_days)
    parts = split_partitions(Path(data_dir), "eval", rows)
    checks, kept = [], []
    blocks = _Blocks(window, source)
    for part in parts:
        df = read_partition(part)
        checks.append(df.select(list(dict.fromkeys((*CHECK_COLUMNS, *DAILY)))))
        win = df.filter(pl.col("dt").cast(pl.String).is_in(days))
        del df
        kept.append(win.select(DAILY))
        if recover:
            blocks.add(win.select(*DAILY, *LISTS))
        del win
    check_split(checks, parts, "eval")
    del checks
    daily = pl.concat(kept, rechunk=False)
    if not recover or daily.height == 0:
        return daily
    stats = blocks.finish()
    prof = reduce_blocks(stats, PROFILE_PRIOR_DAYS)
    return with_lost(daily, stats, prof, prior_units, prior_days)
