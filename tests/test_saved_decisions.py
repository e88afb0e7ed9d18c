"""The evaluation stage's LP decisions kept on disk and taken back by the scenario sweep's base
group (rama.strategies.saved): the same rows as solving again, only on the same key, and
every reused plan checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rama.config import load_config
from rama.errors import PlanCheckError
from rama.evaluate import run_evaluation
from rama.layout import RunLayout
from rama.scenarios import run_scenarios
from rama.strategies import STRATEGY_FUNCTIONS, StrategyContext
from rama.strategies.saved import SAVED, load_decisions, save_decisions
from rama.testing import city_problem
from test_scenarios import FAST, tiny_run

SWEEP = {
    **FAST,
    "scenarios.sets": ["base", "custom"],
    "scenarios.custom": [
        {"name": "hold", "holding_cost": 1.5},
        {"name": "fuel", "transport": 1.5},
        {"name": "late", "realized_demand": 1.3},
    ],
    "optimize.threads": 1,
}
DROP = ["seconds", "computed_under", "stale"]


def test_kept_decisions_round_trip_with_their_bases(tmp_path: Path) -> None:
    pb = city_problem(3, n_stores=12, n_products=4, n_pairs=36)
    cfg = load_config(overrides={"stochastic.points": 4})
    ctx = StrategyContext(dict(cfg["stochastic"]), threads=1)
    ctx.record_bases = True
    made = {name: STRATEGY_FUNCTIONS[name](pb, ctx) for name in SAVED}
    assert made["centralized_lp"].units_transferred > 0  # a plan with transfers
    warm = [n for n in SAVED if (b := made[n].plan.basis) is not None and len(b)]  # type: ignore[union-attr]
    assert warm == ["centralized_lp", "stochastic"]  # with recorded bases
    assert sorted(save_decisions(tmp_path, pb, made, ctx)) == sorted(SAVED)
    again = StrategyContext(dict(cfg["stochastic"]), threads=1)
    got = load_decisions(tmp_path, pb, list(SAVED), again)
    assert sorted(got) == sorted(SAVED)
    for name in SAVED:
        a, b = made[name].plan, got[name].plan
        assert a is not None and b is not None
        for col in ("allocate", "stockout", "ending_inventory", "t_from", "t_to", "t_qty"):
            assert np.array_equal(getattr(a, col), getattr(b, col)), (name, col)
        assert b.objective == a.objective and b.min_reduced_cost == a.min_reduced_cost
        assert b.problem.n_pairs == pb.n_pairs
        if a.basis is not None and len(a.basis):
            assert b.basis is not None and a.basis.blocks.keys() == b.basis.blocks.keys()
            for k, ref in a.basis.blocks.items():
                new = b.basis.blocks[k]
                assert new.layout == ref.layout
                assert np.array_equal(new.col, ref.col) and np.array_equal(new.row, ref.row)
    assert got["stochastic"].info == made["stochastic"].info
    # another context (other demand points) is another key: nothing taken
    other = StrategyContext({**dict(cfg["stochastic"]), "points": 5}, threads=1)
    assert load_decisions(tmp_path, pb, list(SAVED), other) == {}


def test_the_sweep_takes_the_evaluations_decisions_and_gives_the_same_table(
    tmp_path: Path,
) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(overrides=SWEEP)
    ev = run_evaluation(run, cfg)
    kept = RunLayout(run).evaluation_decisions
    assert sorted(ev.summary["decisions_kept"]) == sorted(SAVED)
    assert all((kept / f"{name}.npz").is_file() for name in SAVED)
    taken = run_scenarios(run, cfg)
    assert taken.summary["from_evaluation"] == sorted(SAVED)
    base = taken.table.filter(taken.table["scenario"] == "base")
    seconds = dict(zip(base["strategy"], base["seconds"], strict=True))
    assert all(seconds[name] == 0.0 for name in SAVED)
    shutil.rmtree(kept)
    solved = run_scenarios(run, cfg)
    assert solved.summary["from_evaluation"] == []
    # every figure of every scenario to the bit: the warm-started scenarios (hold, fuel)
    # started from the kept bases exactly as from freshly recorded ones
    assert taken.table.drop(DROP).equals(solved.table.drop(DROP), null_equal=True)


def test_a_kept_decision_of_other_settings_is_solved_again(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    run_evaluation(run, load_config(overrides=SWEEP))
    cfg = load_config(overrides={**SWEEP, "stochastic.points": 4})
    assert run_scenarios(run, cfg).summary["from_evaluation"] == []


def test_a_kept_plan_is_checked_before_it_is_used(tmp_path: Path) -> None:
    run = tiny_run(tmp_path)
    cfg = load_config(overrides=SWEEP)
    run_evaluation(run, cfg)
    path = RunLayout(run).evaluation_decisions / "centralized_lp.npz"
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["allocate"] = arrays["allocate"] + 1.0  # the key still matches; the plan is wrong
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(PlanCheckError):
        run_scenarios(run, cfg)
    meta = path.with_suffix(".json")
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": 0}))
    assert "centralized_lp" not in run_scenarios(run, cfg).summary["from_evaluation"]
