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
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            help="CSV/Parquet store_id,product_id,on_hand (units) instead of the simulated "
            "inventory; unlisted forecast pairs have 0 on hand (see rama optimize --help).",
            dir_okay=False,
        ),
    ] = None,
    lane_costs: Annotated[
        Path | None,
        typer.Option(
            "--lane-costs",
            help="CSV/Parquet lane costs ($/unit) replacing the derived ones (docs/data.md).",
            dir_okay=False,
        ),
    ] = None,
    product_costs: Annotated[
        Path | None,
        typer.Option(
            "--product-costs",
            help="CSV/Parquet per-product costs and max_production replacing the config's.",
            dir_okay=False,
        ),
    ] = None,
    capacities: Annotated[
        Path | None,
        typer.Option(
            "--capacities",
            help="CSV/Parquet store_id,product_id,max_capacity (units) replacing the rule.",
            dir_okay=False,
        ),
    ] = None,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Parse options and call :func:`rama.pipeline.run_pipeline`."""
    from rama.errors import DataValidationError
    from rama.pipeline import run_pipeline
    from rama.problem import PlannerInputs

    def progress(name: str, result: StageResult, seconds: float) -> None:
        console.print(f"[green]done[/] {name:<10} {seconds:7.1f} s")

    with friendly_errors():
        sets = None
        if scenario_sets is not None:
            sets = [x.strip() for x in scenario_sets.split(",") if x.strip()]
        cfg = build_config(config, set_, **{"run.seed": seed, "scenarios.sets": sets})
        console.print(f"rama run: data {data}, run {out}")
        planner = PlannerInputs(inventory, lane_costs, product_costs, capacities)
        for path in (p for p in planner.files().values() if p is not None):
            if not path.is_file():  # before any stage runs, not after the forecast
                raise DataValidationError(
                    str(path), "file not found", reason="not_found", fix="check the path"
                )
        result = run_pipeline(data, out, cfg, scale=scale, on_stage=progress, planner=planner)
    table = Table(title="outputs", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("where")
    for name, seconds in result.seconds.items():
        where = str(result.stages[name].out_dir)
        table.add_row(name, f"{seconds:.1f}", where)
    console.print(table)
    console.print(f"All outputs are in [bold]{result.run_dir.resolve()}[/]")
