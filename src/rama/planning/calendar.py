"""Dates on a plan: the planning week and, per transfer and allocation, when it ships and
when it arrives.

- The planning week is the forecast's: its first and last day (``RUN/forecast/
  forecast_summary.json``; the ``run.horizon_days`` days after the last day of data on live
  data, the eval days otherwise).
- Every move ships on the first day of the week (orders are released on Monday morning);
  manufacturing is due by then.
- A move arrives after the receiving store's effective lead time, the rule the safety stock
  uses (:func:`rama.rules.effective_lead_time`): its city's mean lead time ``L``, stretched by
  ``p_delay x max(deviation, 0)`` when ``risk.stretch_lead_time`` is on, rounded up to whole
  days: ``arrival_date = ship_date + ceil(L_eff)``. ``arrives_in_week`` says whether that is
  on or before the week's last day, so a planner sees which moves land late.

Every plan CSV also carries ``week_first_day`` and ``week_last_day``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.errors import StageInputError
from rama.io import read_csv_typed
from rama.problem import Problem, StoreRisk
from rama.rules import effective_lead_time

DATED = ("transfer_plan.csv", "allocation_plan.csv")


@dataclass(frozen=True)
class PlanningWeek:
    """The first and last day of the planning week (ISO dates)."""

    first_day: date
    last_day: date

    @classmethod
    def from_forecast(cls, forecast_dir: Path) -> PlanningWeek:
        """The week of ``RUN/forecast/forecast_summary.json``."""
        path = Path(forecast_dir) / "forecast_summary.json"
        try:
            s = json.loads(path.read_text(encoding="utf-8"))
            return cls(date.fromisoformat(s["first_day"]), date.fromisoformat(s["last_day"]))
        except (OSError, ValueError, KeyError) as exc:
            raise StageInputError(
                f"optimize: cannot read the planning week from {path} ({exc}); "
                f"re-run `rama forecast`",
                reason="missing_stage_input",
            ) from exc

    def as_dict(self) -> dict[str, str]:
        return {"first_day": self.first_day.isoformat(), "last_day": self.last_day.isoformat()}


def lead_days(risk: StoreRisk, cfg: Config) -> np.ndarray:
    """Whole days from shipping to arrival at each store (problem store order)."""
    stretch = bool(cfg["risk"]["stretch_lead_time"])
    eff = effective_lead_time(
        risk.lead_time_days,
        risk.delay_probability if stretch else None,
        risk.delivery_deviation_days if stretch else None,
    )
    return np.ceil(eff - 1e-9).astype(np.int64)


def _dated(
    df: pl.DataFrame, store_col: str, lead: pl.DataFrame, week: PlanningWeek
) -> pl.DataFrame:
    ship = week.first_day
    # an empty plan file reads back without types: the ids are integers either way
    df = df.with_columns(pl.col(store_col).cast(pl.Int64), pl.col("quantity").cast(pl.Float64))
    out = df.join(lead.rename({"store_id": store_col}), on=store_col, how="left")
    out = out.with_columns(
        pl.lit(ship).alias("ship_date"),
        (pl.lit(ship) + pl.duration(days=pl.col("lead_time_days"))).alias("arrival_date"),
    )
    return out.with_columns(
        (pl.col("arrival_date") <= pl.lit(week.last_day)).alias("arrives_in_week")
    )


def date_frames(
    frames: dict[str, pl.DataFrame], problem: Problem, week: PlanningWeek, days: np.ndarray
) -> tuple[dict[str, pl.DataFrame], dict[str, int | float]]:
    """The plan tables ``frames`` (file name -> table) with the dates of the module doc, and
    the counts of moves arriving within the week and after it."""
    lead = pl.DataFrame({"store_id": problem.store_ids, "lead_time_days": days})
    counts: dict[str, int | float] = {}
    out: dict[str, pl.DataFrame] = {}
    for name in sorted(frames):
        df = frames[name]
        if name in DATED:
            store_col = "to_store_id" if "to_store_id" in df.columns else "store_id"
            df = _dated(df, store_col, lead, week)
            late = df.filter(~pl.col("arrives_in_week"))
            key = name.removesuffix("_plan.csv")
            counts[f"{key}s_arriving_after_week"] = late.height
            counts[f"{key}_units_arriving_after_week"] = float(late["quantity"].sum())
        elif name == "manufacturing_schedule.csv":
            df = df.with_columns(pl.lit(week.first_day).alias("due_date"))
        out[name] = df.with_columns(
            pl.lit(week.first_day).alias("week_first_day"),
            pl.lit(week.last_day).alias("week_last_day"),
        )
    return out, counts


def date_plan_folder(
    folder: Path, problem: Problem, week: PlanningWeek, days: np.ndarray
) -> dict[str, int | float]:
    """Add the dates (module doc) to the plan files in ``folder`` (:func:`date_frames` of
    the files as read back); return the counts of moves arriving within the week and after
    it."""
    folder = Path(folder)
    paths = {p.name: p for p in sorted(folder.glob("*.csv"))}
    frames = {name: read_csv_typed(p) for name, p in paths.items()}
    dated, counts = date_frames(frames, problem, week, days)
    for name, df in dated.items():
        df.write_csv(paths[name])
    return counts
