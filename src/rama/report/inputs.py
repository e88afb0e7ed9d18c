"""What the report reads from a run folder: each file once, ``None`` when it is absent.

Which sections are shown is decided by the stage states of the manifest
(:func:`rama.run_manifest.stage_states`), never by which files exist; a file missing from a
stage that ran is reported in that section ("re-run the stage").
"""

from __future__ import annotations

import tomllib
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from rama.io import read_csv_typed, read_json
from rama.layout import RunLayout
from rama.optimize.check import PLAN_FLOAT_COLUMNS
from rama.run_manifest import manifest_path, read_manifest, stage_states

INT_COLUMNS = ("store_id", "product_id", "from_store_id", "to_store_id", "city_id", "id")
FLOAT_COLUMNS = (
    *PLAN_FLOAT_COLUMNS,
    "fill_rate",
    "fill_rate_target",
    "capacity",
    "used",
    "marginal_value",
)


def _csv(path: Path) -> pl.DataFrame | None:
    """A CSV with its id and quantity columns typed (an empty table reads as text)."""
    if not path.is_file():
        return None
    df = read_csv_typed(path)
    return df.with_columns(
        *(pl.col(c).cast(pl.Int64, strict=False) for c in INT_COLUMNS if c in df.columns),
        *(pl.col(c).cast(pl.Float64, strict=False) for c in FLOAT_COLUMNS if c in df.columns),
    )


def _json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = read_json(path, "report", "re-run the stage that wrote it (`rama run --out RUN`)")
    return data if isinstance(data, dict) else None


class RunFiles:
    """Lazy, cached access to the files of one run folder."""

    def __init__(self, run_dir: Path) -> None:
        self.root = Path(run_dir)
        self.layout = RunLayout(self.root)

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.root) if manifest_path(self.root).is_file() else {}

    @cached_property
    def states(self) -> dict[str, str]:
        return stage_states(self.root)

    @cached_property
    def config(self) -> dict[str, Any]:
        path = self.layout.config
        if not path.is_file():
            return {}
        return tomllib.loads(path.read_text(encoding="utf-8"))

    # plan
    @cached_property
    def plan_summary(self) -> dict[str, Any] | None:
        return _json(self.layout.plan_summary)

    def plan_table(self, name: str) -> pl.DataFrame | None:
        return _csv(self.layout.plan / name)

    @cached_property
    def transfers(self) -> pl.DataFrame | None:
        return self.plan_table("transfer_plan.csv")

    @cached_property
    def store_product_plan(self) -> pl.DataFrame | None:
        return self.plan_table("store_product_plan.csv")

    @cached_property
    def service(self) -> pl.DataFrame | None:
        return self.plan_table("service_level.csv")

    @cached_property
    def marginal_values(self) -> pl.DataFrame | None:
        return self.plan_table("marginal_values.csv")

    # prepared
    @cached_property
    def stores(self) -> pl.DataFrame | None:
        return _csv(self.layout.store_supply_params)

    @cached_property
    def cities(self) -> pl.DataFrame | None:
        return _csv(self.layout.prepared / "city_supply_params.csv")

    @cached_property
    def categories(self) -> pl.DataFrame | None:
        """``product_id -> category`` (the product's most common ``first_category_id``)."""
        path = self.layout.prepared / "store_product_params.parquet"
        if not path.is_file():
            return None
        df = pl.read_parquet(path, columns=["product_id", "first_category_id"])
        return (
            df.group_by("product_id")
            .agg(pl.col("first_category_id").mode().min().alias("category"))
            .sort("product_id")
        )

    @cached_property
    def pair_params(self) -> pl.DataFrame | None:
        path = self.layout.prepared / "store_product_params.parquet"
        return pl.read_parquet(path) if path.is_file() else None

    def history(self, pairs: pl.DataFrame, days: int) -> pl.DataFrame | None:
        """Daily sales of ``pairs`` (store_id, product_id) over the last ``days`` days."""
        path = self.layout.prepared / "store_product_daily.parquet"
        if not path.is_file() or pairs.height == 0:
            return None
        lf = pl.scan_parquet(path).select("store_id", "product_id", "dt", "sale_amount")
        last = lf.select(pl.col("dt").max()).collect().item()
        return (
            lf.filter(pl.col("dt") > pl.lit(last) - pl.duration(days=days))
            .join(pairs.lazy(), on=["store_id", "product_id"], how="semi")
            .collect()
        )

    # forecast
    @cached_property
    def forecast_summary(self) -> dict[str, Any] | None:
        return _json(self.layout.forecast / "forecast_summary.json")

    @cached_property
    def forecast_metrics(self) -> pl.DataFrame | None:
        return _csv(self.layout.forecast_metrics)

    @cached_property
    def recovery(self) -> pl.DataFrame | None:
        return _csv(self.layout.recovery_summary)

    def forecast_rows(self, pairs: pl.DataFrame) -> pl.DataFrame | None:
        path = self.layout.demand_forecast
        if not path.is_file():
            return None
        return (
            pl.scan_parquet(path)
            .join(pairs.lazy(), on=["store_id", "product_id"], how="semi")
            .collect()
        )

    def backtest_rows(self, pairs: pl.DataFrame) -> pl.DataFrame | None:
        path = self.layout.forecast / "backtest_predictions.parquet"
        if not path.is_file():
            return None
        return (
            pl.scan_parquet(path)
            .join(pairs.lazy(), on=["store_id", "product_id"], how="semi")
            .collect()
        )

    # evaluation and scenarios
    @cached_property
    def evaluation(self) -> pl.DataFrame | None:
        return _csv(self.layout.evaluation / "evaluation.csv")

    @cached_property
    def evaluation_summary(self) -> dict[str, Any] | None:
        return _json(self.layout.evaluation / "summary.json")

    @cached_property
    def scenarios(self) -> pl.DataFrame | None:
        return _csv(self.layout.scenario_table)
