"""What a run folder may be trusted with: ownership stamps, one writer at a time, leftovers of
killed stages, and the fingerprints that say whether a stage's outputs are still current.

A shared leaf (no stage imports). The orchestration that uses it lives in
:mod:`rama.pipeline`; the manifest that stores the records in :mod:`rama.run_manifest`.

- **Stamps.** rama writes into a folder only when it is new, empty or stamped by rama
  (``.rama-run`` in a run folder, ``.rama-generated`` in a generated data folder); a folder
  holding anything else is refused (:func:`claim_dir`), so a user's files are never replaced.
- **Lock.** :func:`run_lock` holds an OS lock on ``RUN/.rama.lock`` for a whole command; a
  second command on the same folder is refused with the holder's pid. The kernel releases the
  lock when the holder dies, so a killed run never blocks the next one.
- **Leftovers.** :func:`clean_leftovers` removes the hidden ``.<name>.XXXXXXXX.tmp`` /
  ``.<name>.old`` entries that :func:`rama.io.atomic_dir` leaves when a stage is killed.
- **Fingerprints.** :func:`file_fingerprint` (size, mtime and SHA-256 of a file; the hash is
  reused while size and mtime are unchanged) and :func:`tree_digest` (one digest of the
  contents of a stage's output files) identify what a stage read and wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from rama.errors import StageInputError

RUN_STAMP = ".rama-run"
DATA_STAMP = ".rama-generated"
LOCK_FILE = ".rama.lock"

_LEFTOVER = re.compile(r"^\..+\.(?:[A-Za-z0-9_]{8}\.tmp|old)$")
"""Names :mod:`rama.io` gives its temporary entries (``mkdtemp``/``mkstemp`` suffixes)."""


@dataclass(frozen=True)
class StageSpec:
    """One stage of a run: ``sections`` of the configuration it reads (``ignored``: keys that
    cannot change its outputs, e.g. thread counts), ``outputs``, its files and folders
    relative to the run folder, and ``reads``, the earlier stages whose outputs it reads."""

    name: str
    sections: tuple[str, ...]
    outputs: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()


_PLAN_SECTIONS = (
    "run",
    "costs",
    "distribution",
    "service",
    "capacity",
    "inventory",
    "risk",
    "optimize",
    "plan",
    "stochastic",
    "evaluate",
)
STAGES: tuple[StageSpec, ...] = (
    StageSpec(
        "prepare",
        ("run", "data", "distribution", "transport", "clustering", "risk"),
        ("prepared",),
        ("run.horizon_days", "run.dask", "data.partition_rows"),
    ),
    StageSpec(
        "forecast",
        ("run", "data", "forecast"),
        ("forecast",),
        (
            "forecast.num_threads",
            "forecast.partition_series",
            "run.dask",
            "data.partition_rows",
            "data.outlier_ratio",  # prepare's outlier check: the forecast reads the raw split
            "data.outlier_action",
        ),
        ("prepare",),
    ),
    StageSpec(
        "optimize",
        _PLAN_SECTIONS,
        ("problem", "plans", "plan"),
        ("optimize.threads", "run.dask"),
        ("prepare", "forecast"),
    ),
    StageSpec(
        "evaluate",
        (*_PLAN_SECTIONS, "forecast"),
        ("evaluation",),
        ("optimize.threads", "run.dask"),
        ("prepare", "forecast", "optimize"),
    ),
    StageSpec(
        "scenarios",
        (*_PLAN_SECTIONS, "forecast", "scenarios"),
        ("scenarios",),
        ("optimize.threads", "scenarios.workers", "run.dask"),
        ("prepare", "forecast", "optimize"),
    ),
)
"""The stages whose outputs a run holds, upstream first. Each depends on the stages it
``reads`` (through their output digests): the forecast on prepare (the data it was made
from), the plan on both, evaluation and the scenario sweep on the plan's problem (not on each
other). The report is rebuilt whenever it is asked for.

