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
from rama.errors import DataValidationError, StageInputError
from rama.io import read_parquet_file, readable_file, unreadable_parquet
from rama.layout import RunLayout, truth_file
from rama.problem import PAIR_KEYS as KEYS
from rama.problem import Problem
from rama.run_manifest import read_manifest


def _window(run_dir: Path) -> list[str]:
    path = RunLayout(run_dir).demand_forecast
    if not path.is_file():
        raise StageInputError(f"evaluate: {path} not found; run `rama forecast` first")
    frame = read_parquet_file(path, "forecast", "re-run `rama forecast`")
    if "dt" not in frame.columns:
        raise StageInputError(
            f"evaluate: {path} has no dt column (found {frame.columns}); re-run `rama forecast`"
        )
    return [str(d) for d in frame["dt"].unique().sort().to_list()]


EXCLUSION_RULE = (
    "a pair is scored on realized demand only when the truth has a value for every forecast "
    "day; a pair with no row (no_actuals) or with missing days (missing_days) is excluded from "
    "the realized_* holding, stockout, fill-rate and service figures (never scored as zero "
    "demand) and counted; below evaluate.min_actual_share of the pairs scored, evaluate refuses"
)


TRUTH_COLUMNS = (*KEYS, "dt", "latent_demand")


def _collect(frame: pl.LazyFrame, path: Path, fix: str) -> pl.DataFrame:
    """``frame`` (a scan of ``path``) collected, or the unreadable-Parquet error."""
    try:
        return frame.collect()
    except BaseException as exc:  # a corrupt page can make polars panic (not an Exception)
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise unreadable_parquet(path, exc, fix) from exc


def _read_truth(path: Path, days: list[str]) -> pl.DataFrame:
    """``truth/latent_demand.parquet`` (checked: the columns, no negative demand in any row)
    restricted to the forecast ``days`` and finite values: store_id, product_id, dt,
    latent_demand (Float64). The file is scanned, never held whole (every day of every
    series: ~15 times the window)."""
    fix = "re-generate the data (`rama generate`)"
    path = readable_file(path, "latent truth", fix)
    scan = pl.scan_parquet(path, glob=False)  # a [ or * in a folder name is no pattern
    columns = _collect(scan.head(0), path, fix).columns
    missing = [c for c in TRUTH_COLUMNS if c not in columns]
    if missing:
        raise DataValidationError(
            str(path),
            f"missing column(s) {missing}; found {columns}",
            reason="missing_column",
            column=missing[0],
            fix="write store_id, product_id, dt, latent_demand (docs/architecture.md)",
        )
    lat = scan.select(TRUTH_COLUMNS)
    value = pl.col("latent_demand").cast(pl.Float64, strict=False)
    bad = _collect(lat.filter(value < 0), path, fix)
    if bad.height:
        raise DataValidationError(
            str(path),
            "negative latent demand; expected units >= 0",
            reason="negative",
            column="latent_demand",
            examples=bad.head(5).with_columns(pl.col("dt").cast(pl.String)).to_dicts(),
            count=bad.height,
            fix="correct these rows (demand cannot be negative)",
        )
    window = lat.filter(pl.col("dt").cast(pl.String).is_in(days) & value.is_finite())
    return _collect(window.with_columns(value), path, fix)


def _align(
    totals: pl.DataFrame, problem: Problem, n_days: int
) -> tuple[np.ndarray, dict[str, int]]:
    """Realized demand per pair of ``problem`` (NaN = excluded) and the exclusion counts.

    ``totals`` has one row per pair with data: KEYS, ``actual`` (units) and ``days`` (how many
    of the ``n_days`` forecast days it covers)."""
    pairs = problem.store_products.select(KEYS).with_row_index("pos")
    joined = pairs.join(totals, on=KEYS, how="left").sort("pos")
    absent = joined["days"].is_null()
    partial = ~absent & (joined["days"] < n_days)
    actual = joined["actual"].cast(pl.Float64).to_numpy().astype(np.float64)
    actual[(absent | partial).to_numpy()] = np.nan
    return actual, {"no_actuals": int(absent.sum()), "missing_days": int(partial.sum())}


def _coverage(
    actual: np.ndarray, excluded: dict[str, int], days: list[str], covered: set[str]
) -> dict[str, object]:
    """The note fields saying what was scored and what was excluded, and why."""
    n = int(actual.size)
    scored = int(np.isfinite(actual).sum())
    return {
        "pairs": n,
        "pairs_scored": scored,
        "pairs_excluded": n - scored,
        "pairs_without_actuals": excluded["no_actuals"],
        "pairs_missing_days": excluded["missing_days"],
        "days_expected": len(days),
        "days_missing": [d for d in days if d not in covered],
        "exclusion_rule": EXCLUSION_RULE,
    }


