"""Stockout-censored demand recovery from the hourly sales and stock-status lists.

Method (flagged hours inside the window, default 6:00-22:00 = list positions 6..21; night
flags are not recovered, as in the published ``stock_hour6_22_cnt``):

1. **In-stock hourly profile** ``p[s, h]`` (shares summing to 1 over the window hours) of
   each series ``s``, estimated only from hours that were in stock, with two-level shrinkage::

       g[h]      = sum_s S[s,h] / sum_s N[s,h], normalised                (global)
       p_prod[h] ~ (S_prod[h] + k_p g[h] L_prod)  / (N_prod[h] + k_p)      (product, all stores)
       p[s, h]   ~ (S[s,h]    + k_p p_prod[h] L_s) / (N[s,h] + k_p)         (series)

   ``S`` = in-stock sales of hour ``h``, ``N`` = number of days hour ``h`` was in stock,
   ``L = sum_h S / sum_h (N * parent share)`` the Poisson MLE of the daily level,
   ``k_p = profile_prior_days``.
2. Per day: flagged share ``P = sum_{h flagged} p[s, h]``, in-stock sales ``A``, sales
   booked in flagged hours ``B``.
3. **Day level**, the Gamma-Poisson posterior mean with exposure ``1 - P`` and a prior of
   mean ``m_s``, worth either ``k`` units of observed demand (``k = prior_units``) or ``c``
   days of exposure (``c = prior_days``; at most one of the two is > 0)::

       m_s = sum_d A / sum_d (1 - P)              (series level over the window, units/day)
       D   = (A + k) / ((1 - P) + k / m_s)        (units form; k = 0: the ratio A / (1 - P))
       D   = (A + c m_s) / ((1 - P) + c)          (days form, the units form with k = c m_s)

   In the units form low sellers (small ``m_s``) lean on their mean, high sellers on the
   day's own sales: ``k`` units are ``k / m_s`` days of exposure, 1 day for a 0.1 unit/day
   series but 0.01 day for a 10 unit/day one. The days form weighs the prior the same for
   every level (a sold-out burst day of a slow mover is then not pulled to its mean harder
   than a fast mover's). Either shrinkage is meant to offset an upward bias of the ratio on
   days that sold out early *because* demand ran high; measured, the ratio (both 0, the
   default) is within 0.4 % of the latent truth on every benchmark family, where the
   shrinkage pulls a lumpy slow mover's sold-out days to its mean (-5.6 % on the
   intermittent family; docs/forecast.md).
4. ``lost = max(0, P * D - B)`` and ``recovered_demand = sale_amount + lost``.

A day out of stock all window long gets ``D = m_s``; a series never in stock in any window
hour falls back to its product's median level, then to 0.

Computation, a map/reduce over blocks of :data:`CHUNK_ROWS` rows: the map
(:func:`block_stats`) reduces a block's hourly lists to its series' ``S``, ``N`` and, per row,
``A``, ``B`` and the flagged hours as a bit mask; the reduce (:func:`reduce_blocks`,
:func:`with_lost`) pools ``S`` and ``N`` in block order into the profiles, then computes ``P``,
the day levels and lost demand over all rows. :func:`recover_demand` maps the slices of an
in-memory frame, :func:`recover_partitions` the partitions of the split's files
(:mod:`rama.data.partitions`; Dask tasks on a cluster), with the same kernels and numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from rama.data.partitions import (
    CHECK_COLUMNS,
    DAILY_COLUMNS,
    DEFAULT_PARTITION_ROWS,
    Partition,
    check_split,
    map_partitions,
    read_partition,
    split_partitions,
)
from rama.errors import DataValidationError
from rama.forecast.schema import (
    HOURS_SALE,
    HOURS_STOCK,
    KEYS,
    LOST,
    OOS_HOURS,
    RECOVERED,
    SALES,
    require_columns,
    series_key,
)

OPEN_FIRST, OPEN_LAST = 6, 22  # open window 6:00-22:00 = list positions 6..21
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
U64 = npt.NDArray[np.uint64]
B1 = npt.NDArray[np.bool_]
WindowT = tuple[int, int]

CHUNK_ROWS = 500_000
"""Rows of one block of the kernels (bounds the exploded hourly arrays to ~0.3 GB)."""


@dataclass(frozen=True)
class BlockStats:
    """The map over one block of rows with the hourly lists (all the recovery needs of it).

    Per series of the block (sorted ``keys``, :func:`series_key`, with their ``product``
    ids): in-stock hourly sales ``S`` (units) and in-stock day counts ``N`` per window hour,
    additive over blocks. Per row: the series' position in ``keys`` (``local``), in-stock
    sales ``A`` and sales in flagged hours ``B`` (units/day), the flagged window hours as a
    bit mask (``flags``, bit ``h - first``) and the flagged hours 6..21 (``oos_cnt``).
    """

    keys: U64
    product: I64
    S: F64
    N: F64
    local: I32
    A: F64
    B: F64
    flags: npt.NDArray[np.uint32]
    oos_cnt: I32


@dataclass(frozen=True)
class Profiles:
    """The reduce: every series (sorted ``keys``), its product rank ``prod`` and its shrunk
    in-stock hourly ``profile`` (shares over the window hours)."""

    keys: U64
    prod: I64
    profile: F64


def check_settings(
    prior_units: float, profile_prior_days: float, window: WindowT, prior_days: float = 0.0
) -> None:
    """Priors >= 0, at most one of ``prior_units`` / ``prior_days`` > 0 and
    ``0 <= first < last <= 24`` (ValueError otherwise)."""
    if prior_units < 0 or profile_prior_days < 0 or prior_days < 0:
        raise ValueError(
            "prior_units (units), prior_days (days) and profile_prior_days (days) must be >= 0"
        )
    if prior_units > 0 and prior_days > 0:
        raise ValueError(
            f"the day-level prior is either prior_units (units of demand) or prior_days "
            f"(days of exposure), got prior_units={prior_units} and prior_days={prior_days}; "
            f"set one of them to 0 (forecast.recovery_prior_units / recovery_prior_days)"
        )
    lo_h, hi_h = window
    if not 0 <= lo_h < hi_h <= 24:
        raise ValueError(f"window must satisfy 0 <= first < last <= 24, got {window}")


def recover_demand(
    history: pl.DataFrame,
    *,
    prior_units: float = 0.0,
    profile_prior_days: float = 30.0,
    window: tuple[int, int] = (OPEN_FIRST, OPEN_LAST),
    keep_hours: bool = False,
    prior_days: float = 0.0,
    source: str = "history",
    chunk_rows: int = CHUNK_ROWS,
) -> pl.DataFrame:
    """Add ``lost_demand`` and ``recovered_demand`` (units/day) to a FreshRetailNet frame.

    ``history`` needs store_id, product_id, sale_amount and the 24-hour lists
    ``hours_sale`` / ``hours_stock_status``; only flagged hours in ``window`` (default
    6:00-22:00, list positions 6..21) are recovered. The hourly lists are dropped from the
    result unless ``keep_hours``; ``stock_hour6_22_cnt`` is added from the list when absent.
    The Gamma prior's weight is ``prior_units`` units of observed demand or ``prior_days``
    days of exposure (at most one > 0; both 0 = the ratio).
    Rows are processed ``chunk_rows`` at a time to bound memory: the map/reduce of
    :func:`recover_partitions`, over slices of the frame instead of partitions of files.
    """
    require_columns(
        history,
        [*KEYS, SALES, HOURS_SALE, HOURS_STOCK],
        source,
        "demand recovery needs the hourly lists; load the published train split "
        "or set forecast.recover_demand=false",
    )
    check_settings(prior_units, profile_prior_days, window, prior_days)
    _check_lists(history, source)
    stats = [block_stats(b, window, source) for b in _blocks(history, chunk_rows)]
    prof = reduce_blocks(stats, profile_prior_days)
    # drop the lists before adding columns: adding first makes polars rechunk them (~GBs)
    out = history if keep_hours else history.drop(HOURS_SALE, HOURS_STOCK)
    return with_lost(out, stats, prof, prior_units, prior_days)


def recover_partitions(
    parts: Sequence[Partition],
    *,
    prior_units: float = 0.0,
    profile_prior_days: float = 30.0,
    window: WindowT = (OPEN_FIRST, OPEN_LAST),
    columns: Sequence[str] = DAILY_COLUMNS,
    split: str = "train",
    stage: str = "forecast",
    prior_days: float = 0.0,
) -> pl.DataFrame:
    """:func:`recover_demand` of a split read partition by partition (the same numbers).

    Map (one task per partition on a Dask cluster): read and check the partition
    (:func:`~rama.data.partitions.read_partition`), keep its daily ``columns`` and its
    blocks' :class:`BlockStats`; the lists are then dropped, so each partition is read once.
    Reduce: the table-wide checks, the pooled profiles, then the flagged profile shares,
    day levels and lost demand over the whole split. Returns ``columns`` (plus
    ``stock_hour6_22_cnt`` from the lists when not among them), ``lost_demand`` and
    ``recovered_demand``.
    """
    check_settings(prior_units, profile_prior_days, window, prior_days)
    mapped = map_partitions(_partition_task, (tuple(columns), window), parts, stage=stage)
    stats = [s for _, block in mapped for s in block]
    frames = [d for d, _ in mapped]
    del mapped
    daily = check_split(frames, parts, split).select(columns)
    del frames
    prof = reduce_blocks(stats, profile_prior_days)
    return with_lost(daily, stats, prof, prior_units, prior_days)


def recover_split(
    path: Path,
    split: str = "train",
    *,
    rows: int = DEFAULT_PARTITION_ROWS,
    prior_units: float = 0.0,
    profile_prior_days: float = 30.0,
    window: WindowT = (OPEN_FIRST, OPEN_LAST),
    columns: Sequence[str] = DAILY_COLUMNS,
    stage: str = "forecast",
    prior_days: float = 0.0,
) -> pl.DataFrame:
    """:func:`recover_partitions` of ``split`` under ``path`` in partitions of ``rows`` rows
    (``data.partition_rows``, rounded down to a multiple of :data:`CHUNK_ROWS`: the blocks,
    and so every sum, are then those of :func:`recover_demand` on the whole split, bit for
    bit, for a split in one file)."""
    return recover_partitions(
        split_partitions(Path(path), split, rows, align=CHUNK_ROWS),
        prior_units=prior_units,
        profile_prior_days=profile_prior_days,
        window=window,
        columns=columns,
        split=split,
        stage=stage,
        prior_days=prior_days,
    )


_LIST_INPUT = (*KEYS, HOURS_SALE, HOURS_STOCK)


def _blocks(df: pl.DataFrame, chunk_rows: int) -> list[pl.DataFrame]:
    """``df`` in slices of ``chunk_rows`` rows (views; one empty slice for an empty frame)."""
    step = max(1, chunk_rows)
    return [df.slice(a, step) for a in range(0, max(df.height, 1), step)]


def _partition_task(
    shared: tuple[tuple[str, ...], WindowT], part: Partition
) -> tuple[pl.DataFrame, list[BlockStats]]:
    """Map task: a checked partition's daily columns and its blocks' statistics."""
    columns, window = shared
    df = read_partition(part)
    lists, source = df.select(_LIST_INPUT), str(part.file)
    stats = [block_stats(b, window, source) for b in _blocks(lists, CHUNK_ROWS)]
    return df.select(list(dict.fromkeys((*columns, *CHECK_COLUMNS)))), stats


def block_stats(block: pl.DataFrame, window: WindowT, source: str) -> BlockStats:
    """The map over one block of rows with the hourly lists (:class:`BlockStats`)."""
    lo_h, hi_h = window
    _check_lists(block, source)
    sale, oos = _chunk_hours(block, 0, block.height, lo_h, hi_h, source)
    keys = block.select(series_key().alias("_k"), pl.col("product_id"))
    uniq = keys.unique("_k").sort("_k")
    local = _index_of(keys["_k"], uniq["_k"])
    k = uniq.height
    bits = np.left_shift(np.uint32(1), np.arange(hi_h - lo_h, dtype=np.uint32))
    return BlockStats(
        keys=uniq["_k"].to_numpy(),
        product=uniq["product_id"].to_numpy().astype(np.int64),
        S=_group_sum(local, np.where(oos, 0.0, sale), k),
        N=_group_sum(local, (~oos).astype(np.float64), k),
        local=local.astype(np.int32),
        A=np.where(oos, 0.0, sale).sum(axis=1),
        B=np.where(oos, sale, 0.0).sum(axis=1),
        flags=(oos * bits).sum(axis=1, dtype=np.uint32),
        oos_cnt=oos[:, max(0, OPEN_FIRST - lo_h) : OPEN_LAST - lo_h].sum(axis=1).astype(np.int32),
    )


def reduce_blocks(stats: Sequence[BlockStats], profile_prior_days: float) -> Profiles:
    """The reduce: the blocks' sums added in block order, then the pooled profiles."""
    keys = np.concatenate([s.keys for s in stats]) if stats else np.empty(0, np.uint64)
    prods = np.concatenate([s.product for s in stats]) if stats else np.empty(0, np.int64)
    uniq, first = np.unique(keys, return_index=True)
    prod = np.unique(prods[first], return_inverse=True)[1].astype(np.int64)  # dense rank
    width = stats[0].S.shape[1] if stats else 0
    S, N = np.zeros((uniq.size, width)), np.zeros((uniq.size, width))
    for s in stats:  # one vectorised scatter per block, in block order
        idx = np.searchsorted(uniq, s.keys)
        S[idx] += s.S
        N[idx] += s.N
    return Profiles(uniq, prod, _profiles(S, N, prod, profile_prior_days))


