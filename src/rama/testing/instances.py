"""Named tiny networks whose optimum is computed by hand, for tests, docs and benchmarks.

Each instance is one product (id 1) at two or three stores (ids 1, 2, 3; each store its own
city, ``city_id = 10 x store_id``), with a route both ways between every two stores. Unless an
instance says otherwise: holding cost ``h = 0.50``, stockout penalty ``b = 4.00``,
manufacturing cost ``mc = 1.00``, distribution cost ``dist = 0.50`` at every store ($/unit for
the period), no production limit, no safety stock and room for 100 units everywhere. Making
and sending a unit to a store thus costs ``mc + dist = 1.50``; a transfer that empties a unit
of surplus also saves its holding cost ``h``. Every number is a multiple of 1/4, so float32
costs are exact.

``transfer_beats_manufacturing``
    Store 1 holds 10 for a demand of 2 (safety stock 2: C2 lets 8 leave), store 2 holds 0
    for a demand of 6; a transfer costs 0.25 either way. A transferred unit costs
    0.25 - h = -0.25 net, a produced one 1.50: move 6. Store 1 ends with 10 - 2 - 6 = 2.
    **Objective 6 x 0.25 + 2 x 0.50 = 2.50**; nothing is made, nothing stocks out.

``manufacturing_beats_transfer``
    The same stores, the transfer at 2.50: net 2.50 - h = 2.00 > 1.50, so store 2's 6 units
    are made and allocated (6 x 1.50 = 9.00) and store 1 keeps its 8 spare units
    (8 x 0.50 = 4.00). **Objective 13.00**; no transfer.

``production_capacity_binds``
    Stores 1 and 2 hold nothing, demand 4 and 6, distribution 0.25 and 0.75; at most 5 units
    can be made (C4). A unit allocated saves ``b - mc - dist``: 2.75 at store 1, 2.25 at
    store 2, so store 1 gets 4, store 2 gets 1 and stocks out 5. **Objective
    5 x 1.00 + 4 x 0.25 + 1 x 0.75 + 5 x 4.00 = 26.75**.

``storage_capacity_binds``
    Store 1 holds 12 for a demand of 2 but may keep 4 (C5): 6 must leave. Store 2 (demand 1,
    room 3) is 0.25 away, store 3 (demand 0, room 10) 0.50; every other route costs 1.00 and
    stores 2 and 3 hold nothing to ship. No stock can vanish, so 12 - 2 - 1 = 9 units end
    somewhere (holding >= 4.50), and the 6 leaving store 1 go cheapest as 4 to store 2 (its
    demand and room) and 2 to store 3 (transport 4 x 0.25 + 2 x 0.50 = 2.00); serving store
    2's demand from store 1 also beats making it. Ending stock 4, 3, 2. **Objective 6.50**.

``safety_stock_binds``
    Store 1 holds 10, demand 0, safety stock 6: C2 lets only 4 leave. Store 2 holds 0 for a
    demand of 10; the transfer costs 0.25. Move 4 (4 x 0.25 = 1.00), make and send the other
    6 (6 x 1.50 = 9.00), store 1 keeps 6 (6 x 0.50 = 3.00). **Objective 13.00** (without the
    safety stock: 2.50).

``stochastic_two_point``
    Store 1 holds 0 and its demand is 2 or 6 with probability 1/2 each (mean 4); store 2
    holds 8 for a demand of 0; the transfer costs 0.25. With available stock ``A`` at store 1
    the expected cost ``g(A) = 1/2 [h (A-2)+ + b (2-A)+] + 1/2 [h (A-6)+ + b (6-A)+]`` has
    slope -4 below 2, ``h/2 - b/2 = -1.75`` on [2, 6] and ``+0.50`` above 6. A unit moved
    from store 2 costs 0.25 - h = -0.25 plus that slope: worth it up to ``A = 6``
    (-2.00 < 0), not beyond (+0.25), and cheaper than making it (1.50 - 1.75 = -0.25).
    Move 6: transport 1.50, expected ending stock 2 at store 1 (1.00) and 2 at store 2
    (1.00). **Objective 3.50** (the deterministic plan for the mean demand 4 would move 4
    for 3.00, but leaves an expected 1 unit short).

>>> sorted(INSTANCES) == sorted(NAMES)
True
>>> INSTANCES["storage_capacity_binds"].optimum.objective
6.5
>>> instance("stochastic_two_point", "csr").demand_points.tolist()
[[2.0, 6.0], [0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar

import numpy as np
import polars as pl
import scipy.sparse as sps

from rama.problem.model import Problem, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.problem.transport import TransportCosts

TRANSPORT_FORMS = ("dense", "float32", "csr", "city")
"""How :func:`instance` stores the routes: a dense float64 matrix, a dense float32 matrix,
a scipy CSR matrix (each without ``city_id``), or the dense float64 matrix with each store's
``city_id`` so that the costs have city form (:attr:`Problem.city_costs`, city hubs)."""

HOLDING, PENALTY, MANUFACTURING, DISTRIBUTION = 0.5, 4.0, 1.0, 0.5  # $/unit for the period


K = TypeVar("K")


def _frozen(d: Mapping[K, float]) -> Mapping[K, float]:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class KnownOptimum:
    """The hand-computed optimum of an instance (one product; store ids as keys).

    ``objective`` in $, quantities in units; a store missing from ``allocate``,
    ``stockout`` or ``ending_inventory`` has 0 there, a route missing from ``transfers``
    carries nothing. For the stochastic instance ``stockout`` and ``ending_inventory`` are
    expected values.
    """

    objective: float
    transfers: Mapping[tuple[int, int], float] = field(default_factory=dict)
    manufacture: float = 0.0
    allocate: Mapping[int, float] = field(default_factory=dict)
    stockout: Mapping[int, float] = field(default_factory=dict)
    ending_inventory: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Instance:
    """A named tiny network: its stores' figures, routes, costs and known optimum."""

    name: str
    summary: str
    stores: tuple[Mapping[str, float], ...]  # store_id, demand, current_inventory, ...
    routes: Mapping[tuple[int, int], float]  # (from store id, to store id) -> $/unit
    optimum: KnownOptimum
    max_production: float = np.inf
    distribution: Mapping[int, float] = field(default_factory=dict)  # store id -> $/unit
    points: tuple[tuple[float, ...], ...] | None = None  # per store: equiprobable demands


