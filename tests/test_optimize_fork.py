"""Parallel solves fork worker processes: they must not deadlock after the parent has used
polars' thread pool (a forked child that calls polars waits forever on the dead pool)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest


def test_parallel_solve_after_polars_work_in_the_parent_finishes() -> None:
    script = textwrap.dedent(
        """
        import numpy as np
        import polars as pl
        from rama.optimize import solve
        from rama.testing import synthetic_problem

        # start polars' thread pool in the parent, as the pipeline's earlier stages do
        rng = np.random.default_rng(0)
        df = pl.DataFrame({"g": np.arange(200_000) % 97, "x": rng.random(200_000)})
        for _ in range(3):
            df.group_by("g").agg(pl.col("x").sum(), pl.col("x").mean().alias("m")).sort("g")
        problem = synthetic_problem(n_stores=30, n_products=40, n_pairs=400, seed=5)
        parallel = solve(problem, "highs", threads=2)
        serial = solve(problem, "highs", threads=1)
        assert parallel.summary()["workers"] == 2, parallel.summary()
        assert abs(parallel.objective - serial.objective) <= 1e-7 * max(1.0, abs(serial.objective))
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_workers_inherit_their_job_and_the_parent_keeps_no_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rama.optimize import pool
    from rama.optimize.blocks import make_blocks
    from rama.testing import synthetic_problem

    def refuse(self: object) -> tuple[object, ...]:
        raise AssertionError("the job (and its problem) was pickled")

    monkeypatch.setattr(pool._Job, "__reduce__", refuse)
    problem = synthetic_problem(n_stores=30, n_products=40, n_pairs=400, seed=5)
    with pytest.raises(AssertionError, match="pickled"):  # the guard works
        pickle.dumps(pool._Job(problem, np.zeros(0, bool), True, None, False))
    results = pool.solve_blocks(problem, threads=2)
    assert sorted(tuple(r.products.tolist()) for r in results) == sorted(
        tuple(b.tolist()) for b in make_blocks(problem)
    )
    assert all(r.status == "optimal" for r in results)
    assert pool._Worker.job is None  # set in the workers only