def _refuse_if_thin(note: dict[str, object], cfg: Config, where: str) -> None:
    share = float(cfg["evaluate"]["min_actual_share"])
    n, scored = int(str(note["pairs"])), int(str(note["pairs_scored"]))
    if n and scored >= share * n and scored > 0:
        return
    missing = note["days_missing"]
    days = f"; forecast days absent from it: {missing}" if missing else ""
    raise StageInputError(
        f"evaluate: the realized demand in {where} covers {scored} of the {n} store-product "
        f"pairs on every forecast day ({note['pairs_without_actuals']} pairs have no row, "
        f"{note['pairs_missing_days']} miss days{days}); at least "
        f"{share:.0%} (evaluate.min_actual_share) are needed to score plans on it",
        reason="missing_rows",
        fix="use truth data covering the planning week (an eval split of at least "
        f"run.horizon_days = {note['days_expected']} days for the run's stores), or "
        "--truth none to score on the forecast draws only, or lower evaluate.min_actual_share",
    )


def realized_demand(
    run_dir: Path, cfg: Config, problem: Problem, truth: str | None = None
) -> tuple[np.ndarray | None, dict[str, object]]:
    """Realized horizon demand per pair of ``problem`` (its order) and a note on its source;
    ``None`` when the planning week has no actuals (live data, or ``truth = "none"``).

    A pair without a value for every forecast day is NaN (excluded from the realized
    figures, never scored as zero demand) and counted in the note (``pairs_scored``,
    ``pairs_excluded``, ``pairs_without_actuals``, ``pairs_missing_days``, ``days_missing``);
    fewer than ``evaluate.min_actual_share`` of the pairs scored is a StageInputError."""
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
        forced = (truth or str(cfg["evaluate"]["truth"])) == "none" and bool(
            has_truth or manifest.get("has_eval")
        )
        why = (
            "evaluate.truth = none was asked for, so"
            if forced
            else f"the data in {data_dir} has no eval split and no latent truth, so the "
            f"planning week ({days[0] if days else '?'}..{days[-1] if days else '?'}) has "
            f"not happened;"
        )
        return None, {
            "truth": "none",
            "source": (
                f"none: {why} plans are scored on draws of the forecast distribution only"
                if days
                else "none"
            ),
            "pairs_without_actuals": None,
            "pairs_scored": None,
            "pairs_excluded": None,
        }
    if mode == "latent":
        if not has_truth:
            raise StageInputError(
                f"evaluate: truth = 'latent' but {truth_path} does not exist (real "
                f"data has no latent demand); use --truth sales"
            )
        lat = _read_truth(truth_path, days)
        totals, covered = _totals(lat, "latent_demand")
        where = str(truth_path)
        source = f"latent demand ({truth_path}, {len(days)} forecast days)"
    else:
        if not manifest.get("has_eval"):
            raise StageInputError(
                f"evaluate: truth = 'sales' but the data in {data_dir} has no eval split, so "
                f"there is no realized demand of the planning week; use --truth auto or none "
                f"(plans are then scored on draws of the forecast distribution)"
            )
        from rama.data import DEFAULT_PARTITION_ROWS
        from rama.evaluate.sales import eval_window

        fc = cfg["forecast"]
        lo, hi = fc["recovery_hours"]
        col = "recovered_demand" if bool(fc["recover_demand"]) else "sale_amount"
        rec = eval_window(
            data_dir,
            days,
            recover=col == "recovered_demand",
            prior_units=float(fc["recovery_prior_units"]),
            prior_days=float(fc["recovery_prior_days"]),
            window=(int(lo), int(hi)),
            rows=int(cfg["data"].get("partition_rows", DEFAULT_PARTITION_ROWS)),
        )
        totals, covered = _totals(rec.filter(pl.col(col).is_finite()), col)
        where = f"the eval split of {data_dir}"
        source = f"eval split sales ({len(days)} days)" + (
            ", recovered demand on stockout days" if col == "recovered_demand" else ""
        )
    totals = totals.with_columns(pl.col(KEYS).cast(pl.Int64), pl.col("actual").cast(pl.Float64))
    actual, excluded = _align(totals, problem, len(days))
    note: dict[str, object] = {"truth": mode, "source": source}
    note |= _coverage(actual, excluded, days, covered)
    _refuse_if_thin(note, cfg, where)
    return actual, note


def _totals(frame: pl.DataFrame, col: str) -> tuple[pl.DataFrame, set[str]]:
    """Per pair: the horizon total of ``col`` and its number of distinct days; and the days
    the frame covers at all."""
    day = pl.col("dt").cast(pl.String)
    totals = frame.group_by(KEYS).agg(
        pl.col(col).sum().alias("actual"), day.n_unique().alias("days")
    )
    covered = set(frame.select(day.unique()).to_series().to_list())
    return totals, covered
