"""What a strategy decides: allocation and transfers per store-product pair (units)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rama.optimize import Plan
from rama.problem import Problem


@dataclass(frozen=True, eq=False)
class Decision:
    """What a strategy decided, per pair in ``Problem.store_products`` order (units)."""

    strategy: str
    allocate: np.ndarray
    transfer_in: np.ndarray
    transfer_out: np.ndarray
    transport_cost: float  # $ of all transfers
    units_transferred: float
    plan: Plan | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_plan(cls, strategy: str, plan: Plan, **info: Any) -> Decision:
        return cls(
            strategy,
            plan.allocate,
            plan.transfer_in,
            plan.transfer_out,
            float(np.dot(plan.t_cost, plan.t_qty)),
            float(plan.t_qty.sum()),
            plan,
            dict(info),
        )

    @classmethod
    def allocation_only(cls, strategy: str, allocate: np.ndarray, **info: Any) -> Decision:
        z = np.zeros_like(allocate)
        return cls(strategy, allocate, z, z, 0.0, 0.0, None, dict(info))

    def available(self, problem: Problem) -> np.ndarray:
        """Stock at each pair after the plan (units)."""
        a = problem.current_inventory + self.transfer_in - self.transfer_out + self.allocate
        return np.asarray(np.maximum(a, 0.0))
