"""The plan's sections: cost breakdown, transfer flows, largest transfers, manufacturing and
allocation by category, fill rate by city and category, and the marginal value of capacity."""

from __future__ import annotations

import numpy as np
import polars as pl

from rama.report import charts
from rama.report.elements import Cell, Element, Figure, Notice, Paragraph, Table
from rama.report.formatting import count, money, percent, units
from rama.report.headline import missing_notice, transfers_with_cities
from rama.report.inputs import RunFiles
from rama.rules import COST_COMPONENTS

TOP_TRANSFERS = 50  # rows of the largest-transfers table
MAX_LANES = 400  # city-to-city lines drawn on the map (18 cities have 306 ordered pairs)
TOP_CATEGORIES = 12
TOP_MARGINAL = 10


def cost_elements(run: RunFiles) -> list[Element]:
    s = run.plan_summary or {}
    costs = s.get("costs") or {}
    parts = [c for c in COST_COMPONENTS if c in costs]
    if not parts:
        return [missing_notice(run, "optimize", "the plan's cost breakdown")]
    values = [float(costs[c]) for c in parts]
    top = parts[int(np.argmax(values))]
    total = float(costs.get("total", sum(values)))
    chart = charts.cost_breakdown("costs", parts, values)
    return [
        Figure(
            "Cost breakdown",
            f"The plan's {money(total)} for the week split into its five components; "
            f"{top} is the largest at {money(max(values))} "
            f"({percent(max(values) / total if total else None)}).",
            chart,
        )
    ]


def flow_elements(run: RunFiles) -> list[Element]:
    t = transfers_with_cities(run)
    cities, stores = run.cities, run.stores
    if t is None:
        return [missing_notice(run, "optimize", "plan/transfer_plan.csv")]
    if cities is None or stores is None:
        return [missing_notice(run, "prepare", "the prepared store and city coordinates")]
    cities = cities.sort("city_id")
    ids = cities["city_id"].to_numpy()
    pos = {int(c): i for i, c in enumerate(ids)}
    lanes_df = (
        t.filter(pl.col("from_city_id") != pl.col("to_city_id"))
        .group_by("from_city_id", "to_city_id")
        .agg(pl.col("quantity").sum())
        .sort(["quantity", "from_city_id", "to_city_id"], descending=[True, False, False])
    )
    n_lanes = lanes_df.height
    shown = lanes_df.head(MAX_LANES)
    lanes = [
        (pos[int(a)], pos[int(b)], float(q))
        for a, b, q in shown.iter_rows()
        if int(a) in pos and int(b) in pos
    ]
    within = float(t.filter(pl.col("from_city_id") == pl.col("to_city_id"))["quantity"].sum())
    per_city = stores.group_by("city_id").len()
    n_per = (
        cities.select("city_id").join(per_city, on="city_id", how="left")["len"].fill_null(0)
    ).to_numpy()
    # stores drawn on a small ring around their city's point (they share its coordinates)
    st = stores.sort("city_id", "store_id").with_columns(
        pl.int_range(pl.len()).over("city_id").alias("k"), pl.len().over("city_id").alias("n")
    )
    ang = 2 * np.pi * st["k"].to_numpy() / np.maximum(st["n"].to_numpy(), 1)
    r = 0.25 * np.sqrt(np.minimum(st["n"].to_numpy(), 40) / 40)
    chart = charts.flow_map(
        "flows",
        cities["longitude"].to_numpy(),
        cities["latitude"].to_numpy(),
        n_per.astype(np.float64),
        [f"city {c}" for c in ids],
        st["longitude"].to_numpy() + r * np.cos(ang),
        st["latitude"].to_numpy() + r * np.sin(ang),
        lanes,
    )
    moved = float(t["quantity"].sum()) if t.height else 0.0
    more = f" (the {len(lanes)} largest of {n_lanes} are drawn)" if n_lanes > len(lanes) else ""
    return [
        Figure(
            "Where stock moves",
            f"Stores at their cities' coordinates with one line per city-to-city lane{more}, "
            f"wider for more units: {units(moved - within)} of the {units(moved)} units "
            f"transferred cross cities, {units(within)} stay within a city.",
            chart,
        )
    ]


