"""The LP of a block of products as sparse arrays, in a reduced but equivalent form.

Model (per product p, store s; docs/optimizer.md):

    min  sum h e + pen u + c t + mc m + dist a
    C1   e[s] = inv[s] + in[s] - out[s] + a[s] - demand[s] + u[s]
    C2   out[s] <= max(0, inv[s] - ss[s]);  C3 sum_s a[s] = m;  C4 m <= max_production
    C5   0 <= e[s] <= cap[s];  C6 all >= 0.

Exact reformulations used here (each keeps the optimal value and maps solutions back):

- ``e`` is the slack of C1: the row ``L = -in + out - a - u`` is ranged
  ``inv - demand - cap <= L <= inv - demand`` and ``e = inv - demand - L``. Substituting
  ``h e`` adds ``h`` to the cost of ``a`` and ``u`` (transfers: +h in, -h out, cancels) and a
  constant ``sum h (inv - demand)``.
- When C4 provably cannot bind (``max_production >= sum_s max(0, demand - inv + X)`` over the
  stores whose cheaper deficit cover is allocation; at an optimum with ``e * a = 0`` no store
  is allocated more than that), C3/C4 and ``m`` are dropped and each store keeps one deficit
  column, the cheaper of allocation (``mc + dist``) and stockout (``pen``); ``m = sum a``.
  Otherwise ("general" products) the store keeps both and the product keeps C3 and ``m``.
- A store with ``max(0, inv - ss) = 0`` gets no transfer columns out (C2 fixes its outflow
  to 0); it keeps its C2 row (limit 0) when it holds stock, so that the constraint matrix
  does not depend on the safety stock (warm starts, :mod:`rama.optimize.warm`).

Stochastic problems (``problem.demand_points``, :mod:`rama.optimize.stochastic`): the row
is written for the lowest point ``d_1`` instead of ``demand``, ``L = -in + out - a - u +
sum_k w_k`` with one column ``w_k`` per inner segment (``0 <= w_k <= d_k+1 - d_k``, cost
``slope_k - h``), and the slack ``e = inv - d_1 - L`` (stock above ``d_K``) is bounded by
``cap + demand - d_K``. K = 1 is exactly the deterministic row.

The crash basis is the optimal no-transfer plan (surplus kept, deficits covered by the cheaper
source), so the first solve takes no iterations and pricing starts from meaningful duals.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from rama.optimize.warm import layout_digest
from rama.problem.model import Problem
from rama.problem.stochastic import room_above_top, segment_slopes

STOCKOUT, ALLOCATE, MANUFACTURE, DISPOSAL, SEGMENT = 0, 1, 2, 3, 4
_B = highspy.HighsBasisStatus


@dataclass
class BlockLP:
    """Index bookkeeping of one block's LP (local pair indices 0..n-1)."""

    pairs: np.ndarray  # global pair positions
    products: np.ndarray  # global product positions
    segments: list[tuple[int, int]]  # local pair range of each product
    rhs: np.ndarray  # inv - demand (units; inv - lowest demand point when stochastic)
    x_out: np.ndarray  # C2 limit max(0, inv - ss) (units)
    col_kind: np.ndarray  # STOCKOUT / ALLOCATE / MANUFACTURE per base column
    col_ref: np.ndarray  # local pair (or local product for MANUFACTURE) per base column
    general: np.ndarray  # per local product: C3/C4 kept
    c2_row: np.ndarray  # per local pair: LP row of its C2 (or -1)
    n_rows: int
    offset: float
    crash_duals: np.ndarray  # row duals of the crash basis
    matrix_digest: bytes = b""  # digest of the constraint matrix (rama.optimize.warm)

    @property
    def n(self) -> int:
        return int(self.pairs.size)

    @property
    def n_base(self) -> int:
        return int(self.col_kind.size)

    @property
    def sender(self) -> np.ndarray:
        """Pairs that may ship (C2 limit > 0): the only route origins priced."""
        return self.x_out > 0

    @property
    def holder(self) -> np.ndarray:
        """Pairs with a C2 row (they hold stock; the limit may be 0)."""
        return self.c2_row >= 0


def block_pairs(problem: Problem, products: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Global pair positions of ``products`` (concatenated) and each product's local range."""
    start = problem.product_start
    lo, hi = start[products], start[products + 1]
    counts = hi - lo
    offs = np.concatenate([[0], np.cumsum(counts)])
    pairs = np.repeat(lo - offs[:-1], counts) + np.arange(offs[-1])
    return pairs.astype(np.int64), list(zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True))


