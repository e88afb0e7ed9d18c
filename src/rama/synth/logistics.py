"""Synthetic copy of the Kaggle "logistics and supply chain" dataset (32,065 hourly rows).

Every numeric column is ``lo + (hi - lo) * Beta(a, b)`` with the published range and mean;
locations scatter around 18 hubs so that spatial clustering finds structure, and the
shipping cost, lead time, delay probability and route risk of a row lean towards its hub's
own level. ``risk_classification`` ranks a risk score and cuts it at the published counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl

from rama.data.schema import LOGISTICS_COLUMNS

N_ROWS = 32_065
START = datetime(2021, 1, 1)
N_HUBS = 18
LAT_RANGE = (30.0, 50.0)
LON_RANGE = (-120.0, -70.0)
# Published class counts (High / Moderate / Low Risk) for 32,065 rows.
RISK_COUNTS = {"High Risk": 23_944, "Moderate Risk": 5_011, "Low Risk": 3_110}
COLUMNS = LOGISTICS_COLUMNS
# column -> (lo, hi, mean); Beta concentration a + b = 1.0 (bunching near the bounds,
# as in the published file). Columns with a hub effect are drawn separately.
_PLAIN: dict[str, tuple[float, float, float]] = {
    "fuel_consumption_rate": (5.0, 20.0, 8.0),
    "eta_variation_hours": (-2.0, 5.0, 2.9),
    "traffic_congestion_level": (0.0, 10.0, 5.0),
    "warehouse_inventory_level": (0.0, 1000.0, 300.0),
    "loading_unloading_time": (0.5, 5.0, 2.9),
    "handling_equipment_availability": (0.0, 1.0, 0.3),
    "order_fulfillment_status": (0.0, 1.0, 0.6),
    "weather_condition_severity": (0.0, 1.0, 0.5),
    "port_congestion_level": (0.0, 10.0, 7.0),
    "historical_demand": (100.0, 10_000.0, 5000.0),
    "iot_temperature": (-10.0, 40.0, 0.0),
    "cargo_condition_status": (0.0, 1.0, 0.3),
    "customs_clearance_time": (0.5, 5.0, 1.5),
    "driver_behavior_score": (0.0, 1.0, 0.2),
    "fatigue_monitoring_score": (0.0, 1.0, 0.6),
    "disruption_likelihood_score": (0.0, 1.0, 0.8),
    "delivery_time_deviation": (-2.0, 10.0, 5.0),
}
_HUB: dict[str, tuple[float, float, float]] = {
    "shipping_costs": (100.0, 1000.0, 459.0),
    "lead_time_days": (1.0, 15.0, 5.2),
    "delay_probability": (0.0, 1.0, 0.70),
    "route_risk_level": (0.0, 10.0, 6.0),
    "supplier_reliability_score": (0.0, 1.0, 0.45),
}


def _beta(rng: np.random.Generator, mean01: np.ndarray | float, size: int, k: float) -> np.ndarray:
    m = np.clip(mean01, 0.02, 0.98)
    return rng.beta(k * m, k * (1.0 - m), size)


def _reflect(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Fold values back into [lo, hi] (no pile-up exactly at the bounds)."""
    span = hi - lo
    y = np.mod(x - lo, 2.0 * span)
    return lo + np.where(y > span, 2.0 * span - y, y)


def make_logistics(rng: np.random.Generator, n_rows: int = N_ROWS) -> pl.DataFrame:
    """The logistics table in the published column order and dtypes."""
    hub = rng.integers(0, N_HUBS, n_rows)
    hub_lat = rng.uniform(*LAT_RANGE, N_HUBS)
    hub_lon = rng.uniform(*LON_RANGE, N_HUBS)
    data: dict[str, np.ndarray | pl.Series] = {
        "vehicle_gps_latitude": _reflect(hub_lat[hub] + rng.normal(0, 1.5, n_rows), *LAT_RANGE),
        "vehicle_gps_longitude": _reflect(hub_lon[hub] + rng.normal(0, 2.5, n_rows), *LON_RANGE),
    }
    for name, (lo, hi, mean) in _PLAIN.items():
        data[name] = lo + (hi - lo) * _beta(rng, (mean - lo) / (hi - lo), n_rows, 1.0)
    for name, (lo, hi, mean) in _HUB.items():
        m = (mean - lo) / (hi - lo)
        # hub level: logit-normal around the published mean; row value Beta around it.
        logit = np.log(m / (1 - m)) + rng.normal(0.0, 0.35, N_HUBS)
        hub_m = 1.0 / (1.0 + np.exp(-logit))
        hub_m *= m / hub_m[hub].mean()  # keep the overall mean at the published one
        data[name] = lo + (hi - lo) * _beta(rng, hub_m[hub], n_rows, 1.2)
    score = (
        0.5 * np.asarray(data["delay_probability"])
        + 0.3 * np.asarray(data["route_risk_level"]) / 10.0
        + 0.2 * np.asarray(data["disruption_likelihood_score"])
        + rng.normal(0.0, 0.05, n_rows)
    )
    counts = np.array(list(RISK_COUNTS.values()), dtype=np.float64)
    cuts = np.rint(np.cumsum(counts / counts.sum() * n_rows)).astype(np.int64)
    rank = np.empty(n_rows, dtype=np.int64)
    rank[np.argsort(-score, kind="stable")] = np.arange(n_rows)
    labels = np.array(list(RISK_COUNTS))
    data["risk_classification"] = pl.Series(labels[np.searchsorted(cuts, rank, side="right")])
    ts = pl.datetime_range(START, START + timedelta(hours=n_rows - 1), interval="1h", eager=True)
    data["timestamp"] = ts.dt.strftime("%Y-%m-%d %H:%M:%S")
    return pl.DataFrame({c: data[c] for c in COLUMNS})
