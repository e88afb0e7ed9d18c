"""The prepare stage: validated raw data -> ``RUN/prepared/`` tables (docs/prepare.md)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import polars as pl

from rama import __version__
from rama.config import Config
from rama.data import has_split, load_city_locations, load_logistics
from rama.data.freshretail import freshretail_file
from rama.data.logistics import logistics_file
from rama.data.outliers import OutlierRule, cap_logistics_outliers, empty_report
from rama.data.partitions import DEFAULT_PARTITION_ROWS
from rama.errors import StageInputError
from rama.io import atomic_dir, write_csv, write_json, write_parquet, write_text
from rama.layout import RunLayout, truth_file
from rama.prepare.clustering import city_supply_params, cluster_logistics, map_cities
from rama.prepare.demand import store_product_params
from rama.prepare.eda import cluster_summary, demand_summary, logistics_summary, transport_summary
from rama.prepare.partitioned import load_sales
from rama.prepare.report import render_markdown
from rama.prepare.stores import store_supply_params
from rama.prepare.transport import (
    city_transport_costs,
    store_transport_matrix,
    write_store_transport_matrix,
)
from rama.progress import step
from rama.run_manifest import manifest_path, read_manifest, update_manifest

DAILY_FILE = "store_product_daily.parquet"
MATRIX_FILE = "transport_cost_matrix.parquet"


@dataclass(frozen=True)
class PrepareResult:
    """What ``rama prepare`` wrote: rows per table, the network's size, the planning data's
    dates, the city mapping, the plant (lat, lon degrees), transfer cost quantiles ($/unit)
    and wall seconds per step."""

    out_dir: Path
    tables: Mapping[str, int]
    rows: int
    cities: int
    stores: int
    products: int
    pairs: int
    date_min: str
    date_max: str
    city_mapping: str
    plant: tuple[float, float]
    transport_cost: Mapping[str, float]
    seconds: Mapping[str, float]
    outliers: int = 0  # values >= data.outlier_ratio x their reference median (outliers.csv)
    outlier_action: str = "cap"  # data.outlier_action: "cap" (replaced) or "reject"
    outlier_examples: tuple[Mapping[str, Any], ...] = ()  # first rows of outliers.csv


@dataclass(frozen=True)
class Prepared:
    """Every prepared table (in memory) and the plant location (lat, lon degrees)."""

    daily: pl.DataFrame
    pair_params: pl.DataFrame
    clusters: pl.DataFrame
    cities: pl.DataFrame
    stores: pl.DataFrame
    city_costs: pl.DataFrame
    matrix: pl.DataFrame
    plant: tuple[float, float]
    outliers: pl.DataFrame = field(default_factory=empty_report)

    def files(self) -> dict[str, pl.DataFrame]:
        """Output file name -> table."""
        return {
            DAILY_FILE: self.daily,
            "store_product_params.parquet": self.pair_params,
            "city_supply_params.csv": self.cities,
            "store_supply_params.csv": self.stores,
            MATRIX_FILE: self.matrix,
            "city_transport_costs.csv": self.city_costs,
            "outliers.csv": self.outliers,
        }


@dataclass(frozen=True)
class Supply:
    """The tables built from the demand's cities and stores and the logistics data (all
    small: a row per cluster, city, store or city pair) and the plant (lat, lon degrees)."""

    clusters: pl.DataFrame
    cities: pl.DataFrame
    stores: pl.DataFrame
    city_costs: pl.DataFrame
    plant: tuple[float, float]


def build_supply(
    pair_params: pl.DataFrame,
    city_ids: list[Any],
    logistics: pl.DataFrame,
    cfg: Config,
    locations: pl.DataFrame | None = None,
    *,
    logistics_source: str = "logistics",
    locations_source: str = "city locations",
) -> Supply:
    """K-Means clusters of the logistics data, the city mapping and supply parameters, the
    store distribution costs and the city x city transport costs."""
    clusters, _ = cluster_logistics(
        logistics,
        len(city_ids),
        seed=int(cfg["run"]["seed"]),
        n_init=int(cfg["clustering"]["n_init"]),
        source=logistics_source,
    )
    mapping = map_cities(city_ids, clusters, locations, locations_source)
    cities = city_supply_params(mapping, clusters)
    stores, plant = store_supply_params(pair_params, cities, cfg["distribution"])
    city_costs = city_transport_costs(cities, cfg["transport"])
    return Supply(clusters, cities, stores, city_costs, plant)


def _city_ids(daily: pl.DataFrame) -> list[Any]:
    return daily.get_column("city_id").unique().sort().to_list()


def build_prepared(
    daily: pl.DataFrame,
    logistics: pl.DataFrame,
    cfg: Config,
    locations: pl.DataFrame | None = None,
    *,
    logistics_source: str = "logistics",
    locations_source: str = "city locations",
) -> Prepared:
    """Pure kernel: validated daily demand (``store_product_daily``) and logistics frames ->
    every prepared table."""
    pair_params = store_product_params(daily)
    sup = build_supply(
        pair_params,
        _city_ids(daily),
        logistics,
        cfg,
        locations,
        logistics_source=logistics_source,
        locations_source=locations_source,
    )
    matrix = store_transport_matrix(sup.stores, sup.city_costs)
    return Prepared(
        daily, pair_params, sup.clusters, sup.cities, sup.stores, sup.city_costs, matrix, sup.plant
    )


def eda_summary(
    p: Prepared,
    logistics: pl.DataFrame,
    cfg: Config,
    data_dir: str,
    *,
    demand: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The statistics written to ``eda_summary.json``; ``demand``: the
    :func:`~rama.prepare.eda.demand_summary` of ``p.daily`` when already computed (``p.daily``
    is then not read)."""
    return {
        "data_dir": data_dir,
        "demand": demand if demand is not None else demand_summary(p.daily, p.pair_params),
        "logistics": logistics_summary(logistics),
        "clusters": cluster_summary(p.cities, p.clusters),
        "plant": {
            "setting": cfg["distribution"]["plant_location"],
            "latitude": p.plant[0],
            "longitude": p.plant[1],
        },
        "transport": transport_summary(p.stores, p.city_costs, cfg["costs"]),
        "outliers": {
            "ratio": float(cfg["data"]["outlier_ratio"]),
            "action": str(cfg["data"]["outlier_action"]),
            "count": p.outliers.height,
            "by_column": {
                str(k): int(v)
                for k, v in p.outliers.group_by("column").len().sort("column").iter_rows()
            },
            "examples": p.outliers.head(5).to_dicts(),
        },
    }


