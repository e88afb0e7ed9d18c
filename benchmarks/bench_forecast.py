"""Benchmark of the forecaster at full scale: accuracy against the aims of issue 3, and cost.

Uses the full-scale synthetic default (50,000 series x 90 + 7 days) cached in
``data/bench_full`` (git-ignored, shared with bench_prepare; generated once into a temporary
folder and renamed into place, so concurrent benchmarks never see half a dataset). Then, each
in a fresh subprocess:

1. **fit + predict**: load train + eval, recover demand, fit ``DemandForecaster`` with the
   default configuration, predict the 7 eval days; wall time, CPU time, peak RSS;
2. **stage**: ``run_forecast`` end to end with the default configuration: one fit (the
   model, seasonal naive, 28-day moving average, all scored on the same rows); with
   ``--extra-fits`` also the model without recovery (``forecast.backtest_extra_fits``);
   prints the backtest table;
3. **peer** (unless ``--no-peer``): the analyst's mlforecast + LightGBM setup of
   ``bench_forecast_peer.py`` (its ``mlforecast`` child, ``pip install rama[bench]``) on the
   same data, fit + predict wall time (load excluded) and peak RSS, scored on the same
   official rows; issue 14's aim: the whole stage (load included) within the peer's fit +
   predict and within 6 GB.

Aims: official-row WAPE >= 25 % below seasonal naive and below the moving average; with
recovery |WPE| <= 2 % on official rows and below the no-recovery model's; 10-90 % coverage
in [75 %, 85 %]; fit + predict <= 120 s and 6 GB on 2 cores. The machine may be shared:
wall times are noisy (CPU seconds are printed beside them).

    .venv/bin/python benchmarks/bench_forecast.py [--data DIR] [--scale 1.0] [--skip-stage]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _measure import cpu_s, peak_gb, run_child

REPO = Path(__file__).resolve().parents[1]
PEER = str(Path(__file__).resolve().parent / "bench_forecast_peer.py")
DEFAULT_DATA = REPO / "data" / "bench_full"
TARGET_SECONDS, TARGET_GB = 120.0, 6.0


def child_fit_predict(data: str) -> dict[str, Any]:
    """Load, recover, fit and predict with the default configuration (timed phases)."""
    import polars as pl

    from rama.config import load_config
    from rama.data import load_freshretail
    from rama.forecast import DemandForecaster, recover_demand
    from rama.forecast.schema import COVARIATES, KEYS

    cfg = load_config()
    t0, c0 = time.perf_counter(), cpu_s()
    train = load_freshretail(Path(data), "train")
    ev = load_freshretail(Path(data), "eval").select(*KEYS, "dt", *COVARIATES)
    t1, c1 = time.perf_counter(), cpu_s()
    rec = recover_demand(train, prior_units=float(cfg["forecast"]["recovery_prior_units"]))
    del train
    t2, c2 = time.perf_counter(), cpu_s()
    fc = DemandForecaster.from_config(cfg).fit(rec)
    t3, c3 = time.perf_counter(), cpu_s()
    out = fc.predict(ev)
    totals = fc.horizon_totals(out)
    t4, c4 = time.perf_counter(), cpu_s()
    assert out.height == ev.height and totals.height == fc.series_.height
    return {
        "rows": rec.height,
        "train_rows": fc.n_train_rows_,
        "threads": fc._threads(),
        "load_s": t1 - t0,
        "recover_s": t2 - t1,
        "fit_s": t3 - t2,
        "predict_s": t4 - t3,
        "load_cpu_s": c1 - c0,
        "recover_cpu_s": c2 - c1,
        "fit_cpu_s": c3 - c2,
        "predict_cpu_s": c4 - c3,
        "peak_gb": peak_gb(),
        "forecast_total": float(out["forecast"].sum()),
        "q_ordered": bool((out["q10"] <= out["q90"]).all()),
        "nulls": int(out.null_count().sum_horizontal().item()),
        "pl": pl.__version__,
    }


def child_stage(data: str, run: str, extra: str = "0") -> dict[str, Any]:
    """run_forecast with the default configuration on a fresh run folder."""
    from rama.config import load_config
    from rama.forecast import run_forecast
    from rama.layout import truth_file
    from rama.run_manifest import update_manifest

    update_manifest(
        Path(run),
        data_dir=str(Path(data).resolve()),
        has_eval=True,
        has_truth=truth_file(Path(data)).is_file(),
        stages=["prepare"],
    )
    s = run_forecast(
        Path(run), load_config(overrides={"forecast.backtest_extra_fits": extra == "1"})
    )
    return {
        "seconds": dict(s.seconds),
        "metrics": s.metrics.to_dicts(),
        "recovery": dict(s.recovery),
        "horizon_calibration": s.summary["horizon_calibration"],
        "rho": s.daily_error_correlation,
        "selection": s.summary["official_row_selection"],
        "peak_gb": peak_gb(),
        "cpu_s": cpu_s(),
    }


def ensure_data(data: Path, scale: float) -> None:
    """Generate once into a temp folder beside ``data`` and rename it into place."""
    if (data / "freshretailnet" / "data" / "eval.parquet").is_file():
        print(f"reusing {data}")
        return
    from rama.synth import generate_datasets

    data.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{data.name}.", dir=data.parent))
    print(f"generating scale {scale} into {data} (once) ...", flush=True)
    t0 = time.perf_counter()
    try:
        info = generate_datasets(tmp / "d", scale=scale, seed=0)
        try:
            os.rename(tmp / "d", data)
        except OSError:  # another benchmark won the race: use its copy
            print(f"  {data} appeared meanwhile; using it")
        else:
            print(f"  {info.train_rows:,} train rows in {time.perf_counter() - t0:.1f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fmt(v: float | None) -> str:
    return "    -" if v is None or math.isnan(v) else f"{100 * v:5.1f}%"


def print_table(metrics: list[dict[str, Any]]) -> None:
    print(f"{'method':19s} {'vs':7s} {'rows':14s} {'n':>8s} {'WAPE':>6s} {'WPE':>7s} "
          f"{'MAE':>6s} {'cover':>6s}")  # fmt: skip
    for r in metrics:
        vs = "truth" if r["target"] == "latent_demand" else "sales"
        print(
            f"{r['method']:19s} {vs:7s} {r['rows']:14s} {int(r['n_rows']):8,d} "
            f"{_fmt(r['wape'])} {_fmt(r['wpe']):>7s} {r['mae']:6.3f} {_fmt(r['coverage'])}"
        )


def check_aims(
    metrics: list[dict[str, Any]], fp: dict[str, Any], fp_wall: float, selection: float | None
) -> None:
    def get(method: str, key: str, target: str = "sale_amount", rows: str = "official") -> float:
        for r in metrics:
            if (r["method"], r["target"], r["rows"]) == (method, target, rows):
                return float(r[key])
        return float("nan")

    m = get("model", "wape")
    sn, ma = get("seasonal_naive", "wape"), get("moving_average_28", "wape")
    wpe, wpe_nr = get("model", "wpe"), get("model_no_recovery", "wpe")
    cov = get("model", "coverage")
    fit_predict = fp["recover_s"] + fp["fit_s"] + fp["predict_s"]
    aims = [
        (f"official WAPE {m:.1%} >= 25% below seasonal naive {sn:.1%} "
         f"(-{1 - m / sn:.1%})", m <= 0.75 * sn),
        (f"official WAPE {m:.1%} below 28-day moving average {ma:.1%}", m < ma),
        (f"official |WPE| with recovery {abs(wpe):.1%} <= 2%", abs(wpe) <= 0.02),
        (f"official |WPE| with recovery {abs(wpe):.1%} < without {abs(wpe_nr):.1%}"
         + (" (no-recovery fit only with --extra-fits)" if math.isnan(wpe_nr) else ""),
         abs(wpe) < abs(wpe_nr)),
        (f"official 10-90% coverage {cov:.1%} in [75%, 85%]", 0.75 <= cov <= 0.85),
        (f"fit + predict {fit_predict:.1f} s (+ load {fp['load_s']:.1f} s) <= "
         f"{TARGET_SECONDS:.0f} s", fit_predict <= TARGET_SECONDS),
        (f"peak RSS of load + fit + predict {fp['peak_gb']:.2f} GB <= {TARGET_GB:.0f} GB",
         fp["peak_gb"] <= TARGET_GB),
    ]  # fmt: skip
    print("\naims (issue 3):")
    for text, ok in aims:
        print(f"  [{'met' if ok else 'NOT met'}] {text}")
    print(
        f"  context: vs latent truth (all rows) the model's WPE is "
        f"{get('model', 'wpe', 'latent_demand', 'all'):+.1%} and without recovery "
        f"{get('model_no_recovery', 'wpe', 'latent_demand', 'all'):+.1%}; official rows are "
        f"the days that did not sell out, i.e. low-demand days (model WPE vs truth there "
        f"{get('model', 'wpe', 'latent_demand', 'official'):+.1%})"
    )
    if selection is not None:
        print(
            f"  selection: on official rows the latent demand is {selection:+.1%} relative to "
            f"the same series' mean over the eval week, so an unbiased demand forecast shows "
            f"WPE ~ {1 / (1 + selection) - 1:+.1%} there"
        )
    print(f"  fit+predict subprocess wall incl. imports and load: {fp_wall:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--skip-stage", action="store_true", help="only time fit + predict")
    ap.add_argument(
        "--extra-fits", action="store_true", help="stage with forecast.backtest_extra_fits"
    )
    ap.add_argument("--no-peer", action="store_true", help="skip the mlforecast peer")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        res = child_fit_predict(*rest) if kind == "fit_predict" else child_stage(*rest)
        print(json.dumps(res, default=str))
        return

    ensure_data(args.data, args.scale)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    fp, fp_wall = run_child(__file__, "fit_predict", str(args.data))
    print(
        f"fit+predict ({fp['rows']:,} train rows, {fp['train_rows']:,} sampled, "
        f"{fp['threads']} threads): load {fp['load_s']:.1f} s, recovery {fp['recover_s']:.1f} s "
        f"({fp['recover_cpu_s']:.1f} CPU), fit {fp['fit_s']:.1f} s ({fp['fit_cpu_s']:.1f} CPU), "
        f"predict {fp['predict_s']:.1f} s ({fp['predict_cpu_s']:.1f} CPU); "
        f"peak RSS {fp['peak_gb']:.2f} GB"
    )
    if args.skip_stage:
        return
    (REPO / "data").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=REPO / "data") as tmp:
        st, wall = run_child(
            __file__, "stage", str(args.data), str(Path(tmp) / "run"), str(int(args.extra_fits))
        )
    print(
        "\nstage run_forecast (s): "
        + ", ".join(f"{k} {v:.1f}" for k, v in st["seconds"].items())
        + f"; subprocess wall {wall:.1f} s, {st['cpu_s']:.1f} s CPU, peak RSS "
        f"{st['peak_gb']:.2f} GB\n"
    )
    print_table(st["metrics"])
    rec = st["recovery"]
    print(
        f"\nrecovery: +{rec['lost'] / rec['observed']:.1%} demand over observed sales"
        + (
            f"; vs truth: observed bias {rec['observed_bias']:+.1%} -> recovered "
            f"{rec['recovered_bias']:+.1%} (WAPE {rec['observed_wape']:.1%} -> "
            f"{rec['recovered_wape']:.1%})"
            if "recovered_bias" in rec
            else ""
        )
    )
    for target, hc in st["horizon_calibration"].items():
        if hc.get("n_series"):
            print(
                f"horizon totals vs {target}: z mean {hc['z_mean']:+.3f}, z std "
                f"{hc['z_std']:.3f}, |z|<=1.28 share {hc['coverage_80']:.1%} (nominal 80%), "
                f"WAPE {hc['wape_total']:.1%}, WPE {hc['wpe_total']:+.1%}"
            )
    print(f"daily-error correlation rho = {st['rho']:.3f}")
    check_aims(st["metrics"], fp, fp_wall, st["selection"])
    if not args.no_peer:
        peer_against_stage(args.data, float(st["seconds"]["total"]), float(st["peak_gb"]))


def peer_against_stage(data: Path, stage_s: float, stage_gb: float) -> None:
    """The mlforecast peer's fit + predict on the same data, beside the stage (issue 14)."""
    import polars as pl

    from bench_forecast_peer import split  # the peer's own history / scored-week split
    from rama.forecast.backtest import score_methods, seller_class

    with tempfile.TemporaryDirectory(dir=REPO / "data") as tmp:
        out = str(Path(tmp) / "peer.parquet")
        peer, wall = run_child(PEER, "mlforecast", str(data), out)
        pred = pl.read_parquet(out)
    hist, actual = split(str(data))
    m = score_methods({"mlforecast": pred}, actual, seller_class(hist), lo="q10", hi="q90").filter(
        (pl.col("rows") == "official") & (pl.col("target") == "sale_amount")
    )
    print(
        f"\npeer mlforecast + LightGBM: fit + predict {peer['seconds']:.1f} s "
        f"({peer['cpu_s']:.1f} CPU; subprocess wall {wall:.1f} s), peak RSS "
        f"{peer['peak_gb']:.2f} GB; official WAPE {float(m['wape'][0]):.1%}, WPE "
        f"{float(m['wpe'][0]):+.1%}, 10-90 coverage {float(m['coverage'][0]):.1%}"
    )
    print("aims (issue 14):")
    for text, ok in (
        (f"forecast stage {stage_s:.1f} s (load included) <= the peer's fit + predict "
         f"{peer['seconds']:.1f} s", stage_s <= peer["seconds"]),
        (f"forecast stage peak RSS {stage_gb:.2f} GB <= {TARGET_GB:.0f} GB",
         stage_gb <= TARGET_GB),
    ):  # fmt: skip
        print(f"  [{'met' if ok else 'NOT met'}] {text}")


if __name__ == "__main__":
    main()
