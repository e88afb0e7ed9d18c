"""Exact reduced-cost pricing of transfer routes (column generation).

With ``y1`` the duals of C1 (inventory balance, one per store-product pair) and ``y2 <= 0``
those of C2 (ship-out limit, senders only), the reduced cost of ``transfer[i, j, p]`` is

    rc[i, j] = cost[i, j] - (y1[i] + y2[i]) + y1[j] = cost[i, j] - alpha[i] + beta[j].

A route whose reduced cost is >= -tol everywhere cannot improve the restricted LP's optimum,
so when no route of a product prices negative the restricted optimum is the full optimum (LP
duality). Every route between two stores carrying the product is priced, every round, in one
numpy expression per product (or per group of small products); nothing is pruned, so the
proof holds for any costs, metric or not. Routes from a store with ``max(0, inv - ss) = 0``
are not priced: C2 fixes their flow to 0, so they are provably useless. A float32 screening
pass may pick the columns of a round, but the round that ends the loop is always float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rama.problem.transport import TransportCosts

CACHE_BYTES = 512 * 2**20  # cache a product's sender x store cost block up to this size
CHUNK_ENTRIES = 1_000_000  # reduced costs are computed this many routes at a time
SCREEN_TOL = 1e-5  # $/unit; float32 screening threshold, far above float32 rounding


@dataclass
class Candidates:
    """New columns: block-local pair indices of sender ``i`` and receiver ``j``, and cost."""

    i: np.ndarray
    j: np.ndarray
    cost: np.ndarray
    min_reduced_cost: float
    exact: bool = True  # False: screened in float32, an empty result proves nothing

    @classmethod
    def empty(cls) -> Candidates:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, np.zeros(0), np.inf)


def _merge(parts: list[Candidates]) -> Candidates:
    exact = all(p.exact for p in parts)
    parts = [p for p in parts if p.i.size or np.isfinite(p.min_reduced_cost)]
    if not parts:
        out = Candidates.empty()
        out.exact = exact
        return out
    return Candidates(
        np.concatenate([p.i for p in parts]),
        np.concatenate([p.j for p in parts]),
        np.concatenate([p.cost for p in parts]),
        min(p.min_reduced_cost for p in parts),
        exact,
    )


class RouteListPricer:
    """All routes of a group of small products as flat arrays; priced in one expression."""

    def __init__(
        self,
        transport: TransportCosts,
        store: np.ndarray,
        spans: list[tuple[int, int]],
        sender: np.ndarray,
        zero_cost: bool = False,
    ) -> None:
        ii, jj, cc = [], [], []
        for a, b in spans:
            s = a + np.flatnonzero(sender[a:b])
            if s.size == 0 or b - a < 2:
                continue
            block = transport.block(store[s], store[a:b])
            r, c = np.nonzero(np.isfinite(block))
            ii.append(s[r])
            jj.append(a + c)
            cc.append(block[r, c])
        if ii:
            self.i = np.concatenate(ii).astype(np.int64)
            self.j = np.concatenate(jj).astype(np.int64)
            self.cost = np.concatenate(cc)
            if zero_cost:  # feasibility LP: every route costs 0
                self.cost = np.zeros_like(self.cost)
        else:
            self.i = self.j = np.zeros(0, dtype=np.int64)
            self.cost = np.zeros(0)
        # sender groups (routes are sorted by sender) and a receiver-sorted view
        self.row_start = (
            np.flatnonzero(np.r_[True, self.i[1:] != self.i[:-1]]) if self.i.size else self.i
        )
        self.col_perm = np.argsort(self.j, kind="stable")
        js = self.j[self.col_perm]
        self.col_start = np.flatnonzero(np.r_[True, js[1:] != js[:-1]]) if js.size else js
        self.row_id = np.repeat(
            np.arange(self.row_start.size), np.diff(np.r_[self.row_start, self.i.size])
        )
        self.col_id = np.repeat(
            np.arange(self.col_start.size), np.diff(np.r_[self.col_start, js.size])
        )

    @property
    def n_routes(self) -> int:
        return int(self.i.size)

    def price(
        self, alpha: np.ndarray, beta: np.ndarray, tol: float, screen: bool = False
    ) -> Candidates:
        """Per sender and per receiver, its most negative route (if below -tol)."""
        if self.i.size == 0:
            return Candidates.empty()
        rc = self.cost - alpha[self.i] + beta[self.j]
        min_rc = float(rc.min())
        if min_rc >= -tol:
            return Candidates(self.i[:0], self.j[:0], self.cost[:0], min_rc)
        rowmin = np.minimum.reduceat(rc, self.row_start)
        rcc = rc[self.col_perm]
        colmin = np.minimum.reduceat(rcc, self.col_start)
        pick = np.zeros(rc.size, dtype=bool)
        pick |= (rc <= rowmin[self.row_id]) & (rc < -tol)
        pick[self.col_perm[(rcc <= colmin[self.col_id]) & (rcc < -tol)]] = True
        k = np.flatnonzero(pick)
        return Candidates(self.i[k], self.j[k], self.cost[k], min_rc)


class DensePricer:
    """One product's sender x store routes, priced as dense blocks.

    Two passes per round, each a contiguous ``argmin(axis=1)``: senders x stores for each
    sender's best route, stores x senders for each receiver's best. The two cost blocks are
    cached in the transport matrix's dtype (float32 for the 10x network) when they fit in
    CACHE_BYTES. With float32 blocks the screening rounds also compute in float32.
    """

    def __init__(
        self,
        transport: TransportCosts,
        store: np.ndarray,
        a: int,
        b: int,
        sender: np.ndarray,
        zero_cost: bool = False,
    ) -> None:
        self.transport = transport
        self.zero_cost = zero_cost
        self.a, self.b = a, b
        self.s = a + np.flatnonzero(sender[a:b])
        self.store_s = store[self.s]
        self.store_all = store[a:b]
        self.n_routes = int(self.s.size * (b - a))
        self.rows: np.ndarray | None = None  # senders x stores
        self.cols: np.ndarray | None = None  # stores x senders
        if 2 * self.n_routes * transport.dtype.itemsize <= CACHE_BYTES:
            self.rows = self._rows(0, self.s.size)
            self.cols = np.ascontiguousarray(self.rows.T)

    def _zero(self, c: np.ndarray) -> np.ndarray:
        return np.where(np.isfinite(c), 0.0, np.inf).astype(c.dtype) if self.zero_cost else c

    def _rows(self, r0: int, r1: int) -> np.ndarray:
        if self.rows is not None:
            return self.rows[r0:r1]
        return self._zero(self.transport.block(self.store_s[r0:r1], self.store_all, True))

    def _cols(self, c0: int, c1: int) -> np.ndarray:
        if self.cols is not None:
            return self.cols[c0:c1]
        block = self.transport.block(self.store_s, self.store_all[c0:c1], True)
        return self._zero(np.ascontiguousarray(block.T))

    def price(
        self, alpha: np.ndarray, beta: np.ndarray, tol: float, screen: bool = False
    ) -> Candidates:
        """Per sender and per receiver, its most negative route (if below -tol).

        With ``screen`` and a float32 cache, reduced costs are computed in float32 against
        -SCREEN_TOL (half the memory traffic); such a result is not ``exact``.
        """
        n, ns = self.b - self.a, self.s.size
        if ns == 0 or n < 2:
            return Candidates.empty()
        f32 = screen and self.rows is not None and self.rows.dtype == np.float32
        dtype = np.float32 if f32 else np.float64
        tol = SCREEN_TOL if f32 else tol
        a_s = alpha[self.s].astype(dtype)
        b_loc = beta[self.a : self.b].astype(dtype)
        rows, cols = [], []
        min_rc = np.inf
        step = max(1, CHUNK_ENTRIES // n)
        for r0 in range(0, ns, step):
            r1 = min(r0 + step, ns)
            rc = np.subtract(self._rows(r0, r1), a_s[r0:r1, None], dtype=dtype)
            rc += b_loc[None, :]
            arg = rc.argmin(axis=1)
            best = rc[np.arange(r1 - r0), arg]
            min_rc = min(min_rc, float(best.min()))
            neg = np.flatnonzero(best < -tol)
            rows.append(r0 + neg)
            cols.append(arg[neg])
        step = max(1, CHUNK_ENTRIES // ns)
        for c0 in range(0, n, step):
            c1 = min(c0 + step, n)
            rc = np.subtract(self._cols(c0, c1), a_s[None, :], dtype=dtype)
            rc += b_loc[c0:c1, None]
            arg = rc.argmin(axis=1)
            neg = np.flatnonzero(rc[np.arange(c1 - c0), arg] < -tol)
            rows.append(arg[neg])
            cols.append(c0 + neg)
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        if r.size:
            _, first = np.unique(r * n + c, return_index=True)
            r, c = r[first], c[first]
        if self.rows is not None:
            cost = self.rows[r, c].astype(np.float64)
        elif self.zero_cost:
            cost = np.zeros(r.size)
        else:
            cost = self.transport.pairs(self.store_s[r], self.store_all[c])
        return Candidates(self.s[r], self.a + c, cost, min_rc, exact=not f32)


Pricer = RouteListPricer | DensePricer


def price_all(
    pricers: list[Pricer], alpha: np.ndarray, beta: np.ndarray, tol: float, screen: bool = False
) -> Candidates:
    """Price every route of every product in a block (``screen``: see DensePricer)."""
    return _merge([p.price(alpha, beta, tol, screen) for p in pricers])
