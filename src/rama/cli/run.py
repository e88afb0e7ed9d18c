"""``rama run``: every stage, from data (generated when absent) to the plan and its report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    log,
    note_stale,
    run_log,
)

if TYPE_CHECKING:
    from rama.results import StageResult


@command(
    "run",
    "Run the whole pipeline into RUN: prepare, forecast, optimize, evaluate, scenarios and "
    "report. On an existing run folder, every stage whose inputs (config keys it reads, input "
    "files, earlier outputs) did not change is reused, so one changed cost reruns only "
    "optimize and what follows. The synthetic default is generated into data/synthetic when "
    "it is missing (elsewhere only with --generate).\n\nExamples:\n\n  rama run\n\n  rama "
    "run --data DATA --out runs/week49 --inventory stock.csv\n\n  rama run --out "
    "runs/week49 --set costs.stockout_penalty_per_unit=4",
)
def run(
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            help="Data root (freshretailnet/data/train.parquet or a train-*-of-*.parquet "
            "shard, logistics/...). The default folder is generated when it holds no data; "
            "another folder without a train split is an error unless --generate is given.",
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
    city_locations: Annotated[
        Path | None,
        typer.Option(
            "--city-locations",
            help="CSV/Parquet city_id,latitude,longitude (degrees) for every city: each city "
            "takes the supply parameters of the nearest K-Means cluster (see rama prepare).",
            dir_okay=False,
        ),
    ] = None,
    generate: Annotated[
        bool,
        typer.Option(
            "--generate",
            help="Generate a synthetic network into --data when it holds no train split "
            "(only a new, empty or rama-generated folder).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Rerun every stage, even those still current.")
    ] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="Threads and worker processes of every stage (forecast.num_threads, "
            "optimize.threads; 0 = all cores).",
        ),
    ] = None,
    seed: SeedOpt = None,
    dask: DaskOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Parse options and call :func:`rama.pipeline.run_pipeline`."""
    from rama.cluster import use_cluster
    from rama.errors import DataValidationError
    from rama.pipeline import check_data, run_pipeline
    from rama.problem import PlannerInputs
    from rama.run_state import claim_dir, refuse_overlap

    def progress(name: str, result: StageResult, seconds: float) -> None:
        why = f" ({escape(reasons[name])})" if name in reasons else ""
        log.info("stage %s done in %.1f s%s", name, seconds, why)
        console.print(f"[green]done[/]   {name:<10} {seconds:7.1f} s{why}", highlight=False)

    def reused(name: str) -> None:
        log.info("stage %s reused (inputs unchanged)", name)
        console.print(f"[cyan]reused[/] {name:<10}       - (inputs unchanged)", highlight=False)

    reasons: dict[str, str] = {}
    with friendly_errors("run", out):
        sets = None
        if scenario_sets is not None:
            sets = [x.strip() for x in scenario_sets.split(",") if x.strip()]
        flags = {
            "run.seed": seed,
            "scenarios.sets": sets,
            "optimize.threads": threads,
            "forecast.num_threads": threads,
            "run.dask": dask,
        }
        cfg = build_run_config(out, config, set_, **flags)
        console.print(f"rama run: data {escape(str(data))}, run {escape(str(out))}")
        planner = PlannerInputs(inventory, lane_costs, product_costs, capacities)
        for path in (p for p in planner.files().values() if p is not None):
            if not path.is_file():  # before any stage runs, not after the forecast
                raise DataValidationError(
                    str(path), "file not found", reason="not_found", fix="check the path"
                )
        check_data(data, generate=generate)  # a typo writes nothing, not even the run folder
        refuse_overlap(out, {"--data": data, "--city-locations": city_locations, **planner.files()})
        claim_dir(out, "--out")
        with run_log(out, "run", cfg), use_cluster(str(cfg["run"]["dask"]), scratch=out):
            result = run_pipeline(
                data,
                out,
                cfg,
                scale=scale,
                on_stage=progress,
                planner=planner,
                generate=generate,
                force=force,
                on_reuse=reused,
                on_rerun=reasons.__setitem__,
                city_locations=city_locations,
            )
    table = Table(title="stages", show_header=True)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    table.add_column("where")
    for name in result.reused:
        table.add_row(name, "reused", "-")
    for name, seconds in result.seconds.items():
        where = str(result.stages[name].out_dir)
        table.add_row(name, f"{seconds:.1f}", escape(where))
    console.print(table)
    if result.cleaned:
        console.print(f"removed leftovers of killed stages: {', '.join(result.cleaned)}")
    if "optimize" in result.seconds:
        from rama.cli.optimize import print_planner_inputs
        from rama.run_manifest import read_manifest

        print_planner_inputs(read_manifest(out).get("optimize_inputs", {}))
    note_stale(out, "report", [])
    for warning in plan_warnings(out):
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        log.warning("%s", warning)
    _headline(out)
    console.print(f"All outputs are in [bold]{escape(str(result.run_dir.resolve()))}[/]")
    emit(
        {
            "run_dir": result.run_dir.resolve(),
            "data_dir": result.data_dir,
            "generated": result.generated,
            "ran": list(result.seconds),
            "reused": result.reused,
            "seconds": result.seconds,
            "plan": _plan_summary(out),
        }
    )


