"""The strategies compared in one run (do nothing, decentralized, centralized, stochastic,
fill-rate target) and the scenario problems they solve. See docs/scenarios.md."""

from rama.strategies.fill_rate import fill_rate_plan, proxy_lambda
from rama.strategies.inputs import (
    PlanningInputs,
    inputs_from_problem,
    load_inputs,
    scenario_problem,
    with_penalty,
    without_routes,
)
from rama.strategies.plans import STRATEGY_FUNCTIONS, StrategyContext

__all__ = [
    "STRATEGY_FUNCTIONS",
    "PlanningInputs",
    "StrategyContext",
    "fill_rate_plan",
    "inputs_from_problem",
    "load_inputs",
    "proxy_lambda",
    "scenario_problem",
    "with_penalty",
    "without_routes",
]
