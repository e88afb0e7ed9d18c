"""The plan as tables and files (OUT/ of `rama optimize`).

- ``transfer_plan.csv``: from_store_id, to_store_id, product_id, quantity, unit_cost, cost
- ``manufacturing_schedule.csv``: product_id, quantity, unit_cost, cost (every product)
- ``allocation_plan.csv``: store_id, product_id, quantity, unit_cost, cost (positive only)
- ``store_product_plan.csv``: store_id, product_id, demand, current_inventory, transfer_in,
  transfer_out, allocated, stockout, ending_inventory
- ``cost_breakdown.csv``: component, cost (holding, stockout, transport, manufacturing,
  distribution, total)
- ``service_level.csv``: level (network / city / store / product), id, demand, stockout,
  fill_rate = 1 - stockout / demand (1 when demand is 0); city rows need stores.city_id
- ``marginal_values.csv``: resource (production / storage), store_id (storage only),
  product_id, capacity, used (units), marginal_value ($ the optimum falls by per extra unit
  of capacity: the LP's dual; empty when the backend gives none, e.g. pulp)
- ``summary.json``: status, objective, fill rate, units, transfers, seconds, backend, proof

Lot plans (``plan.lot_size > 0``, :mod:`rama.problem.lots`): every quantity is an exact lot
multiple and is written with the decimals of the lot (whole numbers for lot 1, 0.3 rather
than 0.30000000000000004 for lot 0.1); the stochastic plan's expected stockout and ending
inventory (means over K points, multiples of lot / K) with 9 decimals; the per-row ``cost``
columns to the cent. Unit costs, ``cost_breakdown.csv`` and summary.json keep full precision
(the independent check compares them with the recomputed objective). Continuous plans
(``lot_size = 0``) are written at full float precision, as before.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.io import atomic_dir, read_csv_typed, read_json
from rama.optimize.plan import COMPONENTS, Plan

PLAN_FILES = (
    "transfer_plan.csv",
    "manufacturing_schedule.csv",
    "allocation_plan.csv",
    "store_product_plan.csv",
    "cost_breakdown.csv",
    "service_level.csv",
    "marginal_values.csv",
    "summary.json",
)
OPTIONAL_FILES = ("marginal_values.csv",)
"""Plan files the independent check does not need (plans written before they existed)."""


def _fill(demand: pl.Expr, stockout: pl.Expr) -> pl.Expr:
    return pl.when(demand > 0).then(1.0 - stockout / demand).otherwise(1.0)


def service_levels(plan: Plan) -> pl.DataFrame:
    """Fill rate for the network, each city (if known), store and product."""
    pb = plan.problem
    df = pl.DataFrame(
        {
            "store_id": pb.store_ids[pb.pair_store],
            "product_id": pb.product_ids[pb.pair_product],
            "demand": pb.demand,
            "stockout": plan.stockout,
        }
    )
    parts = [
        df.select(
            pl.lit("network").alias("level"),
            pl.lit(None, dtype=pl.Int64).alias("id"),
            pl.col("demand").sum(),
            pl.col("stockout").sum(),
        )
    ]
    if "city_id" in pb.stores.columns:
        city = pl.DataFrame({"store_id": pb.store_ids, "id": pb.stores["city_id"]})
        parts.append(
            df.join(city, on="store_id")
            .group_by("id")
            .agg(pl.col("demand").sum(), pl.col("stockout").sum())
            .select(pl.lit("city").alias("level"), "id", "demand", "stockout")
            .sort("id")
        )
    for level, key in (("store", "store_id"), ("product", "product_id")):
        parts.append(
            df.group_by(key)
            .agg(pl.col("demand").sum(), pl.col("stockout").sum())
            .select(pl.lit(level).alias("level"), pl.col(key).alias("id"), "demand", "stockout")
            .sort("id")
        )
    out = pl.concat(parts)
    return out.with_columns(_fill(pl.col("demand"), pl.col("stockout")).alias("fill_rate"))


def marginal_values(plan: Plan) -> pl.DataFrame:
    """What one more unit of capacity would save ($/unit), from the LP's duals: one row per
    product (``resource = "production"``: +1 unit of ``max_production``, C4) and per
    store-product pair (``"storage"``: +1 unit of ``max_capacity``, C5), with the capacity
    and what the plan uses of it (units). ``marginal_value`` is null when the backend
    reported no duals."""
    pb = plan.problem
    ps, pp = pb.pair_store, pb.pair_product
    n, k = pb.n_pairs, pb.n_products
    prod_v = plan.production_value if plan.production_value is not None else np.full(k, np.nan)
    store_v = plan.storage_value if plan.storage_value is not None else np.full(n, np.nan)
    production = pl.DataFrame(
        {
            "resource": ["production"] * k,
            "store_id": pl.Series([None] * k, dtype=pl.Int64),
            "product_id": pb.product_ids,
            "capacity": pb.max_production,
            "used": plan.manufacture,
            "marginal_value": prod_v,
        },
        schema_overrides={"product_id": pl.Int64},
    )
    storage = pl.DataFrame(
        {
            "resource": ["storage"] * n,
            "store_id": pb.store_ids[ps],
            "product_id": pb.product_ids[pp],
            "capacity": pb.max_capacity,
            "used": plan.ending_inventory,
            "marginal_value": store_v,
        },
        schema_overrides={"store_id": pl.Int64, "product_id": pl.Int64},
    ).sort("store_id", "product_id")
    out = pl.concat([production, storage])
    # 9 decimals: units on any lot grid and $ to the nano-cent, without float noise
    return out.with_columns(
        pl.col("capacity", "used").round(9), pl.col("marginal_value").fill_nan(None).round(9)
    )


def lot_decimals(lot: float) -> int:
    """Decimals that write every multiple of ``lot`` exactly (at most 9)."""
    for d in range(10):
        if abs(round(lot, d) - lot) <= 1e-12 * max(1.0, lot):
            return d
    return 9


def _written(frame: pl.DataFrame, plan: Plan, grid: tuple[str, ...]) -> pl.DataFrame:
    """A lot plan's frame with written precision (module doc); continuous plans unchanged."""
    if plan.lot_size <= 0:
        return frame
    d = lot_decimals(plan.lot_size)
    exact = [c for c in grid if c in frame.columns]
    means = [c for c in ("stockout", "ending_inventory", "demand") if c in frame.columns]
    if plan.problem.demand_points is not None:
        exact = [c for c in exact if c not in means]
    else:
        means = []
    money = [c for c in ("cost",) if c in frame.columns]
    return frame.with_columns(
        *(pl.col(c).round(d) for c in exact),
        *(pl.col(c).round(9) for c in means),
        *(pl.col(c).round(2) for c in money),
    )


