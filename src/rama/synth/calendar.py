"""Calendar (dates, holiday flags) and city-day weather of the synthetic period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

TRAIN_START = date(2024, 3, 28)
# Public holidays of the period (Qingming, Labour Day, Dragon Boat) flagged in the real data,
# on top of weekends; 2024-04-07 (a make-up working Sunday) is not flagged.
PUBLIC_HOLIDAYS = frozenset(
    date.fromisoformat(d)
    for d in ("2024-04-04", "2024-04-05", "2024-05-01", "2024-05-02", "2024-05-03", "2024-06-10")
)
WORKING_WEEKENDS = frozenset({date(2024, 4, 7)})


@dataclass(frozen=True)
class Calendar:
    """The consecutive days of train then eval."""

    dates: list[date]
    n_train: int

    @property
    def n_days(self) -> int:
        return len(self.dates)

    @property
    def strings(self) -> list[str]:
        return [d.isoformat() for d in self.dates]

    @property
    def weekday(self) -> np.ndarray:
        """0 = Monday ... 6 = Sunday, per day."""
        return np.array([d.weekday() for d in self.dates], dtype=np.int64)

    @property
    def holiday(self) -> np.ndarray:
        """holiday_flag per day: weekends and public holidays, minus make-up working days."""
        return np.array(
            [
                int((d.weekday() >= 5 or d in PUBLIC_HOLIDAYS) and d not in WORKING_WEEKENDS)
                for d in self.dates
            ],
            dtype=np.int32,
        )


def make_calendar(n_train_days: int, n_eval_days: int) -> Calendar:
    """Days from 2024-03-28: ``n_train_days`` of train followed by ``n_eval_days`` of eval."""
    n = n_train_days + n_eval_days
    return Calendar([TRAIN_START + timedelta(days=i) for i in range(n)], n_train_days)


@dataclass(frozen=True)
class Weather:
    """(cities, days) arrays in the published units and rounding."""

    precpt: np.ndarray  # mm, 4 decimals
    avg_temperature: np.ndarray  # deg C, 2 decimals
    avg_humidity: np.ndarray  # %, 2 decimals
    avg_wind_level: np.ndarray  # wind scale level, 2 decimals


def make_weather(n_cities: int, n_days: int, rng: np.random.Generator) -> Weather:
    """Spring-to-summer weather per city-day.

    temperature = base_c + 12 * t/97 + AR(1) noise (phi 0.7, sd 1.0); base_c ~ U(10, 20);
    precipitation = 0.05 + Gamma(0.9, 1.5 + 6 t/97) (wetter towards summer);
    humidity = clip(62 + 1.2 precpt + N(0, 4), 35, 98); wind = clip(N(1.7, 0.3), 0.5, 5).
    """
    t = np.arange(n_days, dtype=np.float64) / 97.0
    base = rng.uniform(10.0, 20.0, (n_cities, 1))
    shocks = rng.normal(0.0, 1.0, (n_cities, n_days))
    ar = np.empty_like(shocks)
    ar[:, 0] = shocks[:, 0]
    for d in range(1, n_days):  # loop over days, vectorised over cities
        ar[:, d] = 0.7 * ar[:, d - 1] + shocks[:, d]
    temp = base + 12.0 * t[None, :] + 0.7 * ar
    precpt = 0.05 + rng.gamma(0.9, 1.0, (n_cities, n_days)) * (1.5 + 6.0 * t[None, :])
    humid = np.clip(62.0 + 1.2 * precpt + rng.normal(0.0, 4.0, precpt.shape), 35.0, 98.0)
    wind = np.clip(rng.normal(1.7, 0.3, precpt.shape), 0.5, 5.0)
    return Weather(
        precpt=np.round(precpt, 4),
        avg_temperature=np.round(temp, 2),
        avg_humidity=np.round(humid, 2),
        avg_wind_level=np.round(wind, 2),
    )
