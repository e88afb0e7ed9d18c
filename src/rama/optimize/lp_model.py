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
- When C4 provably cannot bind (``max_production >= sum_s max(0, demand - inv + X)``, with
  ``X = max(0, inv - ss)``, over the stores whose cheaper deficit cover is allocation; at an
  optimum with ``e * a = 0`` no store is allocated more than that), C3/C4 and ``m`` are
  dropped and each store keeps one deficit column, the cheaper of allocation (``mc + dist``)
  and stockout (``pen``); ``m = sum a``.
  Otherwise ("general" products) the store keeps both and the product keeps C3 and ``m``.
- A store with ``max(0, inv - ss) = 0`` gets no transfer columns out (C2 fixes its outflow
  to 0); it keeps its C2 row (limit 0) when it holds stock, so that the constraint matrix
  does not depend on the safety stock (warm starts, :mod:`rama.optimize.warm`).

Stochastic problems (``problem.demand_points``, :mod:`rama.problem.stochastic`): the row
is written for the lowest point ``d_1`` instead of ``demand``, ``L = -in + out - a - u +
sum_k w_k`` with one column ``w_k`` per inner segment (``0 <= w_k <= d_k+1 - d_k``, cost
``slope_k - h``), and the slack ``e = inv - d_1 - L`` (stock above ``d_K``) is bounded by
``cap + demand - d_K``. K = 1 is exactly the deterministic row.

The crash basis is the optimal no-transfer plan (surplus kept, deficits covered by the cheaper
source), so the first solve takes no iterations and pricing starts from meaningful duals.

Layout: :class:`BlockLP` owns the LP's row and column order. ``model.rows`` (:class:`Rows`:
``c1``, ``c3``, ``c2``, then the hub rows ``hub_h``, ``hub_g``) and ``model.cols``
(:class:`Cols`: ``deficit``, ``stockout``, ``allocate``, ``manufacture``, ``segment``,
``disposal``, then ``hub_out``, ``hub_in``, ``hub_arc`` and ``routes``) are slices; every
other module finds rows and columns through them, never by adding up sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import highspy
import numpy as np

from rama.optimize.warm import layout_digest
from rama.problem.model import Problem
from rama.problem.stochastic import segment_slopes

STOCKOUT, ALLOCATE, MANUFACTURE, DISPOSAL, SEGMENT = 0, 1, 2, 3, 4
_B = highspy.HighsBasisStatus


def _consecutive(**sizes: int) -> dict[str, slice]:
    """Consecutive slices of the given sizes, in order, starting at 0."""
    out, at = {}, 0
    for name, size in sizes.items():
        out[name] = slice(at, at + size)
        at += size
    return out


@dataclass(frozen=True)
class Rows:
    """Where each kind of row sits in a block's LP (HiGHS row positions), in row order.

    ``c1`` (inventory balance, one per local pair, in pair order), ``c3`` (allocation balance,
    one per general product), ``c2`` (ship-out limit, one per pair holding stock: ``c2_row``
    maps a pair to its row), then the hub rows that :meth:`BlockLP.with_hubs` appends:
    ``hub_h`` (``H[p, a]``) and ``hub_g`` (``G[p, b]``).
    """

    c1: slice
    c3: slice
    c2: slice
    hub_h: slice
    hub_g: slice

    @classmethod
    def of(cls, n_c1: int, n_c3: int, n_c2: int) -> Rows:
        """The rows of a block LP as built (no hub rows yet)."""
        return cls(**_consecutive(c1=n_c1, c3=n_c3, c2=n_c2, hub_h=0, hub_g=0))

    @property
    def count(self) -> int:
        return int(self.hub_g.stop)


