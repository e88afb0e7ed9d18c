"""Latent hourly demand and its censoring by stockouts (the core of the generator).

All quantities are in tenths of the data's normalised sales unit (integers), so the daily
sum of the hourly sales is exact; ``/ 10`` gives the published 0.1-grid values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

HOURS = 24
OPEN_HOUR = 6  # first hour counted by stock_hour6_22_cnt; a late delivery leaves a gap from here

# Intraday shapes (relative weights per hour 0..23): a morning-heavy and an evening-heavy
# profile; each series mixes them with its own weight w ~ Beta(2, 2).
_MORNING = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.2, 0.6, 2.0, 4.0, 5.0, 4.5, 3.5, 3.0,
     2.5, 2.0, 1.8, 1.8, 2.0, 2.5, 2.5, 2.0, 1.5, 1.0, 0.6, 0.4]
)  # fmt: skip
_EVENING = np.array(
    [0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1.0, 1.8, 2.2, 2.2, 2.0, 2.0,
     2.0, 1.8, 1.8, 2.2, 3.0, 4.5, 5.0, 4.5, 3.0, 1.8, 1.0, 0.5]
)  # fmt: skip
MORNING_PROFILE = _MORNING / _MORNING.sum()
EVENING_PROFILE = _EVENING / _EVENING.sum()


@dataclass(frozen=True)
class DemandModel:
    """Parameters of the generative model (calibrated to the published statistics;
    see docs/synthetic.md). Demand units: normalised sales units per day."""

    level_log_mean: float = -0.48  # mu0 of log series level
    level_sd_product: float = 0.15  # sd of the product part of log level
    level_sd_store: float = 0.15  # sd of the store part of log level
    level_sd_series: float = 0.15  # sd of the series-specific part of log level
    level_tail: float = 0.1  # scale of an Exponential added to log level (right skew)
    hot_share: float = 0.05  # share of "hot seller" series, level x U(hot_lo, hot_hi)
    hot_lo: float = 4.0
    hot_hi: float = 8.0
    level_cap: float = 7.0  # upper bound of the base level (units/day); thin upper tail
    weekday_factor: tuple[float, ...] = (0.97, 0.95, 0.97, 1.00, 1.05, 1.02, 1.00)  # Mon..Sun
    holiday_uplift: float = 1.235  # multiplier on holiday_flag days
    activity_uplift: float = 1.15  # multiplier on activity_flag days
    elasticity_median: float = 3.0  # demand ~ discount^-e, e lognormal per product
    elasticity_log_sd: float = 0.35  # (e clipped to [0.5, 3])
    max_discount_lift: float = 4.0  # cap of the discount multiplier discount^-e
    temp_sensitivity_sd: float = 0.10  # log demand change per +10 deg C, per product
    precip_coef: float = 0.012  # log demand change per mm of precipitation
    day_noise_sd: float = 0.25  # sd of the log day-level noise (mean-one lognormal)
    promo_start_a: float = 1.2  # per-series daily promo start prob ~ Beta(a, b)
    promo_start_b: float = 14.0
    promo_stay: float = 0.80  # daily probability a promotion continues
    discount_in_promo: float = 0.65  # share of promotion days with a price discount
    discount_outside_promo: float = 0.01  # share of other days with a discount
    # discount = 1 - depth: a deep cut U(deep_lo, deep_hi) with probability deep_share,
    # else a shallow one, shallow_max * Beta(1.2, 3).
    deep_share: float = 0.25
    deep_lo: float = 0.35
    deep_hi: float = 0.5
    shallow_max: float = 0.3
    # Opening stock, supply-driven (docs/synthetic.md): S = cover x the store's expectation.
    cover_log_mean: float = 1.2  # mean log cover (shelf stock / expected daily demand)
    cover_series_sd: float = 0.2  # sd of the per-series log cover (ordering habits)
    cover_day_sd: float = 0.6  # sd of the day-to-day log cover (replenishment quantity)
    under_share: float = 0.1  # share of persistently under-ordered series ...
    under_log_cover: float = -0.85  # ... whose log cover is lowered by this much
    promo_cover: float = 1.5  # extra cover on activity days (planned promotion stock)
    no_delivery_prob: float = 0.039  # delivery misses: zero stock all day
    late_delivery_prob: float = 0.38  # the day's delivery reaches the shelf after 6h
    # Hour a late delivery reaches the shelf, k = 7, 8, ...: hours 6..k-1 out of stock.
    late_hour_probs: tuple[float, ...] = field(default=(0.5, 0.25, 0.15, 0.1))
    # Restock hour after an overnight stockout: hours 0..k-1 stay flagged, k = 1..6.
    restock_hour_probs: tuple[float, ...] = field(default=(0.04, 0.04, 0.06, 0.13, 0.18, 0.55))


@dataclass(frozen=True)
class SeriesParams:
    """Per-series (pair) parameters, arrays of length n_series."""

    log_level: np.ndarray  # log of the base daily demand (units/day)
    elasticity: np.ndarray  # discount elasticity e
    temp_sens: np.ndarray  # log change per +10 deg C
    profile: np.ndarray  # (n, 24) intraday shape, rows sum to 1
    promo_start: np.ndarray  # daily probability a promotion starts
    cover_log: np.ndarray  # per-series log stock cover

    def rows(self, lo: int, hi: int) -> SeriesParams:
        """The parameters of series ``lo:hi``."""
        return SeriesParams(
            self.log_level[lo:hi],
            self.elasticity[lo:hi],
            self.temp_sens[lo:hi],
            self.profile[lo:hi],
            self.promo_start[lo:hi],
            self.cover_log[lo:hi],
        )


def series_params(
    model: DemandModel,
    *,
    pair_store: np.ndarray,
    pair_product: np.ndarray,
    n_stores: int,
    n_products: int,
    rng: np.random.Generator,
) -> SeriesParams:
    """Draw the heterogeneous series parameters (product, store and series effects)."""
    n = len(pair_store)
    prod_eff = rng.normal(0.0, model.level_sd_product, n_products)
    store_eff = rng.normal(0.0, model.level_sd_store, n_stores)
    log_level = np.minimum(
        model.level_log_mean
        + prod_eff[pair_product]
        + store_eff[pair_store]
        + rng.normal(0.0, model.level_sd_series, n)
        + rng.exponential(model.level_tail, n)
        + np.where(
            rng.random(n) < model.hot_share,
            np.log(rng.uniform(model.hot_lo, model.hot_hi, n)),
            0.0,
        ),
        np.log(model.level_cap),
    )
    elasticity = np.clip(
        np.exp(
            np.log(model.elasticity_median) + rng.normal(0.0, model.elasticity_log_sd, n_products)
        ),
        0.5,
        3.0,
    )[pair_product]
    temp_sens = rng.normal(0.0, model.temp_sensitivity_sd, n_products)[pair_product]
    w = rng.beta(2.0, 2.0, n)[:, None]
    profile = w * MORNING_PROFILE[None, :] + (1.0 - w) * EVENING_PROFILE[None, :]
    promo_start = rng.beta(model.promo_start_a, model.promo_start_b, n)
    cover_log = (
        model.cover_log_mean
        + rng.normal(0.0, model.cover_series_sd, n)
        + np.where(rng.random(n) < model.under_share, model.under_log_cover, 0.0)
    )
    return SeriesParams(log_level, elasticity, temp_sens, profile, promo_start, cover_log)


@dataclass(frozen=True)
class ChunkResult:
    """Simulated values for a chunk of n series over D days."""

    sales: np.ndarray  # (n, D, 24) int64 observed sales in tenths
    status: np.ndarray  # (n, D, 24) int32 1 = out of stock
    latent: np.ndarray  # (n, D) int64 uncensored daily demand in tenths
    discount: np.ndarray  # (n, D) float64
    activity: np.ndarray  # (n, D) int32


def _promotions(
    model: DemandModel, start: np.ndarray, n_days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Promotion runs (Markov on/off per series) and the discount of each day."""
    n = len(start)
    u = rng.random((n, n_days))
    act = np.zeros((n, n_days), dtype=bool)
    prev = u[:, 0] < start / (start + 1.0 - model.promo_stay)  # stationary share at day 0
    act[:, 0] = prev
    for d in range(1, n_days):  # loop over days, vectorised over series
        prev = np.where(prev, u[:, d] < model.promo_stay, u[:, d] < start)
        act[:, d] = prev
    share = np.where(act, model.discount_in_promo, model.discount_outside_promo)
    has_disc = rng.random((n, n_days)) < share
    deep = rng.random((n, n_days)) < model.deep_share
    depth = np.where(
        deep,
        rng.uniform(model.deep_lo, model.deep_hi, (n, n_days)),
        model.shallow_max * rng.beta(1.2, 3.0, (n, n_days)),
    )
    discount = np.where(has_disc, np.round(1.0 - depth, 3), 1.0)
    return act.astype(np.int32), discount


