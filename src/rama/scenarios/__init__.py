"""Scenario analysis: multipliers on the run's inputs, every strategy scored on the same
realized demand (``rama scenarios``). See docs/scenarios.md."""

from rama.scenario_spec import DISRUPTIONS, MULTIPLIERS, Scenario, parse_custom, scenario_list
from rama.scenarios.stage import run_scenarios

__all__ = [
    "DISRUPTIONS",
    "MULTIPLIERS",
    "Scenario",
    "parse_custom",
    "run_scenarios",
    "scenario_list",
]
