"""The optimizer's input: four validated tables (the problem folder) as one frozen object.

Folder layout (each table ``.parquet`` or ``.csv``; all money in $/unit for the period):

- ``store_products``: store_id, product_id, demand, demand_std, current_inventory,
  safety_stock, max_capacity (units);
- ``products``: product_id, holding_cost, stockout_penalty, manufacturing_cost ($/unit),
  max_production (units);
- ``stores``: store_id, distribution_cost ($/unit), optional city_id;
- ``transport_costs``: from_store_id, to_store_id, cost ($/unit); one row per allowed
  ordered pair, an absent pair is not a route, rows with from == to are ignored.

``max_capacity`` and ``max_production`` may be ``inf`` (unlimited). See docs/optimizer.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import polars as pl

from rama.errors import DataValidationError
from rama.problem.transport import CityCosts, TransportCosts
from rama.schema import (
    PAIR_KEYS,
    TableSchema,
    check_unique,
    fail,
    id_column,
    known_positions,
    nonneg,
    validate,
)

_PAIR = ("store_id", "product_id")

SCHEMAS: dict[str, TableSchema] = {
    "store_products": TableSchema(
        "store_products",
        (
            id_column("store_id"),
            id_column("product_id"),
            nonneg("demand", "units"),
            nonneg("demand_std", "units"),
            nonneg("current_inventory", "units"),
            nonneg("safety_stock", "units"),
            nonneg("max_capacity", "units; inf = unlimited", allow_inf=True),
        ),
        id_columns=_PAIR,
        unique_keys=_PAIR,
        allow_extra_columns=True,
    ),
    "products": TableSchema(
        "products",
        (
            id_column("product_id"),
            nonneg("holding_cost", "$/unit"),
            nonneg("stockout_penalty", "$/unit"),
            nonneg("manufacturing_cost", "$/unit"),
            nonneg("max_production", "units; inf = unlimited", allow_inf=True),
        ),
        id_columns=("product_id",),
        unique_keys=("product_id",),
        allow_extra_columns=True,
    ),
    "stores": TableSchema(
        "stores",
        (
            id_column("store_id"),
            nonneg("distribution_cost", "$/unit"),
            id_column("city_id", required=False),
        ),
        id_columns=("store_id",),
        unique_keys=("store_id",),
        allow_extra_columns=True,
    ),
    "transport_costs": TableSchema(
        "transport_costs",
        (id_column("from_store_id"), id_column("to_store_id"), nonneg("cost", "$/unit")),
        id_columns=("from_store_id", "to_store_id"),
        unique_keys=("from_store_id", "to_store_id"),
        allow_extra_columns=True,
    ),
}
"""The problem folder's tables in :mod:`rama.schema` (extra columns are dropped)."""


def validate_table(df: pl.DataFrame, name: str, source: str) -> pl.DataFrame:
    """One problem table checked against ``SCHEMAS[name]`` and cast (ids Int64, rest Float64)."""
    return validate(df, SCHEMAS[name], source)


TABLES = tuple(SCHEMAS)


