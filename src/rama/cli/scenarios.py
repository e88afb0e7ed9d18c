"""``rama scenarios``: the configured scenarios x strategies, one tidy table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    DaskOpt,
    RejectedInventoryOpt,
    SeedOpt,
    SetOpt,
    ThreadsOpt,
    build_run_config,
    command,
    console,
    emit,
    friendly_errors,
    reject_inventory,
    run_stage,
)

HELP = (
    "Run every scenario of the scenarios config section (base, the study's disruptions, "
    "demand shocks of -20..+20% foreseen and unforeseen, a stockout-penalty x holding-cost "
    "grid, and the "
    "user's scenarios.custom tables) with every strategy, each scored on the same realized "
    "demand. Writes RUN/scenarios/scenarios.{parquet,csv} and, with --write-plans, "
    "plans/<scenario>/<strategy>/ (docs/scenarios.md)."
    "\n\nExamples:\n\n"
    "  rama scenarios --run runs/week49\n\n"
    "  rama scenarios --run runs/week49 --only base --workers 2"
)


@command("scenarios", HELP)
def scenarios_cmd(
    run: Annotated[
        Path,
        typer.Option("--run", help="Run folder with prepared/ and forecast/.", file_okay=False),
    ],
    write_plans: Annotated[
        bool, typer.Option("--write-plans", help="Also write one plan folder per scenario.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="Scenario processes (single-threaded solves); 0 = one scenario at a time "
            "with parallel solves (scenarios.workers).",
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this scenario (repeatable).")
    ] = None,
    inventory: RejectedInventoryOpt = None,
    threads: ThreadsOpt = None,
    seed: SeedOpt = None,
    dask: DaskOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run the scenario stage."""
    from rama.scenarios import run_scenarios

    with friendly_errors("scenarios", run):
        reject_inventory(inventory, "scenarios")
        cfg = build_run_config(
            run, config, set_, **{"optimize.threads": threads, "run.seed": seed, "run.dask": dask}
        )
        s = run_stage(
            run,
            "scenarios",
            cfg,
            lambda: run_scenarios(
                run,
                cfg,
                write_plans=write_plans,
                workers=workers,
                only=only,
            ),
            args={k: v for k, v in {"write_plans": write_plans, "only": only}.items() if v},
        )
    t: pl.DataFrame = s.table
    live = (
        t["realized_total"].null_count() > 0
    )  # a row without realized figures: compare all on the forecast
    figure = "forecast_total" if live else "realized_total"
    what = "forecast $ total: mean over the forecast draws" if live else "realized $ total"
    table = Table(title=f"scenarios {s.out_dir} ({what})", show_header=True)
    stale = set(t.filter(pl.col("stale"))["scenario"].to_list()) if "stale" in t.columns else set()
    table.add_column("scenario")
    strategies = list(s.strategies)
    for name in strategies:
        table.add_column(name, justify="right")
    for sc in s.scenarios:
        sub = t.filter(pl.col("scenario") == sc)
        vals = dict(zip(sub["strategy"].to_list(), sub[figure].to_list(), strict=True))
        cells = (vals.get(n) for n in strategies)
        table.add_row(
            escape(sc) + (" (stale)" if sc in stale else ""),
            *("-" if v is None else f"{v:,.0f}" for v in cells),
        )
    console.print(table)
    console.print(
        f"{s.rows} rows in {s.seconds:.1f} s; realized demand: {s.source}",
        highlight=False,
    )
    emit({"stage": "scenarios", "result": s})