def simulate_chunk(
    model: DemandModel,
    params: SeriesParams,
    *,
    weekday: np.ndarray,
    holiday: np.ndarray,
    temperature: np.ndarray,
    precpt: np.ndarray,
    rng: np.random.Generator,
) -> ChunkResult:
    """Latent hourly demand then stockout censoring for a chunk of series.

    ``temperature`` and ``precpt`` are (n, D) arrays (the series' city weather).
    Expected demand  E[i,d] = exp(log_level_i) * weekday[d] * H^holiday[d]
                              * discount[i,d]^-e_i * A^activity[i,d]
                              * exp(b_i (T - 20)/10 - c * precpt);
    daily rate       lambda = E * exp(sigma eps - sigma^2/2);
    hourly demand    q[h] = Poisson(10 * lambda * profile_i[h])   (tenths of a unit);
    then the supply-driven opening stock (``_opening_stock``) censors it (``_censor``).
    """
    n, n_days = temperature.shape
    act, discount = _promotions(model, params.promo_start, n_days, rng)
    wk = np.asarray(model.weekday_factor)[weekday]
    log_lift = np.minimum(
        -params.elasticity[:, None] * np.log(discount), np.log(model.max_discount_lift)
    )
    log_e = (
        params.log_level[:, None]
        + np.log(wk)[None, :]
        + np.log(model.holiday_uplift) * holiday[None, :]
        + log_lift
        + np.log(model.activity_uplift) * act
        + params.temp_sens[:, None] * (temperature - 20.0) / 10.0
        - model.precip_coef * precpt
    )
    expected = np.exp(log_e)
    sd = model.day_noise_sd
    rate = expected * np.exp(rng.normal(-0.5 * sd * sd, sd, (n, n_days)))
    hourly = 10.0 * rate[:, :, None] * params.profile[:, None, :]
    demand = rng.poisson(hourly)  # (n, D, 24) int64 tenths
    latent = demand.sum(axis=2)

    stock, restock = _opening_stock(model, params, expected, act, rng)
    sales, status = _censor(demand, stock, restock)
    return ChunkResult(sales, status, latent, discount, act)


