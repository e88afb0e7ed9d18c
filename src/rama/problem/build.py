"""Build the problem folder's tables from a run (``RUN/prepared`` + ``RUN/forecast``).

Per store-product pair (units over the planning horizon of H = run.horizon_days days):

    safety_stock = z x (demand_std / sqrt(H)) x sqrt(L_eff),  z = Phi^-1(service_level)
    L_eff = lead_time_days + delay_probability x max(delivery_time_deviation, 0)  (rama.rules;
            risk.stretch_lead_time, when store_supply_params has the delay columns)
    max_capacity = max(capacity.multiplier x (demand + safety_stock), capacity.minimum_units)
    current_inventory = demand x U(min_cover, max_cover), rounded to 0.1 (seed run.seed),
                        or the user's inventory file (store_id, product_id, on_hand;
                        a pair it does not list has 0 on hand)

The forecast's ``demand_std`` is the std of the horizon total; dividing by sqrt(H) turns it
into a daily std (days assumed independent), which the lead time in days then scales.
Per product: holding_cost = holding_cost_per_unit_day x H, stockout_penalty,
manufacturing_cost, max_production = max_production_multiplier x network horizon demand.
Per store: distribution_cost and city_id from ``store_supply_params.csv``. Transport: the
city form ``city_transport_costs.csv`` (a store pair costs its cities' cost) when present,
else the long ``transport_cost_matrix.parquet``.

The forecast's empirical distribution of each horizon total, ``horizon_quantiles.parquet``
(quantiles at the levels ``(g - 0.5) / G``), is carried as ``Problem.demand_grid`` when the
forecast wrote it (a pair it does not list gets a NaN row), for
``stochastic.distribution = "empirical"``.

The planner's own tables (:mod:`rama.problem.planner_tables`: lane costs, product costs,
capacities) replace these derived numbers where they list a value; :func:`build_run_problem`
applies them and reports what they changed (:class:`BuildReport`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.errors import DataValidationError
from rama.io import read_csv_text, read_parquet_file, require_file
from rama.layout import RunLayout
from rama.problem.folder import read_grid
from rama.problem.given import given_from_keys
from rama.problem.model import Problem, _transport_from_table, make_problem, validate_table
from rama.problem.planner_tables import (
    GIVEN_CAPACITY,
    GIVEN_PRODUCTION,
    INVENTORY,
    BuildReport,
    PlannerInputs,
    apply_capacities,
    apply_lane_costs,
    apply_product_costs,
    inventory_on_hand,
    read_lane_costs,
)
from rama.problem.transport import TransportCosts, scale_transport
from rama.rules import (
    delay_premium_factor,
    max_production,
    product_costs,
    safety_stock,
    storage_capacity,
    uniform_cover_inventory,
)
from rama.schema import (
    TableSchema,
    check_magnitudes,
    check_unique,
    id_column,
    nonneg,
    number,
    require_columns,
    validate,
)

__all__ = [
    "CITY_COSTS",
    "HORIZON_DEMAND",
    "INVENTORY",
    "STORE_SUPPLY",
    "build_problem",
    "build_run_problem",
    "read_inventory",
]

PAIR_COLUMNS = ("store_id", "product_id")
HORIZON_QUANTILES = "horizon_quantiles.parquet"  # RUN/forecast/: the horizon totals' quantiles
FLOAT32_FROM_STORES = 5000  # dense transport matrices this large are kept as float32


HORIZON_DEMAND = TableSchema(
    "horizon_demand",
    (
        id_column("store_id"),
        id_column("product_id"),
        nonneg("demand", "units over the horizon"),
        nonneg("demand_std", "units over the horizon"),
    ),
    id_columns=("store_id", "product_id"),
    allow_extra_columns=True,
)
"""The columns build_problem reads from ``RUN/forecast/horizon_demand.parquet``."""

RISK_COLUMNS = ("delay_probability_mean", "delivery_time_deviation_mean")

STORE_SUPPLY = TableSchema(
    "store_supply_params",
    (
        id_column("store_id"),
        id_column("city_id"),
        nonneg("lead_time_days_mean", "days"),
        nonneg("distribution_cost", "$/unit"),
        nonneg(RISK_COLUMNS[0], "probability", required=False),
        number(RISK_COLUMNS[1], "days", finite=True, required=False),
    ),
    id_columns=("store_id",),
    allow_extra_columns=True,
)
"""The columns build_problem reads from ``RUN/prepared/store_supply_params.csv`` (the two
delay columns are optional: with both, the lead time and transport premium use them)."""

CITY_COSTS = TableSchema(
    "city_transport_costs",
    (
        id_column("from_city_id"),
        id_column("to_city_id"),
        nonneg("cost", "$/unit; inf = no route", allow_inf=True),
    ),
    id_columns=("from_city_id", "to_city_id"),
    allow_extra_columns=True,
)
"""The city form of the transport costs, ``RUN/prepared/city_transport_costs.csv``."""

_RERUN = "re-run the stage that writes this file"


def _require_columns(df: pl.DataFrame, schema: TableSchema, source: str) -> pl.DataFrame:
    """``df`` checked against ``schema`` (a stage output: the fix is to re-run the stage)."""
    require_columns(df, schema.required, source, fix=_RERUN, table=schema.name)
    return validate(df, schema, source)


def _read(path: Path) -> pl.DataFrame:
    """A stage output (Parquet or CSV as text); a broken file names the stage to re-run."""
    if path.suffix == ".parquet":
        return read_parquet_file(path, "stage output", _RERUN)
    return read_csv_text(path, "stage output", _RERUN)


def read_inventory(path: Path, pairs: pl.DataFrame) -> np.ndarray:
    """On-hand units per pair of ``pairs`` (store_id, product_id) from a user file; a pair
    the file does not list has 0 (see :func:`rama.problem.planner_tables.inventory_on_hand`,
    which also returns how many pairs the file lists)."""
    return inventory_on_hand(path, pairs)[0]


def _transport(layout: RunLayout, stores: pl.DataFrame) -> pl.DataFrame | TransportCosts:
    city_file = layout.city_transport_costs
    if not city_file.is_file():
        path = require_file(layout.transport_cost_matrix, "optimize", "run `rama prepare` first")
        matrix = _read(path)
        require_columns(matrix, ["from_store_id", "to_store_id", "cost"], str(path), fix=_RERUN)
        matrix = validate_table(matrix, "transport_costs", str(path))
        check_magnitudes(matrix, ["cost"], str(path), id_columns=["from_store_id", "to_store_id"])
        return matrix.select("from_store_id", "to_store_id", "cost")
    cc = _require_columns(_read(city_file), CITY_COSTS, str(city_file))
    check_unique(cc, ["from_city_id", "to_city_id"], str(city_file), fix=_RERUN)
    cid = stores["city_id"].to_numpy()
    known = np.unique(cc["from_city_id"].to_numpy())
    pos = np.searchsorted(known, cid)
    unknown = (pos >= known.size) | (known[np.minimum(pos, max(known.size - 1, 0))] != cid)
    if unknown.any():
        raise DataValidationError(
            str(city_file),
            "stores in cities without transport costs",
            reason="unknown_id",
            column="city_id",
            examples=stores.filter(pl.Series(unknown)).head(5).to_dicts(),
            count=int(unknown.sum()),
            fix="re-run `rama prepare`",
        )
    city_ids = np.unique(cid)
    n_c = city_ids.size
    grid = pl.DataFrame(
        {"from_city_id": np.repeat(city_ids, n_c), "to_city_id": np.tile(city_ids, n_c)}
    )
    lanes = grid.join(cc, on=["from_city_id", "to_city_id"], how="left", maintain_order="left")
    absent = lanes.filter(pl.col("cost").is_null())
    if absent.height:
        raise DataValidationError(
            str(city_file),
            "city pairs of the run's stores without a row (a missing pair would silently "
            "remove every route between the two cities; write cost = inf for no route)",
            reason="missing_rows",
            column="to_city_id",
            examples=absent.select("from_city_id", "to_city_id").head(5).to_dicts(),
            count=absent.height,
            fix=_RERUN + " (`rama prepare` writes every ordered pair of cities)",
        )
    square = lanes["cost"].to_numpy().astype(np.float64).reshape(n_c, n_c)
    pos = np.searchsorted(city_ids, cid)
    n = cid.size
    dtype = np.float32 if n >= FLOAT32_FROM_STORES else np.float64
    mat = square.astype(dtype)[pos[:, None], pos[None, :]]
    np.fill_diagonal(mat, np.inf)
    return TransportCosts(n, dense=mat)


def build_problem(run_dir: Path, cfg: Config, inventory_file: Path | None = None) -> Problem:
    """The run's problem (docs/optimizer.md): forecast + prepared tables + config."""
    return build_run_problem(run_dir, cfg, PlannerInputs(inventory=inventory_file))[0]


