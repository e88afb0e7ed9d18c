"""A worker process that dies (the OOM killer, a segfault) never hangs a run: the pool notices
at once, the unfinished tasks run once more in a fresh pool, and a second death is a
:class:`WorkerError` naming the stage.

Workers are killed with the test-only hook ``RAMA_TEST_KILL_WORKER=STAGE:K`` (the workers of
the first K pools SIGKILL themselves; rama.cluster.kill_hook_for_tests). Every case runs
in a subprocess with a timeout, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from rama.errors import WorkerError

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="fork pools and SIGKILL: Linux only"
)

OPTIMIZE = """
import json, time
from rama.optimize import solve
from rama.testing import synthetic_problem

problem = synthetic_problem(n_stores=40, n_products=60, n_pairs=1600, seed=5)
strip = lambda st: {k: v for k, v in st.items() if k != "workers" and "seconds" not in k}
serial = solve(problem, "highs", threads=1)  # no pool: the hook does not fire
t0 = time.perf_counter()
try:
    parallel = solve(problem, "highs", threads=2)
except Exception as exc:
    out = {"error": type(exc).__name__, "reason": getattr(exc, "reason", None),
           "stage": getattr(exc, "stage", None), "message": str(exc)}
else:
    out = {"objective": parallel.objective, "serial": serial.objective,
           "workers": parallel.stats["workers"], "blocks": parallel.stats["blocks"],
           "same_stats": strip(parallel.stats) == strip(serial.stats)}
out["seconds"] = time.perf_counter() - t0
print(json.dumps(out))
"""

SCENARIOS = """
import json, time
import numpy as np
from rama.config import load_config
from rama.evaluate.compare import ScoringDemand
from rama.problem import inputs_from_problem
from rama.scenario_spec import Scenario
from rama.scenarios.runner import run_all
from rama.strategies import StrategyContext
from rama.testing import city_problem

cfg = load_config(overrides={"stochastic.points": 5})
problem = city_problem(7, n_stores=20, n_products=4, n_pairs=60)
inputs = inputs_from_problem(problem, cfg, np.full(problem.n_pairs, 2.0))
scenarios = [Scenario("base"), Scenario("fuel", transport=1.5),
             Scenario("slow", lead_time=1.3), Scenario("hold", holding_cost=2.0)]
strategies = ["centralized_lp", "decentralized_lp"]
demand = ScoringDemand(problem.demand * 1.1, 20, 0)

def sweep(workers):
    ctx = StrategyContext(dict(cfg["stochastic"]), 1, "highs")
    return run_all(inputs, scenarios, strategies, demand, ctx, workers=workers)

serial = sweep(0)  # no pool: the hook does not fire
t0 = time.perf_counter()
try:
    rows = sweep(2)
except Exception as exc:
    out = {"error": type(exc).__name__, "reason": getattr(exc, "reason", None),
           "stage": getattr(exc, "stage", None), "message": str(exc)}
else:
    keys = ("scenario", "strategy", "expected_total", "realized_total")
    out = {"same": [[r[k] for k in keys] for r in rows] == [[r[k] for k in keys] for r in serial],
           "rows": len(rows)}
out["seconds"] = time.perf_counter() - t0
print(json.dumps(out))
"""


def run(script: str, kill: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RAMA_TEST_KILL_WORKER"}
    if kill is not None:
        env["RAMA_TEST_KILL_WORKER"] = kill
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,  # a pool that waits forever on a dead worker fails here
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out: dict = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_a_solver_worker_killed_once_is_retried_and_the_solve_is_unchanged() -> None:
    out = run(OPTIMIZE, "optimize:1")
    assert "error" not in out, out
    assert out["workers"] == 2 and out["blocks"] >= 3
    assert abs(out["objective"] - out["serial"]) <= 1e-7 * max(1.0, abs(out["serial"]))
    assert out["same_stats"]


def test_a_solver_worker_killed_in_every_pool_is_a_clear_error_not_a_hang() -> None:
    out = run(OPTIMIZE, "optimize:2")
    assert out["error"] == "WorkerError" and out["reason"] == "worker_died", out
    assert out["stage"] == "optimize"
    msg = out["message"]
    assert msg.startswith("optimize: a solver worker process died (killed by SIGKILL)")
    assert "retried once" in msg and "Fix: lower optimize.threads" in msg


def test_a_scenario_worker_killed_once_is_retried_and_the_rows_are_unchanged() -> None:
    out = run(SCENARIOS, "scenarios:1")
    assert "error" not in out, out
    assert out["rows"] == 8 and out["same"]


def test_a_scenario_worker_killed_in_every_pool_is_a_clear_error_not_a_hang() -> None:
    out = run(SCENARIOS, "scenarios:2")
    assert out["error"] == "WorkerError" and out["reason"] == "worker_died", out
    assert out["stage"] == "scenarios"
    msg = out["message"]
    assert msg.startswith("scenarios: a scenario worker process died (killed by SIGKILL)")
    assert "retried once" in msg and "Fix: lower scenarios.workers" in msg


def test_worker_error_is_a_typed_picklable_rama_error() -> None:
    import pickle

    from rama.errors import RamaError

    exc = WorkerError("optimize: a worker died", stage="optimize", count=3, fix="free memory")
    back = pickle.loads(pickle.dumps(exc))
    assert isinstance(back, WorkerError) and isinstance(back, RamaError)
    assert back.reason == "worker_died"
    assert (back.stage, back.count, str(back)) == ("optimize", 3, str(exc))
    assert str(exc).endswith(". Fix: free memory")
