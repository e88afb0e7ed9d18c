"""The Typer application and options shared by every subcommand."""

from __future__ import annotations

import json
import logging
import sys
import time
import tomllib
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from rama import __version__
from rama.config import Config, load_config
from rama.errors import RamaError, StageInputError

app = typer.Typer(
    name="rama",
    help=(
        "Risk-Aware Material Allocation: plan transfers, manufacturing and allocation for a "
        "whole retail network. Stages: generate -> prepare -> forecast -> optimize -> "
        "evaluate -> scenarios -> report; `rama run` chains them, reusing every stage whose "
        "inputs did not change.\n\nExamples:\n\n  rama run\n\n  rama run --data DATA --out "
        "runs/week49 --set costs.stockout_penalty_per_unit=4\n\n  rama report --run "
        "runs/week49"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@dataclass
class Output:
    """How this invocation talks: ``quiet`` (errors only), ``json`` (the final summary as
    JSON on stdout, nothing else there) and ``debug`` (tracebacks)."""

    quiet: bool = False
    json: bool = False
    debug: bool = False


OUTPUT = Output()
_WIDE = None if sys.stdout.isatty() else 10_000  # piped: never cut a table at 80 columns
console = Console(width=_WIDE)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 10_000)
log = logging.getLogger("rama")
log.propagate = False  # the log goes to RUN/rama.log only; the console has its own messages
log.addHandler(logging.NullHandler())

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML file overriding any subset of the defaults (see `rama config`).",
        exists=False,
        dir_okay=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override one key, e.g. --set costs.stockout_penalty_per_unit=4.0 (repeatable).",
    ),
]
RejectedInventoryOpt = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        help="Not taken here: the inventory is part of the problem; pass it to "
        "`rama optimize --run RUN --inventory F`, and this stage scores that problem.",
        dir_okay=False,
        hidden=True,
    ),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (run.seed).")]
DaskOpt = Annotated[
    str | None,
    typer.Option(
        "--dask",
        help="Run the heavy work (data partitions, forecast features and LightGBM training, "
        "the solves, the scenario sweep) on a Dask cluster: a scheduler address "
        "(tcp://host:8786) or 'local' for a 2-worker LocalCluster (run.dask; docs/cluster.md).",
    ),
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option("--threads", help="Solver worker processes (optimize.threads; 0 = all cores)."),
]


def build_config(config: Path | None, sets: list[str] | None, **flags: Any) -> Config:
    """Defaults <- --config file <- --set pairs <- explicit flags ({"section.key": value})."""
    cfg = load_config(config, sets or [])
    explicit = {k: v for k, v in flags.items() if v is not None}
    if explicit:
        cfg = cfg.with_overrides(explicit, "command-line flag")
    return cfg


def _file_keys(path: Path) -> dict[str, Any]:
    """The ``{"section.key": value}`` pairs written in a config file (after
    :func:`load_config` has validated it)."""
    data = tomllib.loads(Path(path).read_bytes().decode("utf-8-sig", errors="replace"))
    return {
        f"{section}.{key}": value
        for section, table in data.items()
        if isinstance(table, dict)
        for key, value in table.items()
    }


def build_run_config(
    run: Path, config: Path | None, sets: list[str] | None, **flags: Any
) -> Config:
    """The run's own ``RUN/config.toml`` (the defaults for a new run) <- ``--config`` file
    <- ``--set`` pairs <- explicit flags: every override layers over what the run already
    used, and the command writes the result back to ``RUN/config.toml``."""
    run_cfg = Path(run) / "config.toml"
    base = load_config(run_cfg) if run_cfg.is_file() else load_config()
    if config is not None:
        load_config(config)  # validates the file alone, with its own messages
        base = base.with_overrides(_file_keys(config), str(config))
    if sets:
        load_config(None, sets)  # validates the pairs alone, with their own messages
        base = base.with_overrides(_set_keys(sets), "--set")
    explicit = {k: v for k, v in flags.items() if v is not None}
    if explicit:
        base = base.with_overrides(explicit, "command-line flag")
    return base


def _set_keys(sets: list[str]) -> dict[str, Any]:
    from rama.config import parse_set_value

    return {k.strip(): parse_set_value(v.strip()) for k, v in (x.split("=", 1) for x in sets)}


def reject_inventory(inventory: Path | None, stage: str) -> None:
    """Later stages score the problem in ``RUN/problem/``; an inventory file belongs to the
    stage that builds it."""
    if inventory is not None:
        raise StageInputError(
            f"rama {stage} --inventory: the inventory is part of the run's problem; pass it "
            f"to `rama optimize --run RUN --inventory {inventory}` (which writes RUN/problem/ "
            f"and records the file in the manifest), then run `rama {stage}` without it"
        )


