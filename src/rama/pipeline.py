"""The whole pipeline, stage after stage: what ``rama run`` (and ``make run``) executes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from rama.config import Config
from rama.data import has_split
from rama.errors import StageInputError
from rama.problem.planner_tables import PlannerInputs
from rama.results import StageResult


@dataclass
class PipelineResult:
    """Per-stage results and wall seconds, in execution order."""

    run_dir: Path
    data_dir: Path
    generated: bool
    stages: dict[str, StageResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


Stage = Callable[[Path, Path, Config], StageResult]
OnStage = Callable[[str, StageResult, float], None]


def _prepare(data_dir: Path, run_dir: Path, cfg: Config) -> StageResult:
    from rama.prepare import prepare

    return prepare(data_dir, run_dir, cfg)


def _forecast(data_dir: Path, run_dir: Path, cfg: Config) -> StageResult:
    from rama.forecast import run_forecast

    return run_forecast(run_dir, cfg)


def _optimize(
    data_dir: Path, run_dir: Path, cfg: Config, planner: PlannerInputs | None = None
) -> StageResult:
    from rama.planning import run_plan

    p = planner or PlannerInputs()
    return run_plan(
        run_dir,
        cfg,
        p.inventory,
        lane_costs=p.lane_costs,
        product_costs=p.product_costs,
        capacities=p.capacities,
    )


def _evaluate(data_dir: Path, run_dir: Path, cfg: Config) -> StageResult:
    from rama.evaluate import run_evaluation

    return run_evaluation(run_dir, cfg)


def _scenarios(data_dir: Path, run_dir: Path, cfg: Config) -> StageResult:
    from rama.scenarios import run_scenarios

    return run_scenarios(run_dir, cfg)


def _report(data_dir: Path, run_dir: Path, cfg: Config) -> StageResult:
    from rama.report import write_report

    return write_report(run_dir)


def stages(planner: PlannerInputs | None = None) -> list[tuple[str, Stage]]:
    """The stages ``rama run`` chains, in order; ``planner`` (the planner's inventory and
    tables) goes to the optimize stage, which writes the ``RUN/problem/`` every later stage
    reads."""
    return [
        ("prepare", _prepare),
        ("forecast", _forecast),
        ("optimize", partial(_optimize, planner=planner)),
        ("evaluate", _evaluate),
        ("scenarios", _scenarios),
        ("report", _report),
    ]


def run_pipeline(
    data_dir: Path,
    run_dir: Path,
    cfg: Config,
    *,
    scale: float = 1.0,
    on_stage: OnStage | None = None,
    planner: PlannerInputs | None = None,
) -> PipelineResult:
    """Generate ``data_dir`` if it holds no FreshRetailNet train split, then run every stage
    into ``run_dir``. ``on_stage(name, result, seconds)`` is called after each stage;
    ``planner`` holds the planner's files (inventory, lane costs, product costs, capacities;
    docs/data.md), applied by the optimize stage.

    The problem is built once, by the optimize stage (``RUN/problem/``); evaluation and the
    scenario sweep read it."""
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    generated = False
    if not has_split(data_dir, "train"):
        if data_dir.is_file():
            raise StageInputError(f"--data {data_dir} is a file; pass the data root folder")
        from rama.synth import generate_datasets

        t0 = time.perf_counter()
        data = generate_datasets(data_dir, scale=scale, seed=int(cfg["run"]["seed"]))
        generated = True
        result = PipelineResult(run_dir, data_dir, generated)
        _record(result, "generate", data, time.perf_counter() - t0, on_stage)
    else:
        result = PipelineResult(run_dir, data_dir, generated)
    for name, stage in stages(planner):
        t0 = time.perf_counter()
        done = stage(data_dir, run_dir, cfg)
        _record(result, name, done, time.perf_counter() - t0, on_stage)
    return result


def _record(
    result: PipelineResult,
    name: str,
    summary: StageResult,
    seconds: float,
    on_stage: OnStage | None,
) -> None:
    result.stages[name] = summary
    result.seconds[name] = seconds
    if on_stage is not None:
        on_stage(name, summary, seconds)
