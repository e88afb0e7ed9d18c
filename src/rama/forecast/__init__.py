"""Demand forecasting: stockout recovery, a global LightGBM model, calibrated uncertainty,
and the forecast stage (``rama forecast``). See docs/forecast.md."""

from rama.forecast.model import DemandForecaster, quantile_name
from rama.forecast.recovery import recover_demand
from rama.forecast.recovery_table import recovery_summary
from rama.forecast.stage import run_forecast

__all__ = [
    "DemandForecaster",
    "quantile_name",
    "recover_demand",
    "recovery_summary",
    "run_forecast",
]