@contextmanager
def friendly_errors(stage: str | None = None, run: Path | None = None) -> Iterator[None]:
    """A RamaError becomes one red line and exit code 2; any other exception one line naming
    the stage and where the traceback went (``RUN/rama.log``), exit code 3. ``--debug``
    prints the traceback too."""
    try:
        yield
    except RamaError as exc:
        # soft wrap: one line per message (paths and phrases stay whole in logs and pipes)
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        if OUTPUT.debug:
            err_console.print(escape(traceback.format_exc()), highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from exc
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except OSError as exc:  # the file system refused: a full disk, a read-only folder, ...
        where = f"rama {stage}" if stage else "rama"
        what = exc.strerror or str(exc)
        name = f" {exc.filename}" if exc.filename else ""
        err_console.print(
            f"[bold red]error:[/] {escape(where)} could not read or write{escape(name)}: "
            f"{escape(what)}. Fix: check the free space and the permissions of the run "
            f"folder (the stage's earlier outputs are kept whole: outputs are moved into "
            f"place only when complete)",
            highlight=False,
            soft_wrap=True,
        )
        if OUTPUT.debug:
            err_console.print(escape(traceback.format_exc()), highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from exc
    except Exception as exc:
        where = f"rama {stage}" if stage else "rama"
        logged = Path(run) / LOG_FILE if run is not None and Path(run).is_dir() else None
        hint = f"the traceback is in {logged}" if logged else "rerun with --debug for details"
        err_console.print(
            f"[bold red]error:[/] {escape(where)} stopped on an unexpected "
            f"{type(exc).__name__}: {escape(str(exc))} ({escape(hint)}; please report it)",
            highlight=False,
            soft_wrap=True,
        )
        if OUTPUT.debug:
            err_console.print(escape(traceback.format_exc()), highlight=False, soft_wrap=True)
        raise typer.Exit(code=3) from exc


LOG_FILE = "rama.log"


@contextmanager
def run_log(run: Path, command_name: str, cfg: Config | None = None) -> Iterator[None]:
    """Append what this command does to ``RUN/rama.log``: the command line, its config
    overrides, warnings, the outcome and the wall time."""
    from rama.run_state import RUN_STAMP

    run = Path(run)
    handler: logging.Handler | None = None
    if (run / RUN_STAMP).is_file() or (run / "manifest.json").is_file():  # rama's folder only
        handler = logging.FileHandler(run / LOG_FILE, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    t0 = time.perf_counter()
    argv = " ".join(sys.argv[1:]) if Path(sys.argv[0]).name in ("rama", "__main__.py") else ""
    log.info("rama %s (%s) %s", command_name, __version__, argv)
    if cfg is not None:
        log.info("%s config overrides: %s", command_name, json.dumps(cfg.overrides()))
    try:
        yield
        log.info("%s done in %.1f s", command_name, time.perf_counter() - t0)
    except RamaError as exc:
        log.error("%s failed: %s: %s", command_name, type(exc).__name__, exc)
        raise
    except Exception as exc:
        log.error(
            "%s stopped on an unexpected %s\n%s",
            command_name,
            type(exc).__name__,
            traceback.format_exc(),
        )
        raise
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()


def run_stage(
    run: Path,
    stage: str,
    cfg: Config,
    work: Callable[[], Any],
    *,
    new_run: bool = False,
    planner: Any = None,
    args: Mapping[str, Any] | None = None,
    inputs: Mapping[str, Path | None] | None = None,
    city_locations: Path | None = None,
) -> Any:
    """Run one stage command's ``work`` in ``run`` the guarded way (:mod:`rama.pipeline`):
    the folder claimed and locked, ``cfg`` written to ``RUN/config.toml``, the stage recorded
    with its fingerprints, the later stages made stale when its outputs changed, and the
    command logged to ``RUN/rama.log``. Says which stages are stale afterwards."""
    from rama.cluster import use_cluster
    from rama.pipeline import execute_stage, open_run, run_data_dir, stage_inputs

    run = Path(run)
    if not new_run and not (run / "manifest.json").is_file():
        raise StageInputError(
            f"--run {run}: no rama run there (manifest.json missing)",
            reason="not_found",
            fix=f"run `rama prepare --data DATA --out {run}` or `rama run --out {run}` first",
        )
    data_dir = inputs.get("--data") if inputs else None
    with (
        open_run(run, cfg, inputs, "--out" if new_run else "--run") as cleaned,
        run_log(run, stage, cfg),
    ):
        if cleaned:
            log.info("removed leftovers of killed stages: %s", ", ".join(cleaned))
        ins = stage_inputs(
            stage, data_dir or run_data_dir(run), planner, args, city_locations=city_locations
        )
        with use_cluster(str(cfg["run"].get("dask", "")), scratch=run):
            result, _, made_stale = execute_stage(run, stage, work, cfg, ins)
    note_stale(run, stage, made_stale)
    return result


def note_stale(run: Path, stage: str, made_stale: list[str]) -> None:
    """Tell the planner which stages are stale now: those after ``stage`` whose outputs
    were removed, and those before it that no longer match the run's configuration."""
    from rama.run_manifest import STAGE_ORDER, stage_states

    if made_stale:
        log.info("stale after %s: %s", stage, ", ".join(made_stale))
        console.print(
            f"[yellow]note:[/] {', '.join(made_stale)} "
            f"{'is' if len(made_stale) == 1 else 'are'} now stale (made from the old "
            f"{stage} outputs) and their outputs were removed; `rama run --out "
            f"{escape(str(run))}` refreshes them",
            highlight=False,
        )
    if stage not in STAGE_ORDER:
        return
    states = stage_states(run)
    before = [s for s in STAGE_ORDER[: STAGE_ORDER.index(stage)] if states[s] != "current"]
    if before:
        console.print(
            f"[yellow]warning:[/] {', '.join(before)} "
            f"{'does' if len(before) == 1 else 'do'} not match the run's present configuration "
            f"or inputs (see RUN/config.toml); this {stage} used their recorded outputs; "
            f"`rama run --out {escape(str(run))}` brings every stage up to date",
            highlight=False,
        )


def to_json(value: Any) -> Any:
    """A stage result (frozen dataclass) as JSON values: paths as strings, tables by their
    row count."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "height") and hasattr(value, "columns"):
        return {"rows": int(value.height), "columns": list(value.columns)}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def emit(summary: Mapping[str, Any]) -> None:
    """With ``--json``, print ``summary`` as JSON on stdout."""
    if OUTPUT.json:
        sys.stdout.write(json.dumps(to_json(summary), indent=2, default=str) + "\n")


def command(name: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand on the shared app."""
    return app.command(name=name, help=help_text)


@app.command(
    "config",
    help="Print the documented default configuration (TOML, with its comments), or the "
    "effective one with --config/--set/--run, or the reference table with --reference.\n\n"
    "Examples:\n\n  rama config > my.toml\n\n  rama config --run runs/default\n\n"
    "  rama config --reference > docs/config.md",
)
def show_config(
    config: ConfigOpt = None,
    set_: SetOpt = None,
    run: Annotated[
        Path | None,
        typer.Option("--run", help="Show a run's configuration (RUN/config.toml) instead."),
    ] = None,
    reference: Annotated[
        bool,
        typer.Option("--reference", help="Print the config reference page (markdown)."),
    ] = False,
) -> None:
    """Print the documented defaults, the effective configuration or the reference."""
    from rama.config import default_config_text

    with friendly_errors("config"):
        if reference:
            from rama.config_reference import reference_markdown

            sys.stdout.write(reference_markdown())
            return
        if run is None and config is None and not set_:
            sys.stdout.write(default_config_text())
            return
        cfg = build_run_config(run, config, set_) if run is not None else build_config(config, set_)
        sys.stdout.write(cfg.to_toml())


class RichProgress:
    """The :mod:`rama.progress` reporter of a terminal: one Rich bar (or spinner, when the
    total is unknown) per running step, with the step's name and elapsed time."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        )
        self.open = 0

    def start(self, name: str, total: float | None) -> int:
        if self.open == 0:
            self.bars.start()
        self.open += 1
        return int(self.bars.add_task(escape(name), total=total))

    def advance(self, task: int, amount: float) -> None:
        self.bars.advance(task, amount)  # type: ignore[arg-type]

    def finish(self, task: int) -> None:
        self.bars.remove_task(task)  # type: ignore[arg-type]
        self.open -= 1
        if self.open == 0:
            self.bars.stop()


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Warnings (a capped outlier, a retried worker, a stale series) as one yellow line on
    stderr, and into the run's log."""
    log.warning("%s: %s", category.__name__, message)
    if not OUTPUT.quiet:
        err_console.print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"rama {__version__}\n")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print errors only (for scripts).")
    ] = False,
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print the command's final summary as JSON on stdout."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Print tracebacks with errors.")] = False,
) -> None:
    """Risk-Aware Material Allocation."""
    OUTPUT.quiet, OUTPUT.json, OUTPUT.debug = quiet, json_out, debug
    console.quiet = quiet or json_out
    warnings.showwarning = show_warning
    if err_console.is_terminal and not (quiet or json_out):
        from rama.progress import set_reporter

        set_reporter(RichProgress())
