"""Build the problem folder's tables from a run (``RUN/prepared`` + ``RUN/forecast``).

Per store-product pair (units over the planning horizon of H = run.horizon_days days):

    safety_stock = z x (demand_std / sqrt(H)) x sqrt(L_eff),  z = Phi^-1(service_level)
    L_eff = lead_time_days + delay_probability x max(delivery_time_deviation, 0)  (rama.rules;
            risk.stretch_lead_time, when store_supply_params has the delay columns)
    max_capacity = max(capacity.multiplier x (demand + safety_stock), capacity.minimum_units)
    current_inventory = demand x U(min_cover, max_cover), rounded to 0.1 (seed run.seed),
                        or the user's inventory file (store_id, product_id, on_hand)

The forecast's ``demand_std`` is the std of the horizon total; dividing by sqrt(H) turns it
into a daily std (days assumed independent), which the lead time in days then scales.
Per product: holding_cost = holding_cost_per_unit_day x H, stockout_penalty,
manufacturing_cost, max_production = max_production_multiplier x network horizon demand.
Per store: distribution_cost and city_id from ``store_supply_params.csv``. Transport: the
city form ``city_transport_costs.csv`` (a store pair costs its cities' cost) when present,
else the long ``transport_cost_matrix.parquet``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.errors import DataValidationError
from rama.io import require_file
from rama.problem.model import Problem, align_pairs, make_problem
from rama.problem.transport import TransportCosts, scale_transport
from rama.rules import (
    delay_premium_factor,
    max_production,
    product_costs,
    safety_stock,
    storage_capacity,
    uniform_cover_inventory,
)

FLOAT32_FROM_STORES = 5000  # dense transport matrices this large are kept as float32


def _require_columns(df: pl.DataFrame, cols: list[str], source: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataValidationError(
            source, f"missing column(s) {missing}; found {df.columns}", fix="re-run the stage"
        )


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    try:
        return pl.read_csv(path, infer_schema_length=10000)
    except pl.exceptions.PolarsError as exc:
        raise DataValidationError(str(path), f"could not be parsed as CSV ({exc})") from exc


def read_inventory(path: Path, pairs: pl.DataFrame) -> np.ndarray:
    """On-hand units per pair of ``pairs`` (store_id, product_id) from a user file."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(str(path), "inventory file not found", fix="check --inventory")
    src = str(path)
    inv = _read(path)
    _require_columns(inv, ["store_id", "product_id", "on_hand"], src)
    inv = inv.with_row_index("row", offset=1)
    on_hand = inv["on_hand"].cast(pl.Float64, strict=False)
    bad = on_hand.is_null() | on_hand.is_nan() | on_hand.is_infinite() | (on_hand < 0)
    if bad.any():
        raise DataValidationError(
            src,
            "on_hand must be a finite number >= 0",
            column="on_hand",
            examples=inv.filter(bad).head(5).to_dicts(),
            count=int(bad.sum()),
            fix="correct these rows (units on hand)",
        )
    try:
        inv = inv.with_columns(pl.col("store_id", "product_id").cast(pl.Int64), on_hand)
    except pl.exceptions.PolarsError as exc:
        raise DataValidationError(src, f"store_id/product_id must be integers ({exc})") from exc
    joined = align_pairs(
        inv,
        pairs,
        src,
        value="on_hand",
        extra=(
            "store-product pairs not in the forecast",
            "remove these rows (the plan covers the forecast's pairs only)",
        ),
        missing=(
            "forecast pairs missing from the inventory file",
            "add a row for every pair (on_hand 0 if none)",
        ),
    )
    return joined["on_hand"].to_numpy()


def _transport(prepared: Path, stores: pl.DataFrame) -> pl.DataFrame | TransportCosts:
    city_file = prepared / "city_transport_costs.csv"
    if not city_file.is_file():
        path = require_file(
            prepared / "transport_cost_matrix.parquet", "optimize", "run `rama prepare` first"
        )
        return pl.read_parquet(path).select("from_store_id", "to_store_id", "cost")
    cc = _read(city_file)
    _require_columns(cc, ["from_city_id", "to_city_id", "cost"], str(city_file))
    city_ids = np.unique(cc["from_city_id"].to_numpy())
    n_c = city_ids.size
    fi = np.searchsorted(city_ids, cc["from_city_id"].to_numpy())
    ti = np.searchsorted(city_ids, cc["to_city_id"].to_numpy())
    square = np.full((n_c, n_c), np.inf)
    square[fi, ti] = cc["cost"].cast(pl.Float64).to_numpy()
    cid = stores["city_id"].to_numpy()
    pos = np.searchsorted(city_ids, cid)
    unknown = (pos >= n_c) | (city_ids[np.minimum(pos, n_c - 1)] != cid)
    if unknown.any():
        raise DataValidationError(
            str(city_file),
            "stores in cities without transport costs",
            examples=stores.filter(pl.Series(unknown)).head(5).to_dicts(),
            count=int(unknown.sum()),
            fix="re-run `rama prepare`",
        )
    n = cid.size
    dtype = np.float32 if n >= FLOAT32_FROM_STORES else np.float64
    mat = square.astype(dtype)[pos[:, None], pos[None, :]]
    np.fill_diagonal(mat, np.inf)
    return TransportCosts(n, dense=mat)


def build_problem(run_dir: Path, cfg: Config, inventory_file: Path | None = None) -> Problem:
    """The run's problem (docs/optimizer.md): forecast + prepared tables + config."""
    run_dir = Path(run_dir)
    hd_path = require_file(
        run_dir / "forecast" / "horizon_demand.parquet", "optimize", "run `rama forecast` first"
    )
    ssp_path = require_file(
        run_dir / "prepared" / "store_supply_params.csv", "optimize", "run `rama prepare` first"
    )
    hd = pl.read_parquet(hd_path)
    _require_columns(hd, ["store_id", "product_id", "demand", "demand_std"], str(hd_path))
    ssp = _read(ssp_path)
    need = ["store_id", "city_id", "lead_time_days_mean", "distribution_cost"]
    _require_columns(ssp, need, str(ssp_path))
    risk_cols = ["delay_probability_mean", "delivery_time_deviation_mean"]
    has_risk = all(c in ssp.columns for c in risk_cols)
    stores = ssp.select(need + (risk_cols if has_risk else [])).with_columns(
        pl.col("store_id", "city_id").cast(pl.Int64)
    )
    stores = stores.sort("store_id")
    hd = hd.select("store_id", "product_id", "demand", "demand_std").with_columns(
        pl.col("store_id", "product_id").cast(pl.Int64)
    )
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
    if inventory_file is not None:
        inv = read_inventory(inventory_file, pairs.select("store_id", "product_id"))
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
    src = f"{hd_path} (+ {inventory_file or 'simulated inventory'})"
    transport = _transport(run_dir / "prepared", stores)
    premium = float(cfg["risk"]["delay_transport_premium"])
    if has_risk and premium > 0:
        if isinstance(transport, pl.DataFrame):
            transport = make_problem(
                store_products.head(0),
                products.head(0),
                stores.select("store_id", "distribution_cost"),
                transport,
                validate=False,
            ).transport
        factor = delay_premium_factor(stores[risk_cols[0]].cast(pl.Float64).to_numpy(), premium)
        transport = scale_transport(transport, factor)
    return make_problem(
        store_products,
        products,
        stores.select("store_id", "distribution_cost", "city_id"),
        transport,
        sources={"store_products": src, "stores": str(ssp_path)},
        source=str(run_dir),
    )
