"""The strategies compared in one run (do nothing, order-up-to, decentralized, centralized,
stochastic, fill-rate target), each deciding on a problem. See docs/scenarios.md."""

from rama.strategies.context import StrategyContext
from rama.strategies.decision import Decision
from rama.strategies.fill_rate import fill_rate_plan, proxy_lambda
from rama.strategies.plans import STOCHASTIC, STRATEGY_FUNCTIONS
from rama.strategies.score import score

__all__ = [
    "STOCHASTIC",
    "STRATEGY_FUNCTIONS",
    "Decision",
    "StrategyContext",
    "fill_rate_plan",
    "proxy_lambda",
    "score",
]
