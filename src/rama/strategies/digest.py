"""Exact keys of what a strategy reads: a problem's values and the strategy context.

:func:`problem_digest` is a BLAKE2b digest of every value a strategy's problem is built
from, by name, dtype and shape, plus what it reads of the context (:func:`context_key`).
Equal digests mean equal inputs, so a decision made under one digest is the decision of any
problem with that digest: the scenario sweep reuses decisions within a sweep
(:mod:`rama.scenarios.reuse`) and the base scenario's from the evaluation stage
(:mod:`rama.strategies.saved`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl

from rama.problem import Problem
from rama.strategies.context import StrategyContext

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
    """What a strategy reads of the context: backend, threads, lot size (units), checks, and
    the stochastic settings (points, distribution, fill-rate target, tolerance and solves)."""
    if ctx is None:
        return "context:none"
    return (
        f"context:{ctx.backend}:{ctx.threads}:{ctx.lot!r}:{ctx.check};"
        f"stochastic:{ctx.points}:{ctx.distribution}:{ctx.fill_rate_target!r}:"
        f"{ctx.fill_rate_tolerance!r}:{ctx.max_solves}"
    )


def problem_digest(
    problem: Problem, strategy: str, ctx: StrategyContext | None = None, *, grid: bool = False
) -> bytes:
    """An exact key of what ``strategy`` reads of ``problem`` and ``ctx`` (module doc; 32
    bytes).

    Equal digests mean equal inputs (every column's name, dtype and values of the three
    frames, the demand points, the source, and the transport matrix when the strategy reads
    it; of the demand grid its dtype and shape, :class:`SolveCache` compares its bytes;
    :func:`context_key`); any difference in them changes the digest. With ``grid`` the
    demand grid's bytes are digested too (a key kept on disk, with no grid to compare)."""
    return problem_digests(problem, [strategy], ctx, grid=grid)[strategy]


def problem_digests(
    problem: Problem,
    strategies: list[str],
    ctx: StrategyContext | None = None,
    *,
    grid: bool = False,
) -> dict[str, bytes]:
    """:func:`problem_digest` of each of ``strategies``, the problem's values hashed once
    (the 10x transport matrix alone takes about 1.3 s)."""
    shared: dict[str, bytes] = {}

    def part(name: str) -> bytes:
        if name not in shared:
            h = hashlib.blake2b(digest_size=32)
            if name == "frames":
                _update_frame(h, "stores", problem.stores)
                _update_frame(h, "products", problem.products)
                _update_frame(h, "store_products", problem.store_products)
                _update_array(h, "demand_points", problem.demand_points)
                # the n x G demand grid: compared byte for byte on a hit, or hashed
                g = problem.demand_grid
                h.update(f"demand_grid:{None if g is None else (g.dtype.str, g.shape)};".encode())
                if grid and g is not None:
                    _update_array(h, "demand_grid", g)
            else:
                t = problem.transport
                h.update(f"transport:{t.n_stores};".encode())
                _update_array(h, "dense", t.dense)
                csr = t.csr
                for piece in ("data", "indices", "indptr"):
                    _update_array(h, piece, None if csr is None else getattr(csr, piece))
            shared[name] = h.digest()
        return shared[name]

    out: dict[str, bytes] = {}
    for strategy in strategies:
        h = hashlib.blake2b(digest_size=32)
        h.update(f"strategy:{strategy};source:{problem.source};{context_key(ctx)};".encode())
        h.update(part("frames"))
        if REUSABLE.get(strategy, True):
            h.update(part("transport"))
        out[strategy] = h.digest()
    return out
