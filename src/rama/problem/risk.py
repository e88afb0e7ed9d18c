"""Per-store lead-time risk of a run's problem: the inputs a scenario needs to rebuild the
safety stock (``RUN/problem/store_risk.parquet``).

Columns (one row per store of the problem, sorted by store_id):

- ``lead_time_days``: the store's city mean lead time ``L`` (days);
- ``delay_probability``: the city's mean delay probability ``p_delay`` (0-1; optional);
- ``delivery_deviation_days``: the city's mean delivery-time deviation (days; optional).

Written by the stage that builds the problem (``rama optimize --run``) from
``RUN/prepared/store_supply_params.csv``; read by ``rama evaluate`` and ``rama scenarios``
beside the problem tables, so every later stage sees the inputs the plan was solved with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.io import write_parquet
from rama.problem.model import Problem

RISK_TABLE = "store_risk"
# store_supply_params column -> store_risk column
SOURCE_COLUMNS = {
    "lead_time_days_mean": "lead_time_days",
    "delay_probability_mean": "delay_probability",
    "delivery_time_deviation_mean": "delivery_deviation_days",
}
DELAY_COLUMNS = ("delay_probability", "delivery_deviation_days")


@dataclass(frozen=True, eq=False)
class StoreRisk:
    """Lead-time risk per store, in the problem's store order (``None``: not in the data)."""

    lead_time_days: np.ndarray  # days
    delay_probability: np.ndarray | None  # 0-1
    delivery_deviation_days: np.ndarray | None  # days

    def frame(self, problem: Problem) -> pl.DataFrame:
        """The ``store_risk`` table of ``problem``'s stores."""
        cols: dict[str, np.ndarray] = {
            "store_id": problem.store_ids,
            "lead_time_days": self.lead_time_days,
        }
        if self.delay_probability is not None and self.delivery_deviation_days is not None:
            cols["delay_probability"] = self.delay_probability
            cols["delivery_deviation_days"] = self.delivery_deviation_days
        return pl.DataFrame(cols)


def store_risk_from_params(problem: Problem, store_supply_params: pl.DataFrame) -> StoreRisk:
    """Per-store risk of ``problem``'s stores from the prepared ``store_supply_params``
    (a store absent from it, or a missing value, counts as 0)."""
    cols = [c for c in SOURCE_COLUMNS if c in store_supply_params.columns]
    stores = problem.stores.select("store_id").join(
        store_supply_params.select("store_id", *cols).with_columns(
            pl.col("store_id").cast(pl.Int64)
        ),
        on="store_id",
        how="left",
    )
    per_store = {
        SOURCE_COLUMNS[c]: stores[c].cast(pl.Float64).fill_null(0.0).to_numpy() for c in cols
    }
    return _risk(per_store)


def _risk(per_store: dict[str, np.ndarray]) -> StoreRisk:
    has_delay = all(c in per_store for c in DELAY_COLUMNS)
    return StoreRisk(
        per_store["lead_time_days"],
        per_store["delay_probability"] if has_delay else None,
        per_store["delivery_deviation_days"] if has_delay else None,
    )


def write_store_risk(risk: StoreRisk, problem: Problem, folder: Path) -> Path:
    """Write ``folder/store_risk.parquet`` (atomically)."""
    return write_parquet(risk.frame(problem), Path(folder) / f"{RISK_TABLE}.parquet")


def read_store_risk(folder: Path, problem: Problem) -> StoreRisk:
    """``folder/store_risk.parquet`` aligned to ``problem``'s stores; every store once."""
    path = Path(folder) / f"{RISK_TABLE}.parquet"
    if not path.is_file():
        raise DataValidationError(
            str(path),
            "missing table 'store_risk' beside the problem tables",
            fix="re-run `rama optimize --run RUN`, which writes it with RUN/problem/",
        )
    df = pl.read_parquet(path)
    need = ["store_id", "lead_time_days"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataValidationError(
            str(path),
            f"missing column(s) {missing}; found {df.columns}",
            fix="re-run `rama optimize --run RUN`",
        )
    value_cols = ["lead_time_days", *(c for c in DELAY_COLUMNS if c in df.columns)]
    df = df.with_columns(pl.col("store_id").cast(pl.Int64), pl.col(value_cols).cast(pl.Float64))
    joined = problem.stores.select("store_id").join(
        df, on="store_id", how="left", maintain_order="left"
    )
    absent = joined.filter(pl.col("lead_time_days").is_null())
    if absent.height or joined.height != problem.n_stores:
        raise DataValidationError(
            str(path),
            "stores of the problem without a risk row, or duplicate store rows",
            column="store_id",
            examples=absent.head(5).to_dicts(),
            count=max(absent.height, abs(joined.height - problem.n_stores)),
            fix="re-run `rama optimize --run RUN`",
        )
    # a deviation may be negative (early deliveries); a lead time or probability may not
    bad = pl.any_horizontal(
        [~pl.col(c).is_finite() for c in value_cols]
        + [pl.col(c) < 0 for c in value_cols if c != "delivery_deviation_days"]
    )
    mask = joined.select(bad.fill_null(True)).to_series()
    if mask.any():
        raise DataValidationError(
            str(path),
            "risk values must be finite (lead time and delay probability >= 0)",
            examples=joined.filter(mask).head(5).to_dicts(),
            count=int(mask.sum()),
            fix="re-run `rama optimize --run RUN`",
        )
    return _risk({c: joined[c].to_numpy() for c in value_cols})
