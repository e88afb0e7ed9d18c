"""City hubs: an exact, compact form of the transfer routes when costs depend on cities only.

When every route ``i -> j`` costs ``C[city(i), city(j)]`` (:class:`CityCosts`, verified on
the whole matrix), a block's LP needs no store-to-store columns. Per product and city it gets
a sender hub row ``H[p, a]`` and a receiver hub row ``G[p, b]``, and columns

    out[i]     store i ships out:  C1(i) +1, C2(i) +1, H[p, city(i)] -1     cost 0
    in[j]      store j receives:   C1(j) -1, G[p, city(j)] +1                cost 0
    f[p, a, b] hub to hub:         H[p, a] +1, G[p, b] -1                    cost C[a, b]

(rows ``H = sum_b f - sum_i out = 0`` and ``G = sum_j in - sum_a f = 0``). Every transfer
plan maps to hub flows of the same cost, and every hub solution decomposes into transfers
(:func:`hub_transfers`) of the same cost, except a unit a store would ship to itself through
``f[p, a, a]``, which is dropped: C1 is unchanged, C2 loosens and the cost falls by
``C[a, a] >= 0``. So both LPs have the same optimum. With ~13 cities per product a product
of ``n`` stores needs about ``2n + 13^2`` columns instead of up to ``n^2`` routes. The
optimality proof is unchanged: the store rows' duals still price every route (pricing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from rama.optimize.lp_model import BlockLP
from rama.problem.model import Problem
from rama.problem.transport import CityCosts


@dataclass
class HubColumns:
    """The hub rows and columns of one block (local pair indices), in column order."""

    out_pair: np.ndarray  # per out column (sorted by sender hub)
    out_hub: np.ndarray  # sender hub of each out column
    in_pair: np.ndarray  # per in column (sorted by receiver hub)
    in_hub: np.ndarray  # receiver hub of each in column
    arc_h: np.ndarray  # sender hub of each hub arc (sorted)
    arc_g: np.ndarray  # receiver hub of each hub arc
    arc_cost: np.ndarray  # $/unit
    arc_self: np.ndarray  # the arc stays within one city
    n_h: int
    n_g: int

    @property
    def n_cols(self) -> int:
        return int(self.out_pair.size + self.in_pair.size + self.arc_h.size)


def hub_columns(
    problem: Problem, model: BlockLP, cities: CityCosts, zero_cost: bool = False
) -> HubColumns | None:
    """The block's hub rows and columns (None when no store of the block may ship)."""
    nc = cities.n_cities
    prod = model.pair_product
    city = cities.store_city[problem.pair_store[model.pairs]]
    key = prod * nc + city
    holder = model.holder  # every pair with a C2 row (its limit may be 0) gets an out column
    h_keys = np.unique(key[holder])
    if h_keys.size == 0:
        return None
    h_prod = h_keys // nc
    has_hub = np.isin(prod, h_prod)
    g_keys = np.unique(key[has_hub])
    g_prod = g_keys // nc
    # pairs per (product, city): a city with one store of the product cannot ship within itself
    g_count = np.bincount(np.searchsorted(g_keys, key[has_hub]), minlength=g_keys.size)

    g_lo = np.searchsorted(g_prod, h_prod, side="left")
    g_hi = np.searchsorted(g_prod, h_prod, side="right")
    reps = g_hi - g_lo
    arc_h = np.repeat(np.arange(h_keys.size), reps)
    offs = np.arange(arc_h.size) - np.repeat(np.cumsum(reps) - reps, reps)
    arc_g = g_lo[arc_h] + offs
    a_city, b_city = h_keys[arc_h] % nc, g_keys[arc_g] % nc
    cost = cities.cost[a_city, b_city]
    keep = np.isfinite(cost) & ((a_city != b_city) | (g_count[arc_g] >= 2))
    arc_h, arc_g, cost = arc_h[keep], arc_g[keep], cost[keep]
    if arc_h.size == 0:
        return None
    if zero_cost:
        cost = np.zeros_like(cost)

    holders = np.flatnonzero(holder)
    out_hub = np.searchsorted(h_keys, key[holders])
    o = np.argsort(out_hub, kind="stable")
    receivers = np.flatnonzero(has_hub)
    in_hub = np.searchsorted(g_keys, key[receivers])
    r = np.argsort(in_hub, kind="stable")
    return HubColumns(
        out_pair=holders[o],
        out_hub=out_hub[o],
        in_pair=receivers[r],
        in_hub=in_hub[r],
        arc_h=arc_h,
        arc_g=arc_g,
        arc_cost=cost,
        arc_self=a_city[keep] == b_city[keep],
        n_h=int(h_keys.size),
        n_g=int(g_keys.size),
    )


