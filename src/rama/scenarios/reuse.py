"""Reuse a strategy's decision when the problem it reads is identical to one already solved.

Two scenario problems with different plan keys (:meth:`rama.scenario_spec.Scenario.plan_key`)
can still give some strategy exactly the same problem: the decentralized LP solves
:func:`rama.problem.without_routes` of the scenario problem, which reads the stores,
products and store-product frames, the demand points and grid and the source, but never the
transport matrix; so a scenario that changes only transport costs (``fuel_shock``) hands it
the base's problem. :func:`problem_digest` is an exact key (a BLAKE2b digest of every value
the strategy's problem is built from, by name, dtype and shape; the large demand grid is
compared byte for byte instead); :class:`SolveCache` keeps the decisions under it and hands
them back when both match.

Only strategies whose decision is a function of their problem alone (and of the sweep's
fixed context: backend, threads, lot size, checks; in the key too) are reused
(:data:`REUSABLE`). The warm-started LPs (centralized, stochastic) also depend on the
reference bases they start from, and the base group's solves record those bases: they are
never reused here.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from rama.problem import Problem
from rama.strategies import Decision, StrategyContext
from rama.strategies.digest import (
    DIGESTED,
    REUSABLE,
    context_key,
    problem_digest,
    problem_digests,
)

__all__ = ["DIGESTED", "REUSABLE", "Grid", "SolveCache", "context_key", "problem_digest"]

Grid = np.ndarray | None


class SolveCache:
    """Decisions of the :data:`REUSABLE` strategies by :func:`problem_digest`: the first
    problem's (the sweep's reference, the base, which the scenarios changing only what a
    strategy never reads match) always, and the ``size`` most recently used others (0 = off;
    each decision holds its plan and problem: about 80 MB at 10x). ``hits``: decisions
    reused."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._known: OrderedDict[bytes, tuple[Decision, np.ndarray | None]] = OrderedDict()
        self._first: set[bytes] = set()
        self.hits = 0

    def keys(
        self, problem: Problem, strategies: list[str], ctx: StrategyContext | None = None
    ) -> dict[str, tuple[bytes, Grid]]:
        """:func:`problem_digest` of ``problem`` and ``ctx`` (and the demand grid, compared on
        a hit) for each reusable strategy of ``strategies``."""
        if self.size <= 0:
            return {}
        grid = problem.demand_grid
        digests = problem_digests(problem, [n for n in strategies if n in REUSABLE], ctx)
        return {n: (key, grid) for n, key in digests.items()}

    def lookup(self, keys: dict[str, tuple[bytes, Grid]]) -> dict[str, Decision]:
        """The decisions already known under ``keys`` (:meth:`keys`), by strategy."""
        out: dict[str, Decision] = {}
        for name, (key, grid) in keys.items():
            known = self._known.get(key)
            if known is not None and _same_bytes(known[1], grid):
                self._known.move_to_end(key)
                self.hits += 1
                out[name] = known[0]
        return out

    def store(self, keys: dict[str, tuple[bytes, Grid]], decisions: dict[str, Decision]) -> None:
        """Keep the decisions of the strategies in ``keys`` under their digests."""
        first = not self._first  # the first problem's keys are never dropped
        for name, (key, grid) in keys.items():
            if name in decisions:
                self._known[key] = (decisions[name], grid)
                self._known.move_to_end(key)
                if first:
                    self._first.add(key)
        others = [k for k in self._known if k not in self._first]
        for k in others[: max(len(others) - self.size, 0)]:
            del self._known[k]


def _same_bytes(a: Grid, b: Grid) -> bool:
    """``a`` and ``b`` both None, or the same dtype, shape and bytes (NaN payloads too)."""
    if a is None or b is None:
        return a is b
    if a is b:
        return True
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(
        np.array_equal(
            np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8)
        )
    )
