"""The exact median of a column held in partitions, without the column in one place.

Each partition first gives a :class:`Sketch` (its count and evenly spaced order statistics).
The sketches guess a bracket ``[lo, hi]`` around the middle ranks; each partition then gives
a :class:`Slice` (how many of its values lie below ``lo``, and its values inside the
bracket), and the middle values are read from the pooled inside values. A guess that misses
(a sketch only guides) is widened and asked again, the last time unbounded, so the answer is
always exact; the memory is that of the sketches and one bracket's values (about 0.4 % of
the column for the first guess), not of the column.

>>> parts = [np.array([5.0, 1.0, 3.0]), np.array([2.0, 4.0, 6.0])]
>>> median_of_parts(parts)
3.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

SKETCH_POINTS = 1025
"""Order statistics a partition's sketch keeps (its minimum and maximum included)."""
SPREADS = (2.0, 16.0, 128.0)
"""First bracket guesses, in sketch steps (of ``1 / SKETCH_POINTS`` of the rows) either side
of the middle ranks; after them the bracket is unbounded."""


@dataclass(frozen=True)
class Sketch:
    """``n`` values; ``values``: sorted order statistics at evenly spaced ranks."""

    n: int
    values: np.ndarray


@dataclass(frozen=True)
class Bracket:
    """The closed interval ``[lo, hi]`` (``-inf`` / ``inf``: unbounded)."""

    lo: float
    hi: float


@dataclass(frozen=True)
class Slice:
    """A partition's answer to a bracket: ``below`` values ``< lo``, the ``inside`` ones."""

    below: int
    inside: np.ndarray


def sketch(values: np.ndarray, points: int = SKETCH_POINTS) -> Sketch:
    """The sketch of ``values`` (any order; NaN not allowed)."""
    v = np.sort(np.asarray(values, dtype=float))
    if v.size == 0:
        return Sketch(0, v)
    idx = np.unique(np.linspace(0, v.size - 1, min(v.size, points)).round().astype(np.int64))
    return Sketch(int(v.size), v[idx])


def take(values: np.ndarray, bracket: Bracket) -> Slice:
    """The :class:`Slice` of ``values`` for ``bracket``."""
    v = np.asarray(values, dtype=float)
    inside = (v >= bracket.lo) & (v <= bracket.hi)
    return Slice(int(np.count_nonzero(v < bracket.lo)), v[inside])


def middle_ranks(n: int) -> tuple[int, int]:
    """The 0-based ranks whose values make the median of ``n`` values (equal when odd)."""
    return (n - 1) // 2, n // 2


def guess(sketches: Sequence[Sketch], ranks: tuple[int, int], spread: float) -> Bracket:
    """A bracket around ``ranks``: each sketch value stands for ``n / len(values)`` ranks of
    its partition; the bracket reaches ``spread`` sketch steps of the rows either side."""
    kept = [s for s in sketches if s.n]
    n = sum(s.n for s in kept)
    values = np.concatenate([s.values for s in kept])
    weights = np.concatenate([np.full(s.values.size, s.n / s.values.size) for s in kept])
    order = np.argsort(values, kind="stable")
    values, rank = values[order], np.cumsum(weights[order]) - 1.0
    step = spread * n / SKETCH_POINTS
    lo_rank, hi_rank = ranks[0] - step, ranks[1] + step
    last = values.size - 1
    lo = -np.inf if lo_rank <= 0 else values[min(int(np.searchsorted(rank, lo_rank)), last)]
    hi = np.inf if hi_rank >= n - 1 else values[min(int(np.searchsorted(rank, hi_rank)), last)]
    return Bracket(float(lo), float(hi))


def resolve(slices: Sequence[Slice], ranks: tuple[int, int]) -> list[float] | None:
    """The values at ``ranks`` when the bracket holds both, else None."""
    below = sum(s.below for s in slices)
    inside = np.sort(np.concatenate([s.inside for s in slices]))
    if not all(below <= r < below + inside.size for r in ranks):
        return None
    return [float(inside[r - below]) for r in sorted(set(ranks))]


def exact_median(
    sketches: Sequence[Sketch], ask: Callable[[Bracket], Sequence[Slice]]
) -> float | None:
    """The median of the values the ``sketches`` describe, polars' ``median`` to the bit (the
    mean of the two middle values for an even count; None for no value); ``ask(bracket)``
    returns every partition's :class:`Slice`, in any order."""
    n = sum(s.n for s in sketches)
    if n == 0:
        return None
    ranks = middle_ranks(n)
    for spread in SPREADS:
        middle = resolve(ask(guess(sketches, ranks, spread)), ranks)
        if middle is not None:
            return _median(middle)
    middle = resolve(ask(Bracket(-np.inf, np.inf)), ranks)
    assert middle is not None, "an unbounded bracket holds every rank"
    return _median(middle)


def _median(middle: list[float]) -> float:
    """polars' median of the middle value(s): its own arithmetic for the pair."""
    value = pl.Series(middle, dtype=pl.Float64).median()
    assert isinstance(value, float)
    return value


def median_of_parts(parts: Sequence[np.ndarray]) -> float | None:
    """:func:`exact_median` of in-memory partitions (both passes here; for tests and docs)."""
    return exact_median([sketch(p) for p in parts], lambda b: [take(p, b) for p in parts])