prepare's EDA compares transfer costs with the configured costs for information only, so
``costs`` is not among its inputs: a cost change reruns optimize and what follows, never
prepare or the forecast (the EDA's comparison keeps the costs of the prepare run)."""

STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)


def spec(stage: str) -> StageSpec:
    """The :class:`StageSpec` named ``stage``."""
    for s in STAGES:
        if s.name == stage:
            return s
    raise KeyError(stage)


def downstream(stage: str) -> tuple[str, ...]:
    """The stages that read ``stage``'s outputs, directly or through another, in order."""
    reached = {stage}
    for s in STAGES:
        if reached & set(s.reads):
            reached.add(s.name)
    return tuple(s for s in STAGE_NAMES if s in reached and s != stage)


# ---------------------------------------------------------------- ownership


def _stamp_text(kind: str) -> str:
    from rama import __version__

    return json.dumps({"written_by": "rama", "kind": kind, "version": __version__}) + "\n"


def is_stamped(folder: Path, stamp: str = RUN_STAMP) -> bool:
    """True when ``folder`` carries rama's ``stamp`` file."""
    return (Path(folder) / stamp).is_file()


def stamp(folder: Path, stamp_name: str = RUN_STAMP, kind: str = "run") -> None:
    """Mark ``folder`` as rama's (created if missing)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stamp_name
    if not path.is_file():
        path.write_text(_stamp_text(kind), encoding="utf-8")


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        raise StageInputError(
            f"{folder} cannot be listed ({exc.strerror or exc})",
            reason="unreadable",
            fix="check the folder's permissions",
        ) from exc


def _legacy_run(folder: Path, kind: str) -> bool:
    """A run folder rama wrote before stamps existed: its manifest names rama's version."""
    manifest = folder / "manifest.json"
    if kind != "run" or not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "rama_version" in data


def claim_dir(folder: Path, what: str, stamp_name: str = RUN_STAMP, kind: str = "run") -> Path:
    """Make ``folder`` rama's output folder for ``what`` (e.g. "--out"): create and stamp it
    when it is new or empty, accept it when rama stamped it, refuse it otherwise (it holds
    files rama did not write, which the outputs would replace)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise StageInputError(
            f"{what} {folder} is a file, not a folder",
            reason="not_a_folder",
            fix="pick a folder path",
        )
    if folder.is_dir() and not is_stamped(folder, stamp_name) and not _legacy_run(folder, kind):
        found = [n for n in _entries(folder) if n != LOCK_FILE]
        if found:
            shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
            raise StageInputError(
                f"{what} {folder} already holds files rama did not write ({shown}); rama "
                f"only writes into a new or empty folder, or one it stamped ({stamp_name})",
                reason="foreign_folder",
                fix="pick a new or empty folder",
            )
    try:
        stamp(folder, stamp_name, kind)
    except OSError as exc:
        raise StageInputError(
            f"{what} {folder} cannot be written ({exc.strerror or exc})",
            reason="unwritable",
            fix="pick a folder you can write to",
        ) from exc
    return folder


def refuse_overlap(out: Path, inputs: Mapping[str, Path | None], what: str = "--out") -> None:
    """Refuse an output folder equal to or inside an input folder or file (its outputs would
    replace the inputs)."""
    o = Path(os.path.realpath(out))  # realpath: no RuntimeError on a symlink loop
    for name, path in inputs.items():
        if path is None:
            continue
        i = Path(os.path.realpath(path))
        if o == i or i in o.parents:
            raise StageInputError(
                f"{what} {out} overlaps the input {name} {path}; writing there would replace "
                f"the input",
                reason="output_overlaps_input",
                fix=f"pick an {what} folder outside {path}",
            )


# ---------------------------------------------------------------- one writer


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold ``RUN/.rama.lock`` for the duration; StageInputError naming the holder's pid when
    another command holds it. The lock is an OS (flock) lock: a holder that is killed releases
    it, so the next command proceeds."""
    from filelock import FileLock, Timeout

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    info = run_dir / f"{LOCK_FILE}.pid"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        holder = info.read_text(encoding="utf-8").strip() if info.is_file() else "unknown"
        raise StageInputError(
            f"{run_dir} is in use by another rama command (pid {holder}); two commands "
            f"writing one run folder would mix their outputs",
            reason="run_locked",
            fix="wait for it to finish, or use another --out folder",
        ) from exc
    try:
        info.write_text(f"{os.getpid()}\n", encoding="utf-8")
        yield
    finally:
        info.unlink(missing_ok=True)
        lock.release()


