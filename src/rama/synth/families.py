"""Structurally different synthetic families for benchmarking the forecaster (issue 14).

Each family writes a DATA folder in the FreshRetailNet format with the latent truth, exactly
like :func:`rama.synth.generate_datasets` (same layout, calendar, weather, stock and
censoring rules), but with a different demand process. They exist so that a forecast change
is judged on more than the default generator's own data; nothing in the defaults is tuned to
them.

* ``persistent``: strong day-to-day persistence (AR(1) log noise, phi 0.9, stationary sd
  0.45 instead of i.i.d. 0.25), a weekend-heavy weekly profile, holiday uplift x1.6 and one
  level shift (x exp(N(0, 0.5))) at a random day in 30 % of the series.
* ``intermittent``: 70 % slow movers (level x e^-2, about 0.1 units/day) whose demand comes
  on a few days only: a day has demand with probability p ~ U(0.15, 0.5) per series, and then
  ``expected / p`` times a Gamma(2, 1/2) burst (same mean, lumpy); a midweek weekly profile.
* ``promo``: price-elastic promotions: elasticity median 4 (clipped to [1, 5]), lift up to
  x6, promotions three times as frequent and longer, and stores that stock promotions only x1.2.

The default generator is untouched: these families reuse its pieces (``_promotions``,
``_opening_stock``, ``_censor``, the table builders) and change only the expected demand and
its day noise.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from rama.errors import ConfigError
from rama.io import atomic_dir
from rama.layout import TRUTH_FILE
from rama.synth.calendar import make_calendar, make_weather
from rama.synth.demand import (
    ChunkResult,
    DemandModel,
    SeriesParams,
    _censor,
    _opening_stock,
    _promotions,
    series_params,
)
from rama.synth.fresh import FRESH_SCHEMA, TRUTH_SCHEMA, fresh_table, truth_table
from rama.synth.generate import CHUNK_SERIES, TRUTH_README, _validate
from rama.synth.layout import build_layout, scale_counts
from rama.synth.logistics import make_logistics


@dataclass(frozen=True)
class Family:
    """A demand process: the base model's overrides plus the family's own knobs."""

    name: str
    model: DemandModel
    ar_phi: float = 0.0  # AR(1) coefficient of the log day noise (0 = i.i.d.)
    shift_share: float = 0.0  # share of series with one level shift
    shift_log_sd: float = 0.0  # sd of the log size of that shift
    slow_share: float = 0.0  # share of slow movers
    slow_log_level: float = 0.0  # log level change of a slow mover
    occur_lo: float = 1.0  # slow movers: daily demand-occurrence probability ~ U(lo, hi)
    occur_hi: float = 1.0
    burst_shape: float = 2.0  # Gamma shape of a demand burst (mean 1)


_BASE = DemandModel()
FAMILIES: dict[str, Family] = {
    "persistent": Family(
        "persistent",
        replace(
            _BASE,
            weekday_factor=(0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.3),
            holiday_uplift=1.6,
            day_noise_sd=0.45,
        ),
        ar_phi=0.9,
        shift_share=0.3,
        shift_log_sd=0.5,
    ),
    "intermittent": Family(
        "intermittent",
        replace(_BASE, weekday_factor=(1.05, 1.15, 1.15, 1.05, 0.95, 0.85, 0.8)),
        slow_share=0.7,
        slow_log_level=-2.0,
        occur_lo=0.15,
        occur_hi=0.5,
    ),
    "promo": Family(
        "promo",
        replace(
            _BASE,
            elasticity_median=4.0,
            max_discount_lift=6.0,
            promo_start_a=3.6,
            promo_stay=0.85,
            discount_in_promo=0.9,
            promo_cover=1.2,
        ),
    ),
}


@dataclass(frozen=True)
class FamilyResult:
    """What :func:`generate_family` wrote (rows per split, wall seconds)."""

    out_dir: Path
    family: str
    scale: float
    seed: int
    pairs: int
    train_rows: int
    eval_rows: int
    seconds: float


def _ar_noise(
    sd: float, phi: float, shape: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """Log day noise with stationary sd ``sd`` and mean-one exp (AR(1) over days)."""
    n, n_days = shape
    eps = rng.normal(0.0, sd * np.sqrt(1.0 - phi * phi), shape)
    out = np.empty(shape)
    out[:, 0] = rng.normal(0.0, sd, n)
    for d in range(1, n_days):  # loop over days, vectorised over series
        out[:, d] = phi * out[:, d - 1] + eps[:, d]
    return out - 0.5 * sd * sd


def simulate_family(
    fam: Family,
    params: SeriesParams,
    *,
    weekday: np.ndarray,
    holiday: np.ndarray,
    temperature: np.ndarray,
    precpt: np.ndarray,
    rng: np.random.Generator,
) -> ChunkResult:
    """The family's latent hourly demand, censored by the default stock rules."""
    model = fam.model
    n, n_days = temperature.shape
    act, discount = _promotions(model, params.promo_start, n_days, rng)
    wk = np.asarray(model.weekday_factor)[weekday]
    log_lift = np.minimum(
        -params.elasticity[:, None] * np.log(discount), np.log(model.max_discount_lift)
    )
    log_level = params.log_level[:, None] * np.ones((1, n_days))
    if fam.shift_share > 0:
        shifted = np.asarray(rng.random(n)) < fam.shift_share
        at = np.asarray(rng.integers(1, n_days, n))
        size = np.asarray(rng.normal(0.0, fam.shift_log_sd, n)) * shifted
        log_level = log_level + size[:, None] * (np.arange(n_days)[None, :] >= at[:, None])
    slow = np.asarray(rng.random(n)) < fam.slow_share
    log_level = log_level + np.where(slow, fam.slow_log_level, 0.0)[:, None]
    log_e = (
        log_level
        + np.log(wk)[None, :]
        + np.log(model.holiday_uplift) * holiday[None, :]
        + log_lift
        + np.log(model.activity_uplift) * act
        + params.temp_sens[:, None] * (temperature - 20.0) / 10.0
        - model.precip_coef * precpt
    )
    expected = np.exp(log_e)
    rate = expected * np.exp(_ar_noise(model.day_noise_sd, fam.ar_phi, (n, n_days), rng))
    if fam.slow_share > 0:
        p = np.asarray(rng.uniform(fam.occur_lo, fam.occur_hi, n))[:, None]
        occurs = rng.random((n, n_days)) < p
        burst = rng.gamma(fam.burst_shape, 1.0 / fam.burst_shape, (n, n_days)) / p
        rate = np.where(slow[:, None], rate * occurs * burst, rate)
    demand = rng.poisson(10.0 * rate[:, :, None] * params.profile[:, None, :])
    stock, restock = _opening_stock(model, params, expected, act, rng)
    sales, status = _censor(demand, stock, restock)
    return ChunkResult(sales, status, demand.sum(axis=2), discount, act)


