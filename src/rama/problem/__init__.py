"""The planning problem: the working plan's parameters per store, product and pair, as one
validated frozen :class:`Problem` (``RUN/problem/``).

Entry points: :func:`make_problem` (tables in memory), :func:`load_problem` /
:func:`write_problem` (the problem folder), :func:`build_problem` (a run's prepared tables and
forecast), :func:`stochastic_problem` (K demand points per pair; :func:`forecast_points` and
:func:`forecast_samples` of the configured distribution), :func:`on_lot_grid` (the
inputs on a lot grid, for plans in whole units or lots). See docs/optimizer.md.
"""

from rama.problem.build import build_problem, build_run_problem, read_inventory
from rama.problem.folder import (
    load_problem,
    read_grid,
    read_points,
    transport_frame,
    write_problem,
)
from rama.problem.lots import off_grid_inputs, on_lot_grid, rounding_cost_skipped
from rama.problem.model import PAIR_KEYS, TABLES, Problem, align_pairs, make_problem
from rama.problem.planner_tables import BuildReport, PlannerInputs
from rama.problem.risk import StoreRisk, read_store_risk, store_risk_from_params, write_store_risk
from rama.problem.scenario import (
    PlanningInputs,
    inputs_from_problem,
    inputs_from_risk,
    load_inputs,
    scenario_problem,
)
from rama.problem.stochastic import (
    forecast_points,
    forecast_samples,
    grid_rows,
    stochastic_problem,
)
from rama.problem.transport import CityCosts, TransportCosts, scale_transport
from rama.problem.variants import with_penalty, without_routes

__all__ = [
    "PAIR_KEYS",
    "TABLES",
    "BuildReport",
    "CityCosts",
    "PlannerInputs",
    "PlanningInputs",
    "Problem",
    "StoreRisk",
    "TransportCosts",
    "align_pairs",
    "build_problem",
    "build_run_problem",
    "forecast_points",
    "forecast_samples",
    "grid_rows",
    "inputs_from_problem",
    "inputs_from_risk",
    "load_inputs",
    "load_problem",
    "make_problem",
    "off_grid_inputs",
    "on_lot_grid",
    "read_grid",
    "read_inventory",
    "read_points",
    "read_store_risk",
    "rounding_cost_skipped",
    "scale_transport",
    "scenario_problem",
    "stochastic_problem",
    "store_risk_from_params",
    "transport_frame",
    "with_penalty",
    "without_routes",
    "write_problem",
    "write_store_risk",
]
