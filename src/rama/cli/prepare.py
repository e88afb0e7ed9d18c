"""``rama prepare``: validate the raw data and write RUN/prepared/ (docs/prepare.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    DaskOpt,
    SeedOpt,
    SetOpt,
    build_run_config,
    command,
    console,
    emit,
    friendly_errors,
    run_stage,
)

HELP = (
    "Validate the FreshRetailNet and logistics data in DATA and write RUN/prepared/: daily "
    "store x product demand, per-pair demand parameters, K-Means city supply parameters, "
    "store distribution costs, the store-to-store transport cost matrix and an EDA summary; "
    "plus RUN/config.toml and RUN/manifest.json."
    "\n\nExamples:\n\n"
    "  rama prepare --data data/synthetic --out runs/week49\n\n"
    "  rama prepare --data DATA --out runs/week49 --city-locations cities.csv"
)


@command("prepare", HELP)
def prepare_cmd(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Data root holding freshretailnet/data/train.parquet (eval.parquet optional) "
            "and logistics/dynamic_supply_chain_logistics_dataset.csv, e.g. the output of "
            "`rama generate`.",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Run folder to write: new, empty or made by rama (prepared/ is replaced; "
            "later stages made from other data become stale).",
        ),
    ],
    *,
    city_locations: Annotated[
        Path | None,
        typer.Option(
            "--city-locations",
            help="CSV/Parquet with city_id,latitude,longitude (degrees) for every city: each "
            "city then takes the supply parameters of the nearest K-Means cluster. Default: "
            "cities in id order take the clusters ordered west to east.",
            dir_okay=False,
        ),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
    dask: DaskOpt = None,
) -> None:
    """Run the prepare stage."""
    from rama.prepare import prepare

    with friendly_errors("prepare", out):
        cfg = build_run_config(out, config, set_, **{"run.seed": seed, "run.dask": dask})
        result = run_stage(
            out,
            "prepare",
            cfg,
            lambda: prepare(data, out, cfg, city_locations=city_locations),
            new_run=True,
            inputs={"--data": data, "--city-locations": city_locations},
            city_locations=city_locations,
        )
    table = Table(title=f"prepared {result.out_dir}", show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.tables.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    q = {k: ("-" if v is None else f"{v:.2f}") for k, v in result.transport_cost.items()}
    console.print(
        f"{result.rows:,} rows: {result.cities} cities, {result.stores} stores, "
        f"{result.products} products, {result.pairs:,} pairs, "
        f"{result.date_min} .. {result.date_max}\n"
        f"city mapping: {result.city_mapping}; transfer cost $/unit "
        f"p05 {q.get('p05', '-')} / median {q.get('p50', '-')} / p95 {q.get('p95', '-')}"
        + (" (no store-to-store route: one store)" if result.stores < 2 else "")
        + "\n"
        f"done in {result.seconds['total']:.1f} s",
        highlight=False,
    )
    if result.outliers:
        console.print(
            f"[yellow]outliers:[/] {result.outliers:,} values at >= data.outlier_ratio x their "
            f"median were {result.outlier_action}ped (data.outlier_action); rows in "
            f"{escape(str(result.out_dir / 'outliers.csv'))}",
            highlight=False,
        )
    emit({"stage": "prepare", "result": result})