_GRID_COLS = (
    "quantity",
    "demand",
    "current_inventory",
    "transfer_in",
    "transfer_out",
    "allocated",
    "stockout",
    "ending_inventory",
)


CHECKED_FILES = PLAN_FILES[:5]
"""The plan tables the independent check reads (:func:`rama.optimize.check.check_frames`)."""


def plan_frames(plan: Plan, checked_only: bool = False) -> dict[str, pl.DataFrame]:
    """Every plan table, keyed by file name (without summary.json); with ``checked_only``
    only the :data:`CHECKED_FILES` (the in-memory check skips the service levels and
    marginal values it does not read)."""
    frames = _plan_frames(plan, checked_only)
    for name in PLAN_FILES[:4]:  # the quantity tables
        frames[name] = _written(frames[name], plan, _GRID_COLS)
    return frames


def _plan_frames(plan: Plan, checked_only: bool = False) -> dict[str, pl.DataFrame]:
    pb = plan.problem
    sid, pid = pb.store_ids, pb.product_ids
    ps, pp = pb.pair_store, pb.pair_product
    transfers = pl.DataFrame(
        {
            "from_store_id": sid[ps[plan.t_from]],
            "to_store_id": sid[ps[plan.t_to]],
            "product_id": pid[pp[plan.t_from]],
            "quantity": plan.t_qty,
            "unit_cost": plan.t_cost,
            "cost": plan.t_qty * plan.t_cost,
        },
        schema_overrides={
            "from_store_id": pl.Int64,
            "to_store_id": pl.Int64,
            "product_id": pl.Int64,
        },
    )
    manufacturing = pl.DataFrame(
        {
            "product_id": pid,
            "quantity": plan.manufacture,
            "unit_cost": pb.manufacturing_cost,
            "cost": plan.manufacture * pb.manufacturing_cost,
        }
    )
    alloc = np.flatnonzero(plan.allocate > 0)
    dist = pb.distribution_cost[ps[alloc]]
    allocations = pl.DataFrame(
        {
            "store_id": sid[ps[alloc]],
            "product_id": pid[pp[alloc]],
            "quantity": plan.allocate[alloc],
            "unit_cost": dist,
            "cost": plan.allocate[alloc] * dist,
        },
        schema_overrides={"store_id": pl.Int64, "product_id": pl.Int64},
    )
    store_products = pl.DataFrame(
        {
            "store_id": sid[ps],
            "product_id": pid[pp],
            "demand": pb.demand,
            "current_inventory": pb.current_inventory,
            "transfer_in": plan.transfer_in,
            "transfer_out": plan.transfer_out,
            "allocated": plan.allocate,
            "stockout": plan.stockout,
            "ending_inventory": plan.ending_inventory,
        },
        schema_overrides={"store_id": pl.Int64, "product_id": pl.Int64},
    ).sort("store_id", "product_id")
    costs = plan.cost_breakdown()
    breakdown = pl.DataFrame(
        {"component": [*COMPONENTS, "total"], "cost": [costs[c] for c in (*COMPONENTS, "total")]}
    )
    frames = {
        "transfer_plan.csv": transfers,
        "manufacturing_schedule.csv": manufacturing,
        "allocation_plan.csv": allocations,
        "store_product_plan.csv": store_products,
        "cost_breakdown.csv": breakdown,
    }
    if not checked_only:
        frames["service_level.csv"] = service_levels(plan)
        frames["marginal_values.csv"] = marginal_values(plan)
    return frames


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    return v


