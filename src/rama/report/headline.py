"""The first screen: the planning week, the recommended plan's headline and what changed
against doing nothing, every figure in planner's units."""

from __future__ import annotations

from typing import Any

import polars as pl

from rama.report.elements import Cell, Headline, Notice, Stat, Table
from rama.report.formatting import count, days, money, percent, units
from rama.report.inputs import RunFiles
from rama.rules import COST_COMPONENTS

STAGE_WHAT = {
    "prepare": "the prepared data",
    "forecast": "the forecast",
    "optimize": "the plan",
    "evaluate": "the out-of-sample evaluation",
    "scenarios": "the scenario sweep",
}


def stage_notice(run: RunFiles, stage: str) -> Notice | None:
    """Why ``stage``'s outputs are not shown (None when the stage is current)."""
    state = run.states.get(stage, "not run")
    what = STAGE_WHAT[stage]
    cmd = f"`rama run --out {run.root}`"
    if state == "current":
        return None
    if state == "stale":
        return Notice(
            f"{what.capitalize()} is stale: its inputs changed after it ran; run {cmd} to refresh.",
            "stale",
        )
    return Notice(
        f"{what.capitalize()} is not in this run folder (the {stage} stage has not run); "
        f"run {cmd} to make it.",
        "not run",
    )


def missing_notice(run: RunFiles, stage: str, what: str) -> Notice:
    """A file a current stage should have written is missing."""
    return Notice(
        f"{what} is missing from {run.root}, although the {stage} stage ran; run "
        f"`rama run --out {run.root}` to rewrite it.",
        "missing",
    )


def days_of_supply(run: RunFiles) -> tuple[float | None, float | None]:
    """Days the stock covers at the forecast's daily rate: before the plan (on hand) and
    after it (on hand + transfers in - out + allocations)."""
    sp = run.store_product_plan
    h = float(run.config.get("run", {}).get("horizon_days", 7))
    if sp is None or sp.height == 0:
        return None, None
    daily = float(sp["demand"].sum()) / h
    if daily <= 0:
        return None, None
    on_hand = float(sp["current_inventory"].sum())
    after = on_hand + float((sp["transfer_in"] - sp["transfer_out"] + sp["allocated"]).sum())
    return on_hand / daily, after / daily


def week_text(run: RunFiles) -> str:
    s = run.plan_summary or {}
    week = s.get("planning_week") or {}
    fs = run.forecast_summary or {}
    first = week.get("first_day") or fs.get("first_day")
    last = week.get("last_day") or fs.get("last_day")
    return f"{first} to {last}" if first and last else "unknown (no forecast summary)"


def _lanes(run: RunFiles) -> int:
    t = run.transfers
    if t is None or t.height == 0:
        return 0
    return t.select("from_store_id", "to_store_id").unique().height


def _changes(summary: dict[str, Any]) -> Table | None:
    rec = summary.get("recommended") or {}
    comp = rec.get("comparison") or {}
    chosen = rec.get("strategy") or summary.get("strategy")
    plan, nothing = comp.get(chosen), comp.get("do_nothing")
    if not isinstance(plan, dict) or not isinstance(nothing, dict):
        return None
    rows: list[tuple[Cell, ...]] = []
    for label, k, fmt in (
        ("Expected cost", "expected_total", "money"),
        ("Expected stockout cost", "expected_stockout", "money"),
        ("Expected holding cost", "expected_holding", "money"),
        ("Expected fill rate", "fill_rate", "rate"),
        ("Expected cycle service level", "cycle_service_level", "rate"),
        ("Expected units short", "stockout_units", "units"),
    ):
        a, b = nothing.get(k), plan.get(k)
        if a is None or b is None:
            continue
        d = float(b) - float(a)
        if fmt == "money":
            cells = (money(a), money(b), money(d, signed=True))
        elif fmt == "rate":
            cells = (percent(a), percent(b), percent(d, signed=True))
        else:
            cells = (units(a), units(b), units(d, signed=True))
        rows.append((Cell(label), *(Cell(c) for c in cells)))
    return Table(
        "changes",
        ("", "doing nothing", "this plan", "change"),
        tuple(rows),
        caption=str(rec.get("comparison_on", "")),
        numeric=(False, True, True, True),
    )


def headline(run: RunFiles, notice: Notice | None) -> Headline:
    """The first screen's figures (or the notice saying why there is no plan to show)."""
    title = f"Plan for the week {week_text(run)}"
    s = run.plan_summary
    if notice is not None or s is None:
        why = notice or missing_notice(run, "optimize", "plan/summary.json")
        return Headline(title, week_text(run), "none shown", (), (), None, why)
    costs = s.get("costs") or {}
    lanes = _lanes(run)
    before, after = days_of_supply(run)
    fill_t, csl_t = s.get("fill_rate_target"), s.get("cycle_service_level_target")
    stats = (
        Stat(
            "Units transferred",
            units(s.get("units_transferred")),
            f"{count(s.get('number_of_transfers'))} transfers on {count(lanes)} lanes",
        ),
        Stat(
            "Units manufactured",
            units(s.get("units_manufactured")),
            "made centrally, then allocated",
        ),
        Stat(
            "Total cost",
            money(costs.get("total", s.get("objective"))),
            "the plan's five components",
        ),
        Stat(
            "Expected fill rate",
            percent(s.get("expected_fill_rate", s.get("fill_rate"))),
            f"target {percent(fill_t)}" if fill_t is not None else "",
        ),
        Stat(
            "Expected cycle service level",
            percent(s.get("expected_cycle_service_level")),
            f"target {percent(csl_t)}" if csl_t is not None else "",
        ),
        Stat("Days of supply", days(after), f"{days(before)} before the plan"),
    )
    parts = tuple((c, money(costs.get(c))) for c in (*COST_COMPONENTS, "total") if c in costs)
    strategy = str((s.get("recommended") or {}).get("strategy") or s.get("strategy") or "-")
    return Headline(title, week_text(run), strategy, stats, parts, _changes(s), None)


def transfers_with_cities(run: RunFiles) -> pl.DataFrame | None:
    """The transfer plan with both stores' cities (when the prepared stores are known)."""
    t = run.transfers
    if t is None:
        return None
    st = run.stores
    if st is None or "city_id" not in st.columns:
        return t.with_columns(
            pl.lit(None, pl.Int64).alias("from_city_id"), pl.lit(None, pl.Int64).alias("to_city_id")
        )
    city = st.select("store_id", "city_id")
    return t.join(
        city.rename({"store_id": "from_store_id", "city_id": "from_city_id"}),
        on="from_store_id",
        how="left",
    ).join(
        city.rename({"store_id": "to_store_id", "city_id": "to_city_id"}),
        on="to_store_id",
        how="left",
    )
