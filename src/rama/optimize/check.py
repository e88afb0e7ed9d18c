"""Independent check of a written plan: recompute C1-C6 and the objective from the files.

It uses only the plan tables (joined on ids) and the problem's own tables, never the solver's
arrays. A constraint holds when its violation is at most ``tol x max(1, its largest term)``
(units or $); the objective must match ``cost_breakdown.csv`` and ``summary.json`` within
``tol x max(1, |objective|)``. Any failure raises :class:`PlanCheckError` naming the rows.

Lot plans (``summary.json`` has ``lot_size > 0``): every written quantity (transfers,
allocations, manufacture, and per pair transfer in / out, allocated and, for deterministic
plans, stockout and ending inventory) must also be a multiple of the lot within
``GRID_TOL x max(1, |quantity|)`` units. A stochastic plan's stockout and ending inventory are
expectations over K demand points (multiples of lot / K) and are not held to the grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.errors import PlanCheckError
from rama.optimize.plan import COMPONENTS, Plan
from rama.optimize.plan_io import plan_frames, plan_summary, read_plan_frames
from rama.problem.model import Problem
from rama.schema import PAIR_KEYS

KEY = list(PAIR_KEYS)
GRID_TOL = 1e-9  # a lot plan's quantity must be a lot multiple to this (x max(1, |qty|))
PLAN_FLOAT_COLUMNS = (  # the numeric columns of the plan tables
    "quantity",
    "unit_cost",
    "cost",
    "demand",
    "current_inventory",
    "transfer_in",
    "transfer_out",
    "allocated",
    "stockout",
    "ending_inventory",
)


def _typed(df: pl.DataFrame) -> pl.DataFrame:
    casts = [
        pl.col(c).cast(pl.Int64) if c.endswith("_id") else pl.col(c).cast(pl.Float64)
        for c in df.columns
        if c.endswith("_id") or c in PLAN_FLOAT_COLUMNS
    ]
    return df.with_columns(casts) if casts else df


class _Checker:
    def __init__(self, where: str, tol: float) -> None:
        self.where, self.tol = where, tol
        self.worst: dict[str, float] = {}

    def require(
        self, name: str, violation: np.ndarray, scale: np.ndarray, rows: pl.DataFrame, what: str
    ) -> None:
        """Fail if any ``violation > tol * max(1, scale)``; record the worst violation."""
        violation = np.nan_to_num(np.asarray(violation, dtype=np.float64), nan=np.inf)
        self.worst[name] = float(violation.max(initial=0.0))
        bad = violation > self.tol * np.maximum(1.0, np.abs(scale))
        if bad.any():
            idx = np.flatnonzero(bad)[:3]
            examples = rows[idx.tolist()].to_dicts() if rows.height else []
            raise PlanCheckError(
                f"{self.where}: {name} violated in {int(bad.sum())} row(s) ({what}); worst "
                f"violation {float(violation.max()):.3g} > tolerance {self.tol:g}; "
                f"e.g. {examples}"
            )


def check_frames(
    problem: Problem,
    frames: dict[str, pl.DataFrame],
    summary: dict[str, Any],
    where: str,
    tol: float,
) -> dict[str, float]:
    """Check plan tables against the problem; return the worst violation of each check."""
    ck = _Checker(where, tol)
    sp_prob = problem.store_products.select(
        *KEY, "demand", "current_inventory", "safety_stock", "max_capacity"
    )
    plan_sp = _typed(frames["store_product_plan.csv"])
    sp = sp_prob.join(
        plan_sp.drop("demand", "current_inventory"), on=KEY, how="full", coalesce=True
    )
    missing = sp.filter(pl.col("ending_inventory").is_null() | pl.col("max_capacity").is_null())
    if missing.height:
        raise PlanCheckError(
            f"{where}: store_product_plan.csv and the problem disagree on the store-product "
            f"pairs ({missing.height} rows), e.g. {missing.head(3).to_dicts()}"
        )
    prod = problem.products.select("product_id", "holding_cost", "stockout_penalty")
    sp = sp.sort(KEY).join(prod, on="product_id", how="left")
    store = problem.stores.select("store_id", "distribution_cost")

    # transfers: known routes between stores carrying the product, unit cost as in the problem
    tp = _typed(frames["transfer_plan.csv"])
    pairs = problem.store_products.select(*KEY)
    for side in ("from", "to"):
        lost = tp.join(
            pairs.rename({"store_id": f"{side}_store_id"}),
            on=[f"{side}_store_id", "product_id"],
            how="anti",
        )
        if lost.height:
            raise PlanCheckError(
                f"{where}: transfer_plan.csv moves a product from/to a store that does not "
                f"carry it ({lost.height} rows), e.g. {lost.head(3).to_dicts()}"
            )
    f_idx = np.searchsorted(problem.store_ids, tp["from_store_id"].to_numpy())
    t_idx = np.searchsorted(problem.store_ids, tp["to_store_id"].to_numpy())
    route_cost = problem.transport.pairs(f_idx, t_idx)
    q = tp["quantity"].to_numpy()
    ck.require("route exists", np.where(np.isfinite(route_cost), 0.0, np.inf), q, tp, "no route")
    rc = np.where(np.isfinite(route_cost), route_cost, 0.0)
    ck.require("transfer unit cost", np.abs(tp["unit_cost"].to_numpy() - rc), rc, tp, "$/unit")
    ck.require("C6 transfer >= 0", -q, q, tp, "negative quantity")

    flows_out = tp.group_by(pl.col("from_store_id").alias("store_id"), "product_id").agg(
        pl.col("quantity").sum().alias("out")
    )
    flows_in = tp.group_by(pl.col("to_store_id").alias("store_id"), "product_id").agg(
        pl.col("quantity").sum().alias("in")
    )
    ap = _typed(frames["allocation_plan.csv"]).join(store, on="store_id", how="left")
    alloc = ap.group_by(KEY).agg(pl.col("quantity").sum().alias("alloc"))
    sp = (
        sp.join(flows_out, on=KEY, how="left")
        .join(flows_in, on=KEY, how="left")
        .join(alloc, on=KEY, how="left")
        .join(store, on="store_id", how="left")
        .with_columns(pl.col("out", "in", "alloc").fill_null(0.0))
    )
    a = {c: sp[c].to_numpy() for c in sp.columns if c not in KEY}
    inv, dem, e, u = a["current_inventory"], a["demand"], a["ending_inventory"], a["stockout"]
    t_in, t_out, al = a["in"], a["out"], a["alloc"]
    big = np.maximum.reduce([np.abs(inv), np.abs(dem), np.abs(e), t_in, t_out, al, np.abs(u)])
    ck.require("transfer_in matches transfers", np.abs(a["transfer_in"] - t_in), big, sp, "units")
    ck.require(
        "transfer_out matches transfers", np.abs(a["transfer_out"] - t_out), big, sp, "units"
    )
    ck.require("allocated matches allocations", np.abs(a["allocated"] - al), big, sp, "units")
    c1 = np.abs(e - (inv + t_in - t_out + al - dem + u))
    ck.require("C1 inventory balance", c1, big, sp, "units")
    ck.require(
        "C2 transfer-out limit", t_out - np.maximum(0.0, inv - a["safety_stock"]), inv, sp, "units"
    )
    ck.require("C5 storage capacity", e - a["max_capacity"], e, sp, "units")
    for name, v in (("ending", e), ("stockout", u), ("allocated", al)):
        ck.require(f"C6 {name} >= 0", -v, v, sp, "units")
    ck.require(
        "C6 allocation >= 0", -ap["quantity"].to_numpy(), ap["quantity"].to_numpy(), ap, "units"
    )
    ck.require(
        "allocation unit cost",
        np.abs(ap["unit_cost"].to_numpy() - ap["distribution_cost"].to_numpy()),
        ap["distribution_cost"].to_numpy(),
        ap,
        "$/unit",
    )

    ms = _typed(frames["manufacturing_schedule.csv"]).join(
        problem.products.select("product_id", "manufacturing_cost", "max_production"),
        on="product_id",
        how="full",
        coalesce=True,
    )
    ms = ms.join(
        alloc.group_by("product_id").agg(pl.col("alloc").sum()), on="product_id", how="left"
    ).with_columns(pl.col("alloc").fill_null(0.0), pl.col("quantity").fill_null(np.nan))
    m = ms["quantity"].to_numpy()
    ck.require("C3 allocation = manufacture", np.abs(ms["alloc"].to_numpy() - m), m, ms, "units")
    ck.require("C4 production capacity", m - ms["max_production"].to_numpy(), m, ms, "units")
    ck.require("C6 manufacture >= 0", -m, m, ms, "units")

    costs = {
        "holding": float(np.dot(a["holding_cost"], e)),
        "stockout": float(np.dot(a["stockout_penalty"], u)),
        "transport": float(np.dot(rc, q)),
        "manufacturing": float(np.dot(ms["manufacturing_cost"].to_numpy(), m)),
        "distribution": float(
            np.dot(ap["distribution_cost"].to_numpy(), ap["quantity"].to_numpy())
        ),
    }
    total = sum(costs.values())
    bd = dict(
        zip(
            frames["cost_breakdown.csv"]["component"].to_list(),
            frames["cost_breakdown.csv"]["cost"].cast(pl.Float64).to_list(),
            strict=True,
        )
    )
    for comp in (*COMPONENTS, "total"):
        got = bd.get(comp, np.nan)
        want = total if comp == "total" else costs[comp]
        ck.require(
            f"cost_breakdown {comp}",
            np.array([abs(got - want)]),
            np.array([total]),
            pl.DataFrame(),
            "$",
        )
    obj = summary.get("objective")
    ck.require(
        "summary objective",
        np.array([abs(float(obj) - total) if obj is not None else np.inf]),
        np.array([total]),
        pl.DataFrame(),
        "$",
    )
    lot = float(summary.get("lot_size") or 0.0)
    if lot > 0:
        grid = _Checker(where, GRID_TOL)
        per_pair = ["transfer_in", "transfer_out", "allocated"]
        if problem.demand_points is None:
            per_pair += ["stockout", "ending_inventory"]
        tables = [
            ("transfer_plan.csv", tp, ["quantity"]),
            ("allocation_plan.csv", ap, ["quantity"]),
            ("manufacturing_schedule.csv", ms, ["quantity"]),
            ("store_product_plan.csv", sp, per_pair),
        ]
        for name, frame, cols in tables:
            for col in cols:
                v = frame[col].to_numpy().astype(np.float64)
                grid.require(
                    f"lot grid {name} {col}",
                    np.abs(v - lot * np.round(v / lot)),
                    v,
                    frame,
                    f"not a multiple of lot_size {lot:g} units",
                )
        ck.worst.update(grid.worst)
    ck.worst["objective"] = total
    return ck.worst


def check_plan(
    problem: Problem, plan_or_dir: Plan | Path | str, tol: float = 1e-6
) -> dict[str, float]:
    """Check a plan folder (or an in-memory plan, via the same tables) against ``problem``."""
    if isinstance(plan_or_dir, Plan):
        frames = {k: _typed(v) for k, v in plan_frames(plan_or_dir, checked_only=True).items()}
        return check_frames(problem, frames, plan_summary(plan_or_dir), "plan (in memory)", tol)
    frames, summary = read_plan_frames(Path(plan_or_dir))
    return check_frames(problem, frames, summary, str(plan_or_dir), tol)
