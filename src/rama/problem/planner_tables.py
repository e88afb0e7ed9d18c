"""The planner's own data: the inventory file and three optional tables that replace the
derived numbers of :func:`rama.problem.build_problem` (docs/data.md, "Bring your own data").

Each file is CSV (UTF-8, header row) or Parquet, validated with :mod:`rama.schema` like every
input: an error names the file, the column, how many rows fail, example rows (with the CSV
line), the fix and a ``reason`` code.

- **inventory** (``--inventory``): ``store_id, product_id, on_hand`` (units). Partial files
  are allowed: a forecast pair the file does not list has nothing on hand (0 units) and the
  number of such pairs is reported (:class:`BuildReport`, the run manifest). A row for a pair
  the forecast does not hold is an error (``unknown_id``), not dropped: it is most often a
  typo in an id, and dropping it would also zero the pair the planner meant.
- **lane costs** (``--lane-costs``): ``from_store_id, to_store_id, cost`` or
  ``from_city_id, to_city_id, cost`` ($/unit moved). A listed lane's cost replaces the
  derived one (before the delay premium, risk.delay_transport_premium, which applies to
  every lane alike); an unlisted lane keeps the derived cost. ``cost`` must be finite and
  >= 0; an optional ``open`` column (1 = open, the default; 0 = closed) removes a lane:
  a row with ``open = 0`` (its ``cost`` may be left blank) deletes the lane, a row with
  ``open = 1`` adds a lane the derived tables lack. A city lane sets every store-to-store
  lane between the two cities (the same city: between its distinct stores).
- **product costs** (``--product-costs``): ``product_id`` plus any of ``holding_cost``
  ($/unit held at the end of the period), ``stockout_penalty`` ($/unit unmet),
  ``manufacturing_cost`` ($/unit) and ``max_production`` (units over the period; ``inf`` =
  unlimited). A listed value replaces the configuration's; a blank cell keeps it.
- **capacities** (``--capacities``): ``store_id, product_id, max_capacity`` (units at the
  end of the period; ``inf`` = unlimited) replaces the capacity rule for the listed pairs.
  A capacity no plan can respect (the stock left after the demand and the most the store may
  ship out, ``current_inventory - demand - max(0, current_inventory - safety_stock)``,
  exceeds it) is an error naming the rows and the least capacity that can work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.io import read_csv_text, read_parquet_file, readable_file
from rama.problem.given import GivenValues
from rama.problem.model import PAIR_KEYS
from rama.problem.transport import TransportCosts
from rama.schema import (
    Column,
    RowRule,
    TableSchema,
    check_magnitudes,
    fail,
    id_column,
    integer,
    known_positions,
    nonneg,
    validate,
)

__all__ = [
    "CAPACITIES",
    "INVENTORY",
    "LANE_COSTS_CITY",
    "LANE_COSTS_STORE",
    "PRODUCT_COSTS",
    "PRODUCT_COST_COLUMNS",
    "BuildReport",
    "PlannerInputs",
    "apply_capacities",
    "apply_lane_costs",
    "apply_product_costs",
    "inventory_on_hand",
    "read_lane_costs",
    "read_planner_table",
]


@dataclass(frozen=True)
class PlannerInputs:
    """The planner's files for one run (None = the derived default)."""

    inventory: Path | None = None
    lane_costs: Path | None = None
    product_costs: Path | None = None
    capacities: Path | None = None

    def files(self) -> dict[str, Path | None]:
        """Option name -> file, in the order of the command line."""
        return {
            "inventory_file": self.inventory,
            "lane_costs_file": self.lane_costs,
            "product_costs_file": self.product_costs,
            "capacities_file": self.capacities,
        }