def with_lost(
    daily: pl.DataFrame,
    stats: Sequence[BlockStats],
    prof: Profiles,
    prior_units: float,
    prior_days: float = 0.0,
) -> pl.DataFrame:
    """``daily`` (the blocks' rows, in block order) with ``lost_demand`` and
    ``recovered_demand`` (units/day), and ``stock_hour6_22_cnt`` from the lists when
    absent. Two passes over the blocks, so no per-row temporary spans the split: the
    series' exposure and in-stock sales, then each block's day levels and lost demand
    (:func:`_lost_kernel`). The flagged profile share ``P`` of a row comes from its bit mask."""
    n_series = prof.prod.size
    exposure, a_tot = np.zeros(n_series), np.zeros(n_series)
    for s in stats:
        sid, P = _block_shares(s, prof)
        exposure += np.bincount(sid, weights=1.0 - P, minlength=n_series)
        a_tot += np.bincount(sid, weights=s.A, minlength=n_series)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = a_tot / exposure
    m = _fill_from_parent(m, prof.prod, int(prof.prod.max()) + 1 if n_series else 0)
    lost = np.concatenate(
        [_lost_kernel(s.A, s.B, *_block_shares(s, prof), m, prior_units, prior_days) for s in stats]
        or [np.empty(0)]
    )
    out = _aligned(daily)
    if OOS_HOURS not in out.columns:
        oos = np.concatenate([s.oos_cnt for s in stats] or [np.empty(0, np.int32)])
        out = out.with_columns(_chunked_like(out, OOS_HOURS, oos))
    out = out.with_columns(_chunked_like(out, LOST, lost))
    return out.with_columns((pl.col(SALES) + pl.col(LOST)).alias(RECOVERED))


