"""The stochastic plan's kernel: expected holding + stockout cost of a discrete demand.

Per store-product pair the demand of the period takes K equiprobable values
``d_1 <= ... <= d_K`` (units). With available stock ``A = inv + in - out + allocate`` the
expected cost

    g(A) = (1/K) sum_k [ h max(0, A - d_k) + b max(0, d_k - A) ]      ($)

is convex piecewise-linear in ``A`` with breakpoints ``d_k`` and slope ``h F(A) - b (1 - F(A))``
(``F`` the empirical CDF): ``-b`` below ``d_1``, ``h k/K - b (1 - k/K)`` on ``[d_k, d_k+1]``,
``+h`` above ``d_K``. The deterministic LP is the case K = 1 (two segments, slopes -b, +h).

Storage capacity C5 keeps its meaning ``A <= cap + demand`` (``Acap``): points above ``Acap`` are
clipped to it, which shifts ``g`` on ``A <= Acap`` by a constant only. The problem's
``demand`` becomes the mean of the clipped points and ``max_capacity`` becomes
``Acap - demand``, so that, with the plan's *expected* stockout ``E max(0, D - A)`` and ending
inventory ``E max(0, A - D)``, C1 (``e - u = A - E[D]``) and C5 hold with the problem's own
columns and the independent check stays valid. In the LP (:mod:`rama.optimize.lp_model`)
each pair's C1 row gets one bounded column per segment (width ``d_k+1 - d_k``, cost
``slope_k``); routes and pricing are unchanged.

The points and the forecast draws that score a plan come from one distribution
(``stochastic.distribution``; :func:`forecast_points`, :func:`forecast_samples`): a Gamma or
cut Normal of the forecast's horizon mean and std, or the forecast's empirical quantile grid
of the horizon total (``Problem.demand_grid``), with the Gamma for a pair without a grid row.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import special

from rama.errors import DataValidationError
from rama.problem.model import Problem
from rama.rules import DISTRIBUTIONS, demand_points, demand_samples, grid_quantiles


def stochastic_problem(problem: Problem, points: np.ndarray) -> Problem:
    """``problem`` with K equiprobable demand points per pair (``store_products`` order).

    ``points`` is ``n_pairs x K`` (units, finite, ``>= 0``). Returns a new problem whose
    ``demand_points`` are the sorted points clipped at ``cap + demand``, ``demand`` their mean
    and ``max_capacity = cap + demand - mean`` (see the module doc).
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != problem.n_pairs or pts.shape[1] < 1:
        raise DataValidationError(
            "demand points",
            f"expected an array of shape ({problem.n_pairs}, K >= 1), got {pts.shape}",
            fix="pass one row of K demand values per store-product pair",
        )
    bad = ~np.isfinite(pts) | (pts < 0)
    if bad.any():
        raise DataValidationError(
            "demand points",
            "values must be finite and >= 0",
            count=int(bad.any(axis=1).sum()),
            fix="check the demand distribution",
        )
    a_cap = problem.max_capacity + problem.demand
    pts = np.sort(np.minimum(pts, a_cap[:, None]), axis=1)
    mean = pts.mean(axis=1)
    sp = problem.store_products.with_columns(
        demand=mean, max_capacity=np.where(np.isinf(a_cap), np.inf, a_cap - mean)
    )
    return replace(problem, store_products=sp, demand_points=pts)


def room_above_top(problem: Problem) -> np.ndarray:
    """Per pair, the stock allowed above the highest demand point (units, >= 0):
    ``max_capacity + demand - d_K``, i.e. C5's ``A <= cap + demand`` as a bound on the stock
    left over in every scenario. Clipping the points at ``cap + demand`` makes it 0 up to
    rounding; it is cut at 0 so that the bound is never (slightly) below its lower bound 0.
    """
    assert problem.demand_points is not None
    room = problem.max_capacity + problem.demand - problem.demand_points[:, -1]
    return np.asarray(np.maximum(room, 0.0))


