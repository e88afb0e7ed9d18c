"""The forecast, evaluation and scenario sections: forecast against actual for instructive
series, accuracy against the baselines, the recovered-demand effect, strategies' cost against
fill rate, the demand-shock sensitivity and centralized against decentralized planning."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from rama.report import charts
from rama.report.elements import Cell, Element, Figure, Paragraph, Table
from rama.report.formatting import money, percent, units
from rama.report.headline import missing_notice
from rama.report.inputs import RunFiles

HISTORY_DAYS = 28
METHOD_NAMES = {
    "model": "LightGBM (recovered demand)",
    "model_no_recovery": "LightGBM (raw sales)",
    "seasonal_naive": "seasonal naive",
    "moving_average_28": "28-day moving average",
}


def pick_series(params: pl.DataFrame) -> list[tuple[str, int, int]]:
    """Three instructive store-product series: a steady seller (highest mean sales among the
    pairs with below-median CV and stockout share), the most stockout-heavy one and the most
    promoted one; distinct pairs, ties broken by ids."""
    keys = ["store_id", "product_id"]
    p = params.sort(keys)
    out: list[tuple[str, int, int]] = []
    taken: set[tuple[int, int]] = set()

    def take(label: str, df: pl.DataFrame, by: str) -> None:
        for r in df.sort([by, *keys], descending=[True, False, False]).iter_rows(named=True):
            k = (int(r["store_id"]), int(r["product_id"]))
            if k not in taken:
                taken.add(k)
                out.append((label, *k))
                return

    cv_med = p["cv_daily_sales"].median()
    so_med = p["stockout_hour_share"].median()
    steady = p.filter(
        (pl.col("cv_daily_sales") <= cv_med) & (pl.col("stockout_hour_share") <= so_med)
    )
    take("steady seller", steady if steady.height else p, "mean_daily_sales")
    take("stockout-heavy", p, "stockout_hour_share")
    take("often promoted", p, "promotion_day_share")
    return out


def series_elements(run: RunFiles) -> list[Element]:
    params = run.pair_params
    fs = run.forecast_summary or {}
    if params is None:
        return [missing_notice(run, "prepare", "prepared/store_product_params.parquet")]
    picks = pick_series(params)
    pairs = pl.DataFrame(
        {"store_id": [s for _, s, _ in picks], "product_id": [p for _, _, p in picks]},
        schema={"store_id": pl.Int64, "product_id": pl.Int64},
    )
    fc = run.forecast_rows(pairs)
    if fc is None:
        return [missing_notice(run, "forecast", "forecast/demand_forecast.parquet")]
    hist = run.history(pairs, HISTORY_DAYS)
    bt = run.backtest_rows(pairs)
    first = fs.get("first_day")
    day0 = dt.date.fromisoformat(first) if first else fc["dt"].min()
    assert isinstance(day0, dt.date)
    truth = (
        bt is not None and "latent_demand" in bt.columns and bt["latent_demand"].null_count() == 0
    )
    panels = []

    def rows(df: pl.DataFrame | None, s: int, p: int) -> pl.DataFrame:
        if df is None:
            return pl.DataFrame()
        return df.filter((pl.col("store_id") == s) & (pl.col("product_id") == p)).sort("dt")

    def x(df: pl.DataFrame) -> np.ndarray:
        return np.array([(d - day0).days for d in df["dt"].to_list()], dtype=np.float64)

    for label, s, p in picks:
        f, h, b = rows(fc, s, p), rows(hist, s, p), rows(bt, s, p)
        if b.height:
            b = b.filter(pl.col("dt").is_in(f["dt"].implode()))
        col = "latent_demand" if truth else "sale_amount"
        panels.append(
            charts.SeriesPanel(
                title=f"{label}: store {s}, product {p}",
                hist_x=x(h) if h.height else np.zeros(0),
                hist_y=h["sale_amount"].to_numpy() if h.height else np.zeros(0),
                fc_x=x(f),
                fc=f["forecast"].to_numpy(),
                q10=f["q10"].to_numpy(),
                q90=f["q90"].to_numpy(),
                actual_x=x(b) if b.height else np.zeros(0),
                actual=b[col].to_numpy() if b.height else np.zeros(0),
                actual_label="actual demand (latent truth)" if truth else "actual sales",
            )
        )
    happened = any(pn.actual.size for pn in panels)
    tail = (
        "dots are what happened"
        if happened
        else "the week has not happened yet, so there is nothing to compare with"
    )
    return [
        Figure(
            "Forecast against actual",
            "Recent daily sales, the planning-week forecast and its 10-90% band for a steady "
            f"seller, a stockout-heavy series and an often-promoted one; {tail}.",
            charts.forecast_series("series", panels),
        )
    ]


def accuracy_elements(run: RunFiles) -> list[Element]:
    m = run.forecast_metrics
    if m is None or m.height == 0:
        return [missing_notice(run, "forecast", "forecast/forecast_metrics.csv")]
    targets = m["target"].unique().to_list()
    target = "latent_demand" if "latent_demand" in targets else "sale_amount"
    rows = m.filter((pl.col("target") == target) & (pl.col("rows") == "all"))
    if rows.height == 0:
        rows = m.filter(pl.col("target") == target).unique(
            "method", keep="first", maintain_order=True
        )
    names = [METHOD_NAMES.get(x, x) for x in rows["method"].to_list()]
    wape = [float(w) if w is not None else np.nan for w in rows["wape"].to_list()]
    if not np.isfinite(np.array(wape, dtype=np.float64)).any():
        return [Paragraph("The backtest has no accuracy figures (forecast/forecast_metrics.csv).")]
    best = names[int(np.nanargmin(np.array(wape, dtype=np.float64)))]
    what = "the latent (uncensored) demand" if target == "latent_demand" else "the sales"
    return [
        Figure(
            "Forecast accuracy against the baselines",
            f"Weighted absolute percentage error (lower is better) of each method on the "
            f"backtest days against {what}; {best} is the most accurate at "
            f"{percent(float(np.nanmin(np.array(wape, dtype=np.float64))))}.",
            charts.grouped_bars(
                "accuracy", names, {"WAPE": wape}, ylabel="WAPE", rate=True, horizontal=True
            ),
        )
    ]


def recovery_elements(run: RunFiles) -> list[Element]:
    r = run.recovery
    if r is None or r.height == 0:
        return [missing_notice(run, "forecast", "forecast/recovery_summary.csv")]
    total = r.filter(pl.col("stockout_hours") == "all")
    parts = r.filter(pl.col("stockout_hours") != "all")
    series: dict[str, list[float]] = {
        "observed sales": parts["observed"].to_list(),
        "recovered demand": parts["recovered"].to_list(),
    }
    has_truth = "truth" in parts.columns and parts["truth"].null_count() == 0
    if has_truth:
        series["true demand"] = parts["truth"].to_list()
    sentence = "Observed sales and the demand recovered for the hours a store was out of stock"
    if total.height:
        t = total.row(0, named=True)
        lift = (t["recovered"] - t["observed"]) / t["observed"] if t["observed"] else None
        added = units(t["recovered"] - t["observed"])
        sentence += f", by hours out of stock a day: recovery adds {added} units ({percent(lift)})"
        if has_truth and t.get("truth") is not None:
            sentence += (
                f", leaving {percent(t.get('recovered_bias'))} bias against the truth "
                f"(sales alone: {percent(t.get('observed_bias'))})"
            )
    return [
        Figure(
            "The recovered-demand effect",
            sentence + ".",
            charts.grouped_bars(
                "recovery", parts["stockout_hours"].to_list(), series, ylabel="units"
            ),
        )
    ]


def _kind(df: pl.DataFrame) -> str:
    """``realized`` when the realized figures exist, else ``forecast``."""
    col = df.get_column("realized_total") if "realized_total" in df.columns else None
    return "realized" if col is not None and col.null_count() < df.height else "forecast"


def evaluation_elements(run: RunFiles, chosen: str | None) -> list[Element]:
    ev = run.evaluation
    if ev is None or ev.height == 0:
        return [missing_notice(run, "evaluate", "evaluation/evaluation.csv")]
    kind = _kind(ev)
    ev = ev.filter(pl.col(f"{kind}_total").is_not_null())
    if ev.height == 0:
        return [Paragraph("The evaluation scored no strategy (evaluation/evaluation.csv).")]
    names = ev["strategy"].to_list()
    highlight = "plan_folder" if "plan_folder" in names else chosen
    target = run.config.get("stochastic", {}).get("fill_rate_target")
    word = (
        "realized on the demand that arrived"
        if kind == "realized"
        else "forecast (on draws of the forecast; the week has not happened)"
    )
    best = ev.sort(f"{kind}_total").row(0, named=True)
    rows = tuple(
        (
            Cell(str(r["strategy"]), str(r["strategy"])),
            Cell(money(r.get("expected_total")), r.get("expected_total")),
            Cell(money(r[f"{kind}_total"]), r[f"{kind}_total"]),
            Cell(percent(r[f"{kind}_fill_rate"]), r[f"{kind}_fill_rate"]),
            Cell(
                percent(r.get(f"{kind}_cycle_service_level")), r.get(f"{kind}_cycle_service_level")
            ),
        )
        for r in ev.iter_rows(named=True)
    )
    return [
        Figure(
            f"Strategies: {kind} cost against fill rate",
            f"Each strategy's cost and fill rate {word}, the plan in RUN/plan highlighted; "
            f"{best['strategy']} costs least at {money(best[f'{kind}_total'])}.",
            charts.scatter_strategies(
                "evaluation",
                names,
                ev[f"{kind}_total"].to_list(),
                ev[f"{kind}_fill_rate"].to_list(),
                highlight=highlight,
                xlabel=f"{kind} cost ($ for the week)",
                ylabel=f"{kind} fill rate",
                target=float(target) if target is not None else None,
            ),
        ),
        Table(
            "evaluation-table",
            (
                "strategy",
                "expected cost",
                f"{kind} cost",
                f"{kind} fill rate",
                f"{kind} cycle service level",
            ),
            rows,
            caption="expected = what the strategy's own model expected; every column is in "
            "evaluation/evaluation.csv.",
            sortable=True,
            numeric=(False, True, True, True, True),
        ),
    ]


def _shock(df: pl.DataFrame) -> pl.DataFrame:
    """Demand-shock rows with ``shock`` (fraction) and ``foreseen`` (the plan saw it)."""
    base = df.filter(pl.col("scenario") == "base")
    shocks = df.filter(pl.col("group") == "demand_shocks")
    if "x_demand" not in df.columns or "x_realized_demand" not in df.columns:
        return pl.DataFrame()
    shocks = shocks.with_columns(
        (pl.col("x_demand") != 1.0).alias("foreseen"),
        (pl.max_horizontal(pl.col("x_demand"), pl.col("x_realized_demand")) - 1.0).alias("up"),
        (pl.min_horizontal(pl.col("x_demand"), pl.col("x_realized_demand")) - 1.0).alias("down"),
    ).with_columns(pl.when(pl.col("up") > 0).then("up").otherwise("down").alias("shock"))
    zero = pl.concat(
        [
            base.with_columns(pl.lit(f).alias("foreseen"), pl.lit(0.0).alias("shock"))
            for f in (True, False)
        ]
    )
    keep = ["strategy", "foreseen", "shock", "realized_total", "forecast_total"]
    return pl.concat([shocks.select(keep), zero.select(keep)], how="vertical_relaxed").sort("shock")


def scenario_elements(run: RunFiles) -> list[Element]:
    sc = run.scenarios
    if sc is None or sc.height == 0:
        return [missing_notice(run, "scenarios", "scenarios/scenarios.csv")]
    kind = _kind(sc)
    n_sc = sc["scenario"].n_unique()
    out: list[Element] = []
    avg = (
        sc.group_by("strategy", maintain_order=True)
        .agg(pl.col(f"{kind}_total").mean(), pl.col(f"{kind}_fill_rate").mean())
        .drop_nulls()
    )
    if avg.height == 0:
        return [Paragraph("The sweep scored no strategy (scenarios/scenarios.csv).")]
    cheapest = avg.sort(f"{kind}_total").row(0, named=True)
    out.append(
        Figure(
            f"Strategies over the {n_sc} scenarios",
            f"{kind.capitalize()} total cost against {kind} fill rate of each strategy, "
            f"averaged over every scenario of the sweep; {cheapest['strategy']} is cheapest "
            "on average at "
            f"{money(cheapest[f'{kind}_total'])}.",
            charts.scatter_strategies(
                "scenario-strategies",
                avg["strategy"].to_list(),
                avg[f"{kind}_total"].to_list(),
                avg[f"{kind}_fill_rate"].to_list(),
                highlight=None,
                xlabel=f"mean {kind} cost ($)",
                ylabel=f"mean {kind} fill rate",
            ),
        )
    )
    shock = _shock(sc)
    if shock.height and shock["shock"].n_unique() > 1:
        xs = sorted(set(shock["shock"].to_list()))
        series: dict[str, tuple[list[float], str]] = {}
        for strat in shock["strategy"].unique(maintain_order=True).to_list():
            for foreseen, style in ((True, "-"), (False, "--")):
                part = shock.filter(
                    (pl.col("strategy") == strat) & (pl.col("foreseen") == foreseen)
                )
                vals = dict(
                    zip(part["shock"].to_list(), part[f"{kind}_total"].to_list(), strict=True)
                )
                label = f"{strat} ({'foreseen' if foreseen else 'unforeseen'})"
                series[label] = ([float(vals.get(x, np.nan)) for x in xs], style)
        out.append(
            Figure(
                "Demand-shock sensitivity",
                f"{kind.capitalize()} cost of each strategy when demand moves by the shock, "
                "solid when the plan foresaw it, dashed when it did not.",
                charts.lines(
                    "shocks", xs, series, xlabel="demand shock", ylabel=f"{kind} cost ($)"
                ),
            )
        )
    strategies = set(sc["strategy"].to_list())
    if {"centralized_lp", "decentralized_lp"} <= strategies:
        wide = sc.filter(pl.col("strategy").is_in(["centralized_lp", "decentralized_lp"])).pivot(
            on="strategy", index="scenario", values=f"{kind}_total", aggregate_function="first"
        )
        dec = wide["decentralized_lp"].to_numpy().astype(np.float64)
        saving = dec - wide["centralized_lp"].to_numpy().astype(np.float64)
        share = float(np.nansum(saving) / np.nansum(dec)) if np.nansum(dec) else None
        out.append(
            Figure(
                "Centralized against decentralized planning",
                f"{kind.capitalize()} cost per scenario of one network-wide LP (transfers "
                f"between stores) against each store planning alone; pooling saves "
                f"{money(float(np.nanmean(saving)))} per scenario on average ({percent(share)}).",
                charts.grouped_bars(
                    "central",
                    wide["scenario"].to_list(),
                    {
                        "centralized": wide["centralized_lp"].to_list(),
                        "decentralized": wide["decentralized_lp"].to_list(),
                    },
                    ylabel=f"{kind} cost ($)",
                    dollars=True,
                    horizontal=True,
                ),
            )
        )
    else:
        out.append(Paragraph("The sweep did not run both centralized_lp and decentralized_lp."))
    return out
