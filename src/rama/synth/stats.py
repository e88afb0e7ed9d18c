"""Running statistics of a generated dataset, accumulated chunk by chunk while writing.

* ``TrainStats``: the calibration statistics of train ``sale_amount`` (exact: the values are
  integer tenths), compared with the published ones in docs/synthetic.md.
* ``CensoringStats``: per split, how selected the benchmark's "official" rows
  (``stock_hour6_22_cnt == 0``) are and how much the stockouts censor the sales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class TrainStats:
    """Running statistics of train ``sale_amount`` (units/day)."""

    hist: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0
    stockout_days: int = 0
    hol_sum: float = 0.0
    hol_n: int = 0
    latent_total: float = 0.0

    def add(self, tenths: np.ndarray, cnt: np.ndarray, hol: np.ndarray, latent: np.ndarray) -> None:
        """Add (series, days) arrays: sales and latent demand in tenths, counted stockout
        hours, holiday flags."""
        t = tenths.reshape(-1)
        counts = np.bincount(t)
        if len(counts) > len(self.hist):
            counts[: len(self.hist)] += self.hist
            self.hist = counts
        else:
            self.hist[: len(counts)] += counts
        x = t / 10.0
        self.n += len(t)
        self.total += float(x.sum())
        self.total_sq += float((x * x).sum())
        self.stockout_days += int((cnt.reshape(-1) > 0).sum())
        h = hol.reshape(-1).astype(bool)
        self.hol_sum += float(x[h].sum())
        self.hol_n += int(h.sum())
        self.latent_total += float(latent.sum()) / 10.0

    def summary(self) -> dict[str, float]:
        if self.n == 0:
            return {}
        mean = self.total / self.n
        cum = np.cumsum(self.hist)
        median = float(np.searchsorted(cum, (self.n + 1) / 2.0)) / 10.0
        non_n = self.n - self.hol_n
        return {
            "mean": mean,
            "std": math.sqrt(
                max(self.total_sq / self.n - mean * mean, 0.0) * self.n / max(self.n - 1, 1)
            ),
            "median": median,
            "max": (len(self.hist) - 1) / 10.0,
            "zero_share": float(self.hist[0]) / self.n,
            "stockout_share": self.stockout_days / self.n,
            "holiday_mean": self.hol_sum / self.hol_n if self.hol_n else float("nan"),
            "non_holiday_mean": (self.total - self.hol_sum) / non_n if non_n else float("nan"),
            "latent_to_observed": self.latent_total / self.total if self.total else float("nan"),
        }


# Running sums kept per split, in tenths of a unit (the series-mean sum is fractional).
_SUMS = ("rows", "official_rows", "latent", "sales", "off_latent", "off_sales", "off_series_mean")


@dataclass
class CensoringStats:
    """Official-row selection and censoring bias per split.

    With L the latent demand, y the sales, m_i the mean latent demand of series i over the
    split's days and "official" the rows with ``stock_hour6_22_cnt == 0``:

    * ``selection_ratio`` = sum_official L / sum_official m_i: the mean latent demand on the
      official rows relative to the same series' mean over all days (1 = no selection; the
      forecast stage reports it minus 1 as ``official_row_selection``);
    * ``official_bias`` = sum_official (y - L) / sum_official L (near 0 by construction: only
      uncounted night stockouts censor an official row);
    * ``censoring_bias`` = sum (y - L) / sum L over all rows (minus the censored share).
    """

    sums: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, split: str, tenths: np.ndarray, cnt: np.ndarray, latent: np.ndarray) -> None:
        """Add (series, days) arrays of one split: sales and latent demand in tenths, counted
        stockout hours. Every day of a series must come in the same call."""
        if tenths.size == 0:
            return
        s = self.sums.setdefault(split, dict.fromkeys(_SUMS, 0.0))
        off = cnt == 0
        series_mean = latent.mean(axis=1)
        s["rows"] += tenths.size
        s["official_rows"] += int(off.sum())
        s["latent"] += float(latent.sum())
        s["sales"] += float(tenths.sum())
        s["off_latent"] += float(latent[off].sum())
        s["off_sales"] += float(tenths[off].sum())
        s["off_series_mean"] += float((series_mean * off.sum(axis=1)).sum())

    def summary(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for split, s in self.sums.items():
            out[split] = {
                "official_share": s["official_rows"] / s["rows"],
                "selection_ratio": _ratio(s["off_latent"], s["off_series_mean"]),
                "official_bias": _ratio(s["off_sales"], s["off_latent"]) - 1.0,
                "censoring_bias": _ratio(s["sales"], s["latent"]) - 1.0,
            }
        return out


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")
