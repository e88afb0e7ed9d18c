"""The solves and the scenario sweep on a Dask LocalCluster (2 worker processes): the same
answers as the local run, a killed worker's task rerun with the result unchanged, and an
unreachable scheduler a clear error naming the address."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rama import cluster
from rama.cluster import KILL_ONCE_ENV
from rama.config import load_config
from rama.errors import StageInputError
from rama.evaluate.compare import ScoringDemand
from rama.optimize.solve import solve
from rama.problem import inputs_from_problem
from rama.run_state import clean_leftovers
from rama.scenario_spec import Scenario
from rama.scenarios.runner import run_all
from rama.strategies import StrategyContext
from rama.testing import city_problem, synthetic_problem


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.slow
def test_blocks_on_a_cluster_give_the_local_plan(tmp_path: Path) -> None:
    problem = synthetic_problem(n_stores=30, n_products=24, n_pairs=500, seed=4)
    local = solve(problem, "highs", threads=1)
    with cluster.use_cluster("local") as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        remote = solve(problem, "highs", threads=1)
    assert _same(remote.objective, local.objective)
    assert remote.stats["blocks"] == local.stats["blocks"] > 1
    rc = remote.stats.get("min_reduced_cost")
    assert rc is None or rc >= -1e-7  # the optimality proof holds on the cluster too
    for name in ("allocate", "stockout", "ending_inventory", "transfer_in"):
        assert abs(getattr(remote, name) - getattr(local, name)).max() <= 1e-9, name


@pytest.mark.slow
def test_a_worker_killed_during_the_solves_is_retried_and_the_plan_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem = synthetic_problem(n_stores=30, n_products=24, n_pairs=500, seed=4)
    local = solve(problem, "highs", threads=1)
    marker = tmp_path / "killed"
    monkeypatch.setenv(KILL_ONCE_ENV, f"optimize:{marker}")  # inherited by the workers
    with cluster.use_cluster("local"):
        remote = solve(problem, "highs", threads=1)
    assert marker.is_file()  # a worker did die on a task
    assert _same(remote.objective, local.objective)


@pytest.mark.slow
def test_the_scenario_sweep_on_a_cluster_matches_the_local_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(overrides={"stochastic.points": 5})
    problem = city_problem(7, n_stores=20, n_products=4, n_pairs=60)
    inputs = inputs_from_problem(problem, cfg, np.full(problem.n_pairs, 2.0))
    # more groups than workers, so a worker runs several and reuses what it keeps: the
    # factor-1.0 draws (hold after fuel), the draws scaled for a foreseen shock (up), the
    # rule's positions (order_up_to) and the decentralized solve fuel leaves unchanged
    scenarios = [
        Scenario("base"),
        Scenario("fuel", transport=1.5),
        Scenario("slow", lead_time=1.3),
        Scenario("hold", holding_cost=2.0),
        Scenario("up", demand=1.2),
        Scenario("fuel2", transport=2.0),
        Scenario("pen", stockout_penalty=1.6),
    ]
    strategies = ["order_up_to", "centralized_lp", "decentralized_lp"]
    demand = ScoringDemand(problem.demand * 1.1, 20, 0)

    def sweep() -> pl.DataFrame:
        ctx = StrategyContext(dict(cfg["stochastic"]), 1, "highs")
        rows = run_all(inputs, scenarios, strategies, demand, ctx, 0, None, False)
        return pl.DataFrame(rows).drop("seconds")

    local = sweep()
    monkeypatch.setenv(KILL_ONCE_ENV, f"scenarios:{tmp_path / 'killed'}")
    with cluster.use_cluster("local") as client:
        remote = sweep()
        # what the tasks kept on their workers is dropped once the sweep is done
        assert set(client.run(lambda: len(cluster._KEPT)).values()) == {0}
    assert (tmp_path / "killed").is_file()
    assert remote.columns == local.columns and remote.height == local.height
    for col in local.columns:
        if local[col].dtype.is_float():
            assert ((remote[col] - local[col]).abs().fill_null(0) <= 1e-9).all(), col
        else:
            assert remote[col].equals(local[col]), col


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)
    with pytest.raises(StageInputError) as err, cluster.use_cluster("tcp://127.0.0.1:9"):
        pass
    assert "tcp://127.0.0.1:9" in str(err.value) and err.value.reason == "cluster_unreachable"


def test_a_scratch_folder_is_removed_and_a_killed_runs_one_is_a_leftover(tmp_path: Path) -> None:
    user_file = tmp_path / "mine.arrow"
    user_file.write_text("the user's")
    cluster._Active.scratch = tmp_path
    try:
        with cluster.scratch_dir("forecast-partitions") as folder:
            assert folder.parent == tmp_path
            (folder / "part-0.arrow").write_text("x")
        assert not folder.exists()
        with cluster.scratch_dir("forecast-partitions") as folder:
            (folder / "part-0.arrow").write_text("x")
            # what the next command in the run folder does after a killed run
            assert clean_leftovers(tmp_path) == [folder.name]
            assert not folder.exists()
    finally:
        cluster._Active.scratch = None
    assert [p.name for p in tmp_path.iterdir()] == ["mine.arrow"]
    assert user_file.read_text() == "the user's"


def test_local_workers_keep_glibc_s_adaptive_mmap_threshold_and_leave_our_environment_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Dask's default worker environment sets MALLOC_TRIM_THRESHOLD_, which made the 10x
    # sweep 1.5x slower (cluster.SLOW_MALLOC); the other defaults (one BLAS thread) stay
    monkeypatch.delenv(cluster.SLOW_MALLOC, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    with cluster.use_cluster("local") as client:
        env = client.run(
            lambda: (os.environ.get(cluster.SLOW_MALLOC), os.environ["OMP_NUM_THREADS"])
        )
        assert os.environ["OMP_NUM_THREADS"] == "1"  # the nannies wrote it here to spawn
    assert sorted(env.values()) == [(None, "1"), (None, "1")]
    # and this process's environment is as it was once the cluster is closed
    assert cluster.SLOW_MALLOC not in os.environ and "OMP_NUM_THREADS" not in os.environ
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"


def test_a_worker_thread_keeps_one_object_per_token_until_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def task(token: str, _: int) -> tuple[str, int]:
        time.sleep(0.05)
        return (threading.current_thread().name, id(cluster.kept(token, list)))

    log = tmp_path / "phases.jsonl"
    monkeypatch.setenv(cluster.LOG_ENV, str(log))
    with cluster.use_cluster("local") as client:
        token = cluster.new_token()
        seen = cluster.map_tasks(
            task, token, list(range(8)), stage="test", noun="tasks", grows="size"
        )
        # the phase is logged for the benchmarks' projection: 8 timed tasks that grow in size
        (phase,) = [json.loads(line) for line in log.read_text().splitlines()]
        assert (phase["stage"], phase["phase"], phase["tasks"]) == ("test", "tasks", 8)
        assert phase["scales"] == "size"
        assert 8 * 0.05 <= phase["task_s_sum"] <= phase["wall_s"] * 2
        assert phase["task_s_max"] >= 0.05 and phase["worker_peak_gb"] > 0.01
        by_thread: dict[str, set[int]] = {}
        for thread, obj in seen:
            by_thread.setdefault(thread, set()).add(obj)
        assert all(len(objs) == 1 for objs in by_thread.values())  # made once, then kept
        assert sum(client.run(lambda: len(cluster._KEPT)).values()) == len(by_thread)
        cluster.forget(token)
        assert sum(client.run(lambda: len(cluster._KEPT)).values()) == 0
        with pytest.raises(ValueError, match="grows='rows'"):
            cluster.map_tasks(task, token, [1], stage="test", noun="tasks", grows="rows")
    with pytest.raises(ValueError, match="scales='rows'"):
        cluster.log_phase("test", "tasks", 1.0, scales="rows")