def _store(store_id: int, demand: float, inventory: float, **extra: float) -> Mapping[str, float]:
    return _frozen(
        {"store_id": store_id, "demand": demand, "current_inventory": inventory, **extra}
    )


def _routes(
    *both_ways: tuple[int, int, float], one_way: tuple[tuple[int, int, float], ...] = ()
) -> Mapping[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for i, j, c in both_ways:
        out[(i, j)] = out[(j, i)] = c
    for i, j, c in one_way:
        out[(i, j)] = c
    return _frozen(out)


_ALL = (
    Instance(
        "transfer_beats_manufacturing",
        "a transfer (0.25) is cheaper than making and sending a unit (1.50)",
        (_store(1, 2.0, 10.0, safety_stock=2.0), _store(2, 6.0, 0.0)),
        _routes((1, 2, 0.25)),
        KnownOptimum(2.5, {(1, 2): 6.0}, ending_inventory={1: 2.0}),
    ),
    Instance(
        "manufacturing_beats_transfer",
        "making and sending a unit (1.50) is cheaper than a transfer (2.50 - 0.50 held)",
        (_store(1, 2.0, 10.0, safety_stock=2.0), _store(2, 6.0, 0.0)),
        _routes((1, 2, 2.5)),
        KnownOptimum(13.0, {}, 6.0, allocate={2: 6.0}, ending_inventory={1: 8.0}),
    ),
    Instance(
        "production_capacity_binds",
        "5 units can be made for 10 units of demand (C4): the cheaper store gets them first",
        (_store(1, 4.0, 0.0), _store(2, 6.0, 0.0)),
        _routes((1, 2, 0.25)),
        KnownOptimum(26.75, {}, 5.0, allocate={1: 4.0, 2: 1.0}, stockout={2: 5.0}),
        max_production=5.0,
        distribution=_frozen({1: 0.25, 2: 0.75}),
    ),
    Instance(
        "storage_capacity_binds",
        "a store over its capacity (C5) must ship 6 units; the nearer receiver fills up first",
        (
            _store(1, 2.0, 12.0, max_capacity=4.0),
            _store(2, 1.0, 0.0, max_capacity=3.0),
            _store(3, 0.0, 0.0, max_capacity=10.0),
        ),
        _routes((2, 3, 1.0), one_way=((1, 2, 0.25), (1, 3, 0.5), (2, 1, 1.0), (3, 1, 1.0))),
        KnownOptimum(6.5, {(1, 2): 4.0, (1, 3): 2.0}, ending_inventory={1: 4.0, 2: 3.0, 3: 2.0}),
    ),
    Instance(
        "safety_stock_binds",
        "safety stock lets only 4 of 10 spare units leave (C2); the rest is made",
        (_store(1, 0.0, 10.0, safety_stock=6.0), _store(2, 10.0, 0.0)),
        _routes((1, 2, 0.25)),
        KnownOptimum(13.0, {(1, 2): 4.0}, 6.0, allocate={2: 6.0}, ending_inventory={1: 6.0}),
    ),
    Instance(
        "stochastic_two_point",
        "demand 2 or 6 (probability 1/2 each): the plan covers 6, not the mean 4",
        (_store(1, 4.0, 0.0), _store(2, 0.0, 8.0)),
        _routes((1, 2, 0.25)),
        KnownOptimum(3.5, {(2, 1): 6.0}, ending_inventory={1: 2.0, 2: 2.0}),
        points=((2.0, 6.0), (0.0, 0.0)),
    ),
)

INSTANCES: Mapping[str, Instance] = MappingProxyType({i.name: i for i in _ALL})
"""Every named instance, by name."""
NAMES: tuple[str, ...] = tuple(INSTANCES)


def _transport(inst: Instance, ids: list[int], form: str) -> TransportCosts:
    n = len(ids)
    pos = {s: k for k, s in enumerate(ids)}
    f = np.array([pos[i] for i, _ in inst.routes], dtype=np.int64)
    t = np.array([pos[j] for _, j in inst.routes], dtype=np.int64)
    c = np.array(list(inst.routes.values()), dtype=np.float64)
    if form == "csr":
        return TransportCosts(n, csr=sps.csr_array((c, (f, t)), shape=(n, n)))
    dense = np.full((n, n), np.inf)
    dense[f, t] = c
    return TransportCosts.from_dense(dense.astype(np.float32) if form == "float32" else dense)


def instance(name: str, transport: str = "dense") -> Problem:
    """The named instance as a :class:`Problem`, its routes stored as ``transport``
    (one of :data:`TRANSPORT_FORMS`)."""
    if name not in INSTANCES:
        raise KeyError(f"no instance {name!r}; the instances are {NAMES}")
    if transport not in TRANSPORT_FORMS:
        raise ValueError(f"transport must be one of {TRANSPORT_FORMS}, got {transport!r}")
    inst = INSTANCES[name]
    defaults = {"product_id": 1, "demand_std": 0.0, "safety_stock": 0.0, "max_capacity": 100.0}
    sp = pl.DataFrame([{**defaults, **s} for s in inst.stores])
    sp = sp.with_columns(pl.col("store_id", "product_id").cast(pl.Int64))
    ids = sorted(int(s["store_id"]) for s in inst.stores)
    stores = pl.DataFrame(
        {
            "store_id": ids,
            "distribution_cost": [inst.distribution.get(s, DISTRIBUTION) for s in ids],
        }
    )
    if transport == "city":
        stores = stores.with_columns((pl.col("store_id") * 10).alias("city_id"))
    products = pl.DataFrame(
        {
            "product_id": [1],
            "holding_cost": [HOLDING],
            "stockout_penalty": [PENALTY],
            "manufacturing_cost": [MANUFACTURING],
            "max_production": [inst.max_production],
        }
    )
    problem = make_problem(
        sp, products, stores, _transport(inst, ids, transport), source=f"instance {name}"
    )
    if inst.points is None:
        return problem
    by_store = dict(zip((int(s["store_id"]) for s in inst.stores), inst.points, strict=True))
    sid = problem.store_ids[problem.pair_store]
    return stochastic_problem(problem, np.array([by_store[int(s)] for s in sid]))
