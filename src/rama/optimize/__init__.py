"""The optimizer: the working plan's LP for the whole network, solved to proven optimality.

Entry points: :func:`solve` turns a :class:`rama.problem.Problem` into a :class:`Plan`;
:func:`write_plan` writes it and :func:`check_plan` re-checks the written files;
:func:`optimize_folder` is ``rama optimize --problem DIR --out OUT`` (``--run`` is the plan
stage, :mod:`rama.planning`). See docs/optimizer.md.
"""

from rama.optimize.check import check_plan
from rama.optimize.plan import Plan
from rama.optimize.plan_io import write_plan
from rama.optimize.solve import solve
from rama.optimize.stage import OptimizeResult, optimize_folder, solve_and_write
from rama.optimize.warm import WarmStart

__all__ = [
    "OptimizeResult",
    "Plan",
    "WarmStart",
    "check_plan",
    "optimize_folder",
    "solve",
    "solve_and_write",
    "write_plan",
]
