"""Strategies side by side on one problem: each decides once, and each decision is scored
with the problem's cost terms three ways:

- ``expected_*``: against what the plan itself expected (the forecast mean; the K demand
  points for the stochastic strategies);
- ``forecast_*``: against S independent draws of the forecast distribution
  (:func:`rama.problem.forecast_samples`, ``evaluate.samples``; the stochastic plan's
  ``stochastic.distribution``, the quantile grid's for "empirical"), the same draws for every
  strategy and never the points a plan was optimized on, so the comparison does not flatter
  the stochastic plan; this is what a planner can expect before the week happens;
- ``realized_*``: against the realized demand when there is one (eval split or latent
  truth), the same vector for every strategy; ``None`` on live data.

The scenario sweep (:mod:`rama.scenarios`) calls :func:`compare_strategies` once per scenario
problem; the evaluation stage once, on the run's problem.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rama.problem import Problem, forecast_samples
from rama.strategies import STOCHASTIC, STRATEGY_FUNCTIONS, Decision, StrategyContext, score
from rama.strategies.score import EPS, Position, position, score_position

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


@dataclass(frozen=True, eq=False)
class ScoringDemand:
    """The demand every plan is scored on: the realized demand per pair (units; ``None`` on
    live data) and how the forecast draws are made (``samples`` per pair, ``seed``)."""

    realized: np.ndarray | None
    samples: int
    seed: int


@dataclass
class Solved:
    """A problem's decisions and expected figures, reusable by any scenario whose plans see
    the same inputs (``label``: the scenario that solved them)."""

    label: str
    problem: Problem
    decisions: dict[str, Decision] = field(default_factory=dict)
    expected: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    samples: np.ndarray | None = None  # n x S draws of the forecast distribution (units)
    fallback_pairs: int = 0  # "empirical": pairs without a grid row, drawn from the Gamma

    def forecast_samples(self, n_samples: int, distribution: str, seed: int) -> np.ndarray:
        """The problem's S forecast draws of ``distribution`` (computed once, then reused;
        :func:`rama.problem.forecast_samples`)."""
        if self.samples is None or self.samples.shape[1] != n_samples:
            self.samples, self.fallback_pairs = forecast_samples(
                self.problem, n_samples, distribution, seed
            )
        return self.samples


def score_realized(decision: Decision, problem: Problem, actual: np.ndarray) -> dict[str, float]:
    """:func:`~rama.strategies.score` on the pairs with a realized demand (``actual`` finite);
    a NaN pair (no actuals) is excluded, never scored as zero demand.

    Holding and stockout ($), demand, stockout and ending units, fill rate and cycle service
    level cover the scored pairs; transport, manufacturing and distribution are the whole
    decision's (they do not depend on the demand). ``pairs_scored`` counts the pairs."""
    d = np.asarray(actual, dtype=np.float64)
    known = np.isfinite(d)
    if known.all():
        return score(decision, problem, d) | {"pairs_scored": float(d.size)}
    avail = decision.available(problem)
    out = score(decision, problem, np.where(known, d, avail))  # excluded pairs: 0 short, 0 left
    diff = d[known] - avail[known]
    total_d = float(d[known].sum())
    short = float(np.maximum(diff, 0.0).sum())
    out["demand_units"] = total_d
    out["stockout_units"] = short
    out["ending_units"] = float(np.maximum(-diff, 0.0).sum())
    out["fill_rate"] = 1.0 - short / total_d if total_d > 0 else 1.0
    out["cycle_service_level"] = float((diff <= EPS).mean()) if diff.size else 1.0
    out["pairs_scored"] = float(known.sum())
    return out


def compare_strategies(
    solved: Solved,
    strategies: list[str],
    actual: np.ndarray | None,
    ctx: StrategyContext,
    simulated: np.ndarray,
    advance: Callable[[float], None] | None = None,
    *,
    simulated_scale: float = 1.0,
    sim_position: Callable[[Decision, np.ndarray], Position] | None = None,
    known: Mapping[str, Decision] | None = None,
) -> list[dict[str, Any]]:
    """One row per strategy: ``expected_*``, ``forecast_*`` (on ``simulated`` x
    ``simulated_scale``, ``n x S``) and ``realized_*`` (on ``actual``; ``None`` when there is
    no realized demand) figures (:data:`FIGURES`), units, the fill-rate search's target and
    penalty raise, solve seconds (0 when the decision was already in ``solved``) and
    ``plans_from``; ``advance(1)`` after each strategy (progress).

    ``sim_position(decision, available)``: the decision's position under that demand
    (:func:`rama.strategies.score.position`) when the caller knows it (the scenario sweep's
    cache); by default computed here. ``known``: decisions made on a problem identical to
    what the strategy reads of ``solved.problem`` (:mod:`rama.scenarios.reuse`), used instead
    of solving (scored afresh on this problem; ``seconds`` 0)."""
    problem = solved.problem
    rows: list[dict[str, Any]] = []
    for name in strategies:
        reused = name in solved.decisions
        if not reused:
            if known is not None and name in known:
                dec, solved.seconds[name] = known[name], 0.0
            else:
                t0 = time.perf_counter()
                dec = STRATEGY_FUNCTIONS[name](problem, ctx)
                solved.seconds[name] = time.perf_counter() - t0
            view = ctx.clipped_points(problem) if name in STOCHASTIC else problem.demand
            solved.decisions[name], solved.expected[name] = dec, score(dec, problem, view)
        dec, exp = solved.decisions[name], solved.expected[name]
        real = score_realized(dec, problem, actual) if actual is not None else None
        avail = dec.available(problem)
        if sim_position is None:
            at = position(avail, simulated, simulated_scale)
        else:
            at = sim_position(dec, avail)
        sim = score_position(dec, problem, at)
        row: dict[str, Any] = {"strategy": name}
        row.update({f"expected_{k}": exp[k] for k in FIGURES})
        row.update({f"realized_{k}": real[k] if real else None for k in FIGURES})
        row.update(
            {
                "realized_demand_units": real["demand_units"] if real else None,
                "units_transferred": sim["units_transferred"],
                "units_manufactured": sim["units_manufactured"],
                "fill_rate_target": dec.info.get("fill_rate_target"),
                "penalty_raise": dec.info.get("penalty_raise"),
                "seconds": 0.0 if reused else solved.seconds[name],
                "plans_from": solved.label,
            }
        )
        row.update({f"forecast_{k}": sim[k] for k in FIGURES})
        rows.append(row)
        if advance is not None:
            advance(1)
    return rows


def score_row(
    decision: Decision, problem: Problem, actual: np.ndarray | None, simulated: np.ndarray
) -> dict[str, Any]:
    """The figures of one decision that no strategy function made (a written plan)."""
    exp = score(decision, problem, problem.demand)
    real = score_realized(decision, problem, actual) if actual is not None else None
    sim = score(decision, problem, simulated)
    row: dict[str, Any] = {"strategy": decision.strategy}
    row.update({f"expected_{k}": exp[k] for k in FIGURES})
    row.update({f"realized_{k}": real[k] if real else None for k in FIGURES})
    row.update(
        realized_demand_units=real["demand_units"] if real else None,
        units_transferred=sim["units_transferred"],
        units_manufactured=sim["units_manufactured"],
    )
    row.update({f"forecast_{k}": sim[k] for k in FIGURES})
    return row
