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


DIRECT_MAX = 1 << 26  # ids up to this: looked up in a position table, not by binary search


class _Index:
    """Positions of distinct int64 ids (any order): a table indexed by id when the ids are
    small non-negative numbers (one gather per lookup), else a binary search."""

    def __init__(self, known: np.ndarray) -> None:
        known = np.asarray(known, dtype=np.int64)
        self.size = known.size
        self.table: np.ndarray | None = None
        if known.size and known.min() >= 0 and known.max() < max(DIRECT_MAX, 4 * known.size):
            self.table = np.full(int(known.max()) + 1, -1, dtype=np.int64)
            self.table[known] = np.arange(known.size)
        else:
            self.order = np.argsort(known, kind="stable")
            self.sorted = known[self.order]

    def __call__(self, ids: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Position of each of ``ids``; -1 when absent (or not ``valid``)."""
        ids = np.asarray(ids, dtype=np.int64)
        if self.size == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        if self.table is not None:
            inside = (ids >= 0) & (ids < self.table.size)
            if valid is not None:
                inside &= valid
            return np.where(inside, self.table[np.where(inside, ids, 0)], -1)
        i = np.minimum(np.searchsorted(self.sorted, ids), self.size - 1)
        found = self.sorted[i] == ids
        if valid is not None:
            found &= valid
        return np.where(found, self.order[i], -1).astype(np.int64)


def _ids(frame: pl.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """An id column as int64 values and its not-null mask."""
    s = frame[col]
    ok = s.is_not_null().to_numpy()
    return s.fill_null(-1).cast(pl.Int64).to_numpy(), ok


class _Pairs:
    """The problem's store-product pairs by (store id, product id), from its own tables."""

    def __init__(self, problem: Problem) -> None:
        self.n_products = problem.n_products
        self.stores = _Index(problem.store_ids)
        self.products = _Index(problem.product_ids)
        sp = problem.store_products
        s = self.stores(sp["store_id"].cast(pl.Int64).to_numpy())
        p = self.products(sp["product_id"].cast(pl.Int64).to_numpy())
        self.pairs = _Index(s * self.n_products + p)

    def positions(self, frame: pl.DataFrame, store_col: str) -> np.ndarray:
        """Pair position of each row of ``frame`` (``store_col``, ``product_id``); -1 when the
        problem has no such pair."""
        sid, s_ok = _ids(frame, store_col)
        pid, p_ok = _ids(frame, "product_id")
        s, p = self.stores(sid, s_ok), self.products(pid, p_ok)
        key = np.where((s >= 0) & (p >= 0), s * self.n_products + p, -1)
        return self.pairs(key, key >= 0)


def _pair_error(where: str, frame: pl.DataFrame, bad: np.ndarray, what: str) -> PlanCheckError:
    rows = frame.filter(pl.Series(bad))
    return PlanCheckError(f"{where}: {what} ({rows.height} rows), e.g. {rows.head(3).to_dicts()}")


def check_frames(
    problem: Problem,
    frames: dict[str, pl.DataFrame],
    summary: dict[str, Any],
    where: str,
    tol: float,
) -> dict[str, float]:
    """Check plan tables against the problem; return the worst violation of each check.

    Every plan row is matched to the problem's pair, store or product by its ids (sorted
    lookups of the problem's own id columns, never the solver's positions); a row the problem
    lacks, a pair listed twice or not at all is an error naming the rows."""
    ck = _Checker(where, tol)
    n = problem.n_pairs
    pairs = _Pairs(problem)

    # the store-product table: each of the problem's pairs exactly once
    plan_sp = _typed(frames["store_product_plan.csv"])
    pos = pairs.positions(plan_sp, "store_id")
    seen = np.bincount(pos[pos >= 0], minlength=n)
    if (pos < 0).any() or (seen != 1).any():
        dup = (pos >= 0) & (seen[np.maximum(pos, 0)] > 1)
        count = int((pos < 0).sum() + dup.sum() + (seen == 0).sum())
        lost = problem.store_products.filter(pl.Series(seen == 0)).select(KEY)
        examples = [*plan_sp.filter(pl.Series((pos < 0) | dup)).select(KEY).head(3).to_dicts()]
        examples += lost.head(3 - len(examples)).to_dicts() if len(examples) < 3 else []
        raise PlanCheckError(
            f"{where}: store_product_plan.csv and the problem disagree on the store-product "
            f"pairs ({count} rows), e.g. {examples}"
        )
    order = np.empty(n, dtype=np.int64)
    order[pos] = np.arange(n)  # the plan row of each problem pair
    sp = plan_sp[order]  # in the problem's pair order

    def col(frame: pl.DataFrame, name: str) -> np.ndarray:
        return frame[name].cast(pl.Float64).fill_null(np.nan).to_numpy()

    # transfers: known routes between stores carrying the product, unit cost as in the problem
    tp = _typed(frames["transfer_plan.csv"])
    t_from, t_to = pairs.positions(tp, "from_store_id"), pairs.positions(tp, "to_store_id")
    lost_t = (t_from < 0) | (t_to < 0)
    if lost_t.any():
        raise _pair_error(
            where,
            tp,
            lost_t,
            "transfer_plan.csv moves a product from/to a store that does not carry it",
        )
    ps, pp = problem.pair_store, problem.pair_product
    route_cost = problem.transport.pairs(ps[t_from], ps[t_to])
    q = col(tp, "quantity")
    ck.require("route exists", np.where(np.isfinite(route_cost), 0.0, np.inf), q, tp, "no route")
    rc = np.where(np.isfinite(route_cost), route_cost, 0.0)
    ck.require("transfer unit cost", np.abs(col(tp, "unit_cost") - rc), rc, tp, "$/unit")
    ck.require("C6 transfer >= 0", -q, q, tp, "negative quantity")
    t_out = np.bincount(t_from, weights=q, minlength=n)
    t_in = np.bincount(t_to, weights=q, minlength=n)

    ap = _typed(frames["allocation_plan.csv"])
    a_pos = pairs.positions(ap, "store_id")
    if (a_pos < 0).any():
        raise _pair_error(
            where,
            ap,
            a_pos < 0,
            "allocation_plan.csv allocates to a store-product pair the problem does not have",
        )
    a_q = col(ap, "quantity")
    al = np.bincount(a_pos, weights=a_q, minlength=n)
    a_dist = problem.distribution_cost[ps[a_pos]]

    inv, dem = problem.current_inventory, problem.demand
    e, u = col(sp, "ending_inventory"), col(sp, "stockout")
    big = np.maximum.reduce([np.abs(inv), np.abs(dem), np.abs(e), t_in, t_out, al, np.abs(u)])
    ck.require(
        "transfer_in matches transfers", np.abs(col(sp, "transfer_in") - t_in), big, sp, "units"
    )
    ck.require(
        "transfer_out matches transfers", np.abs(col(sp, "transfer_out") - t_out), big, sp, "units"
    )
    ck.require("allocated matches allocations", np.abs(col(sp, "allocated") - al), big, sp, "units")
    c1 = np.abs(e - (inv + t_in - t_out + al - dem + u))
    ck.require("C1 inventory balance", c1, big, sp, "units")
    ck.require(
        "C2 transfer-out limit",
        t_out - np.maximum(0.0, inv - problem.safety_stock),
        inv,
        sp,
        "units",
    )
    ck.require("C5 storage capacity", e - problem.max_capacity, e, sp, "units")
    for name, v in (("ending", e), ("stockout", u), ("allocated", al)):
        ck.require(f"C6 {name} >= 0", -v, v, sp, "units")
    ck.require("C6 allocation >= 0", -a_q, a_q, ap, "units")
    ck.require("allocation unit cost", np.abs(col(ap, "unit_cost") - a_dist), a_dist, ap, "$/unit")

    # the manufacturing schedule: each product once (a missing product's quantity is NaN)
    ms = _typed(frames["manufacturing_schedule.csv"])
    pid, p_ok = _ids(ms, "product_id")
    m_pos = pairs.products(pid, p_ok)
    listed = np.bincount(m_pos[m_pos >= 0], minlength=problem.n_products)
    bad = (m_pos < 0) | (listed[np.maximum(m_pos, 0)] > 1)
    if bad.any():
        raise _pair_error(
            where,
            ms,
            bad,
            "manufacturing_schedule.csv lists a product the problem does not have, or one twice",
        )
    m = np.full(problem.n_products, np.nan)
    m[m_pos] = col(ms, "quantity")
    ms = problem.products.select("product_id")
    alloc_p = np.bincount(pp[a_pos], weights=a_q, minlength=problem.n_products)
    ck.require("C3 allocation = manufacture", np.abs(alloc_p - m), m, ms, "units")
    ck.require("C4 production capacity", m - problem.max_production, m, ms, "units")
    ck.require("C6 manufacture >= 0", -m, m, ms, "units")

    costs = {
        "holding": float(np.dot(problem.holding_cost[pp], e)),
        "stockout": float(np.dot(problem.stockout_penalty[pp], u)),
        "transport": float(np.dot(rc, q)),
        "manufacturing": float(np.dot(problem.manufacturing_cost, m)),
        "distribution": float(np.dot(a_dist, a_q)),
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
        ms_grid = ms.with_columns(pl.Series("quantity", m))
        tables = [
            ("transfer_plan.csv", tp, ["quantity"]),
            ("allocation_plan.csv", ap, ["quantity"]),
            ("manufacturing_schedule.csv", ms_grid, ["quantity"]),
            ("store_product_plan.csv", sp, per_pair),
        ]
        for name, frame, cols in tables:
            for c in cols:
                v = frame[c].to_numpy().astype(np.float64)
                grid.require(
                    f"lot grid {name} {c}",
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
