"""Work beyond one machine: a Dask cluster for the per-product solves and the scenario sweep
(a shared leaf; ``docs/cluster.md``).

``rama run --dask ADDRESS`` (or ``run.dask``) connects to a Dask scheduler, ``local`` starts a
:class:`distributed.LocalCluster`. While :func:`use_cluster` holds a client, the optimizer's
blocks and the scenario groups are Dask tasks instead of local processes: the problem is
scattered to the workers once, each task carries only its block or group, and a task whose
worker dies is rerun by the scheduler on another worker (``retries`` plus Dask's own
``allowed-failures``). Without a cluster nothing here is imported on the hot path.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from rama.errors import StageInputError, WorkerError

T = TypeVar("T")
R = TypeVar("R")

LOCAL = "local"
CONNECT_TIMEOUT_S = 10
RETRIES = 2
"""Times a task is resubmitted after its worker died (the scheduler also reschedules tasks
of a lost worker by itself, up to ``distributed.scheduler.allowed-failures``)."""


class _Active:
    client: Any = None
    scratch: Path | None = None


def active() -> Any:
    """The client of the cluster in use, or None (run locally)."""
    return _Active.client


@contextmanager
def scratch_dir(prefix: str, base: Path | None = None) -> Iterator[Path]:
    """A new folder the workers can read, removed afterwards (it holds only what rama
    wrote in it): under the ``scratch`` of :func:`use_cluster` (the run folder for a stage
    command: a shared file system, like the data folder), else under ``base`` when given,
    else in the system's temporary folder (enough for a LocalCluster). Named
    ``.PREFIX.XXXXXXXX.tmp``, so a run killed meanwhile has it removed as a leftover by the
    next command in that run folder."""
    if _Active.scratch is not None:
        base = _Active.scratch
    elif base is None:
        base = Path(tempfile.gettempdir())
    folder = Path(tempfile.mkdtemp(prefix=f".{prefix}.", suffix=".tmp", dir=base))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SLOW_MALLOC = "MALLOC_TRIM_THRESHOLD_"
"""Dask sets it (65536) in its workers' environment to return freed memory sooner; glibc then
stops adapting its mmap threshold, so every large numpy or HiGHS buffer is mapped and unmapped
anew, page faults and all: the 10x scenario sweep on 2 workers took 378 s against 247 s
(system time 249 against 65 s; one run after the other). rama's LocalCluster leaves
it out (this process's own environment still reaches the workers); docs/cluster.md says how
to leave it out on workers started by hand."""


def connect(address: str, n_workers: int = 2) -> tuple[Any, Any]:
    """A ``(client, cluster)`` for ``address``: ``"local"`` starts a LocalCluster of
    ``n_workers`` single-threaded worker processes (cluster returned to be closed), else the
    scheduler at ``address`` (``tcp://host:8786``; cluster None). An unreachable address is a
    StageInputError naming it."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise StageInputError(
            "--dask needs the 'distributed' package", fix="pip install 'dask[distributed]'"
        ) from exc
    if address == LOCAL:
        import dask

        # None unsets a pre-spawn variable (distributed.nanny._get_env_variables)
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{SLOW_MALLOC}": None}):
            cluster = LocalCluster(
                n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        return Client(cluster), cluster
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S), None
    except (OSError, TimeoutError, ValueError) as exc:
        raise StageInputError(
            f"--dask {address}: no Dask scheduler answered within {CONNECT_TIMEOUT_S} s "
            f"({type(exc).__name__}: {exc})",
            reason="cluster_unreachable",
            fix="check the scheduler address (tcp://HOST:8786) and that the scheduler runs, "
            "or use --dask local",
        ) from exc


@contextmanager
def use_cluster(
    address: str | None, n_workers: int = 2, *, scratch: Path | None = None
) -> Iterator[Any]:
    """Run the heavy work of the block on the cluster at ``address`` (None or "": locally);
    yields the client (or None). ``scratch``: where tasks' inputs too large to pass through
    the scheduler are written for the workers to read (:func:`scratch_dir`; a folder every
    worker sees at the same path, e.g. the run folder)."""
    if not address:
        yield None
        return
    # a LocalCluster's nannies write Dask's worker environment (one BLAS thread, ...) into
    # this process's os.environ before spawning: it is put back when the cluster closes, or
    # when it fails to start
    saved = _spawn_environ() if address == LOCAL else {}
    try:
        client, cluster = connect(address, n_workers)
        previous, _Active.client = _Active.client, client
        previous_scratch, _Active.scratch = _Active.scratch, scratch
        try:
            yield client
        finally:
            _Active.client = previous
            _Active.scratch = previous_scratch
            client.close()
            if cluster is not None:
                cluster.close()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _spawn_environ() -> dict[str, str | None]:
    """This process's values of the variables a Dask nanny sets before spawning a worker."""
    import dask

    names = {"PYTHONHASHSEED", *dask.config.get("distributed.nanny.pre-spawn-environ", {})}
    return {name: os.environ.get(name) for name in names}


def map_tasks(
    fn: Callable[[Any, T], R],
    shared: Any,
    tasks: Sequence[T],
    *,
    stage: str,
    noun: str,
    grows: str = "count",
) -> list[R]:
    """``fn(shared, task)`` for every task on the active cluster, results in task order.
    ``shared`` (the problem) is scattered to every worker once. A task that still fails
    after its retries raises WorkerError naming the stage. ``grows`` says how the tasks
    follow a larger network, for the phase log (:func:`log_phase`).

    Results are fetched one at a time, in task order, and each is released on its worker
    as soon as it is here: the workers hold only the results not yet fetched, and this
    process deserializes one result at a time (a single ``gather`` of every data partition
    held them all twice over: on the workers and in transit, 17 GB at 10x)."""
    client = _Active.client
    assert client is not None, "map_tasks needs use_cluster()"
    if grows not in GROWTH:  # checked before the work, not only when it is logged
        raise ValueError(f"grows={grows!r}: expected one of {sorted(GROWTH)}")
    from distributed import KilledWorker

    t0 = time.perf_counter()
    ref = client.scatter(shared, broadcast=True, hash=False)
    futures: list[Any] = client.map(
        partial(_timed, fn), [ref] * len(tasks), list(tasks), retries=RETRIES, pure=False
    )
    results: list[R] = []
    seconds: list[float] = []
    worker_bytes = 0
    try:
        for i in range(len(futures)):
            out, took, rss = futures[i].result()
            futures[i] = None  # the last reference: the scheduler releases the result
            results.append(out)
            seconds.append(took)
            worker_bytes = max(worker_bytes, rss)
    except KilledWorker as exc:
        client.cancel([f for f in futures if f is not None])
        raise WorkerError(
            f"{stage}: Dask workers died on the same task repeatedly while running "
            f"{len(tasks)} {noun} ({exc})",
            stage=stage,
            count=len(tasks),
            fix="give the workers more memory, or run without --dask",
        ) from exc
    except BaseException:
        client.cancel([f for f in futures if f is not None])
        raise
    log_phase(stage, noun, time.perf_counter() - t0, seconds, worker_bytes, scales=grows)
    return results


def _timed(fn: Callable[[Any, T], R], shared: Any, task: T) -> tuple[R, float, int]:
    """``fn(shared, task)``, its seconds and the worker's peak RSS so far (bytes)."""
    t0 = time.perf_counter()
    out = fn(shared, task)
    return out, time.perf_counter() - t0, peak_rss()


def peak_rss() -> int:
    """This process's peak resident memory so far (bytes; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


LOG_ENV = "RAMA_CLUSTER_LOG"
"""Benchmarks (``benchmarks/bench_pipeline_10x.py``): a file every cluster phase appends one
JSON line to (:func:`log_phase`), from which the benchmark projects a larger network."""


GROWTH = {
    "count": "more tasks of the same size (partitions of whole series)",
    "size": "as many tasks, each larger (per-product blocks, scenario groups)",
    "fixed": "does not grow (LightGBM's fit on at most forecast.max_train_rows rows)",
}
"""How a logged phase's work follows a larger network (:func:`log_phase`'s ``scales``)."""


def log_phase(
    stage: str,
    phase: str,
    wall_s: float,
    task_seconds: Sequence[float] = (),
    worker_bytes: int = 0,
    *,
    scales: str = "count",
) -> None:
    """Append one phase to :data:`LOG_ENV`'s file when it is set: its stage and name, wall
    seconds, task count, summed and longest task seconds, the largest worker peak RSS a task
    reported (GB) and how its work follows a larger network (:data:`GROWTH`)."""
    if scales not in GROWTH:
        raise ValueError(f"scales={scales!r}: expected one of {sorted(GROWTH)}")
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    record = {
        "stage": stage,
        "phase": phase,
        "wall_s": wall_s,
        "tasks": len(task_seconds),
        "task_s_sum": float(sum(task_seconds)),
        "task_s_max": float(max(task_seconds, default=0.0)),
        "worker_peak_gb": worker_bytes / 1e9,
        "scales": scales,
    }
    with open(path, "a") as out:
        out.write(json.dumps(record) + "\n")


_KEPT: dict[tuple[str, int], Any] = {}
_KEPT_LOCK = threading.Lock()


def new_token() -> str:
    """A fresh name for what the tasks of one sweep keep on their workers (:func:`kept`)."""
    return uuid.uuid4().hex


def kept(token: str, factory: Callable[[], T]) -> T:
    """Inside a task: the object this worker thread keeps for ``token`` across the tasks it
    runs (made by ``factory`` on first use; one per thread, so never shared between two
    tasks running at once), until :func:`forget` drops it. Like the local process pool's
    per-process caches."""
    key = (token, threading.get_ident())
    with _KEPT_LOCK:
        obj = _KEPT.get(key)
        if obj is None:
            obj = _KEPT[key] = factory()
    return obj


def _drop(token: str) -> int:
    with _KEPT_LOCK:
        keys = [k for k in _KEPT if k[0] == token]
        for k in keys:
            del _KEPT[k]
    return len(keys)


def forget(token: str) -> None:
    """Drop what every worker of the active cluster keeps for ``token`` (:func:`kept`); a
    worker that is gone has nothing to drop."""
    client = _Active.client
    if client is not None:
        client.run(_drop, token, on_error="ignore")


KILL_ENV = "RAMA_TEST_KILL_WORKER"
"""Test-only (tests/test_workers.py): ``STAGE:K`` makes the workers of the first ``K`` pools
of ``STAGE`` (``optimize`` or ``scenarios``) kill themselves with SIGKILL on a task."""


KILL_ONCE_ENV = "RAMA_TEST_KILL_ONCE"
"""Test-only (tests/test_cluster.py): ``STAGE:FILE`` makes the first task of ``STAGE`` that
creates ``FILE`` kill its worker with SIGKILL (once over the whole cluster)."""


def kill_hook_for_tests(stage: str, attempt: int) -> None:
    """Test-only: SIGKILL this worker when :data:`KILL_ENV` asks for it (pool ``attempt``,
    0-based, below ``K``). Does nothing when the variable is unset."""
    once = os.environ.get(KILL_ONCE_ENV)
    if once and once.startswith(f"{stage}:"):
        try:
            os.close(os.open(once.split(":", 1)[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    spec = os.environ.get(KILL_ENV)
    if spec:
        name, _, k = spec.partition(":")
        if name == stage and attempt < int(k or 1):
            os.kill(os.getpid(), signal.SIGKILL)
