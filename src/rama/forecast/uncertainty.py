"""Calibrated uncertainty from the residuals of a held-out calibration window.

* **Daily quantiles** (Mondrian split-conformal): calibration rows are binned by their
  point forecast ``f`` (equal-count bins); in bin ``b`` the residual quantile
  ``r_b(tau)`` is the ``ceil((n_b + 1) tau) / n_b`` empirical quantile of ``y - f``, and
  ``q_tau = max(0, f + r_b(tau))``. Monotone in ``tau`` by construction.
* **Daily sigma** ``sigma_b``: the root-mean-square residual of the bin.
* **Horizon total** over ``H`` days of one series: daily errors are assumed to share a
  common pairwise correlation ``rho`` (equicorrelation), so::

      Var(sum) = sum_h sigma_h^2 + rho * sum_{i != j} sigma_i sigma_j
      rho      = sum_s sum_{i != j} e_si e_sj / sum_s sum_{i != j} sigma_si sigma_sj

  estimated on the calibration window (series with all ``H`` days), clipped to [0, 1].
* **Mean scale** (:func:`mean_scale`): ``sum y / sum f`` over the calibration window,
  clipped to [0.8, 1.25]; the point forecasts are multiplied by it before the tables above
  are fitted, so the forecast is unbiased on the most recent held-out week.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Calibration:
    """Fitted conformal tables (units/day) and the daily-error correlation."""

    quantiles: tuple[float, ...]
    edges: F64  # (n_bins - 1,) bin edges on the point forecast
    resid_q: F64  # (n_bins, n_quantiles) residual quantiles per bin
    sigma: F64  # (n_bins,) RMS residual per bin
    rho: float
    n_rows: int
    scale: float = 1.0
    """Multiplier of the model's raw forecast (:func:`mean_scale`; 1 = none)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "quantiles": list(self.quantiles),
            "edges": self.edges.tolist(),
            "resid_q": self.resid_q.tolist(),
            "sigma": self.sigma.tolist(),
            "rho": self.rho,
            "n_rows": self.n_rows,
            "scale": self.scale,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Calibration:
        return cls(
            quantiles=tuple(float(q) for q in d["quantiles"]),
            edges=np.asarray(d["edges"], dtype=np.float64),
            resid_q=np.asarray(d["resid_q"], dtype=np.float64).reshape(-1, len(d["quantiles"])),
            sigma=np.asarray(d["sigma"], dtype=np.float64),
            rho=float(d["rho"]),
            n_rows=int(d["n_rows"]),
            scale=float(d.get("scale", 1.0)),
        )

    def bin_of(self, pred: F64) -> I64:
        return np.searchsorted(self.edges, pred, side="right").astype(np.int64)

    def daily_quantiles(self, pred: F64) -> F64:
        """(n, n_quantiles) non-negative, row-wise non-decreasing quantiles."""
        q = pred[:, None] + self.resid_q[self.bin_of(pred)]
        return np.maximum.accumulate(np.maximum(q, 0.0), axis=1)

    def daily_sigma(self, pred: F64) -> F64:
        return self.sigma[self.bin_of(pred)]


SCALE_BOUNDS = (0.8, 1.25)
"""Range of :func:`mean_scale` (a larger correction points at a broken window, not bias)."""


def mean_scale(pred: F64, actual: F64) -> float:
    """``sum(actual) / sum(pred)`` over calibration rows, clipped to :data:`SCALE_BOUNDS`
    (1 when nothing is predicted): the factor that makes the point forecast unbiased there.

    >>> mean_scale(np.array([1.0, 3.0]), np.array([2.0, 2.4]))
    1.1
    """
    den = float(np.sum(pred))
    if not np.isfinite(den) or den <= 0:
        return 1.0
    lo, hi = SCALE_BOUNDS
    return float(np.clip(float(np.sum(actual)) / den, lo, hi))


def fit_calibration(
    pred: F64,
    actual: F64,
    quantiles: Sequence[float],
    *,
    n_bins: int = 30,
    sigma_pred: F64 | None = None,
    sigma_actual: F64 | None = None,
    sigma_group: I64 | None = None,
) -> Calibration:
    """Conformal tables from calibration rows (``pred``, ``actual``).

    ``sigma_*`` (default: the same rows) give the rows behind sigma and rho;
    ``sigma_group`` is the series of each such row (rho uses series with complete windows).
    """
    if len(pred) == 0:
        raise ValueError("calibration window is empty")
    qs = tuple(float(q) for q in quantiles)
    n_bins = int(max(1, min(n_bins, len(pred) // 50)))
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, n_bins + 1)[1:-1]))
    cal = Calibration(qs, edges, np.zeros((len(edges) + 1, len(qs))), np.zeros(0), 0.0, 0)
    b = cal.bin_of(pred)
    resid = actual - pred
    order = np.lexsort((resid, b))
    b_sorted, r_sorted = b[order], resid[order]
    n_b = len(edges) + 1
    starts = np.searchsorted(b_sorted, np.arange(n_b), side="left")
    counts = np.searchsorted(b_sorted, np.arange(n_b), side="right") - starts
    resid_q = np.zeros((n_b, len(qs)))
    for j, tau in enumerate(qs):  # a handful of quantiles, vectorised over bins
        k = np.ceil((counts + 1) * tau).astype(np.int64) - 1
        k = np.clip(k, 0, np.maximum(counts - 1, 0))
        resid_q[:, j] = np.where(
            counts > 0, r_sorted[np.minimum(starts + k, len(r_sorted) - 1)], 0.0
        )
    resid_q = np.maximum.accumulate(resid_q, axis=1)

    sp = pred if sigma_pred is None else sigma_pred
    sa = actual if sigma_actual is None else sigma_actual
    sb = cal.bin_of(sp)
    se = sa - sp
    sum_sq = np.bincount(sb, weights=se * se, minlength=n_b)
    cnt = np.bincount(sb, minlength=n_b)
    pooled = float(np.sqrt(np.mean(se * se))) if len(se) else 0.0
    sigma = np.where(cnt > 0, np.sqrt(sum_sq / np.maximum(cnt, 1)), pooled)
    rho = 0.0
    if sigma_group is not None and len(se):
        rho = _equicorrelation(se, sigma[sb], sigma_group)
    return Calibration(qs, edges, resid_q, sigma, rho, len(pred))


