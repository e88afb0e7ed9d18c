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
- ``summary.json``: status, objective, fill rate, units, transfers, seconds, backend, proof
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.io import atomic_dir
from rama.optimize.plan import COMPONENTS, Plan

PLAN_FILES = (
    "transfer_plan.csv",
    "manufacturing_schedule.csv",
    "allocation_plan.csv",
    "store_product_plan.csv",
    "cost_breakdown.csv",
    "service_level.csv",
    "summary.json",
)


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


def plan_frames(plan: Plan) -> dict[str, pl.DataFrame]:
    """Every plan table, keyed by file name (without summary.json)."""
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
    return {
        "transfer_plan.csv": transfers,
        "manufacturing_schedule.csv": manufacturing,
        "allocation_plan.csv": allocations,
        "store_product_plan.csv": store_products,
        "cost_breakdown.csv": breakdown,
        "service_level.csv": service_levels(plan),
    }


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    return v


def plan_summary(plan: Plan) -> dict[str, Any]:
    """summary.json content (non-finite numbers become null)."""
    out = {k: _jsonable(v) for k, v in plan.summary().items()}
    rc = out.get("min_reduced_cost")
    out["optimality_proof"] = (
        "every transfer route priced: min reduced cost >= -1e-9"
        if rc is not None and rc >= -1e-9
        else ("no transfer routes to price" if plan.backend == "highs" else "solved by CBC")
    )
    return out


def write_plan(plan: Plan, out_dir: Path) -> Path:
    """Write every plan file into ``out_dir`` (the folder is replaced atomically)."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        for name, frame in plan_frames(plan).items():
            frame.write_csv(tmp / name)
        (tmp / "summary.json").write_text(
            json.dumps(plan_summary(plan), indent=2) + "\n", encoding="utf-8"
        )
    return out_dir


def read_plan_frames(out_dir: Path) -> tuple[dict[str, pl.DataFrame], dict[str, Any]]:
    """Read the plan tables and summary.json back (for the independent check)."""
    out_dir = Path(out_dir)
    frames: dict[str, pl.DataFrame] = {}
    for name in PLAN_FILES[:-1]:
        path = out_dir / name
        if not path.is_file():
            from rama.errors import PlanCheckError

            raise PlanCheckError(f"{path}: plan file missing; re-run `rama optimize`")
        frames[name] = pl.read_csv(path, infer_schema_length=None)
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    return frames, summary
