"""The problem folder: read (validated) and write the tables of a :class:`Problem`.

Folder layout (each table ``.parquet`` or ``.csv``): ``store_products``, ``products``,
``stores``, ``transport_costs`` (see :mod:`rama.problem.model`) and, for a stochastic problem,
``demand_points`` (``store_id, product_id, point_1..point_K``, units); optionally
``demand_grid`` (``store_id, product_id, q2.5..q97.5``: the forecast's quantiles of each pair's
horizon total at the levels ``(g - 0.5) / G``, units; ``Problem.demand_grid``), the
distribution of ``stochastic.distribution = "empirical"``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.io import atomic_dir, read_table
from rama.problem.model import TABLES, Problem, align_pairs, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.schema import TableSchema, check_magnitudes, id_column, nonneg, validate

POINTS_TABLE = "demand_points"  # optional: a stochastic problem's K demand points per pair
GRID_TABLE = "demand_grid"  # optional: the forecast's quantile grid of each horizon total


def _table_path(folder: Path, name: str) -> str:
    pq = folder / f"{name}.parquet"
    return str(pq if pq.is_file() else folder / f"{name}.csv")


def load_problem(folder: Path) -> Problem:
    """Read and validate a problem folder (tables as .parquet or .csv)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataValidationError(
            str(folder),
            "problem folder not found",
            reason="not_found",
            fix="pass an existing folder with --problem",
        )
    tables = {name: read_table(folder, name) for name in TABLES}
    sources = {name: _table_path(folder, name) for name in TABLES}
    for name in ("store_products", "products", "stores"):
        if tables[name].height == 0:
            raise DataValidationError(
                sources[name],
                f"has no rows: a problem needs at least one {name.rstrip('s')} "
                "(an empty network has nothing to plan)",
                reason="empty",
                fix="write the problem's rows (docs/optimizer.md), or rebuild the folder with "
                "`rama optimize --run RUN`",
            )
    for name in TABLES:
        numeric = [c for c in tables[name].columns if not c.endswith("_id")]
        keys = [c for c in tables[name].columns if c.endswith("_id")]
        check_magnitudes(tables[name], numeric, sources[name], id_columns=keys)
    problem = make_problem(
        tables["store_products"],
        tables["products"],
        tables["stores"],
        tables["transport_costs"],
        sources=sources,
        source=str(folder),
    )
    if _has(folder, GRID_TABLE):
        grid = read_grid(read_table(folder, GRID_TABLE), problem, _table_path(folder, GRID_TABLE))
        problem = replace(problem, demand_grid=grid)
    if not _has(folder, POINTS_TABLE):
        return problem
    points = read_points(
        read_table(folder, POINTS_TABLE), problem, _table_path(folder, POINTS_TABLE)
    )
    return stochastic_problem(problem, points)


def _has(folder: Path, name: str) -> bool:
    return any((folder / f"{name}.{ext}").is_file() for ext in ("parquet", "csv"))


def grid_columns(n_levels: int) -> list[str]:
    """Names of a quantile grid's columns at the levels ``(g - 0.5) / G``: ``q2.5 .. q97.5``
    for G = 20 (the forecast's ``horizon_quantiles.parquet``)."""
    return [f"q{round(100 * (g - 0.5) / n_levels, 6):g}" for g in range(1, n_levels + 1)]


def read_grid(df: pl.DataFrame, problem: Problem, source: str) -> np.ndarray:
    """A quantile grid table (``store_id, product_id, q..`` at the levels ``(g - 0.5) / G``,
    units, finite, ``>= 0``, non-decreasing along a row; other columns ignored) as the
    ``n_pairs x G`` array of ``Problem.demand_grid``: the problem's pair order, a NaN row for
    a pair the table does not list. A row for a pair outside the problem, or twice, raises."""
    cols = [c for c in df.columns if c.startswith("q") and c[1:].replace(".", "", 1).isdigit()]
    cols.sort(key=lambda c: float(c[1:]))
    missing = [c for c in ("store_id", "product_id") if c not in df.columns]
    if missing or not cols or cols != grid_columns(len(cols)):
        raise DataValidationError(
            source,
            "expected columns store_id, product_id and the quantiles q.. at the levels "
            f"(g - 0.5) / G (for G = 20: q2.5, q7.5, .., q97.5); got {df.columns}",
            reason="missing_column",
            column=missing[0] if missing else None,
            fix="write the forecast's horizon_quantiles.parquet columns (docs/forecast.md)",
        )
    fix = "quantiles must be finite and >= 0 (units)"
    schema = TableSchema(
        GRID_TABLE,
        (
            id_column("store_id"),
            id_column("product_id"),
            *(nonneg(c, "units", fix=fix) for c in cols),
        ),
        id_columns=("store_id", "product_id"),
        unique_keys=("store_id", "product_id"),
        min_rows=0,
    )
    df = validate(df.select("store_id", "product_id", *cols), schema, source)
    values = df.select(cols).to_numpy().astype(np.float64)
    falling = (np.diff(values, axis=1) < -1e-9 * np.maximum(1.0, values[:, 1:])).any(axis=1)
    if falling.any():
        raise DataValidationError(
            source,
            "quantiles decrease along a row (a quantile function is non-decreasing)",
            reason="out_of_range",
            examples=df.filter(pl.Series(falling)).head(5).to_dicts(),
            count=int(falling.sum()),
            fix="sort each row's quantiles, or re-run `rama forecast`",
        )
    keys = problem.store_products.select("store_id", "product_id").with_row_index("__pos")
    pos = df.select("store_id", "product_id").join(
        keys, on=["store_id", "product_id"], how="left", maintain_order="left"
    )["__pos"]
    unknown = pos.is_null()
    if unknown.any():
        raise DataValidationError(
            source,
            "rows for store-product pairs that are not in store_products",
            reason="unknown_id",
            examples=df.filter(unknown).select("store_id", "product_id").head(5).to_dicts(),
            count=int(unknown.sum()),
            fix="drop them or add the pairs to store_products",
        )
    grid = np.full((problem.n_pairs, len(cols)), np.nan)
    grid[pos.to_numpy().astype(np.int64)] = np.maximum.accumulate(values, axis=1)
    return grid


