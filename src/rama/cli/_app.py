"""The Typer application and options shared by every subcommand."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from rama.config import Config, load_config
from rama.errors import RamaError, StageInputError

app = typer.Typer(
    name="rama",
    help=(
        "Risk-Aware Material Allocation: plan transfers, manufacturing and allocation for a "
        "whole retail network. Stages: generate -> prepare -> forecast -> optimize -> "
        "scenarios -> report; `rama run` chains them."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

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


def build_config(config: Path | None, sets: list[str] | None, **flags: Any) -> Config:
    """Defaults <- --config file <- --set pairs <- explicit flags ({"section.key": value})."""
    cfg = load_config(config, sets or [])
    explicit = {k: v for k, v in flags.items() if v is not None}
    if explicit:
        cfg = cfg.with_overrides(explicit, "command-line flag")
    return cfg


def build_run_config(
    run: Path, config: Path | None, sets: list[str] | None, **flags: Any
) -> Config:
    """Like :func:`build_config`, but a stage of an existing run starts from the run's own
    ``RUN/config.toml`` (written by prepare) when no ``--config`` is given."""
    if config is None and (Path(run) / "config.toml").is_file():
        config = Path(run) / "config.toml"
    return build_config(config, sets, **flags)


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
def friendly_errors() -> Iterator[None]:
    """Turn a RamaError into a red message and exit code 2 (no traceback)."""
    try:
        yield
    except RamaError as exc:
        # soft wrap: one line per message (paths and phrases stay whole in logs and pipes)
        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=2) from exc


def command(name: str, help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a subcommand on the shared app."""
    return app.command(name=name, help=help_text)


@app.command("config", help="Print the documented default configuration (TOML).")
def show_config(
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Print the effective configuration."""
    with friendly_errors():
        cfg = build_config(config, set_)
        console.print(cfg.to_toml(), highlight=False, markup=False)


@app.callback()
def _root() -> None:
    """Risk-Aware Material Allocation."""
