"""Decisions kept on disk for a later stage that meets the same problem.

The evaluation stage solves the base scenario's LPs (decentralized, centralized, stochastic)
from a cold start; the scenario sweep's base group solves the very same problems the same
way, to record the bases every other scenario starts from (:mod:`rama.optimize.warm`). So the
evaluation writes each such decision, its plan and its final bases into
``RUN/evaluation/decisions/`` (:func:`save_decisions`), and the sweep takes them back
(:func:`load_decisions`) when the key matches: :func:`rama.strategies.digest.problem_digest`
of the problem (the demand grid's bytes included) and of the context, so equal keys mean
equal inputs and the decision is the one the sweep would have computed.

Only plans solved without a warm start are kept (their decision is a function of the problem
and the context alone). A loaded plan is checked against the problem again
(:func:`rama.optimize.check.check_plan`, when the context checks) before it is used: a reused
result is verified like a computed one. A folder of another format, another key or a missing
strategy simply means the strategy is solved.

Each strategy is two files: ``<strategy>.json`` (format, key, the plan's scalars and
statistics) and ``<strategy>.npz`` (the plan's arrays and bases).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rama.optimize import Plan, WarmStart, check_plan
from rama.optimize.warm import BlockBasis
from rama.problem import Problem, without_routes
from rama.strategies.context import StrategyContext
from rama.strategies.decision import Decision
from rama.strategies.digest import problem_digests

FORMAT = 1
SAVED = ("decentralized_lp", "centralized_lp", "stochastic")  # cold LP solves, reused as is
ARRAYS = (
    "allocate",
    "stockout",
    "ending_inventory",
    "transfer_in",
    "transfer_out",
    "manufacture",
    "t_from",
    "t_to",
    "t_qty",
    "t_cost",
)
VALUES = ("production_value", "storage_value")  # optional per-product / per-pair arrays


def strategy_problem(problem: Problem, strategy: str, ctx: StrategyContext) -> Problem:
    """The problem ``strategy``'s plan is solved on (and checked against)."""
    if strategy == "decentralized_lp":
        return without_routes(problem)
    if strategy == "stochastic":
        return ctx.stochastic(problem)
    return problem


def _keys(problem: Problem, strategies: list[str], ctx: StrategyContext) -> dict[str, str]:
    return {k: v.hex() for k, v in problem_digests(problem, strategies, ctx, grid=True).items()}


def savable(dec: Decision) -> bool:
    """A cold-started LP decision (:data:`SAVED`), with its plan."""
    plan = dec.plan
    return (
        dec.strategy in SAVED
        and plan is not None
        and not int(plan.stats.get("warm_started_blocks", 0) or 0)
    )


def save_decisions(
    folder: Path, problem: Problem, decisions: dict[str, Decision], ctx: StrategyContext
) -> list[str]:
    """Write the :func:`savable` decisions made on ``problem`` under ``ctx`` into ``folder``
    (created; the caller's atomic output folder); return their strategies."""
    folder.mkdir(parents=True, exist_ok=True)
    done: list[str] = []
    kept = {n: d for n, d in decisions.items() if n == d.strategy and savable(d)}
    keys = _keys(problem, list(kept), ctx)
    for name, dec in kept.items():
        plan = dec.plan
        assert plan is not None
        arrays: dict[str, np.ndarray] = {a: getattr(plan, a) for a in ARRAYS}
        arrays.update({v: getattr(plan, v) for v in VALUES if getattr(plan, v) is not None})
        blocks = list((plan.basis.blocks if plan.basis is not None else {}).items())
        if blocks:
            arrays["basis_products"] = np.concatenate([np.asarray(k, np.int64) for k, _ in blocks])
            arrays["basis_sizes"] = np.array(
                [[len(k), b.col.size, b.row.size] for k, b in blocks], np.int64
            )
            arrays["basis_layout"] = np.frombuffer(b"".join(b.layout for _, b in blocks), np.uint8)
            arrays["basis_col"] = np.concatenate([b.col for _, b in blocks])
            arrays["basis_row"] = np.concatenate([b.row for _, b in blocks])
        with open(folder / f"{name}.npz", "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)
        meta = {
            "format": FORMAT,
            "strategy": name,
            "key": keys[name],
            "backend": plan.backend,
            "status": plan.status,
            "solve_seconds": plan.solve_seconds,
            "min_reduced_cost": plan.min_reduced_cost,
            "lot_size": plan.lot_size,
            "stats": plan.stats,
            "info": dec.info,
            "basis": plan.basis is not None,
            "layout_bytes": len(blocks[0][1].layout) if blocks else 0,
        }
        (folder / f"{name}.json").write_text(json.dumps(meta, indent=1, default=str))
        done.append(name)
    return done


def load_decisions(
    folder: Path | None, problem: Problem, strategies: list[str], ctx: StrategyContext
) -> dict[str, Decision]:
    """The decisions of ``strategies`` kept in ``folder`` whose key is ``problem``'s and
    ``ctx``'s (module doc), each plan checked against ``problem`` when ``ctx.check``."""
    out: dict[str, Decision] = {}
    if folder is None or not folder.is_dir():
        return out
    metas = {n: m for n in strategies if (m := _meta(folder, n)) is not None}
    keys = _keys(problem, list(metas), ctx)
    for name, meta in metas.items():
        if meta.get("key") != keys[name]:
            continue
        with np.load(folder / f"{name}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        solved_on = strategy_problem(problem, name, ctx)
        plan = Plan(
            problem=solved_on,
            backend=str(meta["backend"]),
            status=str(meta["status"]),
            solve_seconds=float(meta["solve_seconds"]),
            min_reduced_cost=meta["min_reduced_cost"],
            stats=dict(meta["stats"]),
            basis=_basis(arrays, int(meta["layout_bytes"])) if meta["basis"] else None,
            lot_size=float(meta["lot_size"]),
            production_value=arrays.get("production_value"),
            storage_value=arrays.get("storage_value"),
            **{a: arrays[a] for a in ARRAYS},
        )
        if ctx.check:
            check_plan(solved_on, plan)
        out[name] = Decision.from_plan(name, plan, **dict(meta["info"]))
    return out


def _meta(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    if name not in SAVED or not path.is_file() or not (folder / f"{name}.npz").is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("strategy") != name:
        return None
    return meta


def _basis(arrays: dict[str, np.ndarray], layout_bytes: int) -> WarmStart:
    if "basis_sizes" not in arrays:
        return WarmStart()
    sizes = arrays["basis_sizes"]
    ends = np.cumsum(sizes, axis=0)
    starts = ends - sizes
    layout = arrays["basis_layout"].tobytes()
    blocks: dict[tuple[int, ...], BlockBasis] = {}
    for b, (s, e) in enumerate(zip(starts, ends, strict=True)):
        key = tuple(arrays["basis_products"][s[0] : e[0]].tolist())
        blocks[key] = BlockBasis(
            layout[b * layout_bytes : (b + 1) * layout_bytes],
            arrays["basis_col"][s[1] : e[1]],
            arrays["basis_row"][s[2] : e[2]],
        )
    return WarmStart(blocks)