@dataclass(frozen=True)
class BuildReport:
    """What the planner's files changed in a built problem (recorded in ``optimize_inputs``).

    ``pairs_listed`` / ``pairs_unlisted``: forecast pairs the inventory file lists / does not
    list (0 on hand); None with the simulated inventory. ``*_rows``: data rows of each table
    (None when not given). ``lanes_set`` / ``lanes_closed``: store-to-store lanes whose cost
    the lane table set / that it removed. ``capacity_must_ship``: listed capacities that force
    the store to ship stock out (feasible only if a route and room elsewhere exist)."""

    inputs: PlannerInputs
    n_pairs: int
    pairs_listed: int | None = None
    pairs_unlisted: int | None = None
    lane_costs_rows: int | None = None
    lanes_set: int | None = None
    lanes_closed: int | None = None
    product_costs_rows: int | None = None
    capacities_rows: int | None = None
    capacity_must_ship: int | None = None
    # the capacities the files set (rama.problem.given)
    given: GivenValues | None = field(default=None, compare=False)

    def manifest_fields(self) -> dict[str, Any]:
        """The fields for the run manifest's ``optimize_inputs`` (paths made absolute)."""
        out: dict[str, Any] = {}
        for key, path in self.inputs.files().items():
            out[key] = str(Path(path).resolve()) if path is not None else None
        out["inventory"] = "file" if self.inputs.inventory is not None else "simulated"
        out.update(
            pairs=self.n_pairs,
            pairs_listed=self.pairs_listed,
            pairs_unlisted=self.pairs_unlisted,
            lane_costs_rows=self.lane_costs_rows,
            lanes_set=self.lanes_set,
            lanes_closed=self.lanes_closed,
            product_costs_rows=self.product_costs_rows,
            capacities_rows=self.capacities_rows,
            capacity_must_ship=self.capacity_must_ship,
        )
        return out


# ----------------------------------------------------------------------------- schemas

_FIX_ON_HAND = "on_hand must be a finite number >= 0 (units on hand)"

INVENTORY = TableSchema(
    "inventory",
    (
        id_column("store_id"),
        id_column("product_id"),
        nonneg("on_hand", "units", fix=_FIX_ON_HAND),
    ),
    id_columns=PAIR_KEYS,
    unique_keys=PAIR_KEYS,
    allow_extra_columns=True,
    min_rows=1,
)
"""The inventory file: units on hand per store-product pair (unlisted pairs: 0)."""


def _open_rules(cost: str = "cost") -> tuple[RowRule, ...]:
    return (
        RowRule(
            "open",
            ~pl.col("open").is_in([0, 1]),
            "0 (lane closed) or 1 (lane open)",
            "write open = 1 to set the lane's cost or open = 0 to remove the lane",
        ),
        RowRule(
            cost,
            pl.col(cost).is_null() & (pl.col("open") != 0),
            "a cost for every open lane (a blank cost only with open = 0)",
            "fill in the cost ($/unit) or set open = 0 to remove the lane",
            reason="null",
        ),
    )


def _lane_schema(prefix: str) -> TableSchema:
    keys = (f"from_{prefix}_id", f"to_{prefix}_id")
    return TableSchema(
        f"lane costs ({prefix} to {prefix})",
        (
            id_column(keys[0]),
            id_column(keys[1]),
            Column(
                "cost",
                pl.Float64(),
                nullable=True,
                nonneg=True,
                finite=True,
                unit="$/unit",
                fix="cost must be a finite number >= 0 ($/unit); to remove a lane write open = 0",
            ),
            integer("open", required=False),
        ),
        unique_keys=keys,
        allow_extra_columns=True,
        min_rows=1,
    )


LANE_COSTS_STORE = _lane_schema("store")
"""Lane costs store to store: ``from_store_id, to_store_id, cost`` [, ``open``]."""
LANE_COSTS_CITY = _lane_schema("city")
"""Lane costs city to city: ``from_city_id, to_city_id, cost`` [, ``open``]."""

PRODUCT_COST_COLUMNS = ("holding_cost", "stockout_penalty", "manufacturing_cost", "max_production")
# bool columns the apply functions add: the value is the planner's (rama.problem.given)
GIVEN_PRODUCTION = "__given_max_production"
GIVEN_CAPACITY = "__given_max_capacity"


def _cost_column(name: str, unit: str, *, allow_inf: bool = False) -> Column:
    limit = "a number >= 0 (inf = unlimited)" if allow_inf else "a finite number >= 0"
    return Column(
        name,
        pl.Float64(),
        required=False,
        nullable=True,
        nonneg=True,
        finite=not allow_inf,
        unit=unit,
        fix=f"{name} must be {limit} ({unit}); leave the cell blank to keep the config value",
    )


PRODUCT_COSTS = TableSchema(
    "product costs",
    (
        id_column("product_id"),
        _cost_column("holding_cost", "$/unit held at the end of the period"),
        _cost_column("stockout_penalty", "$/unit unmet"),
        _cost_column("manufacturing_cost", "$/unit"),
        _cost_column("max_production", "units over the period", allow_inf=True),
    ),
    unique_keys=("product_id",),
    allow_extra_columns=True,
    min_rows=1,
)
"""Per-product costs and production limits: ``product_id`` plus any of
:data:`PRODUCT_COST_COLUMNS` (blank = keep the configuration's value)."""