def _equicorrelation(err: F64, sig: F64, group: I64) -> float:
    """Pooled correlation of errors within a group (sum over ordered pairs i != j)."""
    n_g = int(group.max()) + 1
    size = np.bincount(group, minlength=n_g)
    full = size == size.max()
    keep = full[group]
    e, s, g = err[keep], sig[keep], group[keep]
    se = np.bincount(g, weights=e, minlength=n_g)
    see = np.bincount(g, weights=e * e, minlength=n_g)
    ss = np.bincount(g, weights=s, minlength=n_g)
    sss = np.bincount(g, weights=s * s, minlength=n_g)
    num = float(np.sum(se**2 - see))
    den = float(np.sum(ss**2 - sss))
    if den <= 0:
        return 0.0
    return float(np.clip(num / den, 0.0, 1.0))


def horizon_std(sigma: F64, group: I64, rho: float, n_groups: int) -> F64:
    """Std of the horizon total per group: sqrt((1 - rho) sum s^2 + rho (sum s)^2)."""
    s1 = np.bincount(group, weights=sigma, minlength=n_groups)
    s2 = np.bincount(group, weights=sigma * sigma, minlength=n_groups)
    return np.asarray(np.sqrt(np.maximum((1.0 - rho) * s2 + rho * s1 * s1, 0.0)))


TOTAL_LEVELS = 20
"""Quantile levels of the horizon-total distribution: the mid-points ``(g - 0.5) / 20``."""


def total_levels(n: int = TOTAL_LEVELS) -> F64:
    """``(g - 0.5) / n`` for g = 1..n (probabilities)."""
    return np.asarray((np.arange(1, n + 1) - 0.5) / n)


@dataclass(frozen=True)
class TotalCalibration:
    """Empirical distribution of a horizon total given its forecast (units over H days).

    Mondrian split-conformal on the calibration window's totals: series are binned by their
    forecast total ``F`` (equal-count bins of at least 100 series); in each bin the residual
    ``Y - F`` has empirical quantiles ``r_b(level)`` at :func:`total_levels`, and the total's
    quantiles are ``max(0, F + r_b)``. Unlike a Gamma or Normal from mean and std it keeps
    what totals of intermittent or lumpy series look like: an atom at 0 (the low quantiles cut
    to 0) and a long right tail.
    """

    edges: F64  # (n_bins - 1,) bin edges on the forecast total
    resid_q: F64  # (n_bins, n_levels)
    n_series: int

    @property
    def levels(self) -> F64:
        return total_levels(self.resid_q.shape[1])

    def quantiles(self, total: F64) -> F64:
        """(n, n_levels) non-negative, row-wise non-decreasing quantiles of the totals."""
        b = np.searchsorted(self.edges, total, side="right")
        q = np.asarray(total, dtype=np.float64)[:, None] + self.resid_q[b]
        return np.maximum.accumulate(np.maximum(q, 0.0), axis=1)

    def to_json(self) -> dict[str, Any]:
        return {
            "edges": self.edges.tolist(),
            "resid_q": self.resid_q.tolist(),
            "n_series": self.n_series,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TotalCalibration:
        rq = np.asarray(d["resid_q"], dtype=np.float64)
        return cls(
            np.asarray(d["edges"], dtype=np.float64), rq.reshape(len(rq), -1), int(d["n_series"])
        )


def fit_total_calibration(
    pred: F64, actual: F64, group: I64, *, n_levels: int = TOTAL_LEVELS, min_bin: int = 100
) -> TotalCalibration | None:
    """Totals per ``group`` (series; only groups with the most rows, i.e. complete windows)
    of daily ``pred`` / ``actual``, then :class:`TotalCalibration`; None without a group."""
    if len(group) == 0:
        return None
    n_g = int(group.max()) + 1
    size = np.bincount(group, minlength=n_g)
    full = np.flatnonzero(size == size.max())
    f = np.bincount(group, weights=pred, minlength=n_g)[full]
    y = np.bincount(group, weights=actual, minlength=n_g)[full]
    n_bins = int(max(1, min(30, len(f) // min_bin)))
    edges = np.unique(np.quantile(f, np.linspace(0, 1, n_bins + 1)[1:-1]))
    b = np.searchsorted(edges, f, side="right")
    lv = total_levels(n_levels)
    resid_q = np.zeros((len(edges) + 1, n_levels))
    resid = y - f
    for k in range(len(edges) + 1):  # a few dozen bins
        r = resid[b == k]
        if len(r):
            resid_q[k] = np.quantile(r, lv, method="inverted_cdf")
    return TotalCalibration(edges, np.maximum.accumulate(resid_q, axis=1), len(f))
