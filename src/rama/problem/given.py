"""Which capacities of a run's problem are the planner's own, kept as they are by scenarios.

The problem's storage capacities ``max_capacity`` (C5) and plant capacities
``max_production`` (C4) come from rules of the forecast demand and safety stock
(:func:`rama.rules.storage_capacity`, :func:`rama.rules.max_production`) unless the planner
gave them (``--capacities``, the ``max_production`` column of ``--product-costs``;
docs/data.md). A scenario rebuilds the rules from its own demand and safety stock
(:func:`rama.problem.scenario_problem`); a value the planner gave is a fact about a shelf or
a plant, not a rule of the forecast, so every scenario keeps it.

``RUN/problem/planner_given.parquet`` lists those values: one row per given cell, ``column``
(``"max_capacity"`` with ``store_id, product_id``, or ``"max_production"`` with
``product_id`` and a null ``store_id``). A problem folder without the file (written by an
older rama) has no given value: every capacity is the rule's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.io import write_parquet
from rama.problem.model import Problem

GIVEN_TABLE = "planner_given"
GIVEN_COLUMNS = ("max_capacity", "max_production")


@dataclass(frozen=True)
class GivenValues:
    """Per pair (``max_capacity``) and per product (``max_production``), in the problem's
    order: True where the value is the planner's, not the rule's."""

    max_capacity: np.ndarray  # bool per pair
    max_production: np.ndarray  # bool per product

    @classmethod
    def none(cls, problem: Problem) -> GivenValues:
        """No value given: every capacity follows the rules."""
        return cls(np.zeros(problem.n_pairs, bool), np.zeros(problem.n_products, bool))

    def frame(self, problem: Problem) -> pl.DataFrame:
        """The given cells as rows (module doc)."""
        sp = problem.store_products.filter(pl.Series(self.max_capacity))
        pr = problem.products.filter(pl.Series(self.max_production))
        return pl.concat(
            [
                sp.select(
                    pl.lit("max_capacity").alias("column"),
                    pl.col("store_id").cast(pl.Int64),
                    pl.col("product_id").cast(pl.Int64),
                ),
                pr.select(
                    pl.lit("max_production").alias("column"),
                    pl.lit(None, dtype=pl.Int64).alias("store_id"),
                    pl.col("product_id").cast(pl.Int64),
                ),
            ]
        )


def write_given(given: GivenValues, problem: Problem, folder: Path) -> Path:
    """Write ``folder/planner_given.parquet`` (atomically)."""
    return write_parquet(given.frame(problem), Path(folder) / f"{GIVEN_TABLE}.parquet")


def read_given(folder: Path, problem: Problem) -> GivenValues:
    """``folder/planner_given.parquet`` as masks of ``problem``; none given without the file."""
    path = Path(folder) / f"{GIVEN_TABLE}.parquet"
    if not path.is_file():
        return GivenValues.none(problem)
    df = pl.read_parquet(path)
    missing = [c for c in ("column", "store_id", "product_id") if c not in df.columns]
    unknown = sorted(set(df["column"].to_list()) - set(GIVEN_COLUMNS)) if not missing else []
    if missing or unknown:
        raise DataValidationError(
            str(path),
            f"missing column(s) {missing}" if missing else f"unknown column value(s) {unknown}",
            fix="re-run `rama optimize --run RUN`, which writes it with RUN/problem/",
        )
    cap = df.filter(pl.col("column") == "max_capacity").select("store_id", "product_id")
    prod = df.filter(pl.col("column") == "max_production")["product_id"]
    given = given_from_keys(problem, cap, prod)
    n_cap, n_prod = int(given.max_capacity.sum()), int(given.max_production.sum())
    if n_cap != cap.unique().height or n_prod != prod.n_unique():
        raise DataValidationError(
            str(path),
            f"lists {cap.unique().height - n_cap} capacity and {prod.n_unique() - n_prod} "
            "production value(s) of pairs or products the problem does not have",
            fix="re-run `rama optimize --run RUN`, which writes it with RUN/problem/",
        )
    return given


def given_from_keys(problem: Problem, pairs: pl.DataFrame, products: pl.Series) -> GivenValues:
    """The masks of the pairs in ``pairs`` (store_id, product_id) and the products in
    ``products`` (product ids), in ``problem``'s order."""
    key = ["store_id", "product_id"]
    mine = problem.store_products.select(pl.col(key).cast(pl.Int64))
    listed = pairs.select(pl.col(key).cast(pl.Int64)).unique().with_columns(given=pl.lit(True))
    cap = mine.join(listed, on=key, how="left", maintain_order="left")["given"]
    prod = problem.products["product_id"].cast(pl.Int64).is_in(products.cast(pl.Int64).implode())
    return GivenValues(
        cap.fill_null(False).to_numpy().astype(bool), prod.fill_null(False).to_numpy().astype(bool)
    )
