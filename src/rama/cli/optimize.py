"""``rama optimize``: solve the planning LP for a problem folder or a run (docs/optimizer.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from rama.cli._app import (
    ConfigOpt,
    DaskOpt,
    SeedOpt,
    SetOpt,
    build_config,
    build_run_config,
    command,
    console,
    emit,
    friendly_errors,
    run_stage,
)
from rama.errors import StageInputError
from rama.rules import COST_COMPONENTS

if TYPE_CHECKING:
    from rama.optimize.stage import OptimizeResult
    from rama.planning import PlanResult

HELP = (
    "Solve the working plan's LP (transfers, manufacturing, allocation) for every store, "
    "product and route, to proven optimality. Either --problem DIR --out OUT (a problem "
    "folder: store_products, products, stores, transport_costs as .parquet/.csv) or --run "
    "RUN (builds RUN/problem/ from the prepared tables and the forecast, solves the "
    "deterministic and the stochastic plan into RUN/plans/, and writes the recommended one, "
    "plan.strategy, to RUN/plan/). Every written plan is re-checked independently (C1-C6 "
    "and the objective)."
    "\n\nExamples:\n\n"
    "  rama optimize --run runs/week49 --inventory stock.csv\n\n"
    "  rama optimize --problem problem/ --out plan/ --backend pulp"
)


@command("optimize", HELP)
def optimize_cmd(
    problem: Annotated[
        Path | None,
        typer.Option(
            "--problem",
            help="Problem folder (see docs/optimizer.md for the four tables and their units).",
            file_okay=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Plan folder to write (with --problem; replaced)."),
    ] = None,
    run: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="Run folder with prepared/ and forecast/: writes RUN/problem/ and RUN/plan/.",
            file_okay=False,
        ),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            help="With --run: CSV/Parquet store_id,product_id,on_hand (units) instead of the "
            "simulated inventory (config inventory.rule); a forecast pair it does not list "
            "has 0 on hand (the count is printed and recorded in the manifest).",
            dir_okay=False,
        ),
    ] = None,
    lane_costs: Annotated[
        Path | None,
        typer.Option(
            "--lane-costs",
            help="With --run: CSV/Parquet from_store_id,to_store_id,cost (or from_city_id,"
            "to_city_id,cost; $/unit; optional open = 0 removes a lane): replaces the derived "
            "cost of the listed lanes (docs/data.md).",
            dir_okay=False,
        ),
    ] = None,
    product_costs: Annotated[
        Path | None,
        typer.Option(
            "--product-costs",
            help="With --run: CSV/Parquet product_id plus any of holding_cost, "
            "stockout_penalty, manufacturing_cost ($/unit for the period), max_production "
            "(units, inf allowed): replaces the configuration's values for listed products.",
            dir_okay=False,
        ),
    ] = None,
    capacities: Annotated[
        Path | None,
        typer.Option(
            "--capacities",
            help="With --run: CSV/Parquet store_id,product_id,max_capacity (units, inf "
            "allowed): replaces the capacity rule for the listed pairs.",
            dir_okay=False,
        ),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="highs (per-product sparse column generation, parallel; default) or pulp "
            "(the full model in PuLP, solved by CBC; slow on the whole network).",
        ),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option("--threads", help="Worker processes for the HiGHS backend (0 = all cores)."),
    ] = None,
    write_lp: Annotated[
        Path | None,
        typer.Option("--write-lp", help="Also export the full PuLP model as a CPLEX LP file."),
    ] = None,
    write_mps: Annotated[
        Path | None,
        typer.Option("--write-mps", help="Also export the full PuLP model as an MPS file."),
    ] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            "--strategy",
            help="With --run: the plan written to RUN/plan/ (plan.strategy): stochastic "
            "(default), stochastic_fill_rate, centralized_lp (the working plan's LP) or "
            "decentralized_lp. Every plan solved is kept in RUN/plans/<strategy>/.",
        ),
    ] = None,
    dask: DaskOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    seed: SeedOpt = None,
) -> None:
    """Run the optimize stage."""
    from rama.optimize.stage import optimize_folder

    with friendly_errors("optimize", run):
        flags = {
            "run.seed": seed,
            "optimize.backend": backend,
            "optimize.threads": threads,
            "plan.strategy": strategy,
            "run.dask": dask,
        }
        cfg = (
            build_run_config(run, config, set_, **flags)
            if run is not None
            else build_config(config, set_, **flags)
        )
        opts: dict[str, Any] = {"write_lp": write_lp, "write_mps": write_mps}
        if (problem is None) == (run is None):
            raise StageInputError("rama optimize: pass either --problem DIR --out OUT or --run RUN")
        if problem is not None:
            if out is None:
                raise StageInputError("rama optimize --problem DIR needs --out OUT")
            given = {
                "--inventory": inventory,
                "--lane-costs": lane_costs,
                "--product-costs": product_costs,
                "--capacities": capacities,
            }
            misplaced = [k for k, v in given.items() if v is not None]
            if misplaced:
                verb = "goes" if len(misplaced) == 1 else "go"
                raise StageInputError(
                    f"{', '.join(misplaced)} {verb} with --run; a problem folder already "
                    "holds current_inventory, transport_costs, products and max_capacity"
                )
            from rama.run_state import claim_dir, refuse_overlap, stamp

            refuse_overlap(out, {"--problem": problem})
            claim_dir(out, "--out")
            from rama.cluster import use_cluster

            with use_cluster(str(cfg["run"]["dask"])):
                summary = optimize_folder(problem, out, cfg, **opts)
            stamp(out)  # the plan folder was replaced whole: mark it rama's again
            _print_summary(summary)
            emit({"stage": "optimize", "result": summary})
            return
        assert run is not None
        from rama.planning import run_plan
        from rama.problem import PlannerInputs

        planner = PlannerInputs(inventory, lane_costs, product_costs, capacities)
        result = run_stage(
            run,
            "optimize",
            cfg,
            lambda: run_plan(
                run,
                cfg,
                inventory,
                lane_costs=lane_costs,
                product_costs=product_costs,
                capacities=capacities,
            ),
            planner=planner,
        )
        if write_lp is not None or write_mps is not None:
            from rama.optimize.pulp_backend import build_pulp_model, write_model
            from rama.problem import load_problem

            write_model(build_pulp_model(load_problem(run / "problem")), write_lp, write_mps)
    _print_inputs(run)
    _print_summary(result.recommended)
    _print_comparison(result)
    emit({"stage": "optimize", "result": result})


def _print_inputs(run: Path) -> None:
    """The planner's files the problem was built with (the manifest's optimize_inputs)."""
    from rama.run_manifest import read_manifest

    print_planner_inputs(read_manifest(run).get("optimize_inputs", {}))


def print_planner_inputs(inputs: dict[str, Any]) -> None:
    """One line per planner file used: the inventory (pairs listed / unlisted at 0 on hand)
    and the optional tables with their row counts."""
    if inputs.get("inventory_file"):
        console.print(
            f"inventory {inputs['inventory_file']}: {inputs.get('pairs_listed')} pairs listed, "
            f"{inputs.get('pairs_unlisted')} forecast pairs not listed (0 on hand)",
            highlight=False,
        )
    else:
        console.print("inventory: simulated (config inventory.rule)", highlight=False)
    for key, what in (
        ("lane_costs", "lane costs"),
        ("product_costs", "product costs"),
        ("capacities", "capacities"),
    ):
        if inputs.get(f"{key}_file"):
            extra = ""
            if key == "lane_costs":
                extra = (
                    f" ({inputs.get('lanes_set')} store lanes set, "
                    f"{inputs.get('lanes_closed')} removed)"
                )
            if key == "capacities" and inputs.get("capacity_must_ship"):
                extra = f" ({inputs['capacity_must_ship']} pairs must ship stock out)"
            console.print(
                f"{what} {inputs[f'{key}_file']}: {inputs.get(f'{key}_rows')} rows{extra}",
                highlight=False,
            )


def _print_comparison(r: PlanResult) -> None:
    table = Table(
        title=f"RUN/plan/ = {r.strategy}; expected on the forecast draws", show_header=True
    )
    for col in ("strategy", "expected $", "fill rate", "cycle service", "written to"):
        table.add_column(col, justify="left" if col in ("strategy", "written to") else "right")
    for name, fig in r.comparison.items():
        where = str(r.plans[name].out_dir) if name in r.plans else "-"
        table.add_row(
            ("* " if name == r.strategy else "  ") + name,
            f"{fig['expected_total']:,.0f}",
            f"{fig['fill_rate']:.2%}",
            f"{fig['cycle_service_level']:.2%}",
            where,
        )
    console.print(table)
    if r.cheapest != r.strategy:
        console.print(
            f"[yellow]warning:[/] the recommended plan ({r.strategy}) is not the cheapest "
            f"expected ({r.cheapest}); set plan.strategy or --strategy to change it",
            highlight=False,
        )


def _print_summary(s: OptimizeResult) -> None:
    table = Table(title=f"plan {s.out_dir}", show_header=True)
    table.add_column("cost component")
    table.add_column("$", justify="right")
    for comp in COST_COMPONENTS:
        table.add_row(comp, f"{s.costs[comp]:,.2f}")
    table.add_row("[bold]total (objective)[/]", f"[bold]{s.objective:,.2f}[/]")
    console.print(table)
    rc = s.min_reduced_cost
    console.print(
        f"status {s.status} ({s.backend}), fill rate {s.fill_rate:.2%}, "
        f"{s.number_of_transfers:,} transfers moving {s.units_transferred:,.1f} units, "
        f"{s.units_manufactured:,.1f} units manufactured\n"
        f"{s.n_stores} stores, {s.n_products} products, {s.n_store_products:,} pairs; "
        f"solve {s.solve_seconds:.2f} s, total {s.total_seconds:.2f} s; "
        f"check passed (worst violation {s.check_worst_violation:.1e})"
        + (f"; min reduced cost {rc:.1e}" if rc is not None else ""),
        highlight=False,
    )