@dataclass(frozen=True)
class Cols:
    """Where each kind of column sits in a block's LP (HiGHS column positions), in order.

    Base columns (``col_kind`` / ``col_ref`` describe each): ``deficit`` (one per simple pair:
    the cheaper of allocation and stockout), ``stockout`` and ``allocate`` (one each per pair
    of a general product), ``manufacture`` (one per general product), ``segment`` (stochastic
    plans: one per inner demand segment), ``disposal`` (feasibility LP only); then the hub
    columns of :meth:`BlockLP.with_hubs` (``hub_out``, ``hub_in``, ``hub_arc``); route columns
    (store-to-store transfers) are appended from ``routes.start`` on during column generation.
    """

    deficit: slice
    stockout: slice
    allocate: slice
    manufacture: slice
    segment: slice
    disposal: slice
    hub_out: slice
    hub_in: slice
    hub_arc: slice

    @classmethod
    def of(
        cls, n_deficit: int, n_general: int, n_manufacture: int, n_segment: int, n_disposal: int
    ) -> Cols:
        """The columns of a block LP as built (no hub or route columns yet)."""
        return cls(
            **_consecutive(
                deficit=n_deficit,
                stockout=n_general,
                allocate=n_general,
                manufacture=n_manufacture,
                segment=n_segment,
                disposal=n_disposal,
                hub_out=0,
                hub_in=0,
                hub_arc=0,
            )
        )

    @property
    def per_pair(self) -> slice:
        """The deficit, stockout and allocate columns (one store-product pair each)."""
        return slice(self.deficit.start, self.allocate.stop)

    @property
    def base(self) -> slice:
        """Every column built by :func:`build_block_lp` (``col_kind`` covers these)."""
        return slice(self.deficit.start, self.disposal.stop)

    @property
    def hub(self) -> slice:
        return slice(self.hub_out.start, self.hub_arc.stop)

    @property
    def routes(self) -> slice:
        """Route columns, in the order column generation added them."""
        return slice(self.hub_arc.stop, None)


@dataclass
class BlockLP:
    """Index bookkeeping of one block's LP (local pair indices 0..n-1).

    ``rows`` and ``cols`` name every row and column range: code finds a row or a column by
    name (``model.rows.c2``, ``model.cols.allocate``), never by adding up sizes.
    """

    pairs: np.ndarray  # global pair positions
    products: np.ndarray  # global product positions
    spans: list[tuple[int, int]]  # local pair range [a, b) of each product
    rhs: np.ndarray  # inv - demand (units; inv - lowest demand point when stochastic)
    max_transfer_out: np.ndarray  # C2 limit max(0, inv - ss) (units)
    col_kind: np.ndarray  # STOCKOUT / ALLOCATE / MANUFACTURE / SEGMENT / DISPOSAL per base column
    col_ref: np.ndarray  # local pair (or local product for MANUFACTURE) per base column
    general: np.ndarray  # per local product: C3/C4 kept
    c2_row: np.ndarray  # per local pair: LP row of its C2 (or -1)
    rows: Rows
    cols: Cols
    offset: float
    crash_duals: np.ndarray  # row duals of the crash basis
    matrix_digest: bytes = b""  # digest of the constraint matrix (rama.optimize.warm)

    @property
    def n(self) -> int:
        return int(self.pairs.size)

    @property
    def pair_product(self) -> np.ndarray:
        """Local product (0..k-1) of each local pair."""
        return np.repeat(np.arange(len(self.spans)), [b - a for a, b in self.spans])

    @property
    def sender(self) -> np.ndarray:
        """Pairs that may ship (C2 limit > 0): the only route origins priced."""
        return self.max_transfer_out > 0

    @property
    def holder(self) -> np.ndarray:
        """Pairs with a C2 row (they hold stock; the limit may be 0)."""
        return self.c2_row >= 0

    def with_hubs(self, n_h: int, n_g: int, n_out: int, n_in: int, n_arc: int) -> BlockLP:
        """The same LP with hub rows (``n_h`` sender hubs ``H``, ``n_g`` receiver hubs ``G``)
        and hub columns (``out``, ``in``, hub-to-hub arcs) appended (:mod:`rama.optimize.hubs`)."""
        r, c = self.rows, self.cols
        hub_h = slice(r.c2.stop, r.c2.stop + n_h)
        rows = replace(r, hub_h=hub_h, hub_g=slice(hub_h.stop, hub_h.stop + n_g))
        out = slice(c.disposal.stop, c.disposal.stop + n_out)
        hub_in = slice(out.stop, out.stop + n_in)
        arc = slice(hub_in.stop, hub_in.stop + n_arc)
        return replace(self, rows=rows, cols=replace(c, hub_out=out, hub_in=hub_in, hub_arc=arc))


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


