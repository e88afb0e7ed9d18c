"""``rama optimize --run RUN``: the run's problem, every plan strategy's plan, and the
recommended plan in ``RUN/plan/``.

1. The problem is built once from ``RUN/prepared/``, ``RUN/forecast/`` and the configuration
   (and ``--inventory FILE``), and written to ``RUN/problem/`` with ``store_risk.parquet``.
2. Each plan strategy (:data:`PLAN_STRATEGIES`: the working plan's deterministic LP, the
   stochastic plan, and the configured one) decides; its plan is written to
   ``RUN/plans/<strategy>/`` and re-checked independently there.
3. Every plan (and doing nothing) is scored on ``evaluate.samples`` independent draws of the
   forecast distribution the stochastic plan uses (``stochastic.distribution``;
   :func:`rama.problem.forecast_samples`): expected cost, fill rate and cycle service level,
   what a planner can expect before the week happens.
4. ``RUN/plan/`` holds the plan of ``plan.strategy`` (default: the stochastic plan), its
   ``summary.json`` saying which strategy it is, why (the comparison of step 3), and the
   configuration it was solved with.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import polars as pl

from rama.config import Config
from rama.errors import ConfigError
from rama.io import atomic_dir
from rama.layout import RunLayout
from rama.optimize import OptimizeResult, check_plan
from rama.optimize.plan_io import plan_frames, plan_summary
from rama.planning.calendar import PlanningWeek, date_frames, lead_days
from rama.planning.service import expected_service
from rama.problem import (
    PlannerInputs,
    Problem,
    StoreRisk,
    build_run_problem,
    forecast_samples,
    on_lot_grid,
    rounding_cost_skipped,
    store_risk_from_params,
    write_problem,
    write_store_risk,
)
from rama.problem.given import GivenValues, write_given
from rama.run_manifest import record_stage
from rama.strategies import STRATEGY_FUNCTIONS, Decision, StrategyContext
from rama.strategies.score import Position, position, score_position

PLAN_STRATEGIES = ("centralized_lp", "stochastic")
"""Always solved and kept in ``RUN/plans/``; ``plan.strategy`` is added when it is another."""
RECOMMENDABLE = ("centralized_lp", "decentralized_lp", "stochastic", "stochastic_fill_rate")


@dataclass(frozen=True)
class PlanResult:
    """What ``rama optimize --run`` wrote: the recommended plan (``RUN/plan/``), every
    strategy's plan (``RUN/plans/<strategy>/``) and their comparison on the forecast draws."""

    out_dir: Path
    strategy: str
    plans: Mapping[str, OptimizeResult]  # strategy -> its written, checked plan
    comparison: Mapping[str, Mapping[str, float]]  # strategy -> expected $, fill, CSL, units

    @property
    def recommended(self) -> OptimizeResult:
        return self.plans[self.strategy]

    @property
    def cheapest(self) -> str:
        """The plan strategy with the lowest expected cost on the forecast draws."""
        plans = [s for s in self.comparison if s != "do_nothing"]
        return min(plans, key=lambda s: self.comparison[s]["expected_total"])


def recommended_strategy(cfg: Config) -> tuple[str, dict[str, Any]]:
    """The strategy of ``RUN/plan/`` and the stochastic settings it is solved with:
    ``plan.strategy = "auto"`` is the stochastic plan, or its fill-rate variant when
    ``plan.fill_rate_target > 0`` (which then replaces ``stochastic.fill_rate_target``)."""
    stochastic = dict(cfg["stochastic"])
    name = str(cfg["plan"]["strategy"])
    target = float(cfg["plan"]["fill_rate_target"])
    if target > 0:
        stochastic["fill_rate_target"] = target
    if name == "auto":
        name = "stochastic_fill_rate" if target > 0 else "stochastic"
    if name not in RECOMMENDABLE:  # pragma: no cover - the config schema checks it
        raise ConfigError(f"plan.strategy = {name!r}: expected one of {RECOMMENDABLE}")
    return name, stochastic


def _options(cfg: Config, threads: int | None, backend: str | None) -> tuple[int, str]:
    opt = cfg["optimize"]
    return (
        int(opt["threads"]) if threads is None else threads,
        str(opt["backend"]) if backend is None else backend,
    )


