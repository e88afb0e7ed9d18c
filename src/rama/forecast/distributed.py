"""The forecaster's fit on a Dask cluster: features per partition on the workers, training
with LightGBM's Dask interface (``lightgbm.DaskLGBMRegressor``, data-parallel learning over
sockets between the workers; https://lightgbm.readthedocs.io/en/stable/Parallel-Learning-Guide.html).

Each partition of whole series is a task (:func:`rama.forecast.training_rows.part_rows`);
its training rows stay on the worker that built them and become the chunks of a Dask array,
so the training matrix is never gathered on the client. The calibration rows and the
history tail (one week per series) come back to the client, which calibrates exactly as a
local fit does.

Distributed LightGBM is not bitwise the serial one: each worker finds feature bin
boundaries from its own rows and histograms are summed across workers, so splits can differ
slightly (LightGBM documents no tolerance; ``benchmarks/bench_pipeline_10x.py`` and the
cluster tests measure the difference of the forecasts). Imported only when a cluster is
active.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl

from rama.cluster import (
    LOG_ENV,
    RETRIES,
    kill_hook_for_tests,
    log_phase,
    peak_rss,
    scratch_dir,
)
from rama.errors import ConfigError, WorkerError
from rama.forecast.features import categorical_indices
from rama.forecast.training_rows import PartRows, RowPlan, concat_rows, part_rows


def _rows_task(args: tuple[int, str, pl.DataFrame], plan: RowPlan) -> PartRows:
    kill_hook_for_tests("forecast", 0)
    sid0, long_file, series = args
    return part_rows(pl.read_ipc(long_file), series, sid0, plan)


def _local_part(rows: PartRows) -> PartRows:
    """The partition without its training matrix (what the client needs)."""
    return replace(rows, X=rows.X[:0].copy(), y=rows.y[:0].copy())


def _x_of(rows: PartRows) -> np.ndarray:
    return rows.X


def _y_of(rows: PartRows) -> np.ndarray:
    return rows.y


def _workers(client: Any) -> list[str]:
    """The cluster's worker addresses, sorted."""
    return sorted(client.scheduler_info()["workers"])


def _home(workers: list[str], i: int) -> dict[str, Any]:
    """Where task ``i`` should run: worker ``i mod n`` (another one if it dies)."""
    return {"workers": [workers[i % len(workers)]], "allow_other_workers": True, "pure": False}


def _stack(*arrays: np.ndarray) -> np.ndarray:
    return np.concatenate(arrays)


class _InOrder:
    """The Dask client as ``lightgbm.dask`` uses it, but ``who_has`` answers in the order of
    the futures asked about. ``lightgbm.dask`` ranks its machines (and assigns them their
    training parts) in ``who_has``'s order, which distributed builds from a set of keys, so
    it varied with the process's string hashing: the same data on the same cluster trained
    one of two models at random (2 workers)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def who_has(self, futures: Any = None, **kwargs: Any) -> dict[str, Any]:
        found: dict[str, Any] = dict(self._client.who_has(futures, **kwargs))
        keys = [f.key for f in futures] if futures is not None else list(found)
        ordered = {k: found[k] for k in keys if k in found}
        return ordered | found


def _worker_peak(client: Any) -> int:
    """The largest peak RSS of the cluster's workers so far (bytes; 0 when unknown)."""
    if not os.environ.get(LOG_ENV):
        return 0
    return max(client.run(peak_rss, on_error="ignore").values(), default=0)


def fit_on_cluster(
    client: Any,
    parts: Sequence[tuple[int, pl.DataFrame, pl.DataFrame]],
    plan: RowPlan,
    params: Callable[[int], dict[str, Any]],
    names: list[str],
    num_boost_round: int,
) -> tuple[lgb.Booster, PartRows]:
    """Build every partition's rows on the cluster, train on them with
    ``DaskLGBMRegressor`` and return the booster and the rows the client needs (the
    partitions' calibration rows and tails, concatenated in partition order; ``X`` empty,
    ``y`` the training target, so ``n_train`` counts the rows used).

    A partition's history reaches its task as a file in a :func:`rama.cluster.scratch_dir`
    (Arrow IPC, read by the worker), not as a task argument: the scheduler keeps every
    argument of a task until its result is released, which held a second copy of the whole
    history in the scheduler (in this process on a LocalCluster) for the whole training. A
    retried task reads the file again; the folder is removed when the fit returns."""
    with scratch_dir("forecast-partitions") as folder:
        futs, local, ys = _build_rows(client, parts, plan, folder)
        booster, y_all = _train(client, futs, ys, params, names, num_boost_round)
    return booster, replace(concat_rows(local), y=y_all)


