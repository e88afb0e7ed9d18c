"""Store-to-store transport costs ($/unit for the period), dense or sparse.

A route is an ordered pair of distinct stores with a finite cost. Two storage forms:

- ``dense``: an ``n_stores x n_stores`` float64 or float32 matrix; NaN or +inf = no route
  (the 10x network's 81M pairs fit in 324 MB as float32, a long table would take ~2 GB);
- ``csr``: a scipy CSR matrix whose stored entries are the routes (explicit zeros are routes).

The diagonal is never a route. Store indices are positions in ``Problem.stores`` (sorted ids).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

# A long table with at least this share of all ordered pairs is stored densely.
DENSE_SHARE = 0.25


@dataclass(frozen=True, eq=False)
class TransportCosts:
    """Per-unit transport cost between stores, indexed by store position."""

    n_stores: int
    dense: np.ndarray | None = None
    csr: sp.csr_array | None = None
    # city_form results by the stores' city ids (scenario problems share one matrix)
    _city_forms: dict[bytes, CityCosts | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if (self.dense is None) == (self.csr is None):
            raise ValueError("TransportCosts needs exactly one of dense or csr")
        shape = (self.n_stores, self.n_stores)
        mat = self.dense if self.dense is not None else self.csr
        if mat is None or mat.shape != shape:
            raise ValueError(f"transport matrix must be {shape}")

    @classmethod
    def from_dense(cls, matrix: np.ndarray) -> TransportCosts:
        """Wrap a square matrix (float64 or float32); NaN is turned into +inf (no route)."""
        m = np.asarray(matrix)
        if m.dtype not in (np.float32, np.float64):
            m = m.astype(np.float64)
        if np.isnan(m).any():
            m = np.where(np.isnan(m), np.inf, m).astype(m.dtype, copy=False)
        return cls(n_stores=m.shape[0], dense=m)

    @classmethod
    def from_long(
        cls, n_stores: int, from_idx: np.ndarray, to_idx: np.ndarray, cost: np.ndarray
    ) -> TransportCosts:
        """Build from index arrays (clean: no duplicates, no NaN); self-pairs are dropped."""
        keep = from_idx != to_idx
        f, t, c = from_idx[keep], to_idx[keep], np.asarray(cost, dtype=np.float64)[keep]
        if f.size >= DENSE_SHARE * n_stores * n_stores:
            m = np.full((n_stores, n_stores), np.inf)
            m[f, t] = c
            return cls(n_stores=n_stores, dense=m)
        # COO -> CSR keeps explicit zeros, so a zero-cost route stays a route.
        csr = sp.csr_array((c, (f, t)), shape=(n_stores, n_stores))
        return cls(n_stores=n_stores, csr=csr)

    @property
    def dtype(self) -> np.dtype:
        mat = self.dense if self.dense is not None else self.csr
        assert mat is not None
        return np.dtype(mat.dtype)

    def block(self, rows: np.ndarray, cols: np.ndarray, keep_dtype: bool = False) -> np.ndarray:
        """Costs ``rows x cols`` (float64, or the matrix dtype with ``keep_dtype``); +inf
        where there is no route (and on i == j)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if self.dense is not None:
            out = self.dense[rows[:, None], cols[None, :]]
            if not keep_dtype:
                out = out.astype(np.float64, copy=False)
        else:
            assert self.csr is not None
            out = np.full((rows.size, cols.size), np.inf)
            colmap = np.full(self.n_stores, -1, dtype=np.int64)
            colmap[cols] = np.arange(cols.size)
            sub = self.csr[rows]
            indptr = np.asarray(sub.indptr)
            loc = colmap[np.asarray(sub.indices)]
            r = np.repeat(np.arange(rows.size), np.diff(indptr))
            ok = loc >= 0
            out[r[ok], loc[ok]] = np.asarray(sub.data)[ok]
        # no self-routes: a store index present in both rows and cols
        common, ri, ci = np.intersect1d(rows, cols, assume_unique=False, return_indices=True)
        if common.size:
            out[ri, ci] = np.inf
        return np.asarray(out)

    def pairs(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Cost of each route ``rows[k] -> cols[k]`` (float64); +inf where there is none."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        if self.dense is not None:
            out = self.dense[rows, cols].astype(np.float64)
        else:
            assert self.csr is not None
            csr = self.csr
            csr.sort_indices()
            indptr = np.asarray(csr.indptr, dtype=np.int64)
            row_of = np.repeat(np.arange(self.n_stores, dtype=np.int64), np.diff(indptr))
            keys = row_of * self.n_stores + np.asarray(csr.indices, dtype=np.int64)
            want = rows * self.n_stores + cols
            pos = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
            hit = (keys[pos] == want) if keys.size else np.zeros(want.size, dtype=bool)
            out = np.where(
                hit, np.asarray(csr.data, dtype=np.float64)[pos] if keys.size else 0.0, np.inf
            )
        return np.where(rows == cols, np.inf, out)

    def to_long(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All routes as ``(from_idx, to_idx, cost)`` (row-major order)."""
        if self.dense is not None:
            finite = np.isfinite(self.dense)
            np.fill_diagonal(finite, False)
            f, t = np.nonzero(finite)
            return f, t, self.dense[f, t].astype(np.float64)
        assert self.csr is not None
        coo = self.csr.tocoo()
        keep = coo.row != coo.col
        order = np.lexsort((coo.col[keep], coo.row[keep]))
        return (
            np.asarray(coo.row[keep][order], dtype=np.int64),
            np.asarray(coo.col[keep][order], dtype=np.int64),
            np.asarray(coo.data[keep][order], dtype=np.float64),
        )

    def city_form(self, store_city_ids: np.ndarray) -> CityCosts | None:
        """:func:`city_structure` of this matrix, computed once per city assignment."""
        ids = np.ascontiguousarray(store_city_ids, dtype=np.int64)
        key = ids.tobytes()
        if key not in self._city_forms:
            self._city_forms[key] = city_structure(self, ids)
        return self._city_forms[key]

    def n_routes(self) -> int:
        """Number of ordered store pairs with a route."""
        if self.dense is not None:
            finite = np.isfinite(self.dense)
            return int(finite.sum() - np.trace(finite))
        assert self.csr is not None
        coo = self.csr.tocoo()
        return int((coo.row != coo.col).sum())


@dataclass(frozen=True)
class CityCosts:
    """Transport costs that depend only on the two stores' cities (verified, exact).

    ``store_city[s]`` is store ``s``'s city position and ``cost[a, b]`` the cost of every route
    from a store of city ``a`` to a distinct store of city ``b`` (+inf: no such route).
    """

    store_city: np.ndarray  # int64, per store position
    cost: np.ndarray  # float64, n_cities x n_cities ($/unit)

    @property
    def n_cities(self) -> int:
        return int(self.cost.shape[0])


VERIFY_CHUNK = 4_000_000  # matrix entries compared at a time


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal costs, every non-finite entry (NaN or inf, no route) equal to every other."""
    fa, fb = np.isfinite(a), np.isfinite(b)
    return bool(np.array_equal(fa, fb) and np.array_equal(a[fa], b[fb]))


def city_structure(transport: TransportCosts, store_city_ids: np.ndarray) -> CityCosts | None:
    """The city form of ``transport`` when every route's cost is its cities' cost, else None.

    The city matrix is read off one representative route per city pair and then checked
    against every ordered pair of distinct stores (routes and non-routes alike), so a
    ``CityCosts`` is an exact restatement of the matrix, never an approximation.
    """
    ids = np.asarray(store_city_ids)
    if ids.shape != (transport.n_stores,):
        return None
    _, city = np.unique(ids, return_inverse=True)
    city = city.astype(np.int64).ravel()
    nc = int(city.max()) + 1 if city.size else 0
    order = np.argsort(city, kind="stable")
    counts = np.bincount(city, minlength=nc)
    start = np.concatenate([[0], np.cumsum(counts)])[:-1]
    first = order[start]
    second = np.where(counts >= 2, order[np.minimum(start + 1, city.size - 1)], -1)
    rep_i = np.repeat(first, nc)
    rep_j = np.tile(first, nc)
    diag = np.arange(nc) * (nc + 1)
    rep_j[diag] = second
    ok = rep_j >= 0
    flat = np.full(nc * nc, np.inf)
    flat[ok] = transport.pairs(rep_i[ok], rep_j[ok])
    cost = flat.reshape(nc, nc)
    if not np.isfinite(cost).any():  # no route at all: nothing to restate
        return None
    if transport.dense is not None:
        dense = transport.dense
        step = max(1, VERIFY_CHUNK // max(transport.n_stores, 1))
        for r0 in range(0, transport.n_stores, step):
            r1 = min(r0 + step, transport.n_stores)
            want = cost[city[r0:r1, None], city[None, :]].astype(dense.dtype)
            got = dense[r0:r1].copy()
            rows = np.arange(r1 - r0)
            got[rows, rows + r0] = want[rows, rows + r0] = np.inf  # the diagonal is no route
            if not _same(got, want):
                return None
    else:
        f, t, c = transport.to_long()
        finite = np.isfinite(cost)
        pairs_per = np.outer(counts, counts) - np.diag(counts)
        if f.size != int(pairs_per[finite].sum()):
            return None
        want = cost[city[f], city[t]]
        if not (np.isfinite(want).all() and np.array_equal(want, c)):
            return None
    return CityCosts(store_city=city, cost=cost)


def scale_transport(tc: TransportCosts, row_factor: np.ndarray | float) -> TransportCosts:
    """Route costs from store i multiplied by ``row_factor[i]`` (or one factor); no-route
    entries stay no-route."""
    f = np.broadcast_to(np.asarray(row_factor, dtype=np.float64), (tc.n_stores,))
    if tc.dense is not None:
        dense = (tc.dense * f[:, None].astype(tc.dense.dtype)).astype(tc.dense.dtype)
        return TransportCosts(tc.n_stores, dense=dense)
    assert tc.csr is not None
    csr = tc.csr.copy()
    counts = np.diff(csr.indptr)
    csr.data = csr.data * np.repeat(f, counts)
    return TransportCosts(tc.n_stores, csr=csr)
