"""The demand that actually arrived in the planning week, per store-product pair (units).

- ``latent``: synthetic data's ``truth/latent_demand.parquet``, eval split, summed over the
  forecast days (uncensored demand);
- ``sales``: the eval split's ``sale_amount`` with the forecast stage's stockout recovery
  applied (``rama.forecast.recover_demand``, the ``[forecast]`` recovery settings): on days
  with stockout hours the recovered demand replaces the censored sales. The hourly profiles are
  estimated from the eval week alone (shrunk to the product's and the global profile).

``truth = "auto"`` takes ``latent`` when the data has it, else ``sales``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from rama.config import Config
from rama.errors import StageInputError
from rama.layout import RunLayout, truth_file
from rama.problem import PAIR_KEYS as KEYS
from rama.problem import Problem
from rama.run_manifest import read_manifest


def _window(run_dir: Path) -> list[str]:
    path = RunLayout(run_dir).demand_forecast
    if not path.is_file():
        raise StageInputError(f"evaluate: {path} not found; run `rama forecast` first")
    days = pl.read_parquet(path, columns=["dt"])["dt"].unique().sort()
    return [str(d) for d in days.to_list()]


def _align(totals: pl.DataFrame, problem: Problem) -> tuple[np.ndarray, int]:
    pairs = problem.store_products.select(KEYS).with_row_index("pos")
    joined = pairs.join(totals, on=KEYS, how="left").sort("pos")
    missing = int(joined["actual"].null_count())
    return joined["actual"].fill_null(0.0).to_numpy().astype(np.float64), missing


def realized_demand(
    run_dir: Path, cfg: Config, problem: Problem, truth: str | None = None
) -> tuple[np.ndarray | None, dict[str, object]]:
    """Realized horizon demand per pair of ``problem`` (its order) and a note on its source;
    ``None`` when the planning week has no actuals (live data, or ``truth = "none"``)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    data_dir = Path(str(manifest.get("data_dir", "")))
    mode = truth or str(cfg["evaluate"]["truth"])
    truth_path = truth_file(data_dir)
    has_truth = bool(manifest.get("has_truth")) and truth_path.is_file()
    if mode == "auto":
        mode = "latent" if has_truth else ("sales" if manifest.get("has_eval") else "none")
    days = _window(run_dir)
    if mode == "none":
        return None, {
            "truth": "none",
            "source": (
                f"none: the data in {data_dir} has no eval split and no latent truth, so the "
                f"planning week ({days[0]}..{days[-1]}) has not happened; plans are scored on "
                f"draws of the forecast distribution only"
                if days
                else "none"
            ),
            "pairs_without_actuals": None,
        }
    if mode == "latent":
        if not has_truth:
            raise StageInputError(
                f"evaluate: truth = 'latent' but {truth_path} does not exist (real "
                f"data has no latent demand); use --truth sales"
            )
        lat = pl.read_parquet(truth_path, columns=[*KEYS, "dt", "latent_demand"])
        lat = lat.filter(pl.col("dt").cast(pl.String).is_in(days))
        totals = lat.group_by(KEYS).agg(pl.col("latent_demand").sum().alias("actual"))
        source = f"latent demand ({truth_path}, {len(days)} forecast days)"
    else:
        if not manifest.get("has_eval"):
            raise StageInputError(
                f"evaluate: truth = 'sales' but the data in {data_dir} has no eval split, so "
                f"there is no realized demand of the planning week; use --truth auto or none "
                f"(plans are then scored on draws of the forecast distribution)"
            )
        from rama.data import load_freshretail
        from rama.forecast import recover_demand

        fc = cfg["forecast"]
        ev = load_freshretail(data_dir, "eval")
        ev = ev.filter(pl.col("dt").cast(pl.String).is_in(days))
        lo, hi = fc["recovery_hours"]
        rec = recover_demand(
            ev,
            prior_units=float(fc["recovery_prior_units"]),
            window=(int(lo), int(hi)),
            source=f"{data_dir} (eval)",
        )
        col = "recovered_demand" if bool(fc["recover_demand"]) else "sale_amount"
        totals = rec.group_by(KEYS).agg(pl.col(col).sum().alias("actual"))
        source = f"eval split sales ({len(days)} days)" + (
            ", recovered demand on stockout days" if col == "recovered_demand" else ""
        )
    totals = totals.with_columns(pl.col(KEYS).cast(pl.Int64), pl.col("actual").cast(pl.Float64))
    actual, missing = _align(totals, problem)
    return actual, {"truth": mode, "source": source, "pairs_without_actuals": missing}
