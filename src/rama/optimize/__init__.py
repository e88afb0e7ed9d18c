"""The optimizer: the working plan's LP for the whole network, solved to proven optimality.

Entry points: :func:`load_problem` / :func:`make_problem` / :func:`build_problem` make a
:class:`Problem`; :func:`solve` returns a :class:`Plan`; :func:`write_plan` writes it and
:func:`check_plan` re-checks the written files. See docs/optimizer.md.
"""

from rama.optimize.build import build_problem, safety_stock
from rama.optimize.check import check_plan
from rama.optimize.plan import Plan
from rama.optimize.plan_io import write_plan
from rama.optimize.problem import Problem, load_problem, make_problem, write_problem
from rama.optimize.solve import solve
from rama.optimize.stage import optimize_folder, run_optimize, solve_and_write
from rama.optimize.synthetic import synthetic_problem
from rama.optimize.transport import TransportCosts
from rama.optimize.warm import WarmStart

__all__ = [
    "Plan",
    "Problem",
    "TransportCosts",
    "WarmStart",
    "build_problem",
    "check_plan",
    "load_problem",
    "make_problem",
    "optimize_folder",
    "run_optimize",
    "safety_stock",
    "solve",
    "solve_and_write",
    "synthetic_problem",
    "write_plan",
    "write_problem",
]
