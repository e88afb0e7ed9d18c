"""``rama evaluate``: every strategy scored on the demand that actually arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    DaskOpt,
    RejectedInventoryOpt,
    SeedOpt,
    SetOpt,
    build_run_config,
    command,
    console,
    emit,
    friendly_errors,
    reject_inventory,
    run_stage,
)

HELP = (
    "Score every strategy (do nothing, order-up-to, decentralized LP, centralized LP, "
    "stochastic, fill-rate target) and RUN/plan/ if present on the realized demand of the "
    "planning week: the latent truth on synthetic data, else the eval split's sales with "
    "stockout days recovered. Realized cost = holding x max(0, available - demand) + penalty x "
    "max(0, demand - available) + transport + manufacturing + distribution, next to what each "
    "plan expected. Writes RUN/evaluation/ (docs/scenarios.md)."
    "\n\nExamples:\n\n"
    "  rama evaluate --run runs/week49\n\n"
    "  rama evaluate --run runs/week49 --truth sales"
)


@command("evaluate", HELP)
def evaluate_cmd(
    run: Annotated[
        Path,
        typer.Option("--run", help="Run folder with prepared/ and forecast/.", file_okay=False),
    ],
    inventory: RejectedInventoryOpt = None,
    truth: Annotated[
        str | None,
        typer.Option(
            "--truth",
            help="auto (default: latent when present, else the eval split's sales, else none), "
            "latent, sales (eval split), or none (score on the forecast draws only).",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Solver worker processes (0 = all cores).")
    ] = None,
    seed: SeedOpt = None,
    dask: DaskOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run the evaluation stage."""
    from rama.evaluate import run_evaluation

    with friendly_errors("evaluate", run):
        reject_inventory(inventory, "evaluate")
        cfg = build_run_config(
            run, config, set_, **{"evaluate.truth": truth, "run.seed": seed, "run.dask": dask}
        )
        s = run_stage(run, "evaluate", cfg, lambda: run_evaluation(run, cfg, threads=threads))
    table = Table(title=f"evaluation {s.out_dir}", show_header=True)
    live = s.realized_demand_units is None
    cols = ["strategy", "expected $", "forecast $", "forecast fill", "forecast cycle service"]
    if not live:
        cols += ["realized $", "realized fill", "realized cycle service"]
    for col in cols:
        table.add_column(col, justify="left" if col == "strategy" else "right")
    for name, r in s.strategies.items():
        cells = [
            name,
            f"{r['expected_total']:,.0f}",
            f"{r['forecast_total']:,.0f}",
            f"{r['forecast_fill_rate']:.2%}",
            f"{r['forecast_cycle_service_level']:.2%}",
        ]
        if not live:
            cells += [
                f"{r['realized_total']:,.0f}",
                f"{r['realized_fill_rate']:.2%}",
                f"{r['realized_cycle_service_level']:.2%}",
            ]
        table.add_row(*cells)
    console.print(table)
    console.print(
        f"forecast $: mean over {s.summary['forecast_samples']} independent draws of the "
        f"forecast distribution per pair; realized demand: {s.source}",
        highlight=False,
    )
    if s.pairs_excluded:
        console.print(
            f"[yellow]actuals missing:[/] {s.pairs_excluded:,} pairs left out of the realized "
            f"figures ({s.pairs_without_actuals:,} with no actuals, {s.pairs_missing_days:,} "
            f"missing {s.days_missing:,} days in all); {s.pairs_scored:,} pairs scored. Missing "
            f"actuals are never scored as zero demand (evaluate.min_actual_share)",
            highlight=False,
        )
    emit({"stage": "evaluate", "result": s})