def prepare(
    data_dir: Path, run_dir: Path, cfg: Config, city_locations: Path | None = None
) -> PrepareResult:
    """Load and validate ``data_dir``, write ``run_dir/prepared/`` atomically, plus
    ``run_dir/config.toml`` and ``run_dir/manifest.json``. Returns what was written."""
    t0 = time.perf_counter()
    data_dir, layout = Path(data_dir).resolve(), RunLayout(run_dir)
    run_dir = layout.root
    rule = OutlierRule.from_config(cfg["data"])
    rows = int(cfg["data"].get("partition_rows", DEFAULT_PARTITION_ROWS))
    train_source = str(freshretail_file(data_dir, "train") or data_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as held:
        with step("prepare: loading and validating the sales, outlier check, statistics"):
            sales = held.enter_context(
                load_sales(data_dir, rule, rows=rows, source=train_source, scratch=run_dir)
            )
        t_demand = time.perf_counter()
        with step("prepare: loading the logistics data"):
            logistics = load_logistics(data_dir)
        logistics_source = str(logistics_file(data_dir) or data_dir)
        logistics, logistics_outliers = cap_logistics_outliers(logistics, rule, logistics_source)
        locations = load_city_locations(city_locations) if city_locations is not None else None
        t_load = time.perf_counter()
        pair_params, demand = sales.pair_params, sales.demand
        with step("prepare: K-Means cities, store and city costs"):
            sup = build_supply(
                pair_params,
                _city_ids(pair_params),
                logistics,
                cfg,
                locations,
                logistics_source=logistics_source,
                locations_source=str(city_locations),
            )
        t_build = time.perf_counter()
        with atomic_dir(layout.prepared) as tmp:
            with step("prepare: writing the daily table"):
                sales.write_daily(tmp / DAILY_FILE)  # a table in memory is freed once written
            held.close()  # the partition files
            n_daily = sales.rows
            t_daily = time.perf_counter()
            with step("prepare: store-to-store transport costs"):
                n_matrix = write_store_transport_matrix(  # a block of origin stores at a time
                    sup.stores, sup.city_costs, tmp / MATRIX_FILE
                )
                p = Prepared(
                    pl.DataFrame(),  # written above, from the partitions
                    pair_params,
                    sup.clusters,
                    sup.cities,
                    sup.stores,
                    sup.city_costs,
                    pl.DataFrame(),  # written above, a block at a time
                    sup.plant,
                    pl.concat([sales.outliers, logistics_outliers]),
                )
                summary = eda_summary(p, logistics, cfg, str(data_dir), demand=demand)
            t_matrix = time.perf_counter()
            with step("prepare: writing"):
                for name, table in p.files().items():
                    if name not in (DAILY_FILE, MATRIX_FILE):
                        write = write_parquet if name.endswith(".parquet") else write_csv
                        write(table, tmp / name)
                write_json(summary, tmp / "eda_summary.json")
                write_text(render_markdown(summary) + "\n", tmp / "eda_summary.md")
    write_text(cfg.to_toml(), layout.config)
    method = str(p.cities.item(0, "mapping_method"))
    d = summary["demand"]
    manifest = manifest_path(run_dir)
    if manifest.is_file():
        try:
            read_manifest(run_dir)
        except StageInputError:
            manifest.unlink()  # unreadable: prepare starts the run's record afresh
    update_manifest(
        run_dir,
        rama_version=__version__,
        data_dir=str(data_dir),
        has_eval=has_split(data_dir, "eval"),
        has_truth=truth_file(data_dir).is_file(),
        city_mapping=method,
        city_locations=str(Path(city_locations).resolve()) if city_locations else None,
        prepare={k: d[k] for k in ("rows", "cities", "stores", "products", "pairs")}
        | {"date_min": d["date_min"], "date_max": d["date_max"]},
        stages=["prepare"],
    )
    t_end = time.perf_counter()
    return PrepareResult(
        out_dir=layout.prepared,
        tables=MappingProxyType(
            {name: t.height for name, t in p.files().items()}
            | {DAILY_FILE: n_daily, MATRIX_FILE: n_matrix}
        ),
        rows=int(d["rows"]),
        cities=int(d["cities"]),
        stores=int(d["stores"]),
        products=int(d["products"]),
        pairs=int(d["pairs"]),
        date_min=str(d["date_min"]),
        date_max=str(d["date_max"]),
        city_mapping=method,
        plant=(float(p.plant[0]), float(p.plant[1])),
        transport_cost=MappingProxyType(dict(summary["transport"]["cost"])),
        seconds=MappingProxyType(
            {
                "load_demand": t_demand - t0,
                "load_logistics": t_load - t_demand,
                "build": t_build - t_load + t_matrix - t_daily,
                "write": t_daily - t_build + t_end - t_matrix,
                "total": t_end - t0,
            }
        ),
        outliers=p.outliers.height,
        outlier_action=rule.action,
        outlier_examples=tuple(p.outliers.head(5).to_dicts()),
    )
