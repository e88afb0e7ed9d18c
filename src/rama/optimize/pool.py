"""Blocks solved in parallel: a pool of forked worker processes.

The workers are forked, so the problem is inherited, never pickled: each worker gets the
solve's :class:`_Job` once, through the pool's initializer (with the fork start method its
arguments are inherited with the process, not sent), and receives only block product
positions per task. The parent keeps no state between solves.

A forked child must never call polars (its thread pool does not survive ``fork`` and the
call deadlocks), so every cached array the workers read is computed in the parent before the
fork (:func:`materialize`; tests/test_optimize_fork.py).

On a Dask cluster (:mod:`rama.cluster`, ``--dask``) the blocks are Dask tasks instead: the
job is scattered to the workers once and a dead worker's block is rerun by the scheduler.

Dead workers (:func:`run_in_pool`, also used by the scenario sweep): the pool is a
:class:`concurrent.futures.ProcessPoolExecutor`, which notices at once when a worker process
dies (the OOM killer, a segfault) and fails the unfinished tasks with ``BrokenProcessPool``
instead of waiting forever. The finished results are kept and the unfinished tasks run once
more in a fresh pool (a transient kill); if that pool breaks too, :class:`WorkerError`
(reason ``"worker_died"``) names the stage, the exit status and the fix.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cached_property
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

import numpy as np

from rama import cluster
from rama.cluster import kill_hook_for_tests
from rama.errors import WorkerError
from rama.optimize.blocks import make_blocks
from rama.optimize.colgen import solve_block
from rama.optimize.highs_backend import BlockResult
from rama.optimize.lp_model import production_may_bind
from rama.optimize.warm import WarmStart
from rama.problem.model import Problem
from rama.progress import step

T = TypeVar("T")
R = TypeVar("R")


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
    attempt: int = 0  # which pool of the solve (0, or 1 on the retry)


def _start_worker(job: _Job, attempt: int = 0) -> None:
    _Worker.job = job
    _Worker.attempt = attempt


def _solve_in_worker(block: np.ndarray) -> BlockResult:
    assert _Worker.job is not None, "worker started without its job"
    kill_hook_for_tests("optimize", _Worker.attempt)
    return _Worker.job.solve(block)


def _solve_on_cluster(job: _Job, block: np.ndarray) -> BlockResult:
    """A Dask task: one block of the scattered job."""
    kill_hook_for_tests("optimize", 0)
    return job.solve(block)


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


def _exit_status(codes: list[int | None]) -> str:
    """How the dead workers ended ("killed by SIGKILL", "exit code 1"), from their exit codes
    (once one has died, the pool terminates the others with SIGTERM: shown only if alone)."""
    ended = {c for c in codes if c}
    shown = sorted(ended - {-signal.SIGTERM}) or sorted(ended)
    if not shown:
        return "exit status unknown"
    out = []
    for c in shown:
        try:
            out.append(f"killed by {signal.Signals(-c).name}" if c < 0 else f"exit code {c}")
        except ValueError:
            out.append(f"killed by signal {-c}")
    return ", ".join(out)


def _run_once(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    todo: list[int],
    results: dict[int, R],
    workers: int,
    context: BaseContext,
    initializer: Callable[..., object],
    initargs: tuple[Any, ...],
    advance: Callable[[float], None],
) -> str | None:
    """Run ``tasks[k]`` for ``k`` in ``todo`` in one pool, storing results in ``results``
    (``advance(1)`` after each). None when every task finished; how the workers died when
    the pool broke."""
    ex = ProcessPoolExecutor(
        min(workers, len(todo)), mp_context=context, initializer=initializer, initargs=initargs
    )
    procs: list[Any] = []
    try:
        futures: list[tuple[int, Future[R]]] = [(k, ex.submit(fn, tasks[k])) for k in todo]
        for f in as_completed([f for _, f in futures]):  # until the first failure
            if f.exception() is not None:
                break
            advance(1)
        procs = list((getattr(ex, "_processes", None) or {}).values())
        broken = False
        for k, f in futures:
            if not f.done():
                continue
            err = f.exception()
            if err is None:
                results[k] = f.result()
            elif isinstance(err, BrokenProcessPool):
                broken = True
            else:
                raise err  # a task's own error (same as a serial run): stop the pool
        if not broken:
            return None
        ex.shutdown(wait=True, cancel_futures=True)
        return _exit_status([p.exitcode for p in procs])
    except BaseException:
        # an error, or Ctrl-C: stop the workers now rather than finish the running tasks
        for p in procs or list((getattr(ex, "_processes", None) or {}).values()):
            p.terminate()
        raise
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def run_in_pool(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    workers: int,
    context: BaseContext,
    initializer: Callable[..., object],
    initargs: Callable[[int], tuple[Any, ...]],
    *,
    stage: str,
    worker: str,
    doing: str,
    noun: str,
    fix: str,
) -> list[R]:
    """``fn`` of every task in a pool of ``workers`` processes; results in task order.

    ``initargs(attempt)`` gives the initializer's arguments for pool ``attempt`` (0, then 1
    on the retry). A worker that dies breaks the pool: the tasks without a result run once
    more in a fresh pool (with a :class:`RuntimeWarning`), and if that pool breaks too,
    :class:`WorkerError` says ``"{stage}: {worker} died (...) while {doing} N {noun}; ..."``.
    """
    results: dict[int, R] = {}
    deaths: list[str] = []
    for attempt in range(2):
        todo = [k for k in range(len(tasks)) if k not in results]
        with step(f"{stage}: {doing} {noun}", total=len(todo)) as advance:
            died = _run_once(
                fn, tasks, todo, results, workers, context, initializer, initargs(attempt), advance
            )
        if died is None:
            return [results[k] for k in range(len(tasks))]
        deaths.append(died)
        left = len(tasks) - len(results)
        if attempt == 0:
            warnings.warn(
                f"{stage}: {worker} died ({died}); retrying the {left} unfinished {noun} "
                f"(of {len(tasks)}) once in a new pool",
                RuntimeWarning,
                stacklevel=2,
            )
    raise WorkerError(
        f"{stage}: {worker} died ({deaths[0]}) while {doing} {len(tasks)} {noun}; it was "
        f"retried once in a new pool and a worker died again ({deaths[1]}) with {left} "
        "still unfinished",
        stage=stage,
        count=left,
        fix=fix,
    )


def solve_blocks(
    problem: Problem,
    threads: int = 0,
    hubs: bool = True,
    warm_start: WarmStart | None = None,
    record_basis: bool = False,
) -> list[BlockResult]:
    """Solve every block (:func:`rama.optimize.blocks.make_blocks`), in parallel worker
    processes when ``threads`` allows; results in block order, as a serial solve's.

    A dead worker's unfinished blocks are retried once in a new pool; a second death raises
    :class:`WorkerError` (module doc)."""
    job = _Job(problem, production_may_bind(problem), hubs, warm_start, record_basis)
    blocks = make_blocks(problem, warm=warm_start is not None or record_basis)
    if cluster.active() is not None and len(blocks) > 1:
        materialize(problem)
        materialize(problem.transport)
        return cluster.map_tasks(
            _solve_on_cluster, job, blocks, stage="optimize", noun="blocks", grows="size"
        )
    workers = min(n_workers(threads), len(blocks))
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        out = []
        with step("optimize: solving blocks", total=len(blocks)) as advance:
            for b in blocks:
                out.append(job.solve(b))
                advance(1)
        return out
    materialize(problem)
    materialize(problem.transport)
    return run_in_pool(
        _solve_in_worker,
        blocks,
        workers,
        mp.get_context("fork"),  # the job is inherited with the process, never pickled
        _start_worker,
        lambda attempt: (job, attempt),
        stage="optimize",
        worker="a solver worker process",
        doing="solving",
        noun="blocks",
        fix="lower optimize.threads (--threads), free memory, or run with --threads 1",
    )