def generate_family(
    out_dir: Path,
    family: str,
    *,
    scale: float = 0.1,
    seed: int = 42,
    n_train_days: int = 90,
    n_eval_days: int = 7,
) -> FamilyResult:
    """Write ``out_dir/{freshretailnet,logistics,truth}`` for ``family`` (see FAMILIES)."""
    if family not in FAMILIES:
        raise ConfigError(
            f"generate_family: unknown family {family!r}; expected one of {sorted(FAMILIES)}"
        )
    out_dir = Path(out_dir)
    _validate(out_dir, scale, seed, n_train_days, n_eval_days)
    fam = FAMILIES[family]
    t0 = time.perf_counter()
    counts = scale_counts(scale)
    layout = build_layout(counts, np.random.default_rng([seed, 0]))
    cal = make_calendar(n_train_days, n_eval_days)
    weather = make_weather(counts.cities, cal.n_days, np.random.default_rng([seed, 1]))
    params = series_params(
        fam.model,
        pair_store=layout.pair_store,
        pair_product=layout.pair_product,
        n_stores=counts.stores,
        n_products=counts.products,
        rng=np.random.default_rng([seed, 2]),
    )
    train_days, eval_days = slice(0, cal.n_train), slice(cal.n_train, cal.n_days)
    with atomic_dir(out_dir) as tmp:
        data_dir = tmp / "freshretailnet" / "data"
        data_dir.mkdir(parents=True)
        (tmp / TRUTH_FILE.parent).mkdir()
        (tmp / "logistics").mkdir()
        writers = {"train": pq.ParquetWriter(data_dir / "train.parquet", FRESH_SCHEMA)}
        if n_eval_days:
            writers["eval"] = pq.ParquetWriter(data_dir / "eval.parquet", FRESH_SCHEMA)
        truth_w = pq.ParquetWriter(tmp / TRUTH_FILE, TRUTH_SCHEMA)
        try:
            for i, lo in enumerate(range(0, counts.pairs, CHUNK_SERIES)):
                hi = min(lo + CHUNK_SERIES, counts.pairs)
                city = layout.store_city[layout.pair_store[lo:hi]]
                res = simulate_family(
                    fam,
                    params.rows(lo, hi),
                    weekday=cal.weekday,
                    holiday=cal.holiday,
                    temperature=weather.avg_temperature[city],
                    precpt=weather.precpt[city],
                    rng=np.random.default_rng([seed, 3, i]),
                )
                for split, days in (("train", train_days), ("eval", eval_days)):
                    if split in writers:
                        writers[split].write_table(
                            fresh_table(
                                layout, lo=lo, hi=hi, res=res, cal=cal, weather=weather, days=days
                            )
                        )
                truth_w.write_table(truth_table(layout, lo, hi, res, cal))
        finally:
            for w in (*writers.values(), truth_w):
                w.close()
        (tmp / TRUTH_FILE.parent / "README.md").write_text(TRUTH_README, encoding="utf-8")
        make_logistics(np.random.default_rng([seed, 4])).write_csv(
            tmp / "logistics" / "dynamic_supply_chain_logistics_dataset.csv"
        )
    return FamilyResult(
        out_dir=out_dir.resolve(),
        family=family,
        scale=scale,
        seed=seed,
        pairs=counts.pairs,
        train_rows=counts.pairs * n_train_days,
        eval_rows=counts.pairs * n_eval_days,
        seconds=time.perf_counter() - t0,
    )


__all__ = ["FAMILIES", "Family", "FamilyResult", "generate_family", "simulate_family"]
