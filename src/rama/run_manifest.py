"""``RUN/manifest.json``: what a run was made from and which stages completed.

Fields written by ``prepare``: ``data_dir`` (absolute), ``has_eval``, ``has_truth``,
``city_mapping``, ``stages`` (["prepare"]). Later stages call :func:`record_stage`, which adds
their name, the input files and arguments that shaped them (``<stage>_inputs``, e.g.
``optimize_inputs.inventory_file``) and their configuration overrides
(``<stage>_config_overrides``), and keeps ``RUN/config.toml`` equal to the configuration the
last stage ran with.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rama.config import Config, load_config
from rama.errors import StageInputError
from rama.io import write_json, write_text
from rama.run_state import (
    STAGE_NAMES,
    code_version,
    config_subset,
    downstream,
    file_fingerprint,
    now,
    same_file,
    spec,
    tree_digest,
)

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


# ---------------------------------------------------------------- stage records

STAGE_ORDER: tuple[str, ...] = STAGE_NAMES
"""The stages whose outputs a run folder holds, upstream first (the report reads them all)."""

CURRENT, STALE, NOT_RUN = "current", "stale", "not run"
DONE, RUNNING, FAILED, OUTDATED = "done", "running", "failed", "stale"


def _records(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    recs = data.get("records", {})
    return {k: dict(v) for k, v in recs.items()} if isinstance(recs, dict) else {}


def _run_values(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The configuration in ``RUN/config.toml`` (defaults when there is none)."""
    path = Path(run_dir) / "config.toml"
    return {k: dict(v) for k, v in load_config(path if path.is_file() else None).values.items()}