def plan_summary(plan: Plan, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json content (non-finite numbers become null); ``extra`` figures (the cost of
    rounding of a lot plan, rama.optimize.stage) are added after the plan's own."""
    out = {k: _jsonable(v) for k, v in {**plan.summary(), **(extra or {})}.items()}
    rc = out.get("min_reduced_cost")
    out["optimality_proof"] = (
        "every transfer route priced: min reduced cost >= -1e-9"
        if rc is not None and rc >= -1e-9
        else ("no transfer routes to price" if plan.backend == "highs" else "solved by CBC")
    )
    return out


def write_plan(plan: Plan, out_dir: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write every plan file into ``out_dir`` (the folder is replaced atomically); ``extra``
    goes into summary.json (:func:`plan_summary`)."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        for name, frame in plan_frames(plan).items():
            frame.write_csv(tmp / name)
        (tmp / "summary.json").write_text(
            json.dumps(plan_summary(plan, extra), indent=2) + "\n", encoding="utf-8"
        )
    return out_dir


def read_plan_frames(out_dir: Path) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Read the plan tables and summary.json back (for the independent check)."""
    out_dir = Path(out_dir)
    frames: dict[str, pl.DataFrame] = {}
    for name in PLAN_FILES[:-1]:
        path = out_dir / name
        if name in OPTIONAL_FILES and not path.is_file():
            continue
        if not path.is_file():
            from rama.errors import PlanCheckError

            raise PlanCheckError(f"{path}: plan file missing; re-run `rama optimize`")
        frames[name] = read_csv_typed(path)
    summary = read_json(out_dir / "summary.json", "optimize", "re-run `rama optimize`")
    return frames, summary
