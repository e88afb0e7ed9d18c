"""Out-of-sample judgement of plans (``rama evaluate``). See docs/scenarios.md."""

from rama.evaluate.compare import FIGURES, ScoringDemand, Solved, compare_strategies
from rama.evaluate.stage import decision_from_plan_folder, run_evaluation
from rama.evaluate.truth import realized_demand
from rama.strategies import score

__all__ = [
    "FIGURES",
    "ScoringDemand",
    "Solved",
    "compare_strategies",
    "decision_from_plan_folder",
    "realized_demand",
    "run_evaluation",
    "score",
]