def _plan_summary(out: Path) -> dict[str, Any] | None:
    """The recommended plan's headline figures (``RUN/plan/summary.json``), or None."""
    path = out / "plan" / "summary.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    keys = (
        "strategy",
        "objective",
        "costs",
        "fill_rate",
        "expected_fill_rate",
        "expected_cycle_service_level",
        "units_transferred",
        "units_manufactured",
        "number_of_transfers",
    )
    return {k: data.get(k) for k in keys if k in data} if isinstance(data, dict) else None


def _headline(out: Path) -> None:
    """The recommended plan in one panel: what to do and what it costs."""
    s = _plan_summary(out)
    if not s:
        return
    costs = s.get("costs") or {}
    parts = ", ".join(f"{k} ${float(v):,.0f}" for k, v in costs.items() if k != "total")
    fill = s.get("expected_fill_rate", s.get("fill_rate"))
    csl = s.get("expected_cycle_service_level")
    console.print(
        f"[bold]plan[/] ({escape(str(s.get('strategy', '-')))}): "
        f"{float(s.get('units_transferred') or 0):,.1f} units in "
        f"{int(s.get('number_of_transfers') or 0):,} transfers, "
        f"{float(s.get('units_manufactured') or 0):,.1f} units manufactured; "
        f"total ${float(s.get('objective') or 0):,.0f} ({parts}); "
        f"expected fill rate {float(fill or 0):.1%}"
        + (f", cycle service level {float(csl):.1%}" if csl is not None else "")
        + " (under the forecast distribution)",
        highlight=False,
    )


def plan_warnings(out: Path) -> list[str]:
    """What a planner should know before acting: a forecast model that is not better than a
    baseline on the backtest, series forecast 0 because their data stopped long before the
    week, a recommended plan that is not the cheapest expected."""
    warnings: list[str] = []
    metrics = out / "forecast" / "forecast_metrics.csv"
    if metrics.is_file():
        import polars as pl

        m = pl.read_csv(metrics, infer_schema_length=10000)
        if {"method", "rows", "wape", "target"} <= set(m.columns):
            models = m.filter(pl.col("method") == "model")
            target = models["target"][0] if models.height else None
            official = m.filter((pl.col("rows") == "official") & (pl.col("target") == target))
            official = official.group_by("method").agg(pl.col("wape").first())
            wape = dict(official.iter_rows())
            model = wape.pop("model", None)
            beaten = {
                k: v for k, v in wape.items() if v is not None and model is not None and v < model
            }
            if beaten:
                best = min(beaten, key=lambda k: beaten[k])
                warnings.append(
                    f"the forecast model (backtest WAPE {model:.3f} on official rows) is worse "
                    f"than the {best} baseline ({beaten[best]:.3f}); check the data or the "
                    f"forecast settings before acting on the plan"
                )
    fsum = out / "forecast" / "forecast_summary.json"
    if fsum.is_file():
        try:
            n_stale = int(json.loads(fsum.read_text(encoding="utf-8")).get("stale_series", 0))
        except (OSError, ValueError, TypeError):
            n_stale = 0
        if n_stale:
            warnings.append(
                f"{n_stale:,} series have no data in the last forecast.stale_after_days days "
                f"and are forecast 0 (taken as discontinued; forecast_summary.json lists "
                f"examples)"
            )
    summary = out / "plan" / "summary.json"
    if summary.is_file():
        try:
            rec = json.loads(summary.read_text(encoding="utf-8")).get("recommended", {})
        except (OSError, ValueError):
            rec = {}
        if rec and rec.get("is_cheapest_expected") is False:
            warnings.append(
                f"the recommended plan ({rec.get('strategy')}) is not the cheapest expected "
                f"({rec.get('cheapest_expected')}): it was chosen by {rec.get('chosen_by')}; "
                f"set plan.strategy to change it"
            )
    return warnings