def production_may_bind(problem: Problem) -> np.ndarray:
    """Per product: False when C4 provably cannot bind at an optimum (see module doc)."""
    p = problem.pair_product
    alloc_cheaper = (
        problem.manufacturing_cost[p] + problem.distribution_cost[problem.pair_store]
        <= problem.stockout_penalty[p]
    )
    top = problem.demand if problem.demand_points is None else problem.demand_points[:, -1]
    need = np.maximum(0.0, top - problem.current_inventory + problem.max_transfer_out)
    a_max = np.bincount(p, weights=np.where(alloc_cheaper, need, 0.0), minlength=problem.n_products)
    return np.asarray(problem.max_production < a_max * (1 + 1e-12) + 1e-9)


def build_block_lp(
    problem: Problem,
    products: np.ndarray,
    general_products: np.ndarray,
    phase1: bool = False,
    subset: tuple[np.ndarray, list[tuple[int, int]]] | None = None,
) -> tuple[BlockLP, highspy.HighsLp, highspy.HighsBasis]:
    """The block's LP (no transfer columns yet) and its no-transfer crash basis.

    ``phase1`` builds the feasibility LP used to diagnose infeasibility instead: every cost
    is 0 and each store holding more than ``cap + demand`` gets a disposal column (cost 1 per
    unit) that removes stock; its optimum is the least stock no plan can place.
    ``subset`` = (pairs, segments) restricts each product to some of its stores.
    """
    pairs, segments = subset if subset is not None else block_pairs(problem, products)
    n, k = pairs.size, products.size
    prod = np.repeat(np.arange(k), [b - a for a, b in segments])
    pg = products[prod]
    gen = general_products[products]
    gen_pair = gen[prod]
    cap = problem.max_capacity[pairs]
    if problem.demand_points is None:
        d_lo, seg_total = problem.demand[pairs], np.zeros(n)
        pts = None
    else:  # stochastic: row for the lowest point, slack = stock above the highest
        pts = problem.demand_points[pairs]
        d_lo, seg_total = pts[:, 0], pts[:, -1] - pts[:, 0]
        cap = room_above_top(problem)[pairs]
    rhs = problem.current_inventory[pairs] - d_lo
    x_out = problem.max_transfer_out[pairs]
    h = problem.holding_cost[pg]
    pen = problem.stockout_penalty[pg]
    dist = problem.distribution_cost[problem.pair_store[pairs]]
    mc = problem.manufacturing_cost[pg]
    alloc_cheaper = mc + dist <= pen

    q = np.arange(n)
    g_idx = np.flatnonzero(gen)
    c3_of = np.full(k, -1, dtype=np.int64)
    c3_of[g_idx] = n + np.arange(g_idx.size)
    qs, qg = q[~gen_pair], q[gen_pair]
    # columns: simple deficit (1 per simple pair), general stockout, general allocate, m
    kind = np.concatenate(
        [
            np.where(alloc_cheaper[qs], ALLOCATE, STOCKOUT),
            np.full(qg.size, STOCKOUT),
            np.full(qg.size, ALLOCATE),
            np.full(g_idx.size, MANUFACTURE),
        ]
    ).astype(np.int8)
    ref = np.concatenate([qs, qg, qg, g_idx])
    cost = np.concatenate(
        [
            np.where(alloc_cheaper[qs], mc[qs] + dist[qs], pen[qs]) + h[qs],
            pen[qg] + h[qg],
            dist[qg] + h[qg],
            problem.manufacturing_cost[products[g_idx]],
        ]
    )
    upper = np.concatenate([np.full(n + qg.size, np.inf), problem.max_production[products[g_idx]]])
    n_pair_cols = n + qg.size
    counts = np.concatenate(
        [np.ones(n_pair_cols - qg.size), np.full(qg.size, 2), np.ones(g_idx.size)]
    )
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    index = np.empty(int(starts[-1]), dtype=np.int32)
    value = np.empty(int(starts[-1]))
    n1 = n  # columns with one entry in C1 (simple + general stockout)
    index[:n1] = np.concatenate([qs, qg])
    value[:n1] = -1.0
    index[n1 : n1 + 2 * qg.size : 2] = qg
    index[n1 + 1 : n1 + 2 * qg.size : 2] = c3_of[prod[qg]]
    value[n1 : n1 + 2 * qg.size : 2] = -1.0
    value[n1 + 1 : n1 + 2 * qg.size : 2] = 1.0
    index[n1 + 2 * qg.size :] = c3_of[g_idx]
    value[n1 + 2 * qg.size :] = -1.0

    n_before_seg = kind.size
    if pts is not None and pts.shape[1] > 1:
        slopes = (0.0 if phase1 else 1.0) * (segment_slopes(pts.shape[1], h, pen) - h[:, None])
        width = np.diff(pts, axis=1)
        sq, sk = np.nonzero(width > 0)
        cost = np.concatenate([cost, slopes[sq, sk]])
        kind = np.concatenate([kind, np.full(sq.size, SEGMENT, dtype=np.int8)])
        ref = np.concatenate([ref, sq])
        upper = np.concatenate([upper, width[sq, sk]])
        starts = np.concatenate([starts, starts[-1] + 1 + np.arange(sq.size)]).astype(np.int32)
        index = np.concatenate([index, sq]).astype(np.int32)
        value = np.concatenate([value, np.ones(sq.size)])
        # crash: segments wholly below the current stock are full (nonbasic at upper)
        seg_full = pts[sq, sk + 1] <= problem.current_inventory[pairs][sq]
    else:
        seg_full = np.zeros(0, dtype=bool)
    forced = rhs - seg_total > cap
    if phase1:
        qf = np.flatnonzero(forced)
        cost = np.concatenate([np.zeros(kind.size), np.ones(qf.size)])
        kind = np.concatenate([kind, np.full(qf.size, DISPOSAL, dtype=np.int8)])
        ref = np.concatenate([ref, qf])
        upper = np.concatenate([upper, np.full(qf.size, np.inf)])
        starts = np.concatenate([starts, starts[-1] + 1 + np.arange(qf.size)]).astype(np.int32)
        index = np.concatenate([index, qf]).astype(np.int32)
        value = np.concatenate([value, np.ones(qf.size)])
        h = np.zeros(n)

    # C2 rows (out <= max(0, inv - ss)) for every store holding stock, even when its limit is
    # 0: the matrix then does not change with the safety stock (warm starts); routes are
    # priced only out of stores whose limit is positive (``sender``)
    upfront = problem.current_inventory[pairs] > 0
    c2_row = np.full(n, -1, dtype=np.int64)
    n_up = int(upfront.sum())
    c2_row[upfront] = n + g_idx.size + np.arange(n_up)
    n_rows = n + g_idx.size + n_up

    lp = highspy.HighsLp()
    lp.num_col_ = kind.size
    lp.num_row_ = n_rows
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(kind.size)
    lp.col_upper_ = upper
    lp.row_lower_ = np.concatenate([rhs - cap, np.zeros(g_idx.size), np.full(n_up, -np.inf)])
    lp.row_upper_ = np.concatenate([rhs, np.zeros(g_idx.size), x_out[upfront]])
    lp.offset_ = float(np.dot(h, rhs))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value
    digest = layout_digest(starts, index, value, n_rows)

    # crash basis: the optimal plan without transfers
    deficit = rhs < 0
    kref, kk = ref[:n_pair_cols], kind[:n_pair_cols]
    cheaper = np.where(kk == ALLOCATE, alloc_cheaper[kref], ~alloc_cheaper[kref])
    is_basic = np.ones(kind.size, dtype=bool)  # manufacture (and disposal in phase 1)
    is_basic[:n_pair_cols] = deficit[kref] & (cheaper | ~gen_pair[kref])
    is_basic[kind == SEGMENT] = False
    col = np.full(kind.size, _B.kLower, dtype=object)
    col[is_basic] = _B.kBasic
    col[n_before_seg : n_before_seg + seg_full.size][seg_full] = _B.kUpper
    row = np.full(n_rows, _B.kBasic, dtype=object)
    row[:n][deficit] = _B.kUpper
    if phase1:
        row[:n][forced] = _B.kLower
    row[n : n + g_idx.size] = _B.kLower
    basis = highspy.HighsBasis()
    basis.col_status = col.tolist()
    basis.row_status = row.tolist()
    basis.valid = True
    # its duals (HiGHS convention: reduced cost = cost - A^T y), to price before the 1st solve
    duals = np.zeros(n_rows)
    m_cols = np.flatnonzero(kind == MANUFACTURE)
    duals[c3_of[ref[m_cols]]] = -cost[m_cols]
    b = np.flatnonzero(is_basic & (kind != MANUFACTURE))
    y3 = np.where(gen_pair[ref[b]] & (kind[b] == ALLOCATE), duals[c3_of[prod[ref[b]]]], 0.0)
    duals[ref[b]] = np.where(kind[b] == DISPOSAL, cost[b], y3 - cost[b])

    model = BlockLP(
        pairs=pairs,
        products=products,
        segments=segments,
        rhs=rhs,
        x_out=x_out,
        col_kind=kind,
        col_ref=ref,
        general=gen,
        c2_row=c2_row,
        n_rows=n_rows,
        offset=float(lp.offset_),
        crash_duals=duals,
        matrix_digest=digest,
    )
    return model, lp, basis


def route_columns(
    model: BlockLP, i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC pieces (starts, index, value) of transfer columns i -> j (local pair indices)."""
    has_c2 = model.c2_row[i] >= 0
    counts = np.where(has_c2, 3, 2)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    index = np.empty(int(counts.sum()), dtype=np.int32)
    value = np.empty(index.size)
    index[starts] = lo
    index[starts + 1] = hi
    value[starts] = np.where(lo == i, 1.0, -1.0)
    value[starts + 1] = -value[starts]
    third = starts[has_c2] + 2
    index[third] = model.c2_row[i[has_c2]]
    value[third] = 1.0
    return starts, index, value