def _build_rows(
    client: Any,
    parts: Sequence[tuple[int, pl.DataFrame, pl.DataFrame]],
    plan: RowPlan,
    folder: Path,
) -> tuple[list[Any], list[PartRows], list[np.ndarray]]:
    """One feature task per partition (its history written to ``folder``): the tasks'
    futures (their rows stay on the workers), the rows the client needs and the targets."""
    from distributed import KilledWorker

    t0 = time.perf_counter()
    ref = client.scatter(plan, broadcast=True, hash=False)
    workers = _workers(client)
    futs = []
    for i, (sid0, long, series) in enumerate(parts):  # written, then submitted: the workers
        file = folder / f"part-{sid0}.arrow"  # start meanwhile
        long.write_ipc(file, compression="uncompressed")
        task = (sid0, str(file), series)
        where = _home(workers, i)
        futs.append(client.submit(_rows_task, task, ref, retries=RETRIES, **where))
    try:
        local = client.gather([client.submit(_local_part, f, pure=False) for f in futs])
        ys = client.gather([client.submit(_y_of, f, pure=False) for f in futs])
    except KilledWorker as exc:
        raise WorkerError(
            f"forecast: Dask workers died repeatedly while building {len(parts)} feature "
            f"partitions ({exc})",
            stage="forecast",
            count=len(parts),
            fix="give the workers more memory, lower forecast.partition_series, or run "
            "without --dask",
        ) from exc
    log_phase("forecast", "feature partitions", time.perf_counter() - t0, [], _worker_peak(client))
    return futs, local, ys


def _train(
    client: Any,
    futs: list[Any],
    ys: list[np.ndarray],
    params: Callable[[int], dict[str, Any]],
    names: list[str],
    num_boost_round: int,
) -> tuple[lgb.Booster, np.ndarray]:
    """``DaskLGBMRegressor`` on the feature tasks' rows, where they are: the booster and
    the training target."""
    import dask.array as da
    from dask import delayed
    from lightgbm.dask import DaskLGBMRegressor

    n_feat = len(names)
    workers = _workers(client)
    xs, chunk_ys = [], []
    for j in range(len(workers)):  # one chunk per worker: its partitions in order
        mine = [i for i in range(len(futs)) if i % len(workers) == j and len(ys[i])]
        if not mine:
            continue
        n, where = sum(len(ys[i]) for i in mine), _home(workers, j)
        x = client.submit(_stack, *[client.submit(_x_of, futs[i], **where) for i in mine], **where)
        y = client.submit(_stack, *[client.submit(_y_of, futs[i], **where) for i in mine], **where)
        xs.append(da.from_delayed(delayed(x), (n, n_feat), np.float32))
        chunk_ys.append(da.from_delayed(delayed(y), (n,), ys[mine[0]].dtype))
    y_all = np.concatenate(ys)
    dX, dy = da.concatenate(xs), da.concatenate(chunk_ys)
    p = params(len(y_all))
    p.pop("num_threads", None)  # each worker trains with its own thread count
    ordered: Any = _InOrder(client)  # lightgbm.dask calls only Client methods on it
    model = DaskLGBMRegressor(client=ordered, n_estimators=num_boost_round, **p)
    t0 = time.perf_counter()
    try:
        model.fit(dX, dy, feature_name=names, categorical_feature=categorical_indices(names))
    except lgb.basic.LightGBMError as exc:
        raise ConfigError(f"LightGBM rejected the parameters on the cluster ({exc})") from exc
    # the training rows are capped (forecast.max_train_rows): the fit does not grow with data
    log_phase(
        "forecast",
        "LightGBM fit",
        time.perf_counter() - t0,
        [],
        _worker_peak(client),
        scales="fixed",
    )
    return model.booster_, y_all
