"""Blocks solved in parallel: a pool of forked worker processes.

The workers are forked, so the problem is inherited, never pickled: each worker gets the
solve's :class:`_Job` once, through the pool's initializer (with the fork start method its
arguments are inherited with the process, not sent), and receives only block product
positions per task. The parent keeps no state between solves.

A forked child must never call polars (its thread pool does not survive ``fork`` and the
call deadlocks), so every cached array the workers read is computed in the parent before the
fork (:func:`materialize`; tests/test_optimize_fork.py).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rama.optimize.blocks import make_blocks
from rama.optimize.colgen import solve_block
from rama.optimize.highs_backend import BlockResult
from rama.optimize.lp_model import production_may_bind
from rama.optimize.warm import WarmStart
from rama.problem.model import Problem


@dataclass(frozen=True)
class _Job:
    """What every block of one solve shares."""

    problem: Problem
    general: np.ndarray  # production_may_bind(problem)
    hubs: bool
    warm_start: WarmStart | None
    record_basis: bool

    def solve(self, block: np.ndarray) -> BlockResult:
        return solve_block(
            self.problem,
            block,
            self.general,
            hubs=self.hubs,
            warm_start=self.warm_start,
            record_basis=self.record_basis,
        )


class _Worker:
    """A worker process's job: set once, in the child only, by the pool's initializer."""

    job: _Job | None = None


def _start_worker(job: _Job) -> None:
    _Worker.job = job


def _solve_in_worker(block: np.ndarray) -> BlockResult:
    assert _Worker.job is not None, "worker started without its job"
    return _Worker.job.solve(block)


def n_workers(threads: int) -> int:
    """Worker processes: ``threads``, or all usable cores when 0."""
    if threads > 0:
        return threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def materialize(obj: object) -> None:
    """Compute every cached array of ``obj`` now, in the parent process (see module doc)."""
    for name, attr in vars(type(obj)).items():
        if isinstance(attr, cached_property):
            getattr(obj, name)


def solve_blocks(
    problem: Problem,
    threads: int = 0,
    hubs: bool = True,
    warm_start: WarmStart | None = None,
    record_basis: bool = False,
) -> list[BlockResult]:
    """Solve every block (:func:`rama.optimize.blocks.make_blocks`), in parallel worker
    processes when ``threads`` allows (in completion order)."""
    job = _Job(problem, production_may_bind(problem), hubs, warm_start, record_basis)
    blocks = make_blocks(problem, warm=warm_start is not None or record_basis)
    workers = min(n_workers(threads), len(blocks))
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return [job.solve(b) for b in blocks]
    materialize(problem)
    materialize(problem.transport)
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_start_worker, initargs=(job,)) as pool:
        return list(pool.imap_unordered(_solve_in_worker, blocks, chunksize=1))