@dataclass(frozen=True, eq=False)
class BlockArrays:
    """A block LP's data as arrays (columnwise matrix), handed to HiGHS in one call.

    ``Highs.passModel`` with arrays takes numpy buffers as they are; a ``HighsLp`` built
    attribute by attribute converts each array element by element (at 10x, ~5 ms more per
    stochastic block of 20,000 columns). The values are the same either way."""

    col_cost: np.ndarray  # $/unit
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray  # int32, one per column plus the end
    a_index: np.ndarray  # int32 row of each entry
    a_value: np.ndarray
    offset_: float  # $: the objective's constant

    @property
    def num_col_(self) -> int:
        return int(self.col_cost.size)

    @property
    def num_row_(self) -> int:
        return int(self.row_lower.size)

    def pass_to(self, h: highspy.Highs) -> None:
        """Load the LP into ``h`` (minimize; every column continuous)."""
        status = h.passModel(
            self.num_col_,
            self.num_row_,
            int(self.a_index.size),
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            self.offset_,
            np.ascontiguousarray(self.col_cost, dtype=np.float64),
            np.ascontiguousarray(self.col_lower, dtype=np.float64),
            np.ascontiguousarray(self.col_upper, dtype=np.float64),
            np.ascontiguousarray(self.row_lower, dtype=np.float64),
            np.ascontiguousarray(self.row_upper, dtype=np.float64),
            np.ascontiguousarray(self.a_start[:-1], dtype=np.int32),
            np.ascontiguousarray(self.a_index, dtype=np.int32),
            np.ascontiguousarray(self.a_value, dtype=np.float64),
            np.zeros(self.num_col_, dtype=np.int32),
        )
        if status != highspy.HighsStatus.kOk:
            raise RuntimeError(f"HiGHS refused the block LP ({status})")