def _opening_stock(
    model: DemandModel,
    params: SeriesParams,
    expected: np.ndarray,
    act: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Opening stock (tenths) and the hour the day's delivery reaches the shelf.

    S = round(10 C E P^activity), log C = cover_i + N(0, sd_day^2) (the store expects E, the
    full expected demand, and stocks promotions P times more); S = 0 on a delivery miss.
    Arrival hour k: 1..6 normally (it matters only after a day that ended sold out), 7..
    on a late-delivery day (a morning gap from 6h, see ``_censor``).
    """
    n, n_days = expected.shape
    log_cover = params.cover_log[:, None] + rng.normal(0.0, model.cover_day_sd, (n, n_days))
    log_base = np.log(expected) + np.log(model.promo_cover) * act
    stock = np.rint(10.0 * np.exp(log_cover + log_base)).astype(np.int64)
    stock[rng.random((n, n_days)) < model.no_delivery_prob] = 0
    probs = np.asarray(model.restock_hour_probs)
    restock = 1 + rng.choice(len(probs), size=(n, n_days), p=probs / probs.sum())
    late_p = np.asarray(model.late_hour_probs)
    late = OPEN_HOUR + 1 + rng.choice(len(late_p), size=(n, n_days), p=late_p / late_p.sum())
    restock = np.where(rng.random((n, n_days)) < model.late_delivery_prob, late, restock)
    return stock, restock


def _censor(
    demand: np.ndarray, stock: np.ndarray, restock: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Deplete the opening stock hour by hour (kernel; assumes clean input).

    Hours before the day's delivery reaches the shelf at hour k = ``restock`` are out of
    stock and sell nothing: from hour 0 after a day that ended out of stock, otherwise from
    ``OPEN_HOUR`` (yesterday's leftovers cover the night; this gap exists only when k > 6,
    a late delivery). From then on hour h is flagged out of stock iff the stock was used up
    before h (it sells nothing) or h's demand exceeded what was left (the sell-out hour: it
    sells the remainder and is flagged). So a day without any flag lost no demand.
    """
    n, n_days, _ = demand.shape
    hours = np.arange(HOURS)[None, :]
    sales = np.empty_like(demand)
    status = np.empty(demand.shape, dtype=np.int32)
    prev_out = np.zeros(n, dtype=bool)
    for d in range(n_days):  # loop over days (carry-over), vectorised over series x hours
        empty_from = np.where(prev_out, 0, OPEN_HOUR)[:, None]
        gap = (hours >= empty_from) & (hours < restock[:, d, None])
        avail = np.where(gap, 0, demand[:, d, :])
        cum = np.cumsum(avail, axis=1)
        s = stock[:, d, None]
        sold = np.minimum(cum, s)
        sales[:, d, 0] = sold[:, 0]
        sales[:, d, 1:] = np.diff(sold, axis=1)
        # out of stock: waiting for the delivery, sold out before h, or demand unmet within h
        out = gap | ((cum - avail) >= s) | (cum > s)
        status[:, d, :] = out
        prev_out = out[:, -1]
    return sales, status