@dataclass(frozen=True, eq=False)
class Problem:
    """A validated planning problem.

    ``stores`` is sorted by store_id, ``products`` by product_id and ``store_products`` by
    (product_id, store_id) with added ``store_idx`` / ``product_idx`` positions, so the pairs
    of product ``k`` are the rows ``product_start[k]:product_start[k + 1]``.
    """

    stores: pl.DataFrame
    products: pl.DataFrame
    store_products: pl.DataFrame
    transport: TransportCosts
    source: str = "in-memory"
    # Stochastic plans only (rama.optimize.stochastic): per pair (store_products order) K
    # equiprobable demand points, sorted; ``demand`` is then their mean. None = deterministic.
    demand_points: np.ndarray | None = None
    # The forecast's empirical horizon distribution per pair (store_products order): ``n x G``
    # quantiles of the horizon total at the levels ``(g - 0.5) / G`` (units; the forecast's
    # ``horizon_quantiles.parquet``), a NaN row for a pair without one. None = no grid.
    demand_grid: np.ndarray | None = None

    @property
    def n_stores(self) -> int:
        return self.stores.height

    @property
    def n_products(self) -> int:
        return self.products.height

    @property
    def n_pairs(self) -> int:
        return self.store_products.height

    def _col(self, frame: pl.DataFrame, name: str, dtype: type = np.float64) -> np.ndarray:
        return np.ascontiguousarray(frame[name].to_numpy(), dtype=dtype)

    @cached_property
    def store_ids(self) -> np.ndarray:
        return self._col(self.stores, "store_id", np.int64)

    @cached_property
    def product_ids(self) -> np.ndarray:
        return self._col(self.products, "product_id", np.int64)

    @cached_property
    def pair_store(self) -> np.ndarray:
        """Store position of each pair (int64)."""
        return self._col(self.store_products, "store_idx", np.int64)

    @cached_property
    def pair_product(self) -> np.ndarray:
        """Product position of each pair (int64)."""
        return self._col(self.store_products, "product_idx", np.int64)

    @cached_property
    def product_start(self) -> np.ndarray:
        """Offsets (n_products + 1) of each product's pairs."""
        counts = np.bincount(self.pair_product, minlength=self.n_products)
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    @cached_property
    def demand(self) -> np.ndarray:
        return self._col(self.store_products, "demand")

    @cached_property
    def current_inventory(self) -> np.ndarray:
        return self._col(self.store_products, "current_inventory")

    @cached_property
    def safety_stock(self) -> np.ndarray:
        return self._col(self.store_products, "safety_stock")

    @cached_property
    def max_capacity(self) -> np.ndarray:
        return self._col(self.store_products, "max_capacity")

    @cached_property
    def max_transfer_out(self) -> np.ndarray:
        """C2 right-hand side max(0, current_inventory - safety_stock) per pair (units)."""
        return np.asarray(np.maximum(0.0, self.current_inventory - self.safety_stock))

    @cached_property
    def holding_cost(self) -> np.ndarray:
        return self._col(self.products, "holding_cost")

    @cached_property
    def stockout_penalty(self) -> np.ndarray:
        return self._col(self.products, "stockout_penalty")

    @cached_property
    def manufacturing_cost(self) -> np.ndarray:
        return self._col(self.products, "manufacturing_cost")

    @cached_property
    def max_production(self) -> np.ndarray:
        return self._col(self.products, "max_production")

    @cached_property
    def distribution_cost(self) -> np.ndarray:
        return self._col(self.stores, "distribution_cost")

    @cached_property
    def city_costs(self) -> CityCosts | None:
        """The transport costs in city form when ``stores.city_id`` explains them exactly."""
        if "city_id" not in self.stores.columns:
            return None
        return self.transport.city_form(self._col(self.stores, "city_id", np.int64))

    def subset(self, product_ids: np.ndarray) -> Problem:
        """The same network restricted to some products (all stores and routes kept)."""
        keep = pl.Series("product_id", np.asarray(product_ids, dtype=np.int64))
        sp = self.store_products.filter(pl.col("product_id").is_in(keep.implode()))
        pr = self.products.filter(pl.col("product_id").is_in(keep.implode()))
        sub = make_problem(
            sp.drop("store_idx", "product_idx"), pr, self.stores, self.transport, validate=False
        )
        if self.demand_points is None and self.demand_grid is None:
            return sub
        mask = np.isin(self.product_ids[self.pair_product], keep.to_numpy())
        return replace(
            sub,
            demand_points=None if self.demand_points is None else self.demand_points[mask],
            demand_grid=None if self.demand_grid is None else self.demand_grid[mask],
        )


def _known(df: pl.DataFrame, col: str, ids: np.ndarray, what: str, source: str) -> np.ndarray:
    """Positions of ``df[col]`` in sorted ``ids``; an unknown id raises (``unknown_id``)."""
    keys = [c for c in (*_PAIR, "from_store_id", "to_store_id") if c in df.columns]
    return known_positions(df, col, ids, what, source, id_columns=keys)


