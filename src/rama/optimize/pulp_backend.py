"""The same model written plainly in PuLP (the working plan's tool), solved with CBC.

One variable per (store, store, product) route, per store-product (allocate, stockout,
ending_inv) and per product (manufacture); constraints C1-C5 by name. It is the transparent
reference (tests check both backends reach the same objective) and the ``--write-lp`` /
``--write-mps`` export. The full network is ~3 million variables: fine for export of small
cases, slow for the whole network (see benchmarks/bench_optimize.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pulp

from rama.errors import InfeasibleError
from rama.optimize.plan import RawSolution
from rama.problem.model import Problem
from rama.problem.stochastic import room_above_top, segment_slopes


@dataclass
class PulpModel:
    """The PuLP problem and its variables, by pair / product / route position."""

    model: pulp.LpProblem
    ending_inventory: list[pulp.LpVariable]
    stockout: list[pulp.LpVariable]
    allocate: list[pulp.LpVariable]
    manufacture: list[pulp.LpVariable]
    routes: list[tuple[int, int, float, pulp.LpVariable]]  # (from pair, to pair, cost, var)


def build_pulp_model(problem: Problem) -> PulpModel:
    """Every variable and constraint of the plan's section 3, one by one."""
    sid, pid = problem.store_ids, problem.product_ids
    st, pr = problem.pair_store, problem.pair_product
    inv, dem = problem.current_inventory, problem.demand
    cap, max_out = problem.max_capacity, problem.max_transfer_out
    h, pen = problem.holding_cost, problem.stockout_penalty
    mc, maxp = problem.manufacturing_cost, problem.max_production
    dist = problem.distribution_cost
    m = pulp.LpProblem("rama_plan", pulp.LpMinimize)
    tag = [f"s{sid[st[q]]}_p{pid[pr[q]]}" for q in range(problem.n_pairs)]
    var = m.add_variable
    # stochastic (rama.problem.stochastic): A - d_1 = ending - stockout + sum_k w_k,
    # ending = stock above d_K (<= cap + demand - d_K), w_k on segment k at slope_k
    pts = problem.demand_points
    segs: list[list[tuple[float, pulp.LpVariable]]] = [[] for _ in range(problem.n_pairs)]
    if pts is not None:
        dem = pts[:, 0]
        cap = room_above_top(problem)
        slopes = segment_slopes(pts.shape[1], h[pr], pen[pr])
        width = np.diff(pts, axis=1)
        for q, k in zip(*np.nonzero(width > 0), strict=True):
            w = var(f"segment_{tag[q]}_k{k + 1}", 0, float(width[q, k]))
            segs[q].append((float(slopes[q, k]), w))
    ending_inventory = [
        var(f"ending_inv_{t}", 0, None if np.isinf(cap[q]) else float(cap[q]))
        for q, t in enumerate(tag)
    ]
    stockout = [var(f"stockout_{t}", 0) for t in tag]
    allocate = [var(f"allocate_{t}", 0) for t in tag]
    manufacture = [var(f"manufacture_p{p}", 0) for p in pid]
    routes: list[tuple[int, int, float, pulp.LpVariable]] = []
    start = problem.product_start
    for k in range(problem.n_products):
        pairs = np.arange(start[k], start[k + 1])
        if pairs.size < 2:
            continue
        cost = problem.transport.block(st[pairs], st[pairs])
        for a, i in enumerate(pairs):
            for b, j in enumerate(pairs):
                if np.isfinite(cost[a, b]):
                    v = var(f"transfer_s{sid[st[i]]}_s{sid[st[j]]}_p{pid[k]}", 0)
                    routes.append((int(i), int(j), float(cost[a, b]), v))
    m += (
        pulp.lpSum(float(h[pr[q]]) * ending_inventory[q] for q in range(problem.n_pairs))
        + pulp.lpSum(float(pen[pr[q]]) * stockout[q] for q in range(problem.n_pairs))
        + pulp.lpSum(c * v for _, _, c, v in routes)
        + pulp.lpSum(float(mc[k]) * manufacture[k] for k in range(problem.n_products))
        + pulp.lpSum(float(dist[st[q]]) * allocate[q] for q in range(problem.n_pairs))
        + pulp.lpSum(c * w for seg in segs for c, w in seg)
    )
    incoming: list[list[pulp.LpVariable]] = [[] for _ in range(problem.n_pairs)]
    outgoing: list[list[pulp.LpVariable]] = [[] for _ in range(problem.n_pairs)]
    for i, j, _, v in routes:
        outgoing[i].append(v)
        incoming[j].append(v)
    for q, t in enumerate(tag):
        m += (
            ending_inventory[q]
            == float(inv[q])
            + pulp.lpSum(incoming[q])
            - pulp.lpSum(outgoing[q])
            + allocate[q]
            - float(dem[q])
            + stockout[q]
            - pulp.lpSum(w for _, w in segs[q]),
            f"C1_balance_{t}",
        )
        if outgoing[q]:
            m += pulp.lpSum(outgoing[q]) <= float(max_out[q]), f"C2_transfer_out_{t}"
    for k in range(problem.n_products):
        span = range(int(start[k]), int(start[k + 1]))
        m += pulp.lpSum(allocate[q] for q in span) == manufacture[k], f"C3_allocation_p{pid[k]}"
        if np.isfinite(maxp[k]):
            m += manufacture[k] <= float(maxp[k]), f"C4_production_p{pid[k]}"
    return PulpModel(m, ending_inventory, stockout, allocate, manufacture, routes)


def write_model(
    model: PulpModel, lp_file: Path | None = None, mps_file: Path | None = None
) -> None:
    """Export the model as CPLEX LP and/or free MPS."""
    if lp_file is not None:
        Path(lp_file).parent.mkdir(parents=True, exist_ok=True)
        model.model.writeLP(str(lp_file))
    if mps_file is not None:
        Path(mps_file).parent.mkdir(parents=True, exist_ok=True)
        model.model.writeMPS(str(mps_file))


def solve_pulp(problem: Problem, model: PulpModel | None = None, threads: int = 0) -> RawSolution:
    """Solve with CBC; raises InfeasibleError (without diagnosis) if CBC finds none."""
    pm = model if model is not None else build_pulp_model(problem)
    with warnings.catch_warnings():  # PuLP 3 deprecates its bundled CBC, still the default
        warnings.simplefilter("ignore", DeprecationWarning)
        solver = pulp.PULP_CBC_CMD(msg=False, threads=threads or None)
    status = pm.model.solve(solver)
    if pulp.LpStatus[status] != "Optimal":
        raise InfeasibleError(f"CBC reports the model {pulp.LpStatus[status]}")

    def val(vs: list[pulp.LpVariable]) -> np.ndarray:
        return np.array([v.varValue or 0.0 for v in vs], dtype=np.float64)

    r = pm.routes
    return RawSolution(
        ending_inventory=val(pm.ending_inventory),
        stockout=val(pm.stockout),
        allocate=val(pm.allocate),
        manufacture=val(pm.manufacture),
        t_from=np.array([x[0] for x in r], dtype=np.int64),
        t_to=np.array([x[1] for x in r], dtype=np.int64),
        t_qty=val([x[3] for x in r]),
        t_cost=np.array([x[2] for x in r], dtype=np.float64),
        stats={"variables": pm.model.numVariables(), "constraints": pm.model.numConstraints()},
    )
