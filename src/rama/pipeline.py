"""The whole pipeline, stage after stage: what ``rama run`` (and ``make run``) executes, and
the guarded execution of one stage that every stage command shares.

A run folder is rama's own (stamped, :mod:`rama.run_state`), written by one command at a
time (a lock), and every stage records what it ran from (:mod:`rama.run_manifest`):
``rama run`` on an existing folder reuses each stage whose record still matches (config
subset, input files, arguments, code, earlier outputs) and reruns exactly those downstream of
a change; a stage that fails or is killed is rerun next time, and the stages after a changed
one are made stale (their outputs removed) instead of being shown as current.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rama.config import Config
from rama.data import freshretail_files, has_split, logistics_file
from rama.data.freshretail import looked_for
from rama.errors import StageInputError
from rama.io import write_text
from rama.layout import RunLayout, truth_file
from rama.problem.planner_tables import PlannerInputs
from rama.progress import step
from rama.results import StageResult
from rama.run_manifest import (
    StageInputs,
    begin_stage,
    fail_stage,
    finish_stage,
    read_manifest,
    why_not_current,
)
from rama.run_state import DATA_STAMP, claim_dir, clean_leftovers, refuse_overlap, run_lock

DEFAULT_DATA = Path("data/synthetic")
"""The documented default data folder: ``rama run`` generates the synthetic network there when
it holds none. Anywhere else, generating needs ``--generate``."""


@dataclass
class PipelineResult:
    """Per-stage results and wall seconds, in execution order; ``reused`` holds the stages
    whose recorded outputs were still current (not rerun), ``cleaned`` the leftovers of
    killed stages that were removed, ``stale`` the stages made stale along the way."""

    run_dir: Path
    data_dir: Path
    generated: bool
    stages: dict[str, StageResult] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    reused: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    cleaned: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


Stage = Callable[[Path, Path, Config], StageResult]
OnStage = Callable[[str, StageResult, float], None]
OnReuse = Callable[[str], None]
OnRerun = Callable[[str, str], None]


def _prepare(
    data_dir: Path, run_dir: Path, cfg: Config, city_locations: Path | None = None
) -> StageResult:
    from rama.prepare import prepare

    return prepare(data_dir, run_dir, cfg, city_locations=city_locations)


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


def stages(
    planner: PlannerInputs | None = None, city_locations: Path | None = None
) -> list[tuple[str, Stage]]:
    """The stages ``rama run`` chains, in order; ``planner`` (the planner's inventory and
    tables) goes to the optimize stage, which writes the ``RUN/problem/`` every later stage
    reads; ``city_locations`` (the city coordinates file) goes to prepare. The report comes
    last and is rebuilt on every run."""
    return [
        ("prepare", partial(_prepare, city_locations=city_locations)),
        ("forecast", _forecast),
        ("optimize", partial(_optimize, planner=planner)),
        ("evaluate", _evaluate),
        ("scenarios", _scenarios),
        ("report", _report),
    ]


# ---------------------------------------------------------------- what each stage reads


def data_files(data_dir: Path) -> dict[str, Path | None]:
    """The data files the data stages read: every train and eval file (shards numbered),
    the logistics table and, for generated data, the latent truth."""
    files: dict[str, Path | None] = {}
    for split in ("train", "eval"):
        for i, f in enumerate(freshretail_files(data_dir, split)):
            files[f"{split}[{i}]"] = f
    files["logistics"] = logistics_file(data_dir)
    truth = truth_file(data_dir)
    files["truth"] = truth if truth.is_file() else None
    return files


def stage_inputs(
    stage: str,
    data_dir: Path | None,
    planner: PlannerInputs | None = None,
    args: Mapping[str, Any] | None = None,
    city_locations: Path | None = None,
) -> StageInputs:
    """What ``stage`` reads besides the configuration and the earlier stages' outputs."""
    files: dict[str, Path | None] = {}
    if stage in ("prepare", "forecast", "evaluate", "scenarios") and data_dir is not None:
        files = data_files(data_dir)
        if stage == "prepare":
            files.pop("truth", None)
            files["city_locations"] = city_locations
    if stage == "optimize":
        files = dict((planner or PlannerInputs()).files())
    return StageInputs(files, dict(args or {}))


def run_data_dir(run_dir: Path) -> Path | None:
    """The data folder the run was prepared from (None before prepare)."""
    try:
        data = read_manifest(run_dir)
    except StageInputError:
        return None
    return Path(data["data_dir"]) if "data_dir" in data else None


# ---------------------------------------------------------------- guarded execution


@contextmanager
def open_run(
    run_dir: Path,
    cfg: Config,
    inputs: Mapping[str, Path | None] | None = None,
    what: str = "--out",
) -> Iterator[list[str]]:
    """Claim ``run_dir`` (new, empty or rama's), refuse it when it overlaps an input, hold
    its lock for the block, clean the leftovers of killed stages and write ``cfg`` (the run's
    configuration with this command's overrides layered on) to ``RUN/config.toml``; yields
    the leftovers removed."""
    run_dir = Path(run_dir)
    refuse_overlap(run_dir, dict(inputs or {}), what)
    claim_dir(run_dir, what)
    with run_lock(run_dir):
        cleaned = clean_leftovers(run_dir)
        layout = RunLayout(run_dir)
        toml = cfg.to_toml()
        if not layout.config.is_file() or layout.config.read_text(encoding="utf-8") != toml:
            write_text(toml, layout.config)
        yield cleaned


