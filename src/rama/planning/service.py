"""What a plan expects to deliver: fill rate and cycle service level under the forecast
distribution, by network, city, store and product, next to the configured targets.

Per pair, with available stock ``A`` (after transfers and allocation) and the S forecast draws
``D_s`` (:func:`rama.problem.forecast_samples`, the stochastic plan's distribution):

    expected demand    E[D]            = mean_s D_s                   (units)
    expected stockout  E[max(0, D - A)] = mean_s max(0, D_s - A)       (units)
    P(no stockout)                      = share of draws with D_s <= A

A level's fill rate is ``1 - sum E[stockout] / sum E[demand]`` (1 without demand); its cycle
service level is the mean of its pairs' ``P(no stockout)``. The targets are
``service.service_level`` (the cycle service level behind the safety stock's z) and
``stochastic.fill_rate_target``. This replaces the LP's own view, under which a plan meets
its point forecast and every fill rate reads 100%.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from rama.problem import Problem
from rama.strategies import Decision
from rama.strategies.score import EPS, Position, position

__all__ = ["EPS", "expected_service"]


def expected_service(
    decision: Decision,
    problem: Problem,
    samples: np.ndarray | None,
    *,
    service_level_target: float,
    fill_rate_target: float,
    pos: Position | None = None,
) -> pl.DataFrame:
    """``level, id, demand, stockout, fill_rate, cycle_service_level`` and the two targets
    (module doc); ``demand`` and ``stockout`` are expected units over the planning week.
    ``pos``: the decision's :func:`rama.strategies.score.position` under ``samples`` when
    already computed (``samples`` may then be None)."""
    if pos is None:
        if samples is None:
            raise ValueError("expected_service needs the forecast draws or their position")
        pos = position(decision.available(problem), np.asarray(samples, dtype=np.float64))
    df = pl.DataFrame(
        {
            "store_id": problem.store_ids[problem.pair_store],
            "product_id": problem.product_ids[problem.pair_product],
            "demand": pos.demand,
            "stockout": pos.stockout,
            "no_stockout": pos.no_stockout,
        }
    )
    agg = [pl.col("demand").sum(), pl.col("stockout").sum(), pl.col("no_stockout").mean()]
    parts = [df.select(pl.lit("network").alias("level"), pl.lit(None, pl.Int64).alias("id"), *agg)]
    if "city_id" in problem.stores.columns:
        city = pl.DataFrame({"store_id": problem.store_ids, "id": problem.stores["city_id"]})
        parts.append(
            df.join(city, on="store_id")
            .group_by("id")
            .agg(*agg)
            .select(pl.lit("city").alias("level"), "id", "demand", "stockout", "no_stockout")
            .sort("id")
        )
    for level, key in (("store", "store_id"), ("product", "product_id")):
        parts.append(
            df.group_by(key)
            .agg(*agg)
            .select(
                pl.lit(level).alias("level"),
                pl.col(key).alias("id"),
                "demand",
                "stockout",
                "no_stockout",
            )
            .sort("id")
        )
    out = pl.concat(parts)
    fill = pl.when(pl.col("demand") > 0).then(1.0 - pl.col("stockout") / pl.col("demand"))
    return out.select(
        "level",
        "id",
        "demand",
        "stockout",
        fill.otherwise(1.0).alias("fill_rate"),
        pl.col("no_stockout").alias("cycle_service_level"),
        pl.lit(fill_rate_target).alias("fill_rate_target"),
        pl.lit(service_level_target).alias("cycle_service_level_target"),
    )
