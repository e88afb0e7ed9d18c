"""The EDA summary of the prepared data (``eda_summary.json`` and ``eda_summary.md``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from rama.data.blocks import BLOCK_ROWS, blocks
from rama.prepare.clustering import LAT, LON, SUPPLY_STATS

QUANTILES = {"min": 0.0, "p05": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}
LOGISTICS_RANGES = (LAT, LON, *SUPPLY_STATS)
SUMMARY_STORES = 4_096
"""Destination stores per slice of the transfer-cost comparison (cities x stores booleans)."""


def quantiles(values: pl.Series | np.ndarray, *, owned: bool = False) -> dict[str, float | None]:
    """min, p05, p25, median, p75, p95, max and mean of the non-null values (linear).

    ``owned``: ``values`` is a scratch array that may be reordered (no copy is made)."""
    arr = values.drop_nulls().to_numpy() if isinstance(values, pl.Series) else values
    arr = np.asarray(arr, dtype=float)
    finite = np.isfinite(arr)
    if not finite.all():
        arr, owned = arr[finite], True
    del finite
    if arr.size == 0:
        return {k: None for k in [*QUANTILES, "mean"]}
    mean = float(arr.mean())  # before the quantiles, which may reorder an owned array
    qs = np.quantile(arr, list(QUANTILES.values()), overwrite_input=owned)
    out: dict[str, float | None] = {k: float(v) for k, v in zip(QUANTILES, qs, strict=True)}
    out["mean"] = mean
    return out


def demand_summary(
    daily: pl.DataFrame, params: pl.DataFrame, *, block_rows: int = BLOCK_ROWS
) -> dict[str, Any]:
    """Statistics of the train split (rows = store x product x day); the store-day figures
    ``block_rows`` rows of whole stores at a time (:func:`rama.data.blocks.blocks`)."""
    s = pl.col("sale_amount")
    hol = pl.col("holiday_flag") == 1
    stats = daily.select(
        pl.len().alias("rows"),
        pl.col("city_id").n_unique().alias("cities"),
        pl.col("store_id").n_unique().alias("stores"),
        pl.col("product_id").n_unique().alias("products"),
        pl.col("dt").min().alias("date_min"),
        pl.col("dt").max().alias("date_max"),
        pl.col("dt").n_unique().alias("days"),
        s.mean().alias("mean"),
        s.std().alias("std"),
        s.median().alias("median"),
        s.max().alias("max"),
        (s == 0).sum().alias("zero_sale_days"),
        (pl.col("stock_hour6_22_cnt") > 0).mean().alias("stockout_row_share"),
        (pl.col("stock_hour6_22_cnt") / 16.0).mean().alias("stockout_hour_share"),
        s.filter(hol).mean().alias("mean_sales_holiday"),
        s.filter(~hol).mean().alias("mean_sales_non_holiday"),
        hol.mean().alias("holiday_row_share"),
        (pl.col("discount") < 1.0).mean().alias("discount_row_share"),
        (pl.col("activity_flag") == 1).mean().alias("promotion_row_share"),
    ).row(0, named=True)
    return summarize_demand(stats, _store_days(daily, block_rows), params)


def _store_days(daily: pl.DataFrame, block_rows: int) -> tuple[int, int]:
    """(store days, store days with a stockout hour) of ``daily``."""
    store_days, stockout_store_days = 0, 0
    for block in blocks(daily, "store_id", block_rows):  # a store's days lie in one block
        n, hit = (
            block.group_by("store_id", "dt")
            .agg((pl.col("stock_hour6_22_cnt") > 0).any().alias("any"))
            .select(pl.len(), pl.col("any").sum())
            .row(0)
        )
        store_days, stockout_store_days = store_days + n, stockout_store_days + hit
    return store_days, stockout_store_days


def summarize_demand(
    stats: Mapping[str, Any], store_days: tuple[int, int], params: pl.DataFrame
) -> dict[str, Any]:
    """The demand summary from the split's row statistics (the columns of
    :func:`demand_summary`'s select), its (store days, stockout store days) and the pair
    parameters."""
    reach = params.group_by("product_id").agg(pl.len().alias("n")).get_column("n")
    assortment = params.group_by("store_id").agg(pl.len().alias("n")).get_column("n")
    per_city = params.group_by("city_id").agg(pl.col("store_id").n_unique()).get_column("store_id")
    cv = params.get_column("cv_daily_sales")
    days, stockout_days = store_days
    return {
        "rows": stats["rows"],
        "cities": stats["cities"],
        "stores": stats["stores"],
        "products": stats["products"],
        "pairs": params.height,
        "date_min": str(stats["date_min"]),
        "date_max": str(stats["date_max"]),
        "days": stats["days"],
        "sale_amount": {k: stats[k] for k in ("mean", "std", "median", "max")},
        "zero_sale_days": stats["zero_sale_days"],
        "stockout_row_share": stats["stockout_row_share"],
        "stockout_store_day_share": stockout_days / days if days else math.nan,
        "stockout_hour_share": stats["stockout_hour_share"],
        "mean_sales_holiday": stats["mean_sales_holiday"],
        "mean_sales_non_holiday": stats["mean_sales_non_holiday"],
        "holiday_row_share": stats["holiday_row_share"],
        "discount_row_share": stats["discount_row_share"],
        "promotion_row_share": stats["promotion_row_share"],
        "demand_cv": quantiles(cv),
        "demand_cv_undefined_pairs": int(cv.null_count()),
        "mean_daily_sales": quantiles(params.get_column("mean_daily_sales")),
        "stores_per_product": quantiles(reach),
        "products_per_store": quantiles(assortment),
        "stores_per_city": quantiles(per_city),
    }


@dataclass(frozen=True)
class DemandPartial:
    """What one partition of whole stores adds to the demand summary: sums and counts
    (``sums``), the distinct cities, stores, products and days (``distinct``) and its
    (store days, stockout store days)."""

    sums: Mapping[str, Any]
    distinct: Mapping[str, pl.Series]
    store_days: tuple[int, int]


def demand_partial(daily: pl.DataFrame, *, block_rows: int = BLOCK_ROWS) -> DemandPartial:
    """The :class:`DemandPartial` of ``daily`` (whole stores)."""
    s = pl.col("sale_amount")
    hol = pl.col("holiday_flag") == 1
    sums = daily.select(
        pl.len().alias("rows"),
        pl.col("dt").min().alias("date_min"),
        pl.col("dt").max().alias("date_max"),
        s.sum().alias("sum"),
        ((s - s.mean()) ** 2).sum().alias("m2"),
        s.max().alias("max"),
        (s == 0).sum().alias("zero_sale_days"),
        (pl.col("stock_hour6_22_cnt") > 0).sum().alias("stockout_rows"),
        pl.col("stock_hour6_22_cnt").cast(pl.Int64).sum().alias("stock_hours"),
        s.filter(hol).sum().alias("holiday_sum"),
        hol.sum().alias("holiday_rows"),
        s.filter(~hol).sum().alias("non_holiday_sum"),
        (pl.col("discount") < 1.0).sum().alias("discount_rows"),
        (pl.col("activity_flag") == 1).sum().alias("promotion_rows"),
    ).row(0, named=True)
    distinct = {c: daily.get_column(c).unique() for c in ("city_id", "store_id", "product_id")}
    distinct["dt"] = daily.get_column("dt").unique()
    return DemandPartial(sums, distinct, _store_days(daily, block_rows))


def merge_demand(
    partials: list[DemandPartial], median: float | None
) -> tuple[dict[str, Any], tuple[int, int]]:
    """The row statistics and store days of the whole split from its partitions'
    :class:`DemandPartial` (``median``: the split's median sale, found apart). Counts, dates
    and the maximum are exact; means and the std (pooled, Chan et al.) agree with one pass
    over the table to rounding."""
    kept = [p.sums for p in partials if p.sums["rows"]]
    n = sum(int(p["rows"]) for p in kept)

    def total(key: str) -> float:
        return float(sum(p[key] or 0 for p in kept))

    def share(key: str) -> float | None:
        return total(key) / n if n else None

    mean = total("sum") / n if n else None
    m2 = total("m2") + sum(p["rows"] * (p["sum"] / p["rows"] - mean) ** 2 for p in kept)
    hol, non_hol = total("holiday_rows"), n - total("holiday_rows")

    def distinct(c: str) -> int:
        return pl.concat([p.distinct[c] for p in partials]).n_unique() if partials else 0

    stats = {
        "rows": n,
        "cities": distinct("city_id"),
        "stores": distinct("store_id"),
        "products": distinct("product_id"),
        "date_min": min((p["date_min"] for p in kept), default=None),
        "date_max": max((p["date_max"] for p in kept), default=None),
        "days": distinct("dt"),
        "mean": mean,
        "std": math.sqrt(m2 / (n - 1)) if n > 1 else None,
        "median": median,
        "max": max((p["max"] for p in kept), default=None),
        "zero_sale_days": int(total("zero_sale_days")),
        "stockout_row_share": share("stockout_rows"),
        "stockout_hour_share": total("stock_hours") / 16.0 / n if n else None,
        "mean_sales_holiday": total("holiday_sum") / hol if hol else None,
        "mean_sales_non_holiday": total("non_holiday_sum") / non_hol if non_hol else None,
        "holiday_row_share": share("holiday_rows"),
        "discount_row_share": share("discount_rows"),
        "promotion_row_share": share("promotion_rows"),
    }
    days = (sum(p.store_days[0] for p in partials), sum(p.store_days[1] for p in partials))
    return stats, days


def logistics_summary(logistics: pl.DataFrame) -> dict[str, Any]:
    """Rows, time span, value ranges and risk classes of the logistics dataset."""
    ranges = {
        c: {
            "min": float(logistics[c].min()),  # type: ignore[arg-type]
            "max": float(logistics[c].max()),  # type: ignore[arg-type]
            "mean": float(logistics[c].mean()),  # type: ignore[arg-type]
        }
        for c in LOGISTICS_RANGES
    }
    classes = logistics.get_column("risk_classification").value_counts(sort=True)
    return {
        "rows": logistics.height,
        "time_min": str(logistics["timestamp"].min()),
        "time_max": str(logistics["timestamp"].max()),
        "ranges": ranges,
        "risk_classification": dict(zip(*classes.to_dict(as_series=False).values(), strict=True)),
    }


def cluster_summary(cities: pl.DataFrame, clusters: pl.DataFrame) -> dict[str, Any]:
    """K-Means clusters (all of them) and the city mapping."""
    keep = ["cluster_id", "centroid_latitude", "centroid_longitude", "n_points"]
    keep += [f"{c}_mean" for c in SUPPLY_STATS]
    return {
        "k": clusters.height,
        "space": "equirectangular degrees (lon x cos(mean lat), lat), not standardised",
        "mapping_method": cities.item(0, "mapping_method"),
        "n_points": quantiles(clusters.get_column("n_points")),
        "clusters": clusters.select(keep).to_dicts(),
        "city_to_cluster": cities.select("city_id", "cluster_id", "latitude", "longitude")
        .sort("city_id")
        .to_dicts(),
        "clusters_used": int(cities.get_column("cluster_id").n_unique()),
    }


def weighted_quantiles(values: np.ndarray, weights: np.ndarray) -> dict[str, float | None]:
    """:func:`quantiles` of ``values`` each repeated ``weights`` times (non-negative
    integers), without repeating them: ranks found in the cumulative weights, linear
    between neighbours as numpy's default (to rounding)."""
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=np.int64)
    keep = (w > 0) & np.isfinite(v)
    v, w = v[keep], w[keep]
    n = int(w.sum())
    if n == 0:
        return {k: None for k in [*QUANTILES, "mean"]}
    order = np.argsort(v, kind="stable")
    v, cum = v[order], np.cumsum(w[order])

    def at(rank: int) -> float:
        return float(v[int(np.searchsorted(cum, rank, side="right"))])

    out: dict[str, float | None] = {}
    for name, q in QUANTILES.items():
        h = q * (n - 1)
        lo = math.floor(h)
        a, b = at(lo), at(min(lo + 1, n - 1))
        out[name] = a + (h - lo) * (b - a)
    out["mean"] = float(np.dot(v, w[order]) / n)
    return out


