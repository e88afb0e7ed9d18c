"""rama's forecaster beside an analyst's peer (mlforecast + LightGBM), same data, same run.

The peer is the standard setup of issue 14: ``mlforecast.MLForecast`` with a LightGBM
regressor (300 trees, learning rate 0.05, 63 leaves), lags 7, 14, 21, 28, the rolling mean
and std of lag 7 over 7 days, the day of week, the hierarchy (store, product, city, category
path) as static categoricals, the eval split's covariates as known future (``X_df``), the
observed ``sale_amount`` as target and conformal 10-90 % intervals
(``PredictionIntervals(n_windows=2, h=7)``). rama's ``seasonal_naive`` baseline is scored
beside them (statsforecast is not installed; it needs no fit), and so is each rama variant's
daily median (``NAME.q50``, the same fit's ``q50`` column as the point forecast: absolute
errors reward the median, the plan's totals need the mean).

Datasets (each scored on its eval week, or on the last 7 train days when it has none):

* ``default``: the default generator (``rama generate``) at ``--scale``;
* ``persistent`` / ``intermittent`` / ``promo``: the families of :mod:`rama.synth.families`
  at ``--scale`` (latent truth known);
* ``real``: the real 100-row FreshRetailNet sample of tests/data (2 series x 50 days, no
  truth).

Each model runs in a fresh subprocess (fit + predict wall seconds and peak RSS are its
own); the parent scores every prediction on the same rows with
:func:`rama.forecast.backtest.score_methods`. Data is cached in ``data/peer_<name>_s<scale>``
(git-ignored).

    .venv/bin/python benchmarks/bench_forecast_peer.py [--scale 0.2] [--datasets default,real]
        [--rama NAME=JSON ...]   # extra rama variants: DemandForecaster keyword overrides
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from _measure import cpu_s, peak_gb, run_child

REPO = Path(__file__).resolve().parents[1]
REAL = REPO / "tests" / "data" / "freshretailnet" / "sample_train_100.csv"
DATASETS = ("default", "persistent", "intermittent", "promo", "real")
HORIZON = 7


def data_path(name: str, scale: float) -> Path:
    return REAL if name == "real" else REPO / "data" / f"peer_{name}_s{scale:g}"


def ensure_data(name: str, scale: float) -> Path:
    path = data_path(name, scale)
    if name == "real" or (path / "truth" / "latent_demand.parquet").is_file():
        return path
    print(f"generating {name} at scale {scale:g} into {path} ...", flush=True)
    if name == "default":
        from rama.synth import generate_datasets

        generate_datasets(path, scale=scale, seed=0)
    else:
        from rama.synth.families import generate_family

        generate_family(path, name, scale=scale, seed=0)
    return path


def split(data: str) -> tuple[Any, Any]:
    """(history in FreshRetailNet format, actual rows of the scored week with truth)."""
    import polars as pl

    from rama.data import load_freshretail
    from rama.layout import truth_file

    path = Path(data)
    train = load_freshretail(path, "train")
    ev_file = path / "freshretailnet" / "data" / "eval.parquet"
    if path.is_dir() and ev_file.is_file():
        hist, actual = train, load_freshretail(path, "eval")
    else:
        cut = train["dt"].max() - timedelta(days=HORIZON)  # type: ignore[operator]
        hist, actual = train.filter(pl.col("dt") <= cut), train.filter(pl.col("dt") > cut)
    if path.is_dir() and truth_file(path).is_file():
        truth = pl.read_parquet(
            truth_file(path), columns=["store_id", "product_id", "dt", "latent_demand"]
        ).with_columns(pl.col("dt").str.to_date("%Y-%m-%d"))
        actual = actual.join(truth, on=["store_id", "product_id", "dt"], how="left")
    return hist, actual


RECOVERY_KEYS = ("recovery_prior_units", "recovery_prior_days")


def child_rama(data: str, out: str, overrides: str) -> dict[str, Any]:
    """Fit + predict one variant. ``recovery_prior_units`` / ``recovery_prior_days`` in the
    overrides: the history is recovered here with them (the forecaster then fits on its
    ``recovered_demand``), so a variant may use either form of the recovery prior."""
    from rama.config import load_config
    from rama.forecast import DemandForecaster
    from rama.forecast.recovery import recover_demand
    from rama.forecast.schema import COVARIATES, KEYS, RECOVERED

    ov = json.loads(overrides)
    cfg = load_config()
    rec_ov = {k: float(ov.pop(k)) for k in RECOVERY_KEYS if k in ov}
    hist, actual = split(data)
    t0, c0 = time.perf_counter(), cpu_s()
    prior = {
        "prior_units": rec_ov.get(
            "recovery_prior_units",
            0.0
            if "recovery_prior_days" in rec_ov
            else float(cfg["forecast"]["recovery_prior_units"]),
        ),
        "prior_days": rec_ov.get(
            "recovery_prior_days",
            0.0
            if "recovery_prior_units" in rec_ov
            else float(cfg["forecast"]["recovery_prior_days"]),
        ),
    }
    lo_h, hi_h = cfg["forecast"]["recovery_hours"]
    rec = recover_demand(
        hist,
        prior_units=prior["prior_units"],
        prior_days=prior["prior_days"],
        window=(int(lo_h), int(hi_h)),
    )
    fc = DemandForecaster.from_config(cfg, **ov).fit(rec)
    pred = fc.predict(fc.complete_future(actual.select(*KEYS, "dt", *COVARIATES)))
    seconds = time.perf_counter() - t0
    pred.write_parquet(out)
    fc.horizon_totals(pred).join(fc.horizon_quantiles(pred), on=list(KEYS)).write_parquet(
        out + ".totals.parquet"
    )
    return {
        "seconds": seconds,
        "cpu_s": cpu_s() - c0,
        "peak_gb": peak_gb(),
        "rec_wpe": _recovered_vs_truth(data, rec, RECOVERED),
        **prior,
    }


def _recovered_vs_truth(data: str, rec: Any, col: str) -> float:
    """Recovered demand vs the latent truth on the history's days (sum / sum - 1; NaN
    without truth)."""
    import polars as pl

    from rama.layout import truth_file

    path = Path(data)
    if not (path.is_dir() and truth_file(path).is_file()):
        return math.nan
    truth = pl.read_parquet(
        truth_file(path), columns=["store_id", "product_id", "dt", "latent_demand"]
    ).with_columns(pl.col("dt").str.to_date("%Y-%m-%d"))
    j = rec.select("store_id", "product_id", "dt", col).join(
        truth, on=["store_id", "product_id", "dt"], how="inner"
    )
    return float(j[col].sum() / j["latent_demand"].sum() - 1.0)


def child_mlforecast(data: str, out: str) -> dict[str, Any]:
    import lightgbm as lgb
    import pandas as pd
    import polars as pl
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean, RollingStd
    from mlforecast.utils import PredictionIntervals

    from rama.forecast.schema import COVARIATES, HIERARCHY, KEYS

    hist, actual = split(data)
    t0, c0 = time.perf_counter(), cpu_s()
    statics = ["store_id", "product_id", *HIERARCHY]

    def frame(df: pl.DataFrame, with_y: bool) -> pd.DataFrame:
        uid = pl.col("store_id").cast(pl.String) + "_" + pl.col("product_id").cast(pl.String)
        cols = [uid.alias("unique_id"), pl.col("dt").cast(pl.Datetime).alias("ds")]
        if with_y:
            cols += [pl.col("sale_amount").alias("y"), *(pl.col(c) for c in statics)]
        pdf = df.select(*cols, *COVARIATES).to_pandas()
        for c in statics if with_y else []:
            pdf[c] = pdf[c].astype("category")
        return pdf

    train = frame(hist, True)
    # mlforecast forecasts the 7 days after each series' own last day and needs X_df rows
    # for all of them: days absent from the scored week (the real sample has a series that
    # ends early) take the series' last history day's covariates
    last = hist.sort("dt").group_by(*KEYS).last().select(*KEYS, "dt", *COVARIATES)
    grid = (
        last.select(
            *KEYS, pl.col("dt").alias("_end"), pl.lit(list(range(1, HORIZON + 1))).alias("h")
        )
        .explode("h")
        .select(*KEYS, (pl.col("_end") + pl.duration(days=pl.col("h"))).alias("dt"))
    )
    last = last.drop("dt")
    known = grid.join(actual.select(*KEYS, "dt", *COVARIATES), on=[*KEYS, "dt"], how="left")
    filled = known.join(last, on=list(KEYS), suffix="_last").with_columns(
        pl.col(c).fill_null(pl.col(f"{c}_last")) for c in COVARIATES
    )
    future = frame(filled.select(*KEYS, "dt", *COVARIATES), False)
    shortest = int(hist.group_by("store_id", "product_id").len()["len"].min())
    windows = min(2, (shortest - 1) // HORIZON - 1)  # mlforecast needs h (w + 1) + 1 days
    model = lgb.LGBMRegressor(
        n_estimators=300, learning_rate=0.05, num_leaves=63, verbosity=-1,
        min_child_samples=min(20, max(1, len(train) // 50)),
    )  # fmt: skip
    fcst = MLForecast(
        models={"lgbm": model},
        freq="D",
        lags=[7, 14, 21, 28],
        lag_transforms={7: [RollingMean(window_size=7), RollingStd(window_size=7)]},
        date_features=["dayofweek"],
    )
    intervals = PredictionIntervals(n_windows=windows, h=HORIZON) if windows >= 1 else None
    fcst.fit(train, static_features=statics, prediction_intervals=intervals)
    pred = fcst.predict(h=HORIZON, X_df=future, level=[80] if intervals else None)
    if intervals is None:  # too short for conformal windows: no interval
        pred["lgbm-lo-80"] = pred["lgbm-hi-80"] = float("nan")
    res = pl.from_pandas(pred).select(
        pl.col("unique_id").str.split("_").list.get(0).cast(pl.Int64).alias("store_id"),
        pl.col("unique_id").str.split("_").list.get(1).cast(pl.Int64).alias("product_id"),
        pl.col("ds").cast(pl.Date).alias("dt"),
        pl.col("lgbm").clip(0.0).alias("forecast"),
        pl.col("lgbm-lo-80").clip(0.0).alias("q10"),
        pl.col("lgbm-hi-80").clip(0.0).alias("q90"),
    )
    res.select(*KEYS, "dt", "forecast", "q10", "q90").write_parquet(out)
    return {"seconds": time.perf_counter() - t0, "cpu_s": cpu_s() - c0, "peak_gb": peak_gb()}


def _pct(v: float | None, sign: bool = True) -> str:
    if v is None or math.isnan(v):
        return "     -"
    return f"{100 * v:+6.1f}" if sign else f"{100 * v:6.1f}"


def score(data: Path, preds: dict[str, Path], runs: dict[str, dict[str, Any]]) -> None:
    import polars as pl

    from rama.forecast.backtest import TRUTH, score_methods, seller_class
    from rama.forecast.baselines import seasonal_naive

    hist, actual = split(str(data))
    frames = {m: pl.read_parquet(p) for m, p in preds.items()}
    # the same fit's daily median as the point forecast: what absolute-error scores (WAPE,
    # MAE) reward, where the mean (the plan's input) is what WPE and the totals need
    for name in list(frames):
        if "q50" in frames[name].columns and name != "mlforecast_lgbm":
            frames[f"{name}.q50"] = frames[name].with_columns(pl.col("q50").alias("forecast"))
    frames["seasonal_naive"] = seasonal_naive(hist, actual)
    m = score_methods(frames, actual, seller_class(hist), lo="q10", hi="q90")

    def get(method: str, rows: str, key: str, target: str = "sale_amount") -> float:
        r = m.filter(
            (pl.col("method") == method) & (pl.col("rows") == rows) & (pl.col("target") == target)
        )
        return float(r[key][0]) if r.height else math.nan

    print(
        f"{'method':22s} {'WAPE all/off/low/high (%)':>27s} {'WPE all/off/low/high (%)':>28s} "
        f"{'MAE all/off/low/high':>27s} {'cov10-90':>8s} {'WPEtruth':>8s} {'WAPEtruth':>9s} "
        f"{'fit+pred s':>10s} {'peak GB':>7s} {'recWPEtr':>8s}"
    )
    for method in frames:
        rows = ("all", "official", "official_low", "official_high")
        wape = "/".join(_pct(get(method, r, "wape"), False).strip() for r in rows)
        wpe = "/".join(_pct(get(method, r, "wpe")).strip() for r in rows)
        mae = "/".join(f"{get(method, r, 'mae'):.3f}" for r in rows)
        cov = get(method, "official", "coverage")
        run = runs.get(method, {})
        print(
            f"{method:22s} {wape:>27s} {wpe:>28s} {mae:>27s} "
            f"{_pct(cov, False):>8s} "
            f"{_pct(get(method, 'all', 'wpe', TRUTH)):>8s} "
            f"{_pct(get(method, 'all', 'wape', TRUTH), False):>9s} "
            f"{run.get('seconds', math.nan):10.1f} {run.get('peak_gb', math.nan):7.2f} "
            f"{_pct(run.get('rec_wpe', math.nan)):>8s}"
        )


def distributions(data: Path, totals: Path) -> None:
    """Realized cost of a newsvendor plan per pair from each horizon distribution.

    Per pair, the stochastic plan over K equiprobable points with no transfer is a
    newsvendor: the LP's optimum stocks the point ``d_k``, ``k = ceil(K b / (b + h))``
    (``h`` = holding over the horizon, ``b`` = stockout penalty, ``K = stochastic.points``).
    It is scored on the realized horizon total (latent truth, else sales):
    ``h (A - D)+ + b (D - A)+``. ``deterministic`` stocks the mean (the LP's K = 1).
    Coverage: share of pairs whose realized total lies in the distribution's 10-90 %.
    """
    import numpy as np
    import polars as pl
    from scipy import special

    from rama.config import load_config
    from rama.forecast.backtest import TRUTH
    from rama.forecast.schema import KEYS, SALES
    from rama.problem.stochastic import grid_points
    from rama.rules import demand_points, grid_quantiles

    cfg = load_config()
    hold = float(cfg["costs"]["holding_cost_per_unit_day"]) * HORIZON
    pen = float(cfg["costs"]["stockout_penalty_per_unit"])
    k_pts = int(cfg["stochastic"]["points"])
    k_star = math.ceil(k_pts * pen / (pen + hold)) - 1
    _, actual = split(str(data))
    target = TRUTH if TRUTH in actual.columns else SALES
    real = actual.group_by(KEYS).agg(pl.col(target).sum().alias("D"), pl.len().alias("n"))
    tot = pl.read_parquet(totals).join(real.filter(pl.col("n") == HORIZON), on=list(KEYS))
    m, sd, d = (tot[c].to_numpy() for c in ("demand", "demand_std", "D"))
    grid = tot.select([c for c in tot.columns if c.startswith("q")]).to_numpy()
    ok = (sd > 0) & (m > 0)
    shape = np.where(ok, (m / np.where(ok, sd, 1)) ** 2, 1.0)
    scale = np.where(ok, sd**2 / np.where(ok, m, 1), 0.0)
    z = 1.2815515655446004
    bands = {
        "gamma": (special.gammaincinv(shape, 0.1) * scale, special.gammaincinv(shape, 0.9) * scale),
        "normal": (np.maximum(m - z * sd, 0), m + z * sd),
        "empirical": tuple(grid_quantiles(grid, [0.1, 0.9]).T),
    }
    stock = {
        "deterministic": m,
        "gamma": demand_points(m, sd, k_pts, "gamma")[:, k_star],
        "normal": demand_points(m, sd, k_pts, "normal")[:, k_star],
        "empirical": grid_points(grid, k_pts)[:, k_star],
    }
    base = None
    print(
        f"  distribution ({tot.height:,} pairs, realized = {target} horizon total; h = "
        f"{hold:.2f}, b = {pen:.2f} $/unit, K = {k_pts}, stock = point {k_star + 1})"
    )
    qs = grid_quantiles(grid, [0.1, 0.5, 0.9])
    below = " / ".join(f"{100 * float((d <= qs[:, i]).mean()):.1f}" for i in range(3))
    print(f"    empirical grid: {target} total <= q10 / q50 / q90 on {below} % of pairs")
    for name, a in stock.items():
        cost = float((hold * np.maximum(a - d, 0) + pen * np.maximum(d - a, 0)).sum())
        base = cost if base is None else base
        lo, hi = bands.get(name, (None, None))
        cov = "    -" if lo is None else f"{100 * float(((lo <= d) & (d <= hi)).mean()):5.1f}%"
        zero = float((d == 0).mean())
        print(
            f"    {name:13s} realized cost {cost:12,.1f}  vs deterministic "
            f"{100 * (cost / base - 1):+6.1f}%  10-90 coverage {cov}"
            + (f"  (zero totals {100 * zero:.1f}%)" if name == "deterministic" else "")
        )


def child_cv(data: str, overrides: str, n_windows: str) -> dict[str, Any]:
    """Time-series CV of one candidate on the train split only (the eval week unseen)."""
    from rama.config import load_config
    from rama.data import load_freshretail
    from rama.forecast import DemandForecaster

    train = load_freshretail(Path(data), "train")
    fc = DemandForecaster.from_config(load_config(), **json.loads(overrides))
    t0 = time.perf_counter()
    cv = fc.cross_validation(train, n_windows=int(n_windows))
    off = cv.filter(cv["rows"] == "official")
    return {
        "wape": float(off["wape"].mean()),  # type: ignore[arg-type]
        "wpe": float(off["wpe"].mean()),  # type: ignore[arg-type]
        "per_window": off["wape"].to_list(),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--rama", action="append", default=[], help="NAME=JSON overrides")
    ap.add_argument("--no-peer", action="store_true", help="skip mlforecast")
    ap.add_argument("--no-base", action="store_true", help="only the --rama variants")
    ap.add_argument(
        "--cv",
        type=int,
        default=0,
        help="instead: N-window time-series CV of rama and each --rama variant on the train "
        "split (official-row WAPE per window), to choose settings without the eval week",
    )
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        children: dict[str, Callable[..., dict[str, Any]]] = {
            "rama": child_rama,
            "mlforecast": child_mlforecast,
            "cv": child_cv,
        }
        child = children[kind]
        res = child(*rest)
        print(json.dumps(res))
        return
    variants = {} if args.no_base else {"rama": "{}"}
    for v in args.rama:
        name, _, js = v.partition("=")
        variants[name] = js
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; scale {args.scale}")
    (REPO / "data").mkdir(exist_ok=True)
    for name in args.datasets.split(","):
        data = ensure_data(name, args.scale)
        if args.cv:
            print(f"\n== {name}: {args.cv}-window CV on the train split, official rows ==")
            for var, js in variants.items():
                r, _ = run_child(__file__, "cv", str(data), js, str(args.cv))
                windows = " ".join(f"{100 * w:.2f}" for w in r["per_window"])
                print(
                    f"  {var:12s} WAPE {100 * r['wape']:6.2f}% (windows {windows})  WPE "
                    f"{100 * r['wpe']:+6.2f}%  {r['seconds']:.0f} s"
                )
            continue
        print(f"\n== {name} ({data.relative_to(REPO)}); coverage and WPE/WAPE vs truth on "
              f"official / all rows ==")  # fmt: skip
        with tempfile.TemporaryDirectory(dir=REPO / "data") as tmp:
            preds, runs = {}, {}
            for var, js in variants.items():
                p = Path(tmp) / f"{var}.parquet"
                runs[var], _ = run_child(__file__, "rama", str(data), str(p), js)
                preds[var] = p
            if not args.no_peer:
                p = Path(tmp) / "mlforecast.parquet"
                runs["mlforecast_lgbm"], _ = run_child(__file__, "mlforecast", str(data), str(p))
                preds["mlforecast_lgbm"] = p
            score(data, preds, runs)
            for var in variants:
                print(f"  (distributions of {var}'s forecast)")
                distributions(data, Path(str(preds[var]) + ".totals.parquet"))


if __name__ == "__main__":
    main()