def transfers_table(run: RunFiles) -> list[Element]:
    t = transfers_with_cities(run)
    if t is None:
        return [missing_notice(run, "optimize", "plan/transfer_plan.csv")]
    if t.height == 0:
        return [Paragraph("The plan moves no stock between stores.")]
    cat = run.categories
    if cat is not None:
        t = t.join(cat, on="product_id", how="left")
    top = t.sort(
        ["quantity", "from_store_id", "to_store_id", "product_id"],
        descending=[True, False, False, False],
    ).head(TOP_TRANSFERS)
    has_date = "arrival_date" in top.columns
    cols = ["from store", "to store", "product", "units", "$/unit", "cost"]
    if has_date:
        cols.append("arrives")
    rows = []
    for r in top.iter_rows(named=True):

        def where(store: object, city: object) -> Cell:
            text = f"{store}" + (f" (city {city})" if city is not None else "")
            return Cell(text, float(store) if isinstance(store, int | float) else str(store))

        prod = f"{r['product_id']}" + (
            f" (category {r['category']})" if r.get("category") is not None else ""
        )
        row = [
            where(r["from_store_id"], r["from_city_id"]),
            where(r["to_store_id"], r["to_city_id"]),
            Cell(prod, float(r["product_id"])),
            Cell(units(r["quantity"]), float(r["quantity"])),
            Cell(money(r["unit_cost"]), float(r["unit_cost"])),
            Cell(money(r["cost"]), float(r["cost"])),
        ]
        if has_date:
            row.append(Cell(str(r["arrival_date"]), str(r["arrival_date"])))
        rows.append(tuple(row))
    n = t.height
    return [
        Table(
            "transfers",
            tuple(cols),
            tuple(rows),
            caption=f"The {len(rows)} largest of the plan's {count(n)} transfers "
            "(click a column to sort; every transfer is in plan/transfer_plan.csv).",
            sortable=True,
            numeric=(True, True, True, True, True, True, False)[: len(cols)],
        )
    ]


def category_elements(run: RunFiles) -> list[Element]:
    cat = run.categories
    if cat is None:
        return [missing_notice(run, "prepare", "prepared/store_product_params.parquet")]
    made = run.plan_table("manufacturing_schedule.csv")
    alloc = run.plan_table("allocation_plan.csv")
    t = run.transfers
    if made is None or alloc is None or t is None:
        return [missing_notice(run, "optimize", "the plan's manufacturing and allocation tables")]

    def by_cat(df: pl.DataFrame, name: str) -> pl.DataFrame:
        return (
            df.join(cat, on="product_id", how="left")
            .group_by("category")
            .agg(pl.col("quantity").sum().alias(name))
        )

    table = (
        by_cat(made, "manufactured")
        .join(by_cat(alloc, "allocated"), on="category", how="full", coalesce=True)
        .join(by_cat(t, "transferred"), on="category", how="full", coalesce=True)
        .with_columns(pl.col("manufactured", "allocated", "transferred").fill_null(0.0))
        .with_columns((pl.col("manufactured") + pl.col("transferred")).alias("_size"))
        .sort(["_size", "category"], descending=[True, False])
        .filter(pl.col("_size") > 0)
    )
    if table.height == 0:
        return [Paragraph("The plan manufactures and moves nothing.")]
    shown = table.head(TOP_CATEGORIES)
    groups = [f"cat {c}" for c in shown["category"].to_list()]
    chart = charts.grouped_bars(
        "categories",
        groups,
        {
            "manufactured": shown["manufactured"].to_list(),
            "allocated to stores": shown["allocated"].to_list(),
            "transferred": shown["transferred"].to_list(),
        },
        ylabel="units",
    )
    more = f" (the {shown.height} busiest of {table.height})" if table.height > shown.height else ""
    lead = shown.row(0, named=True)
    return [
        Figure(
            "Manufacturing and allocation by product category",
            f"Units manufactured, allocated from the plant and transferred between stores per "
            f"product category{more}; category {lead['category']} leads with "
            f"{units(lead['manufactured'])} made and {units(lead['transferred'])} moved.",
            chart,
        )
    ]


def fill_elements(run: RunFiles) -> list[Element]:
    sv = run.service
    if sv is None or "level" not in sv.columns:
        return [missing_notice(run, "optimize", "plan/service_level.csv")]
    target = None
    if "fill_rate_target" in sv.columns and sv["fill_rate_target"].null_count() < sv.height:
        target = float(sv["fill_rate_target"].drop_nulls()[0])
    out: list[Element] = []
    city = sv.filter(pl.col("level") == "city").sort("id")
    if city.height:
        worst = city.sort("fill_rate").row(0, named=True)
        out.append(
            Figure(
                "Expected fill rate by city",
                f"Share of each city's expected demand the plan serves from stock; the lowest "
                f"is city {worst['id']} at {percent(worst['fill_rate'])}"
                + (f" (target {percent(target)})." if target is not None else "."),
                charts.grouped_bars(
                    "fill-city",
                    [f"city {c}" for c in city["id"].to_list()],
                    {"fill rate": city["fill_rate"].to_list()},
                    ylabel="expected fill rate",
                    rate=True,
                    target=target,
                ),
            )
        )
    cat = run.categories
    prod = sv.filter(pl.col("level") == "product")
    if cat is not None and prod.height:
        by = (
            prod.join(cat, left_on="id", right_on="product_id", how="left")
            .group_by("category")
            .agg(pl.col("demand").sum(), pl.col("stockout").sum())
            .with_columns(
                pl.when(pl.col("demand") > 0)
                .then(1 - pl.col("stockout") / pl.col("demand"))
                .otherwise(1.0)
                .alias("fill_rate")
            )
            .sort(["demand", "category"], descending=[True, False])
            .head(TOP_CATEGORIES * 2)
            .sort("category")
        )
        worst = by.sort("fill_rate").row(0, named=True)
        out.append(
            Figure(
                "Expected fill rate by product category",
                f"The same by product category; the lowest is category {worst['category']} "
                f"at {percent(worst['fill_rate'])}.",
                charts.grouped_bars(
                    "fill-category",
                    [f"cat {c}" for c in by["category"].to_list()],
                    {"fill rate": by["fill_rate"].to_list()},
                    ylabel="expected fill rate",
                    rate=True,
                    target=target,
                ),
            )
        )
    return out or [Paragraph("The plan has no city or product service rows.")]