def transport_summary(
    stores: pl.DataFrame, city_costs: pl.DataFrame, costs: Mapping[str, Any]
) -> dict[str, Any]:
    """Cost quantiles of store-to-store transfers and how they compare with the alternatives,
    from the city pairs weighted by their store pairs (a transfer costs its cities' entry:
    n_i x n_j pairs, n_i x (n_i - 1) within a city), so the n x (n - 1) store matrix is not
    needed.

    A transfer i -> j "pays" against a stockout if cost < stockout penalty, and against
    central manufacturing if cost < manufacturing cost + distribution cost of store j.
    """
    square = city_costs.sort("from_city_id", "to_city_id")
    city_ids = np.sort(square.get_column("from_city_id").unique().to_numpy())
    n_c = len(city_ids)
    cost = square.get_column("cost").to_numpy().reshape(n_c, n_c)
    dist = square.get_column("distance_km").to_numpy().reshape(n_c, n_c)
    cpos = np.searchsorted(city_ids, stores.get_column("city_id").to_numpy())
    per_city = np.bincount(cpos, minlength=n_c).astype(np.int64)
    same = np.eye(n_c, dtype=bool)
    pairs = np.outer(per_city, per_city) - np.where(same, per_city[:, None], 0)
    n_pairs = int(pairs.sum())
    n_cross = int(pairs[~same].sum())
    dist_cost = stores.get_column("distribution_cost").to_numpy()
    manufacturing = float(costs["manufacturing_cost_per_unit"])
    penalty = float(costs["stockout_penalty_per_unit"])
    cheaper_than_alt = 0
    for a in range(0, len(cpos), SUMMARY_STORES):  # to-stores, a slice at a time
        to = cpos[a : a + SUMMARY_STORES]
        # from-stores of city i for a to-store of city j: n_i, less the store itself if i == j
        senders = per_city[:, None] - (np.arange(n_c)[:, None] == to[None, :])
        cheap = cost[:, to] < manufacturing + dist_cost[a : a + SUMMARY_STORES][None, :]
        cheaper_than_alt += int((senders * cheap).sum())
    n = max(n_pairs, 1)
    return {
        "store_pairs": n_pairs,
        "within_city_pairs": n_pairs - n_cross,
        "cross_city_pairs": n_cross,
        "cost": weighted_quantiles(cost.ravel(), pairs.ravel()),
        "cross_city_cost": weighted_quantiles(cost[~same], pairs[~same]),
        "distance_km": weighted_quantiles(dist[~same], pairs[~same]),
        "share_cheaper_than_stockout_penalty": float(pairs[cost < penalty].sum() / n),
        "share_cheaper_than_manufacturing_plus_distribution": float(cheaper_than_alt / n),
        "stockout_penalty_per_unit": penalty,
        "distribution_cost": quantiles(dist_cost),
    }