@dataclass(frozen=True)
class StageInputs:
    """What one execution of a stage reads: its input files (``{name: path}``, None for an
    absent optional file) and its arguments (JSON values)."""

    files: Mapping[str, Path | None] = field(default_factory=dict)
    args: Mapping[str, Any] = field(default_factory=dict)

    def fingerprints(self, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
        prev = previous or {}
        return {
            name: file_fingerprint(path, prev.get(name)) if path is not None else None
            for name, path in sorted(self.files.items())
        }

    def json_args(self) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(json.dumps(dict(self.args), default=str, sort_keys=True))
        return out


def _upstream(records: Mapping[str, Mapping[str, Any]], stage: str) -> dict[str, Any]:
    """The output digests of the stages ``stage`` reads, as recorded."""
    return {s: records.get(s, {}).get("outputs") for s in spec(stage).reads}


def stage_key(run_dir: Path, stage: str, values: Mapping[str, Mapping[str, Any]]) -> str:
    """A digest of what ``stage`` would run with now (config subset, code, upstream outputs):
    rows a stage computed under another key are stale (``rama scenarios --only``)."""
    data = read_manifest(run_dir) if manifest_path(run_dir).is_file() else {}
    blob = json.dumps(
        {
            "config": config_subset(values, spec(stage)),
            "upstream": _upstream(_records(data), stage),
            "code": code_version(),
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def why_not_current(
    run_dir: Path,
    stage: str,
    values: Mapping[str, Mapping[str, Any]],
    inputs: StageInputs | None = None,
    check_code: bool = True,
) -> str | None:
    """None when ``stage``'s recorded outputs were made from exactly these inputs (config
    subset, input files, arguments, code, earlier stages' outputs) and are unchanged on disk;
    otherwise the first reason they are not (for the console). ``inputs`` None: the files
    and arguments of the record are re-checked as they are."""
    data = read_manifest(run_dir) if manifest_path(run_dir).is_file() else {}
    records = _records(data)
    rec = records.get(stage)
    if rec is None:
        return "not run yet"
    if rec.get("status") != DONE:
        return {RUNNING: "it was interrupted", FAILED: "it failed"}.get(
            str(rec.get("status")), "an earlier stage changed after it ran"
        )
    if check_code and rec.get("code") != code_version():
        return "rama's code changed"
    now_cfg = config_subset(values, spec(stage))
    old_cfg = rec.get("config", {})
    changed = sorted(k for k in set(now_cfg) | set(old_cfg) if now_cfg.get(k) != old_cfg.get(k))
    if changed:
        return f"{', '.join(changed[:3])} changed"
    for s, digest in _upstream(records, stage).items():
        if rec.get("upstream", {}).get(s) != digest:
            return f"the {s} stage's outputs changed"
    old_inputs: Mapping[str, Any] = rec.get("inputs", {})
    if inputs is not None:
        if inputs.json_args() != rec.get("args", {}):
            return "its arguments changed"
        now_inputs = inputs.fingerprints(old_inputs)
        if set(now_inputs) != set(old_inputs):
            return "its input files changed"
    else:
        now_inputs = {
            k: file_fingerprint(Path(v["path"]), v) if v else None for k, v in old_inputs.items()
        }
    for name, fp in now_inputs.items():
        old = old_inputs.get(name)
        if (fp is None) != (old is None) or (fp is not None and old and not same_file(fp, old)):
            return f"input {name} changed"
    if tree_digest(run_dir, spec(stage).outputs) != rec.get("outputs"):
        return "its outputs were changed or removed"
    return None


def _remove_outputs(run_dir: Path, stage: str) -> None:
    """Delete ``stage``'s outputs (rama's own folders in a run rama stamped)."""
    for entry in spec(stage).outputs:
        path = Path(run_dir) / entry
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def begin_stage(run_dir: Path, stage: str) -> None:
    """Mark ``stage`` running: until :func:`finish_stage` its outputs are not current (a
    command killed now leaves it "interrupted", and the next run reruns it)."""
    data = read_manifest(run_dir) if manifest_path(run_dir).is_file() else {}
    records = _records(data)
    rec = records.get(stage, {})
    if rec.get("status") == DONE:  # kept whole if this run fails before replacing it
        rec["previous"] = {k: v for k, v in rec.items() if k != "previous"}
    rec.update(status=RUNNING, started_at=now())
    records[stage] = rec
    update_manifest(run_dir, records=records)


def finish_stage(
    run_dir: Path,
    stage: str,
    values: Mapping[str, Mapping[str, Any]],
    inputs: StageInputs,
    seconds: float,
) -> list[str]:
    """Record ``stage`` done with what it ran from, then make every later stage whose
    recorded upstream no longer matches stale: its outputs are removed (never shown as
    current). Returns the stages made stale."""
    data = read_manifest(run_dir) if manifest_path(run_dir).is_file() else {}
    records = _records(data)
    old = records.get(stage, {})
    old.pop("previous", None)
    records[stage] = {
        "status": DONE,
        "config": config_subset(values, spec(stage)),
        "inputs": inputs.fingerprints(old.get("inputs")),
        "args": inputs.json_args(),
        "upstream": _upstream(records, stage),
        "outputs": tree_digest(run_dir, spec(stage).outputs),
        "code": code_version(),
        "started_at": old.get("started_at"),
        "finished_at": now(),
        "seconds": round(float(seconds), 3),
    }
    made_stale = _propagate(run_dir, records, stage)
    update_manifest(run_dir, records=records)
    return made_stale


def fail_stage(run_dir: Path, stage: str) -> list[str]:
    """``stage`` failed. When its outputs are still exactly the earlier run's (it failed
    before replacing any), they are kept whole with their record; otherwise they are removed
    (they may mix new and old files), the stage is recorded failed and the later stages are
    made stale. Returns the stages whose outputs were removed."""
    data = read_manifest(run_dir) if manifest_path(run_dir).is_file() else {}
    records = _records(data)
    rec = records.get(stage, {})
    previous = rec.get("previous")
    if previous and tree_digest(run_dir, spec(stage).outputs) == previous.get("outputs"):
        # failed before replacing anything (e.g. a rejected input file): the earlier result
        # is kept whole; its record says what it was made from, so it shows as stale when
        # the run's inputs have moved on
        records[stage] = {**previous, "last_failure": now()}
        update_manifest(run_dir, records=records)
        return []
    _remove_outputs(run_dir, stage)
    rec.pop("previous", None)
    rec.update(status=FAILED, outputs=None, finished_at=now())
    records[stage] = rec
    made_stale = [stage, *_propagate(run_dir, records, stage)]
    update_manifest(run_dir, records=records)
    return made_stale


def _propagate(run_dir: Path, records: dict[str, dict[str, Any]], changed: str) -> list[str]:
    """Mark stale (and remove the outputs of) every done stage reading ``changed``, directly
    or through another, whose recorded upstream digests no longer match; in order, so
    staleness flows down."""
    stale: list[str] = []
    for s in downstream(changed):
        rec = records.get(s)
        if rec is None or rec.get("status") != DONE:
            continue
        if rec.get("upstream") != _upstream(records, s) or any(
            records.get(u, {}).get("status") != DONE for u in spec(s).reads if u in records
        ):
            _remove_outputs(run_dir, s)
            rec.update(status=OUTDATED, outputs=None)
            stale.append(s)
    return stale


def stage_states(run_dir: Path) -> dict[str, str]:
    """Each stage of :data:`STAGE_ORDER` -> ``"current"`` (its outputs were made from the
    run's present configuration, input files and earlier outputs), ``"stale"`` (something
    changed after it ran, or it failed or was interrupted: do not show its outputs as current)
    or ``"not run"``. A run folder without a manifest has every stage ``"not run"``; one
    written before stage records existed falls back to the manifest's stage list."""
    path = manifest_path(run_dir)
    data = read_manifest(run_dir) if path.is_file() else {}
    if "records" not in data:
        done = set(data.get("stages", []))
        return {s: CURRENT if s in done else NOT_RUN for s in STAGE_ORDER}
    records = _records(data)
    values = _run_values(run_dir)
    states: dict[str, str] = {}
    for s in STAGE_ORDER:
        if s not in records:
            states[s] = NOT_RUN
            continue
        upstream_ok = all(states.get(u) == CURRENT for u in spec(s).reads)
        ok = upstream_ok and why_not_current(run_dir, s, values, check_code=False) is None
        states[s] = CURRENT if ok else STALE
    return states