def _block_shares(s: BlockStats, prof: Profiles) -> tuple[I64, F64]:
    """A block's rows: their series' positions in ``prof`` and flagged profile shares P."""
    width = prof.profile.shape[1]
    bits = np.left_shift(np.uint32(1), np.arange(width, dtype=np.uint32))
    sid = np.searchsorted(prof.keys, s.keys)[s.local].astype(np.int64)
    hit = np.flatnonzero(s.flags)  # rows with a flagged hour; the others' share is 0
    oos = (s.flags[hit, None] & bits) != 0
    P = np.zeros(sid.size)
    P[hit] = np.where(oos, prof.profile[sid[hit]], 0.0).sum(axis=1).clip(0.0, 1.0)
    return sid, P


def _aligned(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every column cut into the same chunks (rechunked only when they are
    not): polars copies a whole frame of misaligned chunks at each multi-column operation."""
    layouts = {tuple(frame.get_column(c).chunk_lengths()) for c in frame.columns}
    return frame if len(layouts) <= 1 else frame.rechunk()


def _chunked_like(frame: pl.DataFrame, name: str, values: npt.NDArray[Any]) -> pl.Series:
    """``values`` as a Series cut into the chunks of ``frame``'s (aligned) columns."""
    lengths = frame.get_column(frame.columns[0]).chunk_lengths() if frame.width else []
    if len(lengths) <= 1:
        return pl.Series(name, values)
    ends = np.cumsum(lengths)
    return pl.concat(
        [pl.Series(name, values[e - n : e]) for n, e in zip(lengths, ends, strict=True)],
        rechunk=False,
    )


def _check_lists(history: pl.DataFrame, source: str) -> None:
    """Every hourly list has 24 entries (entries are checked chunk by chunk)."""
    for col in (HOURS_SALE, HOURS_STOCK):
        lens = history[col].list.len()
        bad = (lens != 24) | lens.is_null()
        if bad.any():
            ex = history.filter(bad).select([*KEYS, "dt"] if "dt" in history.columns else KEYS)
            raise DataValidationError(
                source,
                "every row needs a 24-hour list",
                column=col,
                examples=ex.head(3).to_dicts(),
                count=int(bad.sum()),
                fix="check the file is the published FreshRetailNet format",
            )


def _chunk_hours(
    history: pl.DataFrame, a: int, b: int, lo_h: int, hi_h: int, source: str
) -> tuple[F64, B1]:
    """(b - a, hi_h - lo_h) hourly sales and out-of-stock flags of rows a..b-1, validated."""
    m = b - a
    part = history.slice(a, m)
    flats = (part[HOURS_SALE].explode().cast(pl.Float64), part[HOURS_STOCK].explode())
    for col, flat in zip((HOURS_SALE, HOURS_STOCK), flats, strict=True):
        if flat.null_count():
            raise DataValidationError(
                source,
                "null entries inside the hourly list",
                column=col,
                count=int(flat.null_count()),
                fix="fill the missing hours (0 sales / 0 = in stock) before forecasting",
            )
    sale = flats[0].to_numpy().reshape(m, 24)
    if (sale < 0).any():
        rows = np.flatnonzero((sale < 0).any(axis=1))
        raise DataValidationError(
            source,
            "negative hourly sales",
            column=HOURS_SALE,
            examples=part[rows[:3]]
            .select([c for c in (*KEYS, "dt") if c in part.columns])
            .to_dicts(),
            count=len(rows),
            fix="hourly sales must be >= 0",
        )
    oos = flats[1].to_numpy().reshape(m, 24)
    return (
        np.ascontiguousarray(sale[:, lo_h:hi_h], dtype=np.float64),
        np.ascontiguousarray(oos[:, lo_h:hi_h] == 1),
    )


def _index_of(values: pl.Series, sorted_unique: pl.Series) -> I64:
    """Position of each value in a sorted unique series (vectorised search)."""
    return np.searchsorted(sorted_unique.to_numpy(), values.to_numpy()).astype(np.int64)


def _group_sum(idx: I64, weights: F64, n_groups: int) -> F64:
    """Column-wise sums of a (n, k) matrix into (n_groups, k) by group index: one bincount
    over the flattened matrix, bin ``group * k + column`` (each bin adds its values in row
    order, as a bincount per column does: the same bits, without k strided column copies).

    >>> _group_sum(np.array([1, 0, 1]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), 3)
    array([[3., 4.],
           [6., 8.],
           [0., 0.]])
    """
    k = weights.shape[1]
    flat = (idx[:, None] * k + np.arange(k)).ravel()
    sums = np.bincount(flat, weights=weights.ravel(), minlength=n_groups * k)
    return np.asarray(sums, dtype=np.float64).reshape(n_groups, k)  # float64 already: no copy


def _shrunk_profile(S: F64, N: F64, prior: F64, k: float) -> F64:
    """Rows of hourly shares: (S + k * prior * L) / (N + k), normalised, L = Poisson MLE."""
    with np.errstate(invalid="ignore", divide="ignore"):
        level = S.sum(axis=1) / (N * prior).sum(axis=1)
    level = np.where(np.isfinite(level), level, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = (S + k * prior * level[:, None]) / (N + k)
    rate = np.where(np.isfinite(rate), rate, 0.0)
    tot = rate.sum(axis=1, keepdims=True)
    return np.where(tot > 0, rate / np.where(tot > 0, tot, 1.0), prior)


def _profiles(S: F64, N: F64, prod_of_series: I64, k: float) -> F64:
    """Series hourly shares shrunk to their product's, shrunk to the global profile."""
    width = S.shape[1]
    n_prod = int(prod_of_series.max()) + 1 if len(prod_of_series) else 0
    g_rate = S.sum(axis=0) / np.maximum(N.sum(axis=0), 1.0)
    g = g_rate / g_rate.sum() if g_rate.sum() > 0 else np.full(width, 1.0 / width)
    S_p = _group_sum(prod_of_series, S, n_prod)
    N_p = _group_sum(prod_of_series, N, n_prod)
    p_prod = _shrunk_profile(S_p, N_p, np.broadcast_to(g, S_p.shape), k)
    return _shrunk_profile(S, N, p_prod[prod_of_series], k)


def _lost_kernel(
    A: F64, B: F64, sid: I64, P: F64, m: F64, prior_units: float, prior_days: float = 0.0
) -> F64:
    """Lost demand per day from in-stock sales A, flagged-hour sales B, flagged share P and
    the series levels ``m`` (units/day) of rows' series ``sid``.

    D = (A + k) / ((1 - P) + k / m_s)  (k = ``prior_units`` > 0), or
    D = (A + c m_s) / ((1 - P) + c)    (c = ``prior_days`` > 0), else D = A / (1 - P);
    lost = max(0, P D - B).
    """
    ms = m[sid]
    with np.errstate(invalid="ignore", divide="ignore"):
        if prior_days > 0:  # prior worth c days of exposure at the series level
            level = (A + prior_days * ms) / ((1.0 - P) + prior_days)
        elif prior_units > 0:
            level = np.where(ms > 0, (A + prior_units) / ((1.0 - P) + prior_units / ms), 0.0)
        else:  # pure ratio estimator; a fully stocked-out day has no information
            level = np.where(P < 1.0 - 1e-9, A / (1.0 - P), ms)
    level = np.where(np.isfinite(level), level, 0.0)
    return np.asarray(np.maximum(P * level - B, 0.0))


def _fill_from_parent(m: F64, parent: I64, n_parent: int) -> F64:
    """Replace non-finite series levels by the median of their product's, then by 0."""
    bad = ~np.isfinite(m)
    if not bad.any():
        return m
    out = m.copy()
    good = ~bad
    med = np.zeros(n_parent)
    if good.any():
        order = np.lexsort((m[good], parent[good]))
        par_sorted, m_sorted = parent[good][order], m[good][order]
        starts = np.searchsorted(par_sorted, np.arange(n_parent), side="left")
        ends = np.searchsorted(par_sorted, np.arange(n_parent), side="right")
        has = ends > starts
        lo = (starts + (ends - starts - 1) // 2)[has]
        hi = (starts + (ends - starts) // 2)[has]
        med[has] = 0.5 * (m_sorted[lo] + m_sorted[hi])
    out[bad] = med[parent[bad]]
    return out