def _transport_from_table(
    df: pl.DataFrame, store_ids: np.ndarray, source: str, validate: bool
) -> TransportCosts:
    if validate:
        df = validate_table(df, "transport_costs", source)
    f = _known(df, "from_store_id", store_ids, "store", source)
    t = _known(df, "to_store_id", store_ids, "store", source)
    return TransportCosts.from_long(store_ids.size, f, t, df["cost"].to_numpy())


def _check_matrix(tc: TransportCosts, source: str) -> None:
    if tc.n_stores != 0 and tc.dense is not None:
        bad = tc.dense < 0
    elif tc.csr is not None:
        bad = np.asarray(tc.csr.data) < 0
    else:
        return
    if bad.any():
        raise DataValidationError(
            source,
            f"negative transport cost ({int(bad.sum())} entries)",
            reason="negative",
            column="cost",
            fix="costs must be >= 0 ($/unit); use inf or NaN for no route",
        )


def make_problem(
    store_products: pl.DataFrame,
    products: pl.DataFrame,
    stores: pl.DataFrame,
    transport: pl.DataFrame | TransportCosts | np.ndarray,
    *,
    sources: Mapping[str, str] | None = None,
    validate: bool = True,
    source: str = "in-memory",
) -> Problem:
    """Validate the four tables of a planning problem and index them into a :class:`Problem`.

    Parameters
    ----------
    store_products : polars.DataFrame
        One row per store-product pair: ``store_id``, ``product_id`` (integer ids),
        ``demand``, ``demand_std``, ``current_inventory``, ``safety_stock`` (units over the
        planning period, finite, >= 0) and ``max_capacity`` (units, >= 0, ``inf`` =
        unlimited). Extra columns are dropped.
    products : polars.DataFrame
        One row per product: ``product_id``, ``holding_cost``, ``stockout_penalty``,
        ``manufacturing_cost`` ($/unit for the period, finite, >= 0) and
        ``max_production`` (units, >= 0, ``inf`` = unlimited).
    stores : polars.DataFrame
        One row per store: ``store_id``, ``distribution_cost`` ($/unit, finite, >= 0) and
        optionally ``city_id``.
    transport : polars.DataFrame or TransportCosts or numpy.ndarray
        The routes ($/unit): the long table ``from_store_id, to_store_id, cost`` (one row
        per allowed ordered pair; an absent pair is not a route, from == to is ignored), a
        :class:`TransportCosts`, or a dense ``n_stores x n_stores`` matrix ordered by sorted
        ``store_id`` (NaN or inf = no route).
    sources : mapping of str to str, optional
        Table name -> where it came from (a file path), named in error messages;
        default ``"<name> (in memory)"``.
    validate : bool, default True
        Check every table against :data:`SCHEMAS` (:mod:`rama.schema`); False trusts
        tables that are already valid (ids must still be known).
    source : str, default "in-memory"
        The problem's origin, kept as :attr:`Problem.source`.

    Returns
    -------
    Problem
        Stores sorted by ``store_id``, products by ``product_id`` and pairs by
        (``product_id``, ``store_id``), ids cast to Int64 and quantities to Float64.

    Raises
    ------
    DataValidationError
        A table breaks its schema, or a pair / route names an unknown id (``reason``
        ``unknown_id``); the message names the table, the column, the rows and the fix.

    Examples
    --------
    Two stores and one product; store 2 holds 9 units, 8 more than its safety stock:

    >>> import polars as pl
    >>> problem = make_problem(
    ...     pl.DataFrame(
    ...         {
    ...             "store_id": [2, 1],
    ...             "product_id": [7, 7],
    ...             "demand": [1.0, 5.0],
    ...             "demand_std": [0.5, 1.0],
    ...             "current_inventory": [9.0, 0.0],
    ...             "safety_stock": [1.0, 1.0],
    ...             "max_capacity": [20.0, float("inf")],
    ...         }
    ...     ),
    ...     pl.DataFrame(
    ...         {
    ...             "product_id": [7],
    ...             "holding_cost": [0.7],
    ...             "stockout_penalty": [2.5],
    ...             "manufacturing_cost": [1.0],
    ...             "max_production": [100.0],
    ...         }
    ...     ),
    ...     pl.DataFrame({"store_id": [1, 2], "distribution_cost": [0.2, 0.3]}),
    ...     pl.DataFrame({"from_store_id": [2], "to_store_id": [1], "cost": [0.1]}),
    ... )
    >>> problem.n_stores, problem.n_products, problem.n_pairs
    (2, 1, 2)
    >>> problem.store_ids.tolist(), problem.max_transfer_out.tolist()
    ([1, 2], [0.0, 8.0])
    >>> problem.transport.n_routes()
    1

    A route to a store that is not in the stores table is refused:

    >>> try:
    ...     make_problem(
    ...         problem.store_products.drop("store_idx", "product_idx"),
    ...         problem.products,
    ...         problem.stores,
    ...         pl.DataFrame({"from_store_id": [2], "to_store_id": [3], "cost": [0.1]}),
    ...     )
    ... except DataValidationError as exc:
    ...     print(exc.reason, exc.column, exc.count)
    unknown_id to_store_id 1
    """
    src = {name: f"{name} (in memory)" for name in TABLES}
    src.update(sources or {})
    if validate:
        stores = validate_table(stores, "stores", src["stores"])
        products = validate_table(products, "products", src["products"])
        store_products = validate_table(store_products, "store_products", src["store_products"])
    stores = stores.sort("store_id")
    products = products.sort("product_id")
    store_ids = stores["store_id"].to_numpy().astype(np.int64)
    product_ids = products["product_id"].to_numpy().astype(np.int64)
    # positions before sorting, so an error's example rows are the rows of the given table
    s_idx = _known(store_products, "store_id", store_ids, "store", src["store_products"])
    p_idx = _known(store_products, "product_id", product_ids, "product", src["store_products"])
    store_products = store_products.with_columns(
        pl.Series("store_idx", s_idx, dtype=pl.Int64),
        pl.Series("product_idx", p_idx, dtype=pl.Int64),
    ).sort("product_id", "store_id")
    if isinstance(transport, pl.DataFrame):
        tc = _transport_from_table(transport, store_ids, src["transport_costs"], validate)
    elif isinstance(transport, TransportCosts):
        tc = transport
    else:
        tc = TransportCosts.from_dense(transport)
    if tc.n_stores != store_ids.size:
        raise DataValidationError(
            src["transport_costs"],
            f"matrix is for {tc.n_stores} stores but the stores table has {store_ids.size}",
            reason="size_mismatch",
            fix="pass a square matrix ordered by sorted store_id",
        )
    if validate and not isinstance(transport, pl.DataFrame):
        _check_matrix(tc, src["transport_costs"])
    return Problem(stores, products, store_products, tc, source)