def segment_slopes(k_points: int, holding: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """Slopes ($/unit) of the K-1 inner segments: ``h k/K - b (1 - k/K)``, k = 1..K-1."""
    f = np.arange(1, k_points) / k_points
    return np.asarray(holding)[:, None] * f - np.asarray(penalty)[:, None] * (1.0 - f)


def expected_position(points: np.ndarray, available: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected stockout ``E max(0, D - A)`` and ending stock ``E max(0, A - D)`` (units)."""
    diff = points - available[:, None]
    return np.maximum(diff, 0.0).mean(axis=1), np.maximum(-diff, 0.0).mean(axis=1)


def grid_points(grid: np.ndarray, k_points: int) -> np.ndarray:
    """K equiprobable demand points per pair (units): the ``(k - 0.5) / K`` quantiles of an
    empirical distribution given as ``n x G`` quantiles at ``(g - 0.5) / G`` (the forecast's
    ``horizon_quantiles.parquet``), read off the piecewise-linear quantile function of
    :func:`rama.rules.grid_quantiles`. The points feed :func:`stochastic_problem` like those of
    :func:`rama.rules.demand_points`; unlike a Gamma or Normal of the mean and std they keep
    an atom at 0 and a lumpy right tail (intermittent series).
    """
    if k_points < 1:
        raise DataValidationError(
            "demand points", f"expected K >= 1 points, got {k_points}", fix="set K >= 1"
        )
    g = np.asarray(grid, dtype=np.float64)
    if g.ndim != 2 or g.shape[1] < 1 or not np.isfinite(g).all() or (g < 0).any():
        raise DataValidationError(
            "demand quantile grid",
            f"expected an n x G array of finite values >= 0 (units), got shape {g.shape}",
            fix="pass the q.. columns of horizon_quantiles.parquet",
        )
    u = (np.arange(1, k_points + 1) - 0.5) / k_points
    return grid_quantiles(np.maximum.accumulate(g, axis=1), u)


FALLBACK = "gamma"
"""The form of a pair without a quantile grid under ``distribution = "empirical"``."""


def _moments(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    std = problem.store_products["demand_std"].to_numpy().astype(np.float64)
    return problem.demand, std


Forecast = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""A problem's horizon forecast: mean and std per pair (units) and its quantile grid (or
None: no grid, or one not compared)."""


def forecast_of(problem: Problem, with_grid: bool = True) -> Forecast:
    """``problem``'s mean, std and (``with_grid``) quantile grid."""
    mean, std = _moments(problem)
    return mean, std, problem.demand_grid if with_grid else None


def is_scaled(unit: Forecast, forecast: Forecast, factor: float) -> bool:
    """Whether ``forecast`` is ``unit`` times ``factor`` (relative 1e-12): mean, std and the
    grids (both None, or equal with NaN rows in the same places). The horizon distributions
    are scale families, so such a forecast's points and draws are ``unit``'s times ``factor``.

    >>> m, s = np.array([2.0, 0.0]), np.array([1.0, 0.0])
    >>> is_scaled((m, s, None), (1.2 * m, 1.2 * s, None), 1.2)
    True
    >>> is_scaled((m, s, None), (1.2 * m, s, None), 1.2)
    False
    """

    def close(a: np.ndarray, b: np.ndarray, nan: bool = False) -> bool:
        return a.shape == b.shape and bool(
            np.allclose(a, factor * b, rtol=1e-12, atol=0.0, equal_nan=nan)
        )

    if not (close(forecast[0], unit[0]) and close(forecast[1], unit[1])):
        return False
    g, g0 = forecast[2], unit[2]
    if g is None or g0 is None:
        return g is None and g0 is None
    return close(g, g0, nan=True)


def grid_rows(problem: Problem) -> np.ndarray:
    """Per pair: whether ``problem.demand_grid`` has its quantiles (bool; all False without a
    grid)."""
    g = problem.demand_grid
    if g is None:
        return np.zeros(problem.n_pairs, dtype=bool)
    return np.asarray(np.isfinite(g).all(axis=1))


def forecast_points(problem: Problem, k: int, distribution: str) -> tuple[np.ndarray, int]:
    """The stochastic plan's ``n_pairs x k`` demand points (units) and the number of pairs
    that fell back to the Gamma form.

    ``gamma`` / ``normal``: :func:`rama.rules.demand_points` of the forecast's horizon mean
    and std. ``empirical``: the ``(j - 0.5) / k`` quantiles of the pair's row of
    ``problem.demand_grid`` (piecewise linear, :func:`rama.rules.grid_quantiles`); a pair
    without a row (no grid, or a NaN row: missing from ``horizon_quantiles.parquet``) takes
    the Gamma points of its mean and std, and is counted.
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    mean, std = _moments(problem)
    if distribution != "empirical":
        return demand_points(mean, std, k, distribution), 0
    ok = grid_rows(problem)
    if not ok.any():
        return demand_points(mean, std, k, FALLBACK), problem.n_pairs
    assert problem.demand_grid is not None
    out = np.empty((problem.n_pairs, k), dtype=np.float64)
    out[ok] = demand_points(mean[ok], std[ok], k, "empirical", grid=problem.demand_grid[ok])
    if not ok.all():
        out[~ok] = demand_points(mean[~ok], std[~ok], k, FALLBACK)
    return out, int((~ok).sum())


def forecast_samples(
    problem: Problem, n_samples: int, distribution: str, seed: int
) -> tuple[np.ndarray, int]:
    """``n_pairs x n_samples`` random draws of each pair's horizon demand (units) from the
    plan's distribution (:func:`forecast_points`), and the number of Gamma fallback pairs.

    ``gamma`` / ``normal``: :func:`rama.rules.demand_samples`. ``empirical``: the same
    uniforms ``u`` (``default_rng(SeedSequence([seed, 2]))``, pairs x draws) through each
    pair's quantile function: the grid's where it has a row, else the Gamma's inverse CDF
    (a pair with ``std == 0`` or ``mean == 0`` takes its mean). A grid scaled by ``f`` (a
    foreseen demand shock) gives the draws times ``f``.
    """
    mean, std = _moments(problem)
    if distribution != "empirical":
        return demand_samples(mean, std, n_samples, distribution, seed), 0
    ok = grid_rows(problem)
    if not ok.any():
        return demand_samples(mean, std, n_samples, FALLBACK, seed), problem.n_pairs
    assert problem.demand_grid is not None
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2]))
    u = rng.random((problem.n_pairs, n_samples))
    if ok.all():  # no copies of the pairs x draws table
        return grid_quantiles(np.maximum.accumulate(problem.demand_grid, axis=1), u), 0
    out = np.empty_like(u)
    out[ok] = grid_quantiles(np.maximum.accumulate(problem.demand_grid[ok], axis=1), u[ok])
    rest = ~ok
    if rest.any():
        m, s = np.maximum(mean[rest], 0.0), np.maximum(std[rest], 0.0)
        spread = (m > 0) & (s > 0)
        fb = np.repeat(m[:, None], n_samples, axis=1)
        if spread.any():
            ms, ss = m[spread, None], s[spread, None]
            fb[spread] = special.gammaincinv((ms / ss) ** 2, u[rest][spread]) * (ss**2 / ms)
        out[rest] = fb
    return out, int(rest.sum())