def add_hub_columns(h: highspy.Highs, model: BlockLP, hub: HubColumns) -> BlockLP:
    """Append the hub rows (= 0) and columns (>= 0) to the LP in ``h`` (which holds
    ``model``'s LP); returns the model with their rows and columns in its layout."""
    n_out, n_in, n_arc = hub.out_pair.size, hub.in_pair.size, hub.arc_h.size
    model = model.with_hubs(hub.n_h, hub.n_g, n_out, n_in, n_arc)
    rows = model.rows
    assert h.getNumRow() == rows.hub_h.start and h.getNumCol() == model.cols.hub_out.start
    n_rows = hub.n_h + hub.n_g
    zeros = np.zeros(n_rows)
    h.addRows(n_rows, zeros, zeros, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
    h_row = np.arange(rows.hub_h.start, rows.hub_h.stop)
    g_row = np.arange(rows.hub_g.start, rows.hub_g.stop)
    c1 = rows.c1.start
    out_idx = np.stack(
        [c1 + hub.out_pair, model.c2_row[hub.out_pair], h_row[hub.out_hub]], axis=1
    ).ravel()
    out_val = np.tile([1.0, 1.0, -1.0], n_out)
    in_idx = np.stack([c1 + hub.in_pair, g_row[hub.in_hub]], axis=1).ravel()
    in_val = np.tile([-1.0, 1.0], n_in)
    arc_idx = np.stack([h_row[hub.arc_h], g_row[hub.arc_g]], axis=1).ravel()
    arc_val = np.tile([1.0, -1.0], n_arc)
    counts = np.concatenate([np.full(n_out, 3), np.full(n_in + n_arc, 2)])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    index = np.concatenate([out_idx, in_idx, arc_idx]).astype(np.int32)
    value = np.concatenate([out_val, in_val, arc_val])
    cost = np.concatenate([np.zeros(n_out + n_in), hub.arc_cost])
    upper = np.full(hub.n_cols, np.inf)  # C2 bounds out[i]: its dual must carry that bound
    h.addCols(hub.n_cols, cost, np.zeros(hub.n_cols), upper, index.size, starts, index, value)
    return model


def nw_match(
    gx: np.ndarray, x: np.ndarray, gy: np.ndarray, y: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split amounts ``x`` against amounts ``y`` within each group (north-west corner rule).

    ``gx`` and ``gy`` are sorted group labels; each group's ``y`` is scaled to the group's
    ``x`` total (solver noise). Returns ``(ix, iy, q)``: ``x[ix]`` sends ``q`` to ``y[iy]``,
    at most ``len(x) + len(y)`` pieces; per index the pieces sum to ``x`` (and scaled ``y``).
    """
    x, y = np.maximum(x, 0.0), np.maximum(y, 0.0)
    if x.size == 0 or y.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    tx = np.bincount(gx, weights=x, minlength=n_groups)
    ty = np.bincount(gy, weights=y, minlength=n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ty > 0, tx / ty, 0.0)
    cx, cy = np.cumsum(x), np.cumsum(y * ratio[gy])
    cuts = np.unique(np.concatenate([[0.0], cx, cy]))
    length = np.diff(cuts)
    mid = cuts[:-1] + 0.5 * length
    ix = np.minimum(np.searchsorted(cx, mid, side="right"), x.size - 1)
    iy = np.minimum(np.searchsorted(cy, mid, side="right"), y.size - 1)
    eps = 64 * np.spacing(max(float(cx[-1]), float(cy[-1]), 1.0))
    keep = (length > eps) & (gx[ix] == gy[iy])
    return ix[keep], iy[keep], length[keep]


def hub_transfers(
    hub: HubColumns, out_q: np.ndarray, in_q: np.ndarray, arc_q: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Store-to-store transfers ``(i, j, quantity, unit cost)`` (local pairs) of a hub solution.

    ``out_q``, ``in_q`` and ``arc_q`` are the values of the ``out``, ``in`` and hub-to-hub
    columns (the LP's ``cols.hub_out``, ``cols.hub_in``, ``cols.hub_arc``). Each sender hub's
    outflows are split over its arcs, then each receiver hub's arriving pieces over its
    receivers; units a store would send itself are dropped (module doc).
    """
    o, a, q1 = nw_match(hub.out_hub, out_q, hub.arc_h, arc_q, hub.n_h)
    piece_g = hub.arc_g[a]
    order = np.argsort(piece_g, kind="stable")
    o, a, q1, piece_g = o[order], a[order], q1[order], piece_g[order]
    p, r, q = nw_match(piece_g, q1, hub.in_hub, in_q, hub.n_g)
    i, j = hub.out_pair[o[p]], hub.in_pair[r]
    cost = hub.arc_cost[a[p]]
    keep = i != j
    return i[keep], j[keep], q[keep], cost[keep]


def _top_two(
    group: np.ndarray, value: np.ndarray, item: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group: the largest and the second largest ``value`` (-inf when absent), the item
    of the largest (-1 when none), and the group's size."""
    first = np.full(n_groups, -np.inf)
    second = np.full(n_groups, -np.inf)
    first_item = np.full(n_groups, -1, dtype=np.int64)
    count = np.bincount(group, minlength=n_groups)
    if group.size:
        order = np.lexsort((-value, group))
        g, v, it = group[order], value[order], item[order]
        head = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
        first[g[head]], first_item[g[head]] = v[head], it[head]
        nxt = head + 1
        nxt = nxt[nxt < g.size]
        nxt = nxt[g[nxt] == g[nxt - 1]]
        second[g[nxt]] = v[nxt]
    return first, second, first_item, count


def hub_min_reduced_cost(
    hub: HubColumns, sender: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> tuple[float, int]:
    """The least reduced cost over every store-to-store route of the block, and their number.

    A route ``i -> j`` of a product costs its cities' ``C[a, b]``, so over the routes from
    sender hub ``H[p, a]`` to receiver hub ``G[p, b]`` the least ``C - alpha_i + beta_j`` is
    ``C - max alpha + min beta``, unless both extremes are the same store (``a = b``), when
    the second best of one side is taken. Computed with the same float64 operations as
    pricing each route, so it equals the minimum of :mod:`rama.optimize.pricing` over them.
    Only pairs that may ship (``sender``: C2 limit > 0) are route origins.
    """
    ship = sender[hub.out_pair]
    a1, a2, ai, n_send = _top_two(
        hub.out_hub[ship], alpha[hub.out_pair[ship]], hub.out_pair[ship], hub.n_h
    )
    nb1, nb2, bi, n_recv = _top_two(hub.in_hub, -beta[hub.in_pair], hub.in_pair, hub.n_g)
    b1, b2 = -nb1, -nb2
    h, g, c = hub.arc_h, hub.arc_g, hub.arc_cost
    same = (ai[h] == bi[g]) & (ai[h] >= 0)
    with np.errstate(invalid="ignore"):
        rc = np.where(
            same,
            np.minimum((c - a1[h]) + b2[g], (c - a2[h]) + b1[g]),
            (c - a1[h]) + b1[g],
        )
    rc = rc[(n_send[h] > 0) & np.isfinite(rc)]
    # routes: senders x receivers of each arc, less each sender to itself within its city
    n_routes = int((n_send[h] * n_recv[g] - np.where(hub.arc_self, n_send[h], 0)).sum())
    return (float(rc.min()) if rc.size else np.inf), n_routes
