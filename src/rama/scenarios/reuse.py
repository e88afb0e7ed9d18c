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

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import polars as pl

from rama.problem import Problem
from rama.strategies import Decision, StrategyContext

Grid = np.ndarray | None

# every field of rama.problem.Problem that problem_digest covers (a test checks it is all of
# them: a new field must enter the digest, or be argued out of it, before it can differ unseen)
DIGESTED = (
    "stores",
    "products",
    "store_products",
    "transport",
    "source",
    "demand_points",
    "demand_grid",
)

# strategy -> whether it reads the transport matrix (its decision is a function of the
# problem's frames, demand points / grid and source, plus the transport matrix when True);
# the rule strategies qualify too, but cost less than the digest: not listed
REUSABLE: dict[str, bool] = {
    "decentralized_lp": False,  # solves without_routes(problem): no transport
}


def _update_array(h: Any, name: str, a: np.ndarray | None) -> None:
    if a is None:
        h.update(f"{name}:none;".encode())
        return
    arr = np.ascontiguousarray(a)
    h.update(f"{name}:{arr.dtype.str}:{arr.shape};".encode())
    h.update(arr.view(np.uint8).reshape(-1) if arr.size else b"")


def _update_frame(h: Any, name: str, frame: pl.DataFrame) -> None:
    h.update(f"{name}:{frame.height}:{frame.columns};".encode())
    for col in frame.columns:
        s = frame[col]
        nulls = s.null_count()
        h.update(f"{col}:{s.dtype}:{nulls};".encode())
        if s.dtype in (pl.String, pl.Categorical):
            _update_array(h, col, np.asarray(s.cast(pl.String).fill_null("\x00").to_list()))
            continue
        if nulls:
            _update_array(h, f"{col}:null", s.is_null().to_numpy())
            s = s.fill_null(0)
        _update_array(h, col, s.to_numpy())  # numeric without nulls: no copy


def context_key(ctx: StrategyContext | None) -> str:
    """What a problem-only strategy reads of the sweep's context: backend, threads, lot size
    (units), checks (fixed within a sweep; keyed all the same)."""
    if ctx is None:
        return "context:none"
    return f"context:{ctx.backend}:{ctx.threads}:{ctx.lot!r}:{ctx.check}"


def problem_digest(problem: Problem, strategy: str, ctx: StrategyContext | None = None) -> bytes:
    """An exact key of what ``strategy`` reads of ``problem`` and ``ctx`` (module doc; 32
    bytes).

    Equal digests mean equal inputs (every column's name, dtype and values of the three
    frames, the demand points, the source, and the transport matrix when the strategy reads
    it; of the demand grid its dtype and shape, :class:`SolveCache` compares its bytes;
    :func:`context_key`); any difference in them changes the digest."""
    h = hashlib.blake2b(digest_size=32)
    h.update(f"strategy:{strategy};source:{problem.source};{context_key(ctx)};".encode())
    _update_frame(h, "stores", problem.stores)
    _update_frame(h, "products", problem.products)
    _update_frame(h, "store_products", problem.store_products)
    _update_array(h, "demand_points", problem.demand_points)
    grid = problem.demand_grid  # n x G: compared byte for byte on a hit (cheaper than hashing)
    h.update(f"demand_grid:{None if grid is None else (grid.dtype.str, grid.shape)};".encode())
    if REUSABLE.get(strategy, True):
        t = problem.transport
        h.update(f"transport:{t.n_stores};".encode())
        _update_array(h, "dense", t.dense)
        csr = t.csr
        for part in ("data", "indices", "indptr"):
            _update_array(h, part, None if csr is None else getattr(csr, part))
    return h.digest()


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
        return {n: (problem_digest(problem, n, ctx), grid) for n in strategies if n in REUSABLE}

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
