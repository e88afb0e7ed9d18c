"""The block LP's named row and column layout (lp_model.Rows / Cols): the slices tile the LP
that HiGHS holds exactly, before and after the hub rows and columns, and each names the rows
and columns it says."""

from __future__ import annotations

import numpy as np
import pytest

from rama.optimize.colgen import make_pricers
from rama.optimize.highs_backend import new_highs
from rama.optimize.hubs import add_hub_columns, hub_columns
from rama.optimize.lp_model import (
    ALLOCATE,
    DISPOSAL,
    MANUFACTURE,
    SEGMENT,
    STOCKOUT,
    BlockLP,
    Cols,
    Rows,
    build_block_lp,
    production_may_bind,
)
from rama.optimize.pricing import RouteListPricer
from rama.problem import Problem, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.testing import synthetic_problem
from rama.testing.instances import instance


def _tiles(parts: list[slice], total: int) -> bool:
    """The slices are consecutive, start at 0 and end at ``total``."""
    at = 0
    for s in parts:
        if s.start != at or s.stop < s.start:
            return False
        at = s.stop
    return at == total


def _rows(r: Rows) -> list[slice]:
    return [r.c1, r.c3, r.c2, r.hub_h, r.hub_g]


def _cols(c: Cols) -> list[slice]:
    return [c.deficit, c.stockout, c.allocate, c.manufacture, c.segment, c.disposal]


def _problems() -> dict[str, Problem]:
    city = synthetic_problem(
        n_stores=25, n_products=4, n_pairs=60, n_cities=4, seed=1, noise=0.0, discounted_lanes=0.0
    )
    tight = make_problem(
        city.store_products.drop("store_idx", "product_idx"),
        city.products.with_columns(max_production=city.products["max_production"] * 0.2),
        city.stores,
        city.transport,
    )
    rng = np.random.default_rng(1)
    pts = np.sort(city.demand[:, None] * rng.gamma(2.0, 0.5, (city.n_pairs, 4)), axis=1)
    return {
        "city": city,
        "general": tight,
        "stochastic": stochastic_problem(city, pts),
        "over_capacity": instance("storage_capacity_binds", "city"),
    }


PROBLEMS = _problems()


def _check_base(model: BlockLP, n_rows: int, n_cols: int) -> None:
    rows, cols = model.rows, model.cols
    assert _tiles(_rows(rows), n_rows) and rows.count == n_rows
    assert _tiles(_cols(cols), n_cols) and cols.base == slice(0, n_cols)
    kind = model.col_kind
    assert set(kind[cols.deficit].tolist()) <= {STOCKOUT, ALLOCATE}
    for part, want in (
        (cols.stockout, STOCKOUT),
        (cols.allocate, ALLOCATE),
        (cols.manufacture, MANUFACTURE),
        (cols.segment, SEGMENT),
        (cols.disposal, DISPOSAL),
    ):
        assert (kind[part] == want).all()
    assert rows.c1.stop - rows.c1.start == model.n
    assert rows.c3.stop - rows.c3.start == int(model.general.sum())
    c2 = model.c2_row[model.holder]
    assert c2.tolist() == list(range(rows.c2.start, rows.c2.stop))


@pytest.mark.parametrize("phase1", [False, True])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_rows_and_cols_tile_the_lp(name: str, phase1: bool) -> None:
    pb = PROBLEMS[name]
    model, lp, _ = build_block_lp(pb, np.arange(pb.n_products), production_may_bind(pb), phase1)
    _check_base(model, lp.num_row_, lp.num_col_)
    if name == "general":
        assert model.general.any() and model.cols.manufacture.stop > model.cols.manufacture.start
    if name == "stochastic":
        assert model.cols.segment.stop > model.cols.segment.start
    if phase1 and name == "over_capacity":
        assert model.cols.disposal.stop - model.cols.disposal.start == 1
    h = new_highs()
    lp.pass_to(h)
    assert pb.city_costs is not None
    hub = hub_columns(pb, model, pb.city_costs)
    assert hub is not None
    with_hubs = add_hub_columns(h, model, hub)
    rows, cols = with_hubs.rows, with_hubs.cols
    assert _tiles(_rows(rows), h.getNumRow())
    assert rows.hub_h.stop - rows.hub_h.start == hub.n_h
    assert rows.hub_g.stop - rows.hub_g.start == hub.n_g
    assert _tiles([*_cols(cols), cols.hub_out, cols.hub_in, cols.hub_arc], h.getNumCol())
    assert cols.hub == slice(lp.num_col_, h.getNumCol()) and cols.routes.start == h.getNumCol()
    assert cols.hub_out.stop - cols.hub_out.start == hub.out_pair.size
    assert cols.hub_arc.stop - cols.hub_arc.start == hub.arc_h.size
    # the base layout is unchanged by the hubs
    assert _rows(rows)[:3] == _rows(model.rows)[:3] and _cols(cols) == _cols(model.cols)


def test_every_route_column_has_its_rows_by_name() -> None:
    from rama.optimize.lp_model import route_columns

    pb = PROBLEMS["city"]
    model, _, _ = build_block_lp(pb, np.arange(pb.n_products), production_may_bind(pb))
    (pricer, *_) = make_pricers(pb, model)
    assert isinstance(pricer, RouteListPricer) and pricer.n_routes > 0
    i, j = pricer.i, pricer.j
    starts, index, value = route_columns(model, i, j)
    ends = np.r_[starts[1:], index.size]
    for k in range(i.size):
        entries = slice(int(starts[k]), int(ends[k]))
        col = dict(zip(index[entries].tolist(), value[entries].tolist(), strict=True))
        want = {model.rows.c1.start + i[k]: 1.0, model.rows.c1.start + j[k]: -1.0}
        if model.c2_row[i[k]] >= 0:
            want[int(model.c2_row[i[k]])] = 1.0
        assert col == want
