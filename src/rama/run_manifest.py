"""``RUN/manifest.json``: what a run was made from and which stages completed.

Fields written by ``prepare``: ``data_dir`` (absolute), ``has_eval``, ``has_truth``,
``city_mapping``, ``stages`` (["prepare"]). Later stages call :func:`record_stage`, which adds
their name, the input files and arguments that shaped them (``<stage>_inputs``, e.g.
``optimize_inputs.inventory_file``) and their configuration overrides
(``<stage>_config_overrides``), and keeps ``RUN/config.toml`` equal to the configuration the
last stage ran with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rama.config import Config
from rama.errors import StageInputError
from rama.io import write_json, write_text

MANIFEST = "manifest.json"


def manifest_path(run_dir: Path) -> Path:
    """``run_dir/manifest.json``."""
    return Path(run_dir) / MANIFEST


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """The run's manifest; StageInputError if it is missing or unreadable."""
    path = manifest_path(run_dir)
    if not path.is_file():
        raise StageInputError(
            f"{path} not found; run `rama prepare --data DATA --out {run_dir}` first"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StageInputError(
            f"{path} is not valid JSON ({exc}); re-run `rama prepare` to rewrite it"
        ) from exc
    if not isinstance(data, dict):
        raise StageInputError(f"{path} must hold a JSON object; re-run `rama prepare`")
    return data


def update_manifest(run_dir: Path, *, stage: str | None = None, **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` (top-level keys replaced) into the manifest, append ``stage`` to
    ``stages`` if given, write atomically, and return the new manifest. Creates the file if
    it does not exist."""
    path = manifest_path(run_dir)
    data = read_manifest(run_dir) if path.is_file() else {}
    data.update(fields)
    stages = list(data.get("stages", []))
    if stage is not None and stage not in stages:
        stages.append(stage)
    data["stages"] = stages
    write_json(data, path)
    return data


def record_stage(
    run_dir: Path, stage: str, cfg: Config, inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Mark ``stage`` done and record what shaped it: ``<stage>_inputs`` (input files and
    arguments, e.g. the inventory file; absolute paths) and ``<stage>_config_overrides``
    (every value differing from the defaults). The configuration is written to
    ``RUN/config.toml`` when it differs from what is there, so the stages after this one
    start from the numbers that produced its output."""
    run_dir = Path(run_dir)
    toml = cfg.to_toml()
    cfg_path = run_dir / "config.toml"
    if not cfg_path.is_file() or cfg_path.read_text(encoding="utf-8") != toml:
        write_text(toml, cfg_path)
    fields: dict[str, Any] = {f"{stage}_config_overrides": cfg.overrides()}
    if inputs is not None:
        fields[f"{stage}_inputs"] = {
            k: (str(Path(v).resolve()) if isinstance(v, Path) else v) for k, v in inputs.items()
        }
    return update_manifest(run_dir, stage=stage, **fields)


STAGE_ORDER: tuple[str, ...] = ("prepare", "forecast", "optimize", "evaluate", "scenarios")
"""The stages whose outputs a run folder holds, upstream first (the report reads them all)."""

CURRENT, STALE, NOT_RUN = "current", "stale", "not run"


def stage_states(run_dir: Path) -> dict[str, str]:
    """Each stage of :data:`STAGE_ORDER` -> ``"current"`` (its outputs were made from the
    run's present inputs), ``"stale"`` (an input or an earlier stage changed after it ran;
    do not show its outputs as current) or ``"not run"``. A run folder without a manifest
    has every stage ``"not run"``."""
    path = manifest_path(run_dir)
    data = read_manifest(run_dir) if path.is_file() else {}
    done = set(data.get("stages", []))
    stale = set(data.get("stale", []))
    return {
        s: (STALE if s in stale else CURRENT) if s in done else NOT_RUN for s in STAGE_ORDER
    }