def execute_stage(
    run_dir: Path,
    stage: str,
    work: Callable[[], StageResult],
    cfg: Config,
    inputs: StageInputs,
) -> tuple[StageResult, float, list[str]]:
    """Run ``work`` as ``stage`` of ``run_dir``: marked running first (a kill leaves it
    "interrupted"), recorded with its fingerprints after; on any failure its outputs are
    removed and it is recorded failed. Returns the result, the wall seconds and the later
    stages made stale. Call it inside :func:`open_run`."""
    if stage == "report":
        t0 = time.perf_counter()
        return work(), time.perf_counter() - t0, []
    begin_stage(run_dir, stage)
    t0 = time.perf_counter()
    try:
        result = work()
    except BaseException:
        fail_stage(run_dir, stage)
        raise
    seconds = time.perf_counter() - t0
    made_stale = finish_stage(run_dir, stage, cfg.values, inputs, seconds)
    return result, seconds, made_stale


def check_data(data_dir: Path, *, generate: bool) -> bool:
    """True when ``data_dir`` must be generated (it holds no train split, and ``generate`` is
    set or it is :data:`DEFAULT_DATA`); False when it holds data; otherwise a StageInputError
    listing what was looked for (a typo never turns into a synthetic network)."""
    data_dir = Path(data_dir)
    if data_dir.is_file() and not has_split(data_dir, "train"):
        raise StageInputError(
            f"--data {data_dir} is a file with no FreshRetailNet header",
            reason="not_found",
            fix="pass the data root folder or a FreshRetailNet train file",
        )
    if has_split(data_dir, "train"):
        return False
    is_default = os.path.realpath(data_dir) == os.path.realpath(DEFAULT_DATA)
    if data_dir.is_symlink() and not data_dir.exists():
        raise StageInputError(
            f"--data {data_dir} is a broken symlink or a symlink loop",
            reason="not_found",
            fix="point --data at the data folder itself",
        )
    if not (generate or is_default):
        where = "does not exist" if not data_dir.exists() else "holds no FreshRetailNet train split"
        shown = ", ".join(str(Path(p).relative_to(data_dir)) for p in looked_for(data_dir, "train"))
        raise StageInputError(
            f"--data {data_dir} {where}; looked under it for {shown} (CSV exports are also "
            f"recognised by their header)",
            reason="not_found",
            fix=f"check the path, or add --generate to write a synthetic network into {data_dir}",
        )
    return True


def resolve_data(
    data_dir: Path, *, generate: bool, scale: float, seed: int
) -> tuple[Path, StageResult | None]:
    """The data folder to read, generated first when :func:`check_data` says so (only into
    a new, empty or rama-generated folder)."""
    data_dir = Path(data_dir)
    if not check_data(data_dir, generate=generate):
        return data_dir, None
    from rama.synth import generate_datasets

    claim_dir(data_dir, "--data", DATA_STAMP, "generated data")
    return data_dir, generate_datasets(data_dir, scale=scale, seed=seed)


def run_pipeline(
    data_dir: Path,
    run_dir: Path,
    cfg: Config,
    *,
    scale: float = 1.0,
    on_stage: OnStage | None = None,
    planner: PlannerInputs | None = None,
    generate: bool = False,
    force: bool = False,
    on_reuse: OnReuse | None = None,
    on_rerun: OnRerun | None = None,
    city_locations: Path | None = None,
) -> PipelineResult:
    """Run every stage into ``run_dir``, reusing each stage whose record still matches
    (``force``: rerun all). ``data_dir`` is generated first when it holds no train split and
    ``generate`` is set or it is the default folder. ``on_stage(name, result, seconds)`` is
    called after each stage that ran, ``on_reuse(name)`` for each reused one and
    ``on_rerun(name, reason)`` before each one that runs (why it reruns); ``planner``
    holds the planner's files (inventory, lane costs, product costs, capacities;
    docs/data.md), applied by the optimize stage; ``city_locations`` the city coordinates
    file prepare maps cities with (docs/prepare.md).

    The problem is built once, by the optimize stage (``RUN/problem/``); evaluation and the
    scenario sweep read it."""
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    planner = planner or PlannerInputs()
    inputs = {"--data": data_dir, "--city-locations": city_locations, **planner.files()}
    check_data(data_dir, generate=generate)  # before anything is written
    with open_run(run_dir, cfg, inputs) as cleaned:
        t0 = time.perf_counter()
        with step("generate: synthetic network"):
            data_dir, generated = resolve_data(
                data_dir, generate=generate, scale=scale, seed=int(cfg["run"]["seed"])
            )
        result = PipelineResult(run_dir, data_dir, generated is not None, cleaned=cleaned)
        if generated is not None:
            _record(result, "generate", generated, time.perf_counter() - t0, on_stage)
        for name, stage in stages(planner, city_locations):
            ins = stage_inputs(name, data_dir, planner, city_locations=city_locations)
            reason = "--force" if force else why_not_current(run_dir, name, cfg.values, ins)
            if reason is None:
                result.reused.append(name)
                if on_reuse is not None:
                    on_reuse(name)
                continue
            result.reasons[name] = reason
            if on_rerun is not None:
                on_rerun(name, reason)
            with step(f"{name}"):
                done, seconds, made_stale = execute_stage(
                    run_dir, name, partial(stage, data_dir, run_dir, cfg), cfg, ins
                )
            result.stale.extend(s for s in made_stale if s not in result.stale)
            _record(result, name, done, seconds, on_stage)
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
