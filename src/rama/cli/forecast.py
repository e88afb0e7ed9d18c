"""``rama forecast``: recover demand, fit the global model, forecast the planning week."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    DaskOpt,
    SeedOpt,
    SetOpt,
    build_run_config,
    command,
    console,
    friendly_errors,
    run_stage,
)

ROWS_SHOWN = ("official", "all", "official_low", "official_high")


def _pct(v: float | None) -> str:
    return "-" if v is None or math.isnan(v) else f"{v:.1%}"


@command(
    "forecast",
    "Recover stockout-censored demand, fit one LightGBM model over every store-product "
    "series, forecast the planning week with quantiles and horizon totals, and backtest it "
    "against seasonal-naive and moving-average baselines. Writes RUN/forecast/."
    "\n\nExamples:\n\n"
    "  rama forecast --run runs/week49\n\n"
    "  rama forecast --run runs/week49 --reuse-model\n\n"
    "  rama forecast --run runs/week49 --dask tcp://scheduler:8786",
)
def forecast(
    run: Annotated[
        Path,
        typer.Option(
            "--run",
            help="Run folder made by `rama prepare` (reads RUN/manifest.json for the data).",
            file_okay=False,
        ),
    ],
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="LightGBM threads (forecast.num_threads; 0 = all cores)."),
    ] = None,
    seed: SeedOpt = None,
    dask: DaskOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    reuse_model: Annotated[
        bool,
        typer.Option(
            "--reuse-model",
            help="Reload RUN/forecast/model/ and predict again without refitting.",
        ),
    ] = False,
    extra_fits: Annotated[
        bool,
        typer.Option(
            "--extra-fits",
            help="Also fit the model without recovery for the backtest's comparison row (and, "
            "without an eval split, refit on the days before the held-out week); same as "
            "--set forecast.backtest_extra_fits=true. Default: one fit.",
        ),
    ] = False,
) -> None:
    """Parse options, call :func:`rama.forecast.run_forecast`, print the backtest table."""
    with friendly_errors("forecast", run):
        from rama.forecast import run_forecast

        sets = [*(set_ or []), *(["forecast.backtest_extra_fits=true"] if extra_fits else [])]
        cfg = build_run_config(
            run,
            config,
            sets or None,
            **{"forecast.num_threads": threads, "run.seed": seed, "run.dask": dask},
        )
        res = run_stage(
            run,
            "forecast",
            cfg,
            lambda: run_forecast(run, cfg, reuse_model=reuse_model),
            args={"reuse_model": True} if reuse_model else {},
        )
        metrics = res.metrics
        table = Table(
            title=f"backtest ({res.backtest_window}; per-day scores averaged over days)",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for col in ("method", "vs", "rows", "n", "WAPE", "WPE", "MAE", "cover"):
            table.add_column(col, justify="left" if col in ("method", "vs", "rows") else "right")
        shown = metrics.filter(metrics["rows"].is_in(list(ROWS_SHOWN)))
        for r in shown.iter_rows(named=True):
            table.add_row(
                r["method"],
                "truth" if r["target"] == "latent_demand" else "sales",
                r["rows"].replace("official_", "off_"),
                f"{int(r['n_rows']):,}",
                _pct(r["wape"]),
                _pct(r["wpe"]),
                f"{r['mae']:.3f}",
                _pct(r["coverage"]),
            )
        console.print(f"rama forecast -> {res.out_dir}")
        console.print(table)
        rec = res.recovery
        line = (
            f"recovered demand: {rec['recovered']:,.0f} vs observed {rec['observed']:,.0f} units "
            f"(+{rec['lost'] / max(rec['observed'], 1e-9):.1%})"
        )
        if "recovered_bias" in rec:
            line += (
                f"; vs latent truth: observed bias {rec['observed_bias']:+.1%}, "
                f"recovered bias {rec['recovered_bias']:+.1%}"
            )
        console.print(line)
        sel = res.summary.get("official_row_selection")
        if sel is not None:
            console.print(
                f"official rows (no stockout 6-22) are low-demand days: latent demand there is "
                f"{sel:+.1%} vs the same series' window mean"
            )
        n_stale = int(res.summary.get("stale_series", 0))
        if n_stale:
            ex = ", ".join(
                f"store {e['store_id']} product {e['product_id']} (last {e['last_day']})"
                for e in res.summary["stale_series_examples"]
            )
            console.print(
                f"[yellow]warning:[/] {n_stale:,} series have no data in the last "
                f"forecast.stale_after_days days and are forecast 0 (e.g. {ex})",
                highlight=False,
            )
        sec = res.seconds
        console.print(
            f"{res.series:,} series x {res.horizon_days} days "
            f"({res.first_day}..{res.last_day}); daily-error correlation "
            f"{res.daily_error_correlation:.3f}; fit {sec['fit']:.1f} s, predict "
            f"{sec['predict']:.1f} s, total {sec['total']:.1f} s"
        )