def build_block_lp(
    problem: Problem,
    products: np.ndarray,
    general: np.ndarray,
    phase1: bool = False,
    subset: tuple[np.ndarray, list[tuple[int, int]]] | None = None,
) -> tuple[BlockLP, BlockArrays, highspy.HighsBasis]:
    """The block's LP (no transfer columns yet) and its no-transfer crash basis.

    ``general`` is :func:`production_may_bind` (per global product). ``phase1`` builds the
    feasibility LP used to diagnose infeasibility instead: every cost is 0 and each store
    holding more than ``cap + demand`` gets a disposal column (cost 1 per unit) that removes
    stock; its optimum is the least stock no plan can place.
    ``subset`` = (pairs, spans) restricts each product to some of its stores.
    """
    pairs, spans = subset if subset is not None else block_pairs(problem, products)
    n, k = pairs.size, products.size
    prod = np.repeat(np.arange(k), [b - a for a, b in spans])
    pg = products[prod]
    gen = general[products]
    gen_pair = gen[prod]
    cap = problem.max_capacity[pairs]
    if problem.demand_points is None:
        d_lo, seg_total = problem.demand[pairs], np.zeros(n)
        pts = None
    else:  # stochastic: row for the lowest point, slack = stock above the highest
        pts = problem.demand_points[pairs]
        d_lo, seg_total = pts[:, 0], pts[:, -1] - pts[:, 0]
        # room_above_top(problem)[pairs], on the block's pairs only (the same values)
        cap = np.maximum(cap + problem.demand[pairs] - pts[:, -1], 0.0)
    rhs = problem.current_inventory[pairs] - d_lo
    max_out = problem.max_transfer_out[pairs]
    h = problem.holding_cost[pg]
    pen = problem.stockout_penalty[pg]
    dist = problem.distribution_cost[problem.pair_store[pairs]]
    mc = problem.manufacturing_cost[pg]
    alloc_cheaper = mc + dist <= pen
    forced = rhs - seg_total > cap  # must ship stock out (C5): disposal columns in phase 1
    if pts is not None and pts.shape[1] > 1:
        width = np.diff(pts, axis=1)
        sq, sk = np.nonzero(width > 0)  # one segment column per (pair, inner segment)
        slopes = (0.0 if phase1 else 1.0) * (segment_slopes(pts.shape[1], h, pen) - h[:, None])
        # crash: segments wholly below the current stock are full (nonbasic at upper)
        seg_full = pts[sq, sk + 1] <= problem.current_inventory[pairs][sq]
    else:
        sq, sk = np.zeros(0, np.int64), np.zeros(0, np.int64)
        width, slopes, seg_full = np.zeros((n, 0)), np.zeros((n, 0)), np.zeros(0, dtype=bool)
    qf = np.flatnonzero(forced) if phase1 else np.zeros(0, np.int64)

    q = np.arange(n)
    g_idx = np.flatnonzero(gen)
    qs, qg = q[~gen_pair], q[gen_pair]
    # C2 rows (out <= max(0, inv - ss)) for every store holding stock, even when its limit is
    # 0: the matrix then does not change with the safety stock (warm starts); routes are
    # priced only out of stores whose limit is positive (``sender``)
    upfront = problem.current_inventory[pairs] > 0
    rows = Rows.of(n_c1=n, n_c3=g_idx.size, n_c2=int(upfront.sum()))
    cols = Cols.of(qs.size, qg.size, g_idx.size, sq.size, qf.size)
    c1_of = rows.c1.start + q  # C1 row of each local pair
    c3_of = np.full(k, -1, dtype=np.int64)  # C3 row of each general local product
    c3_of[g_idx] = np.arange(rows.c3.start, rows.c3.stop)
    c2_row = np.full(n, -1, dtype=np.int64)
    c2_row[upfront] = np.arange(rows.c2.start, rows.c2.stop)

    n_cols = cols.base.stop
    kind = np.empty(n_cols, dtype=np.int8)
    ref = np.empty(n_cols, dtype=np.int64)
    cost = np.empty(n_cols)
    upper = np.full(n_cols, np.inf)
    counts = np.ones(n_cols, dtype=np.int64)  # constraint entries per column
    kind[cols.deficit] = np.where(alloc_cheaper[qs], ALLOCATE, STOCKOUT)
    ref[cols.deficit] = qs
    cost[cols.deficit] = np.where(alloc_cheaper[qs], mc[qs] + dist[qs], pen[qs]) + h[qs]
    kind[cols.stockout], ref[cols.stockout] = STOCKOUT, qg
    cost[cols.stockout] = pen[qg] + h[qg]
    kind[cols.allocate], ref[cols.allocate] = ALLOCATE, qg
    cost[cols.allocate] = dist[qg] + h[qg]
    counts[cols.allocate] = 2  # C1 and C3
    kind[cols.manufacture], ref[cols.manufacture] = MANUFACTURE, g_idx
    cost[cols.manufacture] = problem.manufacturing_cost[products[g_idx]]
    upper[cols.manufacture] = problem.max_production[products[g_idx]]
    kind[cols.segment], ref[cols.segment] = SEGMENT, sq
    cost[cols.segment], upper[cols.segment] = slopes[sq, sk], width[sq, sk]
    kind[cols.disposal], ref[cols.disposal] = DISPOSAL, qf
    if phase1:  # feasibility LP: only disposal costs (1 per unit)
        cost[cols.base] = 0.0
        h = np.zeros(n)
    cost[cols.disposal] = 1.0

    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    first = starts[:-1]  # position of each column's first entry
    index = np.empty(int(starts[-1]), dtype=np.int32)
    value = np.empty(int(starts[-1]))
    for part, rows_of, sign in (
        (cols.deficit, c1_of[qs], -1.0),
        (cols.stockout, c1_of[qg], -1.0),
        (cols.allocate, c1_of[qg], -1.0),
        (cols.manufacture, c3_of[g_idx], -1.0),
        (cols.segment, c1_of[sq], 1.0),
        (cols.disposal, c1_of[qf], 1.0),
    ):
        index[first[part]], value[first[part]] = rows_of, sign
    index[first[cols.allocate] + 1], value[first[cols.allocate] + 1] = c3_of[prod[qg]], 1.0

    row_lower, row_upper = np.empty(rows.count), np.empty(rows.count)
    row_lower[rows.c1], row_upper[rows.c1] = rhs - cap, rhs
    row_lower[rows.c3], row_upper[rows.c3] = 0.0, 0.0
    row_lower[rows.c2], row_upper[rows.c2] = -np.inf, max_out[upfront]
    lp = BlockArrays(
        cost,
        np.zeros(n_cols),
        upper,
        row_lower,
        row_upper,
        starts,
        index,
        value,
        float(np.dot(h, rhs)),
    )
    digest = layout_digest(starts, index, value, rows.count)

    # crash basis: the optimal plan without transfers
    deficit = rhs < 0
    seg_basic = np.zeros(sq.size, dtype=bool)
    if sq.size and not phase1:  # stochastic: each pair at its own newsvendor level
        deficit, seg_full, seg_basic = _newsvendor_crash(
            rhs, sq, width[sq, sk], slopes[sq, sk], np.where(alloc_cheaper, mc + dist, pen) + h
        )
    kref, kk = ref[cols.per_pair], kind[cols.per_pair]
    cheaper = np.where(kk == ALLOCATE, alloc_cheaper[kref], ~alloc_cheaper[kref])
    is_basic = np.ones(n_cols, dtype=bool)  # manufacture (and disposal in phase 1)
    is_basic[cols.per_pair] = deficit[kref] & (cheaper | ~gen_pair[kref])
    is_basic[cols.segment] = seg_basic
    col = np.full(n_cols, _B.kLower, dtype=object)
    col[is_basic] = _B.kBasic
    col[cols.segment][seg_full] = _B.kUpper
    row = np.full(rows.count, _B.kBasic, dtype=object)
    row[rows.c1][deficit] = _B.kUpper
    row[rows.c1][sq[seg_basic]] = _B.kUpper
    if phase1:
        row[rows.c1][forced] = _B.kLower
    row[rows.c3] = _B.kLower
    basis = highspy.HighsBasis()
    basis.col_status = col.tolist()
    basis.row_status = row.tolist()
    basis.valid = True
    # its duals (HiGHS convention: reduced cost = cost - A^T y), to price before the 1st solve
    duals = np.zeros(rows.count)
    m_cols = np.arange(cols.manufacture.start, cols.manufacture.stop)
    duals[c3_of[ref[m_cols]]] = -cost[m_cols]
    b = np.flatnonzero(is_basic & (kind != MANUFACTURE))
    y3 = np.where(gen_pair[ref[b]] & (kind[b] == ALLOCATE), duals[c3_of[prod[ref[b]]]], 0.0)
    plus = (kind[b] == DISPOSAL) | (kind[b] == SEGMENT)  # +1 in C1: reduced cost cost - y
    duals[c1_of[ref[b]]] = np.where(plus, cost[b], y3 - cost[b])

    model = BlockLP(
        pairs=pairs,
        products=products,
        spans=spans,
        rhs=rhs,
        max_transfer_out=max_out,
        col_kind=kind,
        col_ref=ref,
        general=gen,
        c2_row=c2_row,
        rows=rows,
        cols=cols,
        offset=lp.offset_,
        crash_duals=duals,
        matrix_digest=digest,
    )
    return model, lp, basis