def align_pairs(
    df: pl.DataFrame,
    keys: pl.DataFrame,
    source: str,
    *,
    value: str,
    extra: tuple[str, str],
    missing: tuple[str, str],
) -> pl.DataFrame:
    """``df`` (one row per store-product pair) joined onto ``keys`` in their order.

    A duplicate pair (reason ``duplicate_key``), a pair of ``df`` not in ``keys``
    (``unknown_id``; ``extra`` = problem, fix) or a pair of ``keys`` without a row (``value``
    null after the join; ``missing_rows``; ``missing`` = problem, fix) is a
    DataValidationError naming ``source`` with example rows and the count.
    """
    check_unique(df, PAIR_KEYS, source, fix="keep one row per store and product")
    outside = df.with_row_index("__pos").join(keys, on=list(PAIR_KEYS), how="anti")["__pos"]
    if outside.len():
        raise fail(
            df,
            pl.int_range(pl.len()).is_in(outside.implode()),
            source,
            extra[0],
            reason="unknown_id",
            column=None,
            fix=extra[1],
            id_columns=PAIR_KEYS,
            show=[],
        )
    joined = keys.join(df, on=list(PAIR_KEYS), how="left", maintain_order="left")
    absent = joined.filter(pl.col(value).is_null()).select(list(PAIR_KEYS))
    if absent.height:
        raise DataValidationError(
            source,
            missing[0],
            reason="missing_rows",
            examples=absent.head(5).to_dicts(),
            count=absent.height,
            fix=missing[1],
        )
    return joined