CAPACITIES = TableSchema(
    "capacities",
    (
        id_column("store_id"),
        id_column("product_id"),
        nonneg(
            "max_capacity",
            "units",
            allow_inf=True,
            fix="max_capacity must be a number >= 0 (units; inf = unlimited)",
        ),
    ),
    unique_keys=PAIR_KEYS,
    allow_extra_columns=True,
    min_rows=1,
)
"""Storage capacity per store-product pair (units at the end of the period)."""


# ----------------------------------------------------------------------------- reading


def read_planner_table(path: Path, what: str, option: str) -> tuple[pl.DataFrame, str]:
    """The raw table (CSV: every column as text) and its source name for messages.

    A missing file is ``not_found``, a zero-byte or header-only file ``empty``, bytes that are
    not UTF-8 or a broken file ``unreadable``; each names ``option`` in the fix."""
    path = Path(path)
    src = str(path)
    fix = f"check the path given to {option}"
    if not path.exists() and not path.is_symlink():
        raise DataValidationError(src, f"{what} file not found", reason="not_found", fix=fix)
    readable_file(path, f"{what} file", fix)
    if path.suffix.lower() == ".parquet":
        return read_parquet_file(
            path, f"{what} file", "check that the file is a complete Parquet file"
        ), src
    empty_fix = f"write the header and one row per entry, or drop {option}"
    return read_csv_text(path, f"{what} table", empty_fix), src


def _checked(path: Path, schema: TableSchema, what: str, option: str) -> tuple[pl.DataFrame, str]:
    raw, src = read_planner_table(path, what, option)
    df = validate(raw, schema, src)
    numeric = [c.name for c in schema.fields if c.dtype.is_float()]
    check_magnitudes(df, numeric, src, id_columns=schema.id_columns)
    return df, src


# ----------------------------------------------------------------------------- inventory


def inventory_on_hand(path: Path, pairs: pl.DataFrame) -> tuple[np.ndarray, int]:
    """On-hand units per pair of ``pairs`` (store_id, product_id, in their order) from the
    inventory file, 0 for the pairs it does not list; and how many pairs it lists."""
    inv, src = _checked(path, INVENTORY, "inventory", "--inventory")
    outside = inv.with_row_index("__pos").join(pairs, on=PAIR_KEYS, how="anti")["__pos"]
    if outside.len():
        raise fail(
            inv,
            pl.int_range(pl.len()).is_in(outside.implode()),
            src,
            "store-product pairs not in the forecast",
            reason="unknown_id",
            column="store_id",
            fix="correct the ids or remove these rows (the plan covers the forecast's pairs "
            "only; an unlisted forecast pair has 0 on hand)",
            id_columns=PAIR_KEYS,
            show=["on_hand"],
        )
    joined = pairs.select(PAIR_KEYS).join(
        inv.select(*PAIR_KEYS, "on_hand"), on=PAIR_KEYS, how="left", maintain_order="left"
    )
    return joined["on_hand"].fill_null(0.0).to_numpy(), inv.height


# ----------------------------------------------------------------------------- lane costs


@dataclass(frozen=True)
class LaneCosts:
    """A validated lane table: store-index lanes (``from_idx -> to_idx``), their cost
    (NaN where closed) and whether each is open."""

    source: str
    rows: int
    from_idx: np.ndarray
    to_idx: np.ndarray
    cost: np.ndarray
    open: np.ndarray


