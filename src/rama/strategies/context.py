"""What a strategy may use besides the scenario's problem: the stochastic settings, solver
options, warm-start bases and per-problem caches (demand points, the stochastic plan)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from rama.optimize import Plan, WarmStart, solve
from rama.problem import Problem, forecast_points, on_lot_grid, stochastic_problem
from rama.problem.stochastic import is_scaled


class StrategyContext:
    """What a strategy may use besides the scenario's problem: config and solver options."""

    def __init__(
        self,
        stochastic: dict[str, Any],
        threads: int = 0,
        backend: str = "highs",
        lot: float = 0.0,
        *,
        check: bool = True,
    ):
        self.points = int(stochastic["points"])
        self.distribution = str(stochastic["distribution"])
        self.fill_rate_target = float(stochastic["fill_rate_target"])
        self.fill_rate_tolerance = float(stochastic["fill_rate_tolerance"])
        self.max_solves = int(stochastic["max_solves"])
        self.threads = threads
        self.backend = backend
        # > 0: every plan in multiples of ``lot`` units; problems given to strategies are on
        # the lot grid already (rama.problem.lots.on_lot_grid), stochastic ones are put on it
        self.lot = float(lot)
        # each solve checks its plan in memory (rama.optimize.check); False only where every
        # plan is written and its files are checked instead (rama.planning.stage)
        self.check = bool(check)
        self._points: tuple[Problem, np.ndarray] | None = None
        # mean, std, quantile grid (or None) and points of the last problem computed afresh
        self._reference: tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray] | None = None
        # pairs whose points fell back to the Gamma form (distribution "empirical", no grid
        # row), for the last problem's points
        self.fallback_pairs = 0
        self._stochastic: tuple[Problem, Problem] | None = None
        self._stochastic_plan: tuple[Problem, Plan] | None = None
        # warm starts (rama.optimize.warm): reference bases per strategy, and whether solves
        # record their final bases into ``warm`` (the scenario runner's base solves do)
        self.warm: dict[str, WarmStart] = {}
        self.record_bases = False
        self.fill_rate_hint: float | None = None  # the reference's penalty raise ($/unit)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled for scenario workers without the caches bound to one problem."""
        state = dict(self.__dict__)
        state.update(_points=None, _stochastic=None, _stochastic_plan=None)
        return state

    def demand_points(self, problem: Problem) -> np.ndarray:
        """K demand points per pair (units, cached): the ``(k - 0.5) / K`` quantiles of the
        forecast's horizon distribution (:func:`rama.problem.forecast_points`): a Gamma or
        cut Normal of its mean and std, or its empirical quantile grid
        (``Problem.demand_grid``; a pair without a grid row takes the Gamma, counted in
        :attr:`fallback_pairs`, and warned about when the problem has a grid).

        All three are scale families, so a forecast that is the first one's mean, std and
        grid times one factor ``f`` (a foreseen demand shock) gets the first points times
        ``f`` instead of a new quantile computation (~0.6 s for 50,000 pairs x 20 Gamma
        points).
        """
        cached = self._points
        if cached is not None and cached[0] is problem:  # one problem at a time, held alive
            return cached[1]
        mean = problem.demand
        std = problem.store_products["demand_std"].to_numpy().astype(np.float64)
        grid = problem.demand_grid if self.distribution == "empirical" else None
        pts = self._scaled_reference(mean, std, grid)
        if pts is None:
            pts, self.fallback_pairs = forecast_points(problem, self.points, self.distribution)
            if self.fallback_pairs and problem.demand_grid is not None:
                # a grid that misses pairs is warned about; no grid at all (a forecast of
                # means and stds only) is the Gamma by design, recorded in the plan summary
                warnings.warn(
                    f'stochastic.distribution = "empirical": {self.fallback_pairs} of '
                    f"{problem.n_pairs} store-product pairs have no row in the forecast's "
                    "quantile grid (horizon_quantiles.parquet); their demand points use the "
                    "Gamma of the forecast's mean and std",
                    stacklevel=2,
                )
            self._reference = (mean, std, grid, pts)
        self._points = (problem, pts)
        return pts

    def _scaled_reference(
        self, mean: np.ndarray, std: np.ndarray, grid: np.ndarray | None
    ) -> np.ndarray | None:
        ref = self._reference
        if ref is None or ref[0].shape != mean.shape:
            return None
        m0, s0, g0, p0 = ref
        denom = float(np.dot(m0, m0))
        if denom <= 0:
            return None
        f = float(np.dot(mean, m0)) / denom
        same = is_scaled((m0, s0, g0), (mean, std, grid), f)
        return p0 * f if same and f >= 0 else None

    def stochastic(self, problem: Problem) -> Problem:
        """The stochastic problem of ``problem`` (cached for the last problem asked)."""
        cached = self._stochastic
        if cached is None or cached[0] is not problem:
            cached = self._stochastic = (
                problem,
                self.stochastic_of(problem, self.demand_points(problem)),
            )
        return cached[1]

    def stochastic_of(self, problem: Problem, points: np.ndarray) -> Problem:
        """``stochastic_problem(problem, points)``, on the lot grid when ``lot > 0``."""
        sp = stochastic_problem(problem, points)
        return on_lot_grid(sp, self.lot) if self.lot > 0 else sp

    def stochastic_plan(self, problem: Problem) -> Plan:
        """The solved stochastic plan of ``problem`` (cached: the fill-rate variant starts
        from it)."""
        cached = self._stochastic_plan
        if cached is None or cached[0] is not problem:
            plan = self.solve(self.stochastic(problem), "stochastic")
            cached = self._stochastic_plan = (problem, plan)
        return cached[1]

    def adopt_stochastic_plan(self, problem: Problem, plan: Plan) -> None:
        """Take ``plan`` as ``problem``'s solved stochastic plan (one solved elsewhere on the
        same problem: :mod:`rama.strategies.saved`)."""
        self._stochastic_plan = (problem, plan)

    def solve(self, problem: Problem, strategy: str, warm_from: str | None = None) -> Plan:
        """Solve with this context's backend and threads, warm-started from the reference
        bases of ``warm_from`` (default ``strategy``); records them when ``record_bases``."""
        plan = solve(
            problem,
            self.backend,
            self.threads,
            warm_start=self.warm.get(warm_from or strategy),
            record_basis=self.record_bases,
            lot=self.lot,
            check=self.check,
        )
        if self.record_bases and plan.basis is not None and len(plan.basis):
            self.warm[strategy] = plan.basis
        return plan

    def clipped_points(self, problem: Problem) -> np.ndarray:
        """The points the stochastic plan optimizes against (clipped at cap + demand)."""
        pts = self.stochastic(problem).demand_points
        assert pts is not None
        return pts
