"""``rama generate``: write a synthetic DATA folder in the published formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


@command(
    "generate",
    "Generate a synthetic DATA folder: FreshRetailNet-50K-format train/eval Parquet (stockout-"
    "censored sales), the logistics CSV and truth/latent_demand.parquet (uncensored demand)."
    "\n\nExamples:\n\n"
    "  rama generate --out data/small --scale 0.01\n\n"
    "  rama generate --out data/synthetic --seed 7",
)
def generate(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output DATA folder: new, empty, or one rama generated (replaced); a folder "
            "holding other files is refused.",
            file_okay=False,
        ),
    ],
    scale: Annotated[
        float,
        typer.Option(
            "--scale",
            help="Size multiplier: 1.0 = 898 stores / 50,000 series (4.5M train rows); "
            "0.01 = 9 stores / 500 series. Logistics rows never scale.",
        ),
    ] = 1.0,
    seed: SeedOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Parse options, call :func:`rama.synth.generate_datasets`, print a summary."""
    with friendly_errors():
        from rama.synth import generate_datasets

        cfg = build_config(config, set_, **{"run.seed": seed})
        g = generate_datasets(out, scale=scale, seed=int(cfg["run"]["seed"]))
        table = Table(title=f"rama generate -> {g.out_dir}", show_header=False)
        table.add_row("scale", str(g.scale))
        table.add_row("seed", f"{g.seed:,}")
        for key, value in (
            ("cities", g.cities),
            ("stores", g.stores),
            ("products", g.products),
            ("pairs", g.pairs),
        ):
            table.add_row(key, f"{value:,}")
        table.add_row("train / eval rows", f"{g.train_rows:,} / {g.eval_rows:,}")
        table.add_row("logistics rows", f"{g.logistics_rows:,}")
        st = g.train_stats
        table.add_row(
            "train sale_amount",
            f"mean {st['mean']:.3f}, std {st['std']:.3f}, median {st['median']:.1f}, "
            f"zero days {st['zero_share']:.1%}, stockout days {st['stockout_share']:.1%}",
        )
        table.add_row("seconds", f"{g.seconds:.1f}")
        console.print(table)