def read_lane_costs(path: Path, stores: pl.DataFrame) -> LaneCosts:
    """The lane table resolved to store-index lanes of ``stores`` (store_id sorted, city_id).

    Store lanes name two distinct stores of the run; city lanes two cities of the run's stores
    and stand for every store pair between them."""
    raw, src = read_planner_table(path, "lane costs", "--lane-costs")
    store_form = {"from_store_id", "to_store_id"} <= set(raw.columns)
    city_form = {"from_city_id", "to_city_id"} <= set(raw.columns)
    if store_form == city_form:
        both = "both" if store_form else "neither"
        raise DataValidationError(
            src,
            f"has {both} of the lane forms; found {raw.columns}",
            reason="missing_column" if not store_form else "unexpected_column",
            column="from_store_id",
            fix="write either from_store_id, to_store_id, cost (store to store) or "
            "from_city_id, to_city_id, cost (city to city), one form per file",
        )
    prefix = "store" if store_form else "city"
    df = validate(raw, LANE_COSTS_STORE if store_form else LANE_COSTS_CITY, src)
    check_magnitudes(df, ["cost"], src, id_columns=[f"from_{prefix}_id", f"to_{prefix}_id"])
    if "open" not in df.columns:
        df = df.with_columns(pl.lit(1, dtype=pl.Int64).alias("open"))
    keys = [f"from_{prefix}_id", f"to_{prefix}_id"]
    for rule in _open_rules():
        bad = df.select(rule.bad.fill_null(False).alias("b"))["b"]
        if bad.any():
            raise fail(
                df,
                bad,
                src,
                f"expected {rule.expected}",
                reason=rule.reason,
                column=rule.column,
                fix=rule.fix,
                id_columns=keys,
                show=["cost", "open"],
            )
    cost = df["cost"].fill_null(np.nan).to_numpy().astype(np.float64)
    is_open = df["open"].to_numpy() == 1
    cost = np.where(is_open, cost, np.nan)
    store_ids = stores["store_id"].to_numpy().astype(np.int64)
    if store_form:
        same = df["from_store_id"] == df["to_store_id"]
        if same.any():
            raise fail(
                df,
                same,
                src,
                "a lane from a store to itself; expected two different stores",
                reason="out_of_range",
                column="to_store_id",
                fix="remove these rows (stock that stays in a store is not transported)",
                id_columns=keys,
            )
        fix = "use store ids of the run (RUN/prepared/store_supply_params.csv) or remove "
        fix += "these rows"
        fi = known_positions(df, keys[0], store_ids, "store", src, id_columns=keys, fix=fix)
        ti = known_positions(df, keys[1], store_ids, "store", src, id_columns=keys, fix=fix)
        return LaneCosts(src, df.height, fi, ti, cost, is_open)
    store_city = stores["city_id"].to_numpy().astype(np.int64)
    cities = np.unique(store_city)
    fix = "use city ids of the run's stores (RUN/prepared/store_supply_params.csv) or remove "
    fix += "these rows"
    fc = known_positions(df, keys[0], cities, "city", src, id_columns=keys, fix=fix)
    tc = known_positions(df, keys[1], cities, "city", src, id_columns=keys, fix=fix)
    members = [np.flatnonzero(store_city == c) for c in cities]
    f_parts, t_parts, c_parts, o_parts = [], [], [], []
    for k in range(df.height):
        a, b = members[fc[k]], members[tc[k]]
        f = np.repeat(a, b.size)
        t = np.tile(b, a.size)
        keep = f != t
        f_parts.append(f[keep])
        t_parts.append(t[keep])
        c_parts.append(np.full(int(keep.sum()), cost[k]))
        o_parts.append(np.full(int(keep.sum()), is_open[k]))
    return LaneCosts(
        src,
        df.height,
        np.concatenate(f_parts).astype(np.int64),
        np.concatenate(t_parts).astype(np.int64),
        np.concatenate(c_parts),
        np.concatenate(o_parts).astype(bool),
    )


def apply_lane_costs(transport: TransportCosts, lanes: LaneCosts) -> TransportCosts:
    """``transport`` with the listed lanes set (open) or removed (closed); unlisted lanes
    keep their cost."""
    if transport.dense is not None:
        mat = transport.dense.copy()
        mat[lanes.from_idx, lanes.to_idx] = np.where(lanes.open, lanes.cost, np.inf)
        np.fill_diagonal(mat, np.inf)
        return TransportCosts(transport.n_stores, dense=mat)
    f0, t0, c0 = transport.to_long()
    n = transport.n_stores
    listed = np.isin(f0 * n + t0, lanes.from_idx * n + lanes.to_idx)
    f = np.concatenate([f0[~listed], lanes.from_idx[lanes.open]])
    t = np.concatenate([t0[~listed], lanes.to_idx[lanes.open]])
    c = np.concatenate([c0[~listed], lanes.cost[lanes.open]])
    return TransportCosts.from_long(n, f, t, c)


# ----------------------------------------------------------------------------- products


