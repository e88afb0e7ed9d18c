"""The plan stage (``rama optimize --run``): the run's problem, every plan strategy's plan in
``RUN/plans/``, and the recommended one in ``RUN/plan/``. See docs/scenarios.md."""

from rama.planning.stage import PLAN_STRATEGIES, RECOMMENDABLE, PlanResult, compare_plans, run_plan

__all__ = ["PLAN_STRATEGIES", "RECOMMENDABLE", "PlanResult", "compare_plans", "run_plan"]
