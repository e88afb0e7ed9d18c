"""The optimizer on the named hand-solved instances (rama.testing.instances): every instance,
every transport storage form, with and without city hubs, and the PuLP backend, each against
the optimum computed by hand, with the independent check of the written plan."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import rama.testing.instances as instances_module
from rama.optimize import check_plan, solve, write_plan
from rama.optimize.plan import Plan
from rama.testing.instances import INSTANCES, NAMES, TRANSPORT_FORMS, KnownOptimum, instance

# (transport storage form, backend, hubs)
SOLVES = {
    "dense": ("dense", "highs", True),
    "float32": ("float32", "highs", True),
    "csr": ("csr", "highs", True),
    "city_hubs": ("city", "highs", True),
    "city_routes": ("city", "highs", False),
    "pulp": ("dense", "pulp", True),
}


def per_store(plan: Plan, values: Any) -> dict[int, float]:
    pb = plan.problem
    sid = pb.store_ids[pb.pair_store]
    return {int(s): float(v) for s, v in zip(sid, values, strict=True)}


def transfers(plan: Plan) -> dict[tuple[int, int], float]:
    pb = plan.problem
    sid = pb.store_ids[pb.pair_store]
    return {
        (int(sid[f]), int(sid[t])): float(q)
        for f, t, q in zip(plan.t_from, plan.t_to, plan.t_qty, strict=True)
    }


def assert_known(plan: Plan, opt: KnownOptimum) -> None:
    assert plan.objective == pytest.approx(opt.objective, rel=1e-9, abs=1e-9)
    assert transfers(plan) == pytest.approx(dict(opt.transfers), abs=1e-7)
    assert float(plan.manufacture.sum()) == pytest.approx(opt.manufacture, abs=1e-7)
    stores = [int(s) for s in plan.problem.store_ids]
    for name in ("allocate", "stockout", "ending_inventory"):
        want = {s: getattr(opt, name).get(s, 0.0) for s in stores}
        assert per_store(plan, getattr(plan, name)) == pytest.approx(want, abs=1e-7), name


@pytest.mark.parametrize("how", list(SOLVES))
@pytest.mark.parametrize("name", NAMES)
def test_instance_reaches_its_hand_computed_optimum(name: str, how: str, tmp_path: Path) -> None:
    form, backend, hubs = SOLVES[how]
    pb = instance(name, form)
    plan = solve(pb, backend, threads=1, hubs=hubs)  # solve() checks the plan in memory
    assert_known(plan, INSTANCES[name].optimum)
    write_plan(plan, tmp_path / "plan")
    check_plan(pb, tmp_path / "plan")  # the independent check of the written files
    if backend == "highs":
        assert plan.min_reduced_cost is not None and plan.min_reduced_cost >= -1e-9
        uses_hubs = hubs and form == "city" and bool((pb.current_inventory > 0).any())
        assert (plan.stats["hub_columns"] > 0) == uses_hubs


@pytest.mark.parametrize("form", TRANSPORT_FORMS)
def test_transport_forms_are_what_they_say(form: str) -> None:
    pb = instance("storage_capacity_binds", form)
    tc = pb.transport
    assert (tc.csr is not None) == (form == "csr")
    assert tc.dtype.name == ("float32" if form == "float32" else "float64")
    assert (pb.city_costs is not None) == (form == "city")
    assert tc.n_routes() == len(INSTANCES["storage_capacity_binds"].routes)


def _documented_objectives() -> dict[str, float]:
    doc = instances_module.__doc__ or ""
    out = {}
    for name in NAMES:
        section = doc.split(f"``{name}``", 1)[1].split("\n\n``", 1)[0]
        bold = re.search(r"\*\*Objective\s+([^*]+)\*\*", section)
        assert bold is not None, name
        out[name] = float(bold.group(1).split()[-1])
    return out


def test_docstrings_state_the_known_optima() -> None:
    documented = _documented_objectives()
    assert documented == {n: INSTANCES[n].optimum.objective for n in NAMES}


def test_unknown_instance_or_form_is_refused() -> None:
    with pytest.raises(KeyError, match="no instance"):
        instance("nope")
    with pytest.raises(ValueError, match="transport must be one of"):
        instance(NAMES[0], "long")