def apply_product_costs(products: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, int]:
    """``products`` (one row per product of the run) with the listed values replaced, plus
    the bool column ``GIVEN_PRODUCTION`` (the file set its ``max_production``); and the
    table's row count."""
    raw, src = read_planner_table(path, "product costs", "--product-costs")
    given = [c for c in PRODUCT_COST_COLUMNS if c in raw.columns]
    if not given:
        raise DataValidationError(
            src,
            f"has none of the cost columns {list(PRODUCT_COST_COLUMNS)}; found {raw.columns}",
            reason="missing_column",
            column=PRODUCT_COST_COLUMNS[0],
            fix="add at least one of the columns (names are case-sensitive) next to product_id",
        )
    df = validate(raw, PRODUCT_COSTS, src)
    check_magnitudes(df, list(PRODUCT_COST_COLUMNS), src, id_columns=["product_id"])
    known_positions(
        df,
        "product_id",
        products["product_id"].to_numpy().astype(np.int64),
        "forecast's product",
        src,
        fix="use product ids of the run's forecast or remove these rows",
    )
    new = {f"__new_{c}": pl.col(c) for c in given}
    out = products.join(
        df.select("product_id", **new), on="product_id", how="left", maintain_order="left"
    ).with_columns(
        *(pl.coalesce(pl.col(f"__new_{c}"), pl.col(c)).cast(pl.Float64).alias(c) for c in given),
        (
            pl.col("__new_max_production").is_not_null()
            if "max_production" in given
            else pl.lit(False)
        ).alias(GIVEN_PRODUCTION),
    )
    return out.select(*products.columns, GIVEN_PRODUCTION), df.height


# ----------------------------------------------------------------------------- capacities


def apply_capacities(store_products: pl.DataFrame, path: Path) -> tuple[pl.DataFrame, int, int]:
    """``store_products`` with ``max_capacity`` replaced for the listed pairs, plus the bool
    column ``GIVEN_CAPACITY`` (the file set it); the table's row count, and how many listed
    capacities force the store to ship stock out.

    A listed capacity below ``current_inventory - demand - max(0, current_inventory -
    safety_stock)`` (what stays in the store when it ships all it may, C2) makes the problem
    infeasible (C5) and is an error (``out_of_range``) naming the least capacity that works.
    """
    df, src = _checked(path, CAPACITIES, "capacities", "--capacities")
    outside = df.with_row_index("__pos").join(store_products, on=PAIR_KEYS, how="anti")["__pos"]
    if outside.len():
        raise fail(
            df,
            pl.int_range(pl.len()).is_in(outside.implode()),
            src,
            "store-product pairs not in the forecast",
            reason="unknown_id",
            column="store_id",
            fix="correct the ids or remove these rows (capacities apply to the forecast's "
            "pairs; an unlisted pair keeps the capacity rule)",
            id_columns=PAIR_KEYS,
            show=["max_capacity"],
        )
    joined = df.join(
        store_products.select(*PAIR_KEYS, "demand", "current_inventory", "safety_stock"),
        on=PAIR_KEYS,
        how="left",
        maintain_order="left",
    )
    inv, dem = pl.col("current_inventory"), pl.col("demand")
    shippable = pl.max_horizontal(inv - pl.col("safety_stock"), pl.lit(0.0))
    least = pl.max_horizontal(inv - dem - shippable, pl.lit(0.0))
    joined = joined.with_columns(least.alias("least_capacity"))
    bad = pl.col("max_capacity") < pl.col("least_capacity") - 1e-9
    if joined.select(bad.any()).item():
        raise fail(
            joined,
            bad,
            src,
            "capacity below the stock the store must keep (current_inventory - demand - the "
            "most it may ship out, max(0, current_inventory - safety_stock)): no plan fits (C5)",
            reason="out_of_range",
            column="max_capacity",
            fix="raise max_capacity to at least least_capacity, or lower the inventory or "
            "the safety stock of these pairs",
            id_columns=PAIR_KEYS,
            show=["max_capacity", "least_capacity", "current_inventory", "demand"],
        )
    must_ship = int(joined.select((pl.col("max_capacity") < inv - dem).sum()).item())
    out = (
        store_products.join(
            df.select(*PAIR_KEYS, pl.col("max_capacity").alias("__cap")),
            on=PAIR_KEYS,
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.coalesce("__cap", "max_capacity").alias("max_capacity"),
            pl.col("__cap").is_not_null().alias(GIVEN_CAPACITY),
        )
        .drop("__cap")
    )
    return out, df.height, must_ship