def _newsvendor_crash(
    rhs: np.ndarray, sq: np.ndarray, width: np.ndarray, cost: np.ndarray, deficit_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stochastic crash: each pair alone, without transfers, at its optimal stock.

    Per pair (C1 row ``sum(segments) - deficit <= rhs``, ``rhs = inv - d_1`` units) the
    segments (``sq``: pair of each, in point order; ``width`` units; ``cost`` $/unit, the
    model's ``slope_k - h``: negative, increasing within a pair) are filled for free up to
    ``rhs``, and further while a segment's cost plus ``deficit_cost`` (the cheaper of
    allocating or a stockout, $/unit) is negative: the newsvendor's critical level, at a
    breakpoint. Returns, per pair, whether the deficit column is basic (it pays: ``rhs < 0``
    or a paid segment above ``rhs``), and per segment whether it is full (at its upper bound)
    or basic (``rhs`` falls inside it, nothing paid). At most one of the deficit or one
    segment is basic per pair, else its C1 row; the rest sit at a bound, so it is a basis
    whatever the data (a start only: the simplex proves the optimum).
    """
    n = rhs.size
    paid = cost + deficit_cost[sq] < 0  # a prefix of each pair's segments (costs increase)
    n_paid = np.bincount(sq, weights=paid, minlength=n).astype(np.int64)
    paid_level = np.bincount(sq, weights=width * paid, minlength=n)
    pays = (rhs < 0) | (paid_level > rhs)
    first = np.searchsorted(sq, np.arange(n))  # first segment of each pair
    rank = np.arange(sq.size) - first[sq]  # position of a segment within its pair
    end = np.cumsum(width)
    start = end - width
    base = start[first[sq]]  # where each pair's segments start in the running sum
    lo, hi = start - base, end - base  # the segment's span above the lowest point
    r = rhs[sq]
    full = np.where(pays[sq], rank < n_paid[sq], hi <= r)
    inside = np.flatnonzero(~pays[sq] & (lo < r) & (r < hi))
    basic = np.zeros(sq.size, dtype=bool)  # one per pair: the first, should rounding of the
    basic[inside[np.unique(sq[inside], return_index=True)[1]]] = True  # spans give two
    return pays, full, basic


def route_columns(
    model: BlockLP, i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC pieces (starts, index, value) of transfer columns i -> j (local pair indices)."""
    has_c2 = model.c2_row[i] >= 0
    counts = np.where(has_c2, 3, 2)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    c1 = model.rows.c1.start
    lo, hi = c1 + np.minimum(i, j), c1 + np.maximum(i, j)  # C1 rows, ascending
    index = np.empty(int(counts.sum()), dtype=np.int32)
    value = np.empty(index.size)
    index[starts] = lo
    index[starts + 1] = hi
    value[starts] = np.where(lo == c1 + i, 1.0, -1.0)
    value[starts + 1] = -value[starts]
    third = starts[has_c2] + 2
    index[third] = model.c2_row[i[has_c2]]
    value[third] = 1.0
    return starts, index, value
