"""The problem folder: read (validated) and write the tables of a :class:`Problem`.

Folder layout (each table ``.parquet`` or ``.csv``): ``store_products``, ``products``,
``stores``, ``transport_costs`` (see :mod:`rama.problem.model`) and, for a stochastic problem,
``demand_points`` (``store_id, product_id, point_1..point_K``, units).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.io import atomic_dir, read_table
from rama.problem.model import TABLES, Problem, align_pairs, make_problem
from rama.problem.stochastic import stochastic_problem
from rama.schema import TableSchema, check_magnitudes, id_column, nonneg, validate

POINTS_TABLE = "demand_points"  # optional: a stochastic problem's K demand points per pair


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
    if not any((folder / f"{POINTS_TABLE}.{ext}").is_file() for ext in ("parquet", "csv")):
        return problem
    points = read_points(
        read_table(folder, POINTS_TABLE), problem, _table_path(folder, POINTS_TABLE)
    )
    return stochastic_problem(problem, points)


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
    problem also writes ``demand_points`` (``store_id, product_id, point_1..point_K``)."""
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
    return Path(folder)