def build_run_problem(
    run_dir: Path, cfg: Config, inputs: PlannerInputs | None = None
) -> tuple[Problem, BuildReport]:
    """The run's problem with the planner's files applied over the derived numbers
    (docs/data.md, "Bring your own data"), and the report of what they changed."""
    inputs = inputs or PlannerInputs()
    inventory_file = inputs.inventory
    layout = RunLayout(run_dir)
    hd_path = require_file(layout.horizon_demand, "optimize", "run `rama forecast` first")
    ssp_path = require_file(layout.store_supply_params, "optimize", "run `rama prepare` first")
    hd = _require_columns(_read(hd_path), HORIZON_DEMAND, str(hd_path))
    check_magnitudes(hd, ["demand", "demand_std"], str(hd_path), id_columns=PAIR_COLUMNS)
    if hd.height == 0:
        raise DataValidationError(
            str(hd_path),
            "has no store-product pairs: an empty network has nothing to plan",
            reason="empty",
            fix="re-run `rama forecast` on data with at least one store-product series",
        )
    ssp = _require_columns(_read(ssp_path), STORE_SUPPLY, str(ssp_path))
    need = ["store_id", "city_id", "lead_time_days_mean", "distribution_cost"]
    risk_cols = list(RISK_COLUMNS)
    has_risk = all(c in ssp.columns for c in risk_cols)
    stores = ssp.select(need + (risk_cols if has_risk else [])).sort("store_id")
    hd = hd.sort("store_id", "product_id")
    pairs = hd.join(
        stores.select("store_id", "lead_time_days_mean", *(risk_cols if has_risk else [])),
        on="store_id",
        how="left",
    )
    lost = pairs.filter(pl.col("lead_time_days_mean").is_null())
    if lost.height:
        raise DataValidationError(
            str(hd_path),
            f"stores not in {ssp_path.name}",
            reason="unknown_id",
            column="store_id",
            examples=lost.head(5).to_dicts(),
            count=lost.height,
            fix="re-run `rama prepare` and `rama forecast` on the same data",
        )
    horizon = int(cfg["run"]["horizon_days"])
    demand = pairs["demand"].cast(pl.Float64).to_numpy()
    stretch = has_risk and bool(cfg["risk"]["stretch_lead_time"])
    ss = safety_stock(
        pairs["demand_std"].cast(pl.Float64).to_numpy(),
        pairs["lead_time_days_mean"].cast(pl.Float64).to_numpy(),
        float(cfg["service"]["service_level"]),
        horizon,
        delay_probability=pairs[risk_cols[0]].cast(pl.Float64).to_numpy() if stretch else None,
        delivery_deviation_days=(
            pairs[risk_cols[1]].cast(pl.Float64).to_numpy() if stretch else None
        ),
    )
    cap = storage_capacity(demand, ss, cfg["capacity"])
    listed: int | None = None
    if inventory_file is not None:
        inv, listed = inventory_on_hand(inventory_file, pairs.select("store_id", "product_id"))
    else:
        icfg = cfg["inventory"]
        inv = uniform_cover_inventory(
            demand, float(icfg["min_cover"]), float(icfg["max_cover"]), int(cfg["run"]["seed"])
        )
    store_products = pairs.select("store_id", "product_id", "demand", "demand_std").with_columns(
        pl.Series("current_inventory", inv, dtype=pl.Float64),
        pl.Series("safety_stock", ss),
        pl.Series("max_capacity", cap),
    )
    report: dict[str, int | None] = {}
    cap_given = np.zeros(store_products.height, dtype=bool)
    if inputs.capacities is not None:
        store_products, rows, must_ship = apply_capacities(store_products, inputs.capacities)
        report.update(capacities_rows=rows, capacity_must_ship=must_ship)
        cap_given = store_products[GIVEN_CAPACITY].to_numpy().astype(bool)
        store_products = store_products.drop(GIVEN_CAPACITY)
    network = (
        store_products.group_by("product_id")
        .agg(pl.col("demand").sum().alias("network_demand"))
        .sort("product_id")
    )
    unit = product_costs(cfg["costs"], horizon)
    products = network.select(
        "product_id",
        *(pl.lit(v).alias(k) for k, v in unit.items()),
        pl.Series(
            "max_production", max_production(network["network_demand"].to_numpy(), cfg["costs"])
        ),
    )
    prod_given = np.zeros(products.height, dtype=bool)
    if inputs.product_costs is not None:
        products, report["product_costs_rows"] = apply_product_costs(products, inputs.product_costs)
        prod_given = products[GIVEN_PRODUCTION].to_numpy().astype(bool)
        products = products.drop(GIVEN_PRODUCTION)
    src = f"{hd_path} (+ {inventory_file or 'simulated inventory'})"
    transport = _transport(layout, stores)
    premium = float(cfg["risk"]["delay_transport_premium"])
    store_ids = stores["store_id"].to_numpy().astype(np.int64)
    if isinstance(transport, pl.DataFrame) and (
        inputs.lane_costs is not None or (has_risk and premium > 0)
    ):
        long_file = str(layout.transport_cost_matrix)
        transport = _transport_from_table(transport, store_ids, long_file, False)
    if inputs.lane_costs is not None:
        assert isinstance(transport, TransportCosts)
        lanes = read_lane_costs(inputs.lane_costs, stores)
        transport = apply_lane_costs(transport, lanes)
        report.update(
            lane_costs_rows=lanes.rows,
            lanes_set=int(lanes.open.sum()),
            lanes_closed=int((~lanes.open).sum()),
        )
    if has_risk and premium > 0:
        assert isinstance(transport, TransportCosts)
        factor = delay_premium_factor(stores[risk_cols[0]].cast(pl.Float64).to_numpy(), premium)
        transport = scale_transport(transport, factor)
    sources = {"store_products": src, "stores": str(ssp_path)}
    if inputs.product_costs is not None:
        sources["products"] = f"products (+ {inputs.product_costs})"
    problem = make_problem(
        store_products,
        products,
        stores.select("store_id", "distribution_cost", "city_id"),
        transport,
        sources=sources,
        source=str(run_dir),
    )
    grid_path = layout.forecast / HORIZON_QUANTILES
    if grid_path.is_file():
        grid = read_grid(_read(grid_path), problem, str(grid_path))
        problem = replace(problem, demand_grid=grid)
    given = given_from_keys(
        problem,
        store_products.filter(pl.Series(cap_given)).select("store_id", "product_id"),
        products.filter(pl.Series(prod_given))["product_id"],
    )
    return problem, BuildReport(
        inputs,
        problem.n_pairs,
        given=given,
        pairs_listed=listed,
        pairs_unlisted=None if listed is None else problem.n_pairs - listed,
        **report,
    )