def _write_checked(
    dec: Decision,
    pos: Position,
    folder: Path,
    final_dir: Path,
    problem: Problem,
    week: PlanningWeek,
    risk: StoreRisk,
    cfg: Config,
    extra: dict[str, Any],
) -> OptimizeResult:
    """Write ``dec``'s plan into ``folder``, dated (:mod:`rama.planning.calendar`), its
    service figures replaced by what it expects under the forecast draws (``pos``, its
    :func:`rama.strategies.score.position` under them; :mod:`rama.planning.service`); re-read
    and check the final files once, and record it all in ``summary.json`` (which names
    ``final_dir``, where the folder is moved). The tables are dated before they are written:
    the files are written once."""
    plan = dec.plan
    assert plan is not None, f"{dec.strategy} has no LP plan"
    tol = float(cfg["optimize"]["check_tolerance"])
    frames = plan_frames(plan)
    service = expected_service(
        dec,
        problem,
        None,
        service_level_target=float(cfg["service"]["service_level"]),
        fill_rate_target=_fill_rate_target(cfg, dec.strategy),
        pos=pos,
    )
    frames["service_level.csv"] = service
    dated, counts = date_frames(frames, problem, week, lead_days(risk, cfg))
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in dated.items():
        frame.write_csv(folder / name)
    # summary.json as write_plan writes it, for the check (it compares the objective)
    (folder / "summary.json").write_text(
        json.dumps(plan_summary(plan), indent=2) + "\n", encoding="utf-8"
    )
    worst = check_plan(plan.problem, folder, tol)
    net = service.row(0, named=True)
    summary = plan_summary(plan)
    summary.update(
        strategy=dec.strategy,
        check="passed",
        check_tolerance=tol,
        check_worst_violation=max((v for k, v in worst.items() if k != "objective"), default=0.0),
        total_seconds=plan.solve_seconds,
        out_dir=str(final_dir),
        planning_week=week.as_dict(),
        dates=(
            "moves ship on the week's first day and arrive after the receiving store's "
            "effective lead time (risk.stretch_lead_time), rounded up to whole days"
        ),
        **counts,
        expected_fill_rate=net["fill_rate"],
        expected_cycle_service_level=net["cycle_service_level"],
        fill_rate_target=net["fill_rate_target"],
        cycle_service_level_target=net["cycle_service_level_target"],
        **extra,
    )
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return OptimizeResult.from_summary(final_dir, summary)


def positions(
    problem: Problem, decisions: Mapping[str, Decision], samples: np.ndarray
) -> dict[str, Position]:
    """Each decision's :func:`rama.strategies.score.position` under the draws ``samples``."""
    return {name: position(dec.available(problem), samples) for name, dec in decisions.items()}


def compare_plans(
    problem: Problem,
    decisions: Mapping[str, Decision],
    samples: np.ndarray,
    pos: Mapping[str, Position] | None = None,
    *,
    do_nothing: bool = True,
) -> dict[str, dict[str, float]]:
    """Each decision's expected cost ($), fill rate, cycle service level and stockout units
    on the forecast draws ``samples`` (``n x S``), doing nothing included unless
    ``do_nothing`` is False; ``pos``: the decisions' :func:`positions` when already known."""
    out: dict[str, dict[str, float]] = {}
    known = dict(pos or {})
    everything = dict(decisions)
    if do_nothing:
        nothing = Decision.allocation_only("do_nothing", np.zeros(problem.n_pairs))
        everything = {"do_nothing": nothing, **everything}
    for name, dec in everything.items():
        at = known.get(name)
        if at is None:
            at = position(dec.available(problem), samples)
        fig = score_position(dec, problem, at)
        out[name] = {
            "expected_total": fig["total"],
            "fill_rate": fig["fill_rate"],
            "cycle_service_level": fig["cycle_service_level"],
            "stockout_units": fig["stockout_units"],
            **{f"expected_{c}": fig[c] for c in ("holding", "stockout", "transport")},
        }
    return out


