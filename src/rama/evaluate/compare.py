"""Strategies side by side on one problem: each decides once, and each decision is scored
twice with the problem's cost terms: against what the plan expected (the forecast mean; the
K demand points for the stochastic strategies) and against the realized demand, the same
vector for every strategy.

The scenario sweep (:mod:`rama.scenarios`) calls :func:`compare_strategies` once per scenario
problem; the evaluation stage once, on the run's problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rama.evaluate.score import score
from rama.problem import Problem
from rama.strategies import STOCHASTIC, STRATEGY_FUNCTIONS, Decision, StrategyContext

FIGURES = (
    "holding",
    "stockout",
    "transport",
    "manufacturing",
    "distribution",
    "total",
    "fill_rate",
    "cycle_service_level",
    "stockout_units",
)


@dataclass
class Solved:
    """A problem's decisions and expected figures, reusable by any scenario whose plans see
    the same inputs (``label``: the scenario that solved them)."""

    label: str
    problem: Problem
    decisions: dict[str, Decision] = field(default_factory=dict)
    expected: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def compare_strategies(
    solved: Solved, strategies: list[str], actual: np.ndarray, ctx: StrategyContext
) -> list[dict[str, Any]]:
    """One row per strategy: ``expected_*`` and ``realized_*`` figures (:data:`FIGURES`),
    units, the fill-rate search's target and penalty raise, solve seconds (0 when the
    decision was already in ``solved``) and ``plans_from`` (``solved.label``)."""
    problem = solved.problem
    rows: list[dict[str, Any]] = []
    for name in strategies:
        reused = name in solved.decisions
        if not reused:
            t0 = time.perf_counter()
            dec = STRATEGY_FUNCTIONS[name](problem, ctx)
            solved.seconds[name] = time.perf_counter() - t0
            view = ctx.clipped_points(problem) if name in STOCHASTIC else problem.demand
            solved.decisions[name], solved.expected[name] = dec, score(dec, problem, view)
        dec, exp = solved.decisions[name], solved.expected[name]
        real = score(dec, problem, actual)
        row: dict[str, Any] = {"strategy": name}
        row.update({f"expected_{k}": exp[k] for k in FIGURES})
        row.update({f"realized_{k}": real[k] for k in FIGURES})
        row.update(
            {
                "realized_demand_units": real["demand_units"],
                "units_transferred": real["units_transferred"],
                "units_manufactured": real["units_manufactured"],
                "fill_rate_target": dec.info.get("fill_rate_target"),
                "penalty_raise": dec.info.get("penalty_raise"),
                "seconds": 0.0 if reused else solved.seconds[name],
                "plans_from": solved.label,
            }
        )
        rows.append(row)
    return rows


def score_row(decision: Decision, problem: Problem, actual: np.ndarray) -> dict[str, Any]:
    """The figures of one decision that no strategy function made (a written plan)."""
    exp, real = score(decision, problem, problem.demand), score(decision, problem, actual)
    row: dict[str, Any] = {"strategy": decision.strategy}
    row.update({f"expected_{k}": exp[k] for k in FIGURES})
    row.update({f"realized_{k}": real[k] for k in FIGURES})
    row.update(
        realized_demand_units=real["demand_units"],
        units_transferred=real["units_transferred"],
        units_manufactured=real["units_manufactured"],
    )
    return row
