"""``RUN/manifest.json``: what a run was made from and which stages completed.

Fields written by ``prepare``: ``data_dir`` (absolute), ``has_eval``, ``has_truth``,
``city_mapping``, ``stages`` (["prepare"]). Later stages call
``update_manifest(run_dir, stage="forecast", ...)`` to add their fields and their name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rama.errors import StageInputError
from rama.io import write_json

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