def run_plan(
    run_dir: Path,
    cfg: Config,
    inventory_file: Path | None = None,
    *,
    lane_costs: Path | None = None,
    product_costs: Path | None = None,
    capacities: Path | None = None,
    threads: int | None = None,
    backend: str | None = None,
) -> PlanResult:
    """Build and write the run's problem, solve every plan strategy, write ``RUN/plans/``
    and the recommended ``RUN/plan/`` (see the module doc). The planner's files (inventory,
    lane costs, product costs, capacities; docs/data.md) replace the derived numbers and are
    recorded in the manifest's ``optimize_inputs``."""
    layout = RunLayout(run_dir)
    chosen, stochastic = recommended_strategy(cfg)
    n_threads, solver = _options(cfg, threads, backend)
    problem, built = build_run_problem(
        layout.root,
        cfg,
        PlannerInputs(inventory_file, lane_costs, product_costs, capacities),
    )
    ssp = pl.read_csv(layout.store_supply_params, infer_schema_length=10000)
    write_problem(problem, layout.problem)
    risk = store_risk_from_params(problem, ssp)
    write_store_risk(risk, problem, layout.problem)
    write_given(built.given or GivenValues.none(problem), problem, layout.problem)
    week = PlanningWeek.from_forecast(layout.forecast)

    lot = float(cfg["plan"]["lot_size"])
    # every decision below is written and checked from its files (_write_checked): its
    # solve skips the in-memory check of the same tables
    ctx = StrategyContext(stochastic, n_threads, solver, lot, check=False)
    names = list(dict.fromkeys([*PLAN_STRATEGIES, chosen]))
    # with a lot, strategies plan on the lot grid (rama.problem.lots); every plan is still
    # scored on the problem as written, with the stock really on hand
    planned = on_lot_grid(problem, lot) if lot > 0 else problem
    decisions = {name: STRATEGY_FUNCTIONS[name](planned, ctx) for name in names}
    samples, fallback = forecast_samples(
        problem, int(cfg["evaluate"]["samples"]), ctx.distribution, int(cfg["run"]["seed"])
    )
    pos = positions(problem, decisions, samples)
    comparison = compare_plans(problem, decisions, samples, pos)
    overrides = cfg.overrides()
    plans: dict[str, OptimizeResult] = {}
    with atomic_dir(layout.plans) as tmp:
        for name, dec in decisions.items():
            extra = {"expected_under_forecast": comparison[name]}
            plans[name] = _write_checked(
                dec, pos[name], tmp / name, layout.plans / name, problem, week, risk, cfg, extra
            )
    cheapest = min(
        (n for n in comparison if n != "do_nothing"),
        key=lambda n: comparison[n]["expected_total"],
    )
    chosen_by = f"plan.strategy = {cfg['plan']['strategy']!r}"
    if float(cfg["plan"]["fill_rate_target"]) > 0:
        chosen_by += f", plan.fill_rate_target = {cfg['plan']['fill_rate_target']}"
    lots: dict[str, Any] = {"lot_size": lot}
    skipped = rounding_cost_skipped(str(cfg["plan"]["rounding_cost"]), problem.n_pairs, lot)
    if lot > 0 and skipped is not None:
        lots.update(rounding_cost=None, rounding_cost_skipped=skipped)
    elif lot > 0:  # the cost of rounding: the chosen strategy's continuous plan beside it
        cont_ctx = StrategyContext(stochastic, n_threads, solver)
        cont = STRATEGY_FUNCTIONS[chosen](problem, cont_ctx)
        cont_plan, lot_plan = cont.plan, decisions[chosen].plan
        assert cont_plan is not None and lot_plan is not None
        cont_expected = compare_plans(problem, {chosen: cont}, samples, do_nothing=False)[chosen]
        lots.update(
            continuous_objective=cont_plan.objective,
            lot_grid_objective=lot_plan.objective,
            rounding_cost=lot_plan.objective - cont_plan.objective,
            continuous_expected_total=cont_expected["expected_total"],
            lot_grid_expected_total=comparison[chosen]["expected_total"],
            rounding=(
                "demand and points nearest, inventory down, safety stock up, capacities and "
                "production down (rama.problem.lots.on_lot_grid)"
            ),
        )
    why = {
        "strategy": chosen,
        "lots": lots,
        "chosen_by": chosen_by,
        "fill_rate_target": stochastic["fill_rate_target"]
        if chosen == "stochastic_fill_rate"
        else None,
        "cheapest_expected": cheapest,
        "is_cheapest_expected": cheapest == chosen,
        "comparison_on": (
            f"{samples.shape[1]} independent draws per pair of the forecast distribution "
            f"({ctx.distribution}; seed run.seed = {int(cfg['run']['seed'])})"
        ),
        "distribution": _distribution_note(ctx.distribution, problem, fallback),
        "comparison": comparison,
        "config_overrides": overrides,
        "config": {section: dict(table) for section, table in cfg.values.items()},
    }
    with atomic_dir(layout.plan) as tmp:
        shutil.copytree(layout.plans / chosen, tmp, dirs_exist_ok=True)
        summary = json.loads((tmp / "summary.json").read_text(encoding="utf-8"))
        summary.update(out_dir=str(layout.plan), recommended=why)
        (tmp / "summary.json").write_text(
            json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
        )
    plans[chosen] = OptimizeResult.from_summary(layout.plan, summary)
    record_stage(
        layout.root,
        "optimize",
        cfg,
        {**built.manifest_fields(), "strategy": chosen},
    )
    return PlanResult(
        out_dir=layout.plan,
        strategy=chosen,
        plans=MappingProxyType(plans),
        comparison=MappingProxyType(comparison),
    )


def _fill_rate_target(cfg: Config, strategy: str) -> float:
    """The fill-rate target shown beside a plan: ``plan.fill_rate_target`` when it drives
    the recommended plan (> 0), else ``stochastic.fill_rate_target`` (the fill-rate plan's)."""
    plan_target = float(cfg["plan"]["fill_rate_target"])
    if plan_target > 0 and strategy == "stochastic_fill_rate":
        return plan_target
    return float(cfg["stochastic"]["fill_rate_target"])


def _distribution_note(distribution: str, problem: Problem, fallback: int) -> dict[str, Any]:
    """What the stochastic plan's points and the forecast draws were taken from."""
    forms = {
        "gamma": "a Gamma matched on the forecast's horizon mean and std",
        "normal": "a Normal of the forecast's horizon mean and std, cut at 0",
        "empirical": "the forecast's empirical quantile grid of each horizon total "
        "(RUN/forecast/horizon_quantiles.parquet, piecewise linear between its levels)",
    }
    note: dict[str, Any] = {"stochastic.distribution": distribution, "form": forms[distribution]}
    if distribution == "empirical":
        note.update(
            pairs=problem.n_pairs,
            fallback_pairs=fallback,
            fallback=f"{fallback} pairs without a grid row use the Gamma form",
        )
    return note
