"""Risk inputs of a plan: lead-time-stretched safety stock, demand scenarios, risk premium.

Safety stock (units) per store-product pair, H = run.horizon_days::

    L_eff = lead_time_multiplier x L + delay_multiplier x p_delay x max(deviation, 0)   (days)
    ss    = safety_stock_multiplier x z x (demand_std / sqrt(H)) x sqrt(L_eff)
    z     = Phi^-1(service.service_level)

``L`` is the store's city mean lead time (days), ``p_delay`` its delay probability and
``deviation`` its mean delivery-time deviation (days late; early deliveries do not shorten
the exposure): the expected delay ``p_delay x deviation`` is added to the lead time
(``risk.stretch_lead_time``; off = ``L`` alone). ``demand_std`` is the std of the horizon total,
so ``demand_std / sqrt(H)`` is the daily std (days independent).

Demand scenarios: K equiprobable points per pair, the ``(k - 0.5) / K`` quantiles
(k = 1..K) of a distribution with the forecast's horizon mean and std: a Gamma matched on the
two moments (default; non-negative and right-skewed like retail demand) or a Normal cut at 0.

Transport risk premium (``risk.delay_transport_premium``, off by default): the cost of a
route from store i is multiplied by ``1 + premium x p_delay(i)``; the route-risk premium of
``transport.risk_premium`` is applied by ``rama prepare`` to the same costs.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from scipy import special

from rama.optimize.transport import TransportCosts


def effective_lead_time(
    lead_time_days: np.ndarray,
    delay_probability: np.ndarray | None = None,
    delivery_deviation_days: np.ndarray | None = None,
    *,
    lead_time_multiplier: float = 1.0,
    delay_multiplier: float = 1.0,
) -> np.ndarray:
    """``L x lead_mult + delay_mult x p_delay x max(deviation, 0)`` (days, >= 0)."""
    lead = lead_time_multiplier * np.asarray(lead_time_days, dtype=np.float64)
    if delay_probability is None or delivery_deviation_days is None:
        return np.maximum(lead, 0.0)
    p = np.clip(np.asarray(delay_probability, dtype=np.float64), 0.0, 1.0)
    late = np.maximum(np.asarray(delivery_deviation_days, dtype=np.float64), 0.0)
    return np.maximum(lead + delay_multiplier * p * late, 0.0)


def safety_stock(
    demand_std: np.ndarray,
    lead_time_days: np.ndarray,
    service_level: float,
    horizon_days: int,
    *,
    delay_probability: np.ndarray | None = None,
    delivery_deviation_days: np.ndarray | None = None,
    lead_time_multiplier: float = 1.0,
    delay_multiplier: float = 1.0,
    multiplier: float = 1.0,
) -> np.ndarray:
    """z x daily std x sqrt(effective lead time) x multiplier (units); see the module doc."""
    z = NormalDist().inv_cdf(service_level)
    daily = np.asarray(demand_std, dtype=np.float64) / np.sqrt(horizon_days)
    lead = effective_lead_time(
        lead_time_days,
        delay_probability,
        delivery_deviation_days,
        lead_time_multiplier=lead_time_multiplier,
        delay_multiplier=delay_multiplier,
    )
    return np.asarray(multiplier * z * daily * np.sqrt(lead))


def demand_points(
    mean: np.ndarray, std: np.ndarray, k: int, distribution: str = "gamma"
) -> np.ndarray:
    """``n x k`` equiprobable demand points (units): the ``(j - 0.5) / k`` quantiles.

    ``gamma``: shape ``(mean / std)^2``, scale ``std^2 / mean``; ``normal``: ``mean + std z``
    cut at 0. A pair with ``std == 0`` or ``mean == 0`` gets ``k`` copies of its mean.
    """
    m = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    s = np.maximum(np.asarray(std, dtype=np.float64), 0.0)
    q = (np.arange(1, k + 1) - 0.5) / k
    out = np.repeat(m[:, None], k, axis=1)
    ok = (s > 0) & (m > 0)
    if not ok.any():
        return out
    mo, so = m[ok, None], s[ok, None]
    if distribution == "gamma":
        shape = (mo / so) ** 2
        out[ok] = special.gammaincinv(shape, q[None, :]) * (so**2 / mo)
    elif distribution == "normal":
        z = np.array([NormalDist().inv_cdf(float(x)) for x in q])
        out[ok] = np.maximum(mo + so * z[None, :], 0.0)
    else:
        raise ValueError(f"distribution must be 'gamma' or 'normal', got {distribution!r}")
    return out


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


def delay_premium_factor(delay_probability: np.ndarray, premium: float) -> np.ndarray:
    """Per sending store: ``1 + premium x p_delay`` (dimensionless)."""
    return 1.0 + premium * np.clip(np.asarray(delay_probability, dtype=np.float64), 0.0, 1.0)