def clean_leftovers(run_dir: Path) -> list[str]:
    """Remove the temporary entries killed stages left in ``run_dir`` (and one level below);
    returns their names. Call it while holding :func:`run_lock`."""
    run_dir = Path(run_dir)
    removed: list[str] = []
    if not run_dir.is_dir():
        return removed
    folders = [run_dir, *(p for p in run_dir.iterdir() if p.is_dir() and p.name[0] != ".")]
    for folder in folders:
        for p in folder.iterdir():
            if not _LEFTOVER.match(p.name):
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(str(p.relative_to(run_dir)))
    return sorted(removed)


# ---------------------------------------------------------------- fingerprints


def file_fingerprint(path: Path, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns", "sha256"}`` of a file, or ``{"path", "missing": True}``.
    The hash of ``previous`` is reused when size and mtime are unchanged (no re-read)."""
    path = Path(path)
    try:
        st = path.stat()
    except OSError:
        return {"path": str(path), "missing": True}
    fp: dict[str, Any] = {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if (
        previous is not None
        and previous.get("size") == st.st_size
        and previous.get("mtime_ns") == st.st_mtime_ns
        and "sha256" in previous
    ):
        fp["sha256"] = previous["sha256"]
    else:
        with path.open("rb") as fh:
            fp["sha256"] = hashlib.file_digest(fh, "sha256").hexdigest()
    return fp


def same_file(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Two fingerprints of one input describe the same content."""
    return a.get("missing", False) == b.get("missing", False) and a.get("sha256") == b.get("sha256")


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def tree_digest(root: Path, entries: Sequence[str]) -> str:
    """SHA-256 over the relative paths and contents of every file under ``root/entry`` for
    each entry (hidden files skipped); a missing entry counts as missing, so a stage whose
    outputs were partly replaced or removed never digests like its earlier outputs."""
    root = Path(root)
    h = hashlib.sha256()
    for entry in entries:
        base = root / entry
        if base.is_file():
            files = [base]
        elif base.is_dir():
            files = sorted(
                p for p in base.rglob("*") if p.is_file() and not _hidden(p.relative_to(root))
            )
        else:
            h.update(f"missing:{entry}\0".encode())
            continue
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(b"\0")
            with f.open("rb") as fh:
                h.update(hashlib.file_digest(fh, "sha256").digest())
    return h.hexdigest()


def config_subset(values: Mapping[str, Mapping[str, Any]], stage_spec: StageSpec) -> dict[str, Any]:
    """The ``{"section.key": value}`` entries of ``values`` that ``stage_spec`` reads."""
    return {
        f"{section}.{key}": value
        for section in stage_spec.sections
        for key, value in sorted(values.get(section, {}).items())
        if f"{section}.{key}" not in stage_spec.ignored
    }


@cache
def code_version() -> str:
    """rama's version and a digest of its source files (read once per process, as the code
    that runs is the code imported): any code change reruns every stage."""
    from rama import __version__

    h = hashlib.sha256()
    pkg = resources.files("rama")
    root = Path(str(pkg))
    for f in sorted(root.rglob("*")):
        if f.suffix in {".py", ".toml"} and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return f"{__version__}+{h.hexdigest()[:16]}"


def now() -> str:
    """The current UTC time, ISO 8601 (for records)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
