"""``rama run``: every stage, from data (generated when absent) to the plan and its report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    SeedOpt,
    SetOpt,
    build_config,
    command,
    console,
    friendly_errors,
)

if TYPE_CHECKING:
    from rama.results import StageResult


@command(
    "run",
    "Run the whole pipeline: generate the synthetic default when DATA holds no data, then "
    "prepare, forecast, optimize, evaluate, scenarios and report into RUN.",
)
def run(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Data root (freshretailnet/data/train.parquet, logistics/...). When it holds "
            "no train split, the synthetic default is generated into it first.",
        ),
    ] = Path("data/synthetic"),
    out: Annotated[Path, typer.Option("--out", help="Run folder for every stage's outputs.")] = (
        Path("runs/default")
    ),
    scale: Annotated[
        float,
        typer.Option("--scale", help="Size of generated data (1.0 = 898 stores, 50,000 series)."),
    ] = 1.0,
    scenario_sets: Annotated[
        str | None,
        typer.Option(
            "--scenario-sets",
            help="Scenario sets the run sweeps (comma-separated: base, disruptions, "
            "demand_shocks, cost_grid, custom). Default: scenarios.sets of the config "
            "(all of them: 22 scenarios x 5 strategies, about a minute at full scale).",
        ),
    ] = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Parse options and call :func:`rama.pipeline.run_pipeline`."""
    from rama.pipeline import run_pipeline

    def progress(name: str, result: StageResult, seconds: float) -> None:
        console.print(f"[green]done[/] {name:<10} {seconds:7.1f} s")

    with friendly_errors():
        sets = None
        if scenario_sets is not None:
            sets = [x.strip() for x in scenario_sets.split(",") if x.strip()]
        cfg = build_config(config, set_, **{"run.seed": seed, "scenarios.sets": sets})
        console.print(f"rama run: data {data}, run {out}")
        result = run_pipeline(data, out, cfg, scale=scale, on_stage=progress)
    table = Table(title="outputs", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("where")
    for name, seconds in result.seconds.items():
        where = str(result.stages[name].out_dir)
        table.add_row(name, f"{seconds:.1f}", where)
    console.print(table)
    console.print(f"All outputs are in [bold]{result.run_dir.resolve()}[/]")