def _top_storage(mv: pl.DataFrame, value: str) -> pl.DataFrame:
    """Per store, its product with the largest ``value`` (ties by product id), largest first."""
    return (
        mv.filter(pl.col("resource") == "storage")
        .sort([value, "store_id", "product_id"], descending=[True, False, False])
        .group_by("store_id", maintain_order=True)
        .agg(pl.col(value).first(), pl.col("product_id").first())
        .sort([value, "store_id"], descending=[True, False])
    )


def marginal_elements(run: RunFiles) -> list[Element]:
    mv = run.marginal_values
    if mv is None or mv["marginal_value"].null_count() == mv.height:
        return [
            Notice(
                "The plan has no marginal values (plan/marginal_values.csv comes from the "
                f"HiGHS backend's duals); run `rama optimize --run {run.root}` to compute them.",
                "missing",
            )
        ]
    mv = mv.with_columns(
        pl.col("marginal_value").fill_null(0.0),
        pl.when(pl.col("capacity") > 0)
        .then(pl.col("used") / pl.col("capacity"))
        .otherwise(0.0)
        .fill_nan(0.0)
        .alias("utilization"),
    )
    binding = mv.filter(pl.col("marginal_value") > 0)
    n_prod = binding.filter(pl.col("resource") == "production").height
    n_store = binding.filter(pl.col("resource") == "storage").height
    value = "marginal_value" if binding.height else "utilization"
    prod = (
        mv.filter((pl.col("resource") == "production") & (pl.col(value) > 0))
        .sort([value, "product_id"], descending=[True, False])
        .head(TOP_MARGINAL)
    )
    store = _top_storage(mv.filter(pl.col(value) > 0), value).head(TOP_MARGINAL)
    chart = charts.ranked_bars(
        "marginal",
        [
            (
                "production capacity, per product",
                [f"product {p}" for p in prod["product_id"].to_list()],
                prod[value].to_list(),
            ),
            (
                "storage, per store (its best product)",
                [
                    f"store {s} (product {p})"
                    for s, p in zip(store["store_id"], store["product_id"], strict=True)
                ],
                store[value].to_list(),
            ),
        ],
        xlabel="$ saved per extra unit" if binding.height else "share of the capacity used",
        rate=not binding.height,
    )
    files = "all in plan/marginal_values.csv"
    if not binding.height:
        tight = []
        if prod.height:
            r = prod.row(0, named=True)
            tight.append(f"product {r['product_id']} uses {percent(r[value])} of its production")
        if store.height:
            r = store.row(0, named=True)
            tight.append(
                f"store {r['store_id']} fills {percent(r[value])} of its storage for product "
                f"{r['product_id']}"
            )
        caption = (
            "No production or storage capacity binds, so one more unit of either would save "
            "nothing (every dual is $0); the bars show the tightest capacities instead"
            + (": " + "; ".join(tight) if tight else "")
            + f" ({files})."
        )
    else:
        lead = []
        if prod.height:
            r = prod.row(0, named=True)
            lead.append(
                f"one more unit of product {r['product_id']}'s production saves {money(r[value])}"
            )
        if store.height:
            r = store.row(0, named=True)
            lead.append(
                f"one more unit of storage at store {r['store_id']} (product "
                f"{r['product_id']}) saves {money(r[value])}"
            )
        caption = (
            "What the plan's cost would fall by with one more unit of capacity, from the LP's "
            f"duals: {'; '.join(lead)} ({count(n_prod)} products and {count(n_store)} "
            f"store-product pairs are at their limit; {files})."
        )
    return [Figure("Where one more unit would help most", caption, chart)]