def grid_frame(problem: Problem) -> pl.DataFrame:
    """``problem.demand_grid`` as the table ``store_id, product_id, q..`` (pairs with a row)."""
    g = problem.demand_grid
    assert g is not None
    ok = np.isfinite(g).all(axis=1)
    keys = problem.store_products.select("store_id", "product_id").filter(pl.Series(ok))
    return keys.with_columns(
        pl.Series(name, g[ok, j]) for j, name in enumerate(grid_columns(g.shape[1]))
    )


def points_schema(k: int) -> TableSchema:
    """The ``demand_points`` table with ``k`` points: store_id, product_id, point_1..point_k
    (units, finite, >= 0), one row per store-product pair."""
    fix = "points must be finite and >= 0 (units)"
    return TableSchema(
        POINTS_TABLE,
        (
            id_column("store_id"),
            id_column("product_id"),
            *(nonneg(f"point_{j}", "units", fix=fix) for j in range(1, k + 1)),
        ),
        id_columns=("store_id", "product_id"),
        min_rows=0,
    )


def read_points(df: pl.DataFrame, problem: Problem, source: str) -> np.ndarray:
    """The ``demand_points`` table (``store_id, product_id, point_1..point_K``) as an
    ``n_pairs x K`` array in the problem's pair order; every pair exactly once."""
    cols = [c for c in df.columns if c.startswith("point_")]
    expected = [f"point_{k}" for k in range(1, len(cols) + 1)]
    missing = [c for c in ("store_id", "product_id") if c not in df.columns]
    if missing or not cols or sorted(cols, key=lambda c: (len(c), c)) != expected:
        raise DataValidationError(
            source,
            f"expected columns store_id, product_id, point_1..point_K; got {df.columns}",
            reason="missing_column",
            column=missing[0] if missing else None,
            fix="write one row per store-product pair with its K demand points (units)",
        )
    df = validate(df.select("store_id", "product_id", *expected), points_schema(len(cols)), source)
    joined = align_pairs(
        df,
        problem.store_products.select("store_id", "product_id"),
        source,
        value=expected[0],
        extra=(
            "rows for pairs that are not in store_products",
            "drop them or add the pairs to store_products",
        ),
        missing=(
            "store-product pairs without demand points",
            "add a row of points for every pair of store_products",
        ),
    )
    return joined.select(expected).to_numpy().astype(np.float64)


def transport_frame(problem: Problem) -> pl.DataFrame:
    """The routes as the long table from_store_id, to_store_id, cost."""
    f, t, c = problem.transport.to_long()
    ids = problem.store_ids
    return pl.DataFrame({"from_store_id": ids[f], "to_store_id": ids[t], "cost": c})


def write_problem(problem: Problem, folder: Path) -> Path:
    """Write the four tables as Parquet into ``folder`` (atomically replaced); a stochastic
    problem also writes ``demand_points`` (``store_id, product_id, point_1..point_K``), a
    problem with a quantile grid ``demand_grid`` (``store_id, product_id, q..``)."""
    with atomic_dir(Path(folder)) as tmp:
        problem.store_products.drop("store_idx", "product_idx").write_parquet(
            tmp / "store_products.parquet"
        )
        problem.products.write_parquet(tmp / "products.parquet")
        problem.stores.write_parquet(tmp / "stores.parquet")
        transport_frame(problem).write_parquet(tmp / "transport_costs.parquet")
        if problem.demand_points is not None:
            pts = problem.demand_points
            points = problem.store_products.select("store_id", "product_id").with_columns(
                pl.Series(f"point_{k + 1}", pts[:, k]) for k in range(pts.shape[1])
            )
            points.write_parquet(tmp / f"{POINTS_TABLE}.parquet")
        if problem.demand_grid is not None:
            grid_frame(problem).write_parquet(tmp / f"{GRID_TABLE}.parquet")
    return Path(folder)
