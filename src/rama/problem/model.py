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

ID, NONNEG, NONNEG_INF = "id", "nonneg", "nonneg_or_inf"

SCHEMAS: dict[str, dict[str, str]] = {
    "store_products": {
        "store_id": ID,
        "product_id": ID,
        "demand": NONNEG,
        "demand_std": NONNEG,
        "current_inventory": NONNEG,
        "safety_stock": NONNEG,
        "max_capacity": NONNEG_INF,
    },
    "products": {
        "product_id": ID,
        "holding_cost": NONNEG,
        "stockout_penalty": NONNEG,
        "manufacturing_cost": NONNEG,
        "max_production": NONNEG_INF,
    },
    "stores": {"store_id": ID, "distribution_cost": NONNEG},
    "transport_costs": {"from_store_id": ID, "to_store_id": ID, "cost": NONNEG},
}
OPTIONAL: dict[str, dict[str, str]] = {"stores": {"city_id": ID}}
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
        return np.maximum(0.0, self.current_inventory - self.safety_stock)

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
        if self.demand_points is None:
            return sub
        mask = np.isin(self.product_ids[self.pair_product], keep.to_numpy())
        return replace(sub, demand_points=self.demand_points[mask])


def _fail(
    source: str, problem: str, df: pl.DataFrame, mask: pl.Series, column: str | None, fix: str
) -> DataValidationError:
    bad = df.with_row_index("row", offset=1).filter(mask)
    return DataValidationError(
        source, problem, column=column, examples=bad.head(5).to_dicts(), count=bad.height, fix=fix
    )


def _validate_columns(df: pl.DataFrame, name: str, source: str) -> pl.DataFrame:
    """Check the required columns exist and have the right kind; return them cast."""
    schema = dict(SCHEMAS[name])
    missing = [c for c in schema if c not in df.columns]
    if missing:
        raise DataValidationError(
            source,
            f"missing column(s) {missing}; found {df.columns}",
            fix=f"the {name} table needs columns {list(schema)}",
        )
    schema.update({c: k for c, k in OPTIONAL.get(name, {}).items() if c in df.columns})
    out = []
    for col, kind in schema.items():
        s = df[col]
        if s.null_count():
            raise _fail(source, "missing value", df, s.is_null(), col, f"fill in every {col}")
        if kind == ID:
            if not s.dtype.is_integer():
                if s.dtype.is_float() and bool((s == s.round(0)).all()):
                    s = s.cast(pl.Int64)
                else:
                    raise DataValidationError(
                        source,
                        f"expected integer ids, found dtype {s.dtype}",
                        column=col,
                        examples=df.head(3).to_dicts(),
                        fix=f"write {col} as integers",
                    )
            out.append(s.cast(pl.Int64))
            continue
        if not s.dtype.is_numeric():
            num = s.cast(pl.Float64, strict=False)
            raise _fail(source, "not a number", df, num.is_null(), col, f"write {col} as numbers")
        s = s.cast(pl.Float64)
        if s.is_nan().any():
            raise _fail(source, "NaN value", df, s.is_nan(), col, f"give every {col} a value")
        if (s < 0).any():
            raise _fail(source, "negative value", df, s < 0, col, f"{col} must be >= 0")
        if kind == NONNEG and s.is_infinite().any():
            raise _fail(source, "infinite value", df, s.is_infinite(), col, f"{col} must be finite")
        out.append(s)
    return pl.DataFrame(out)


def _unique(df: pl.DataFrame, keys: list[str], source: str) -> None:
    dup = df.select(keys).is_duplicated()
    if dup.any():
        raise _fail(source, f"duplicate {'/'.join(keys)}", df, dup, None, "keep one row per key")


def _known(df: pl.DataFrame, col: str, ids: np.ndarray, what: str, source: str) -> np.ndarray:
    """Positions of ``df[col]`` in sorted ``ids``; an unknown id raises."""
    vals = df[col].to_numpy().astype(np.int64)
    pos = np.searchsorted(ids, vals)
    ok = (pos < ids.size) & (ids[np.minimum(pos, ids.size - 1)] == vals) if ids.size else pos < 0
    if not ok.all():
        raise _fail(
            source,
            f"{col} not found in the {what} table",
            df,
            pl.Series(~ok),
            col,
            f"add the {what} to the {what} table or remove these rows",
        )
    return pos


def _transport_from_table(
    df: pl.DataFrame, store_ids: np.ndarray, source: str, validate: bool
) -> TransportCosts:
    if validate:
        df = _validate_columns(df, "transport_costs", source)
        _unique(df, ["from_store_id", "to_store_id"], source)
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
    """Validate the four tables and index them into a :class:`Problem`.

    ``transport`` is the long table, a :class:`TransportCosts`, or a dense
    ``n_stores x n_stores`` matrix ordered by sorted store_id (NaN/inf = no route).
    """
    src = {name: f"{name} (in memory)" for name in TABLES}
    src.update(sources or {})
    if validate:
        stores = _validate_columns(stores, "stores", src["stores"])
        products = _validate_columns(products, "products", src["products"])
        store_products = _validate_columns(store_products, "store_products", src["store_products"])
        _unique(stores, ["store_id"], src["stores"])
        _unique(products, ["product_id"], src["products"])
        _unique(store_products, ["store_id", "product_id"], src["store_products"])
    stores = stores.sort("store_id")
    products = products.sort("product_id")
    store_products = store_products.sort("product_id", "store_id")
    store_ids = stores["store_id"].to_numpy().astype(np.int64)
    product_ids = products["product_id"].to_numpy().astype(np.int64)
    s_idx = _known(store_products, "store_id", store_ids, "store", src["store_products"])
    p_idx = _known(store_products, "product_id", product_ids, "product", src["store_products"])
    store_products = store_products.with_columns(
        pl.Series("store_idx", s_idx, dtype=pl.Int64),
        pl.Series("product_idx", p_idx, dtype=pl.Int64),
    )
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
            fix="pass a square matrix ordered by sorted store_id",
        )
    if validate and not isinstance(transport, pl.DataFrame):
        _check_matrix(tc, src["transport_costs"])
    return Problem(stores, products, store_products, tc, source)


PAIR_KEYS = ["store_id", "product_id"]


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

    A duplicate pair, a pair of ``df`` not in ``keys`` (``extra`` = problem, fix) or a pair of
    ``keys`` without a row (``value`` null after the join; ``missing`` = problem, fix) is a
    DataValidationError naming ``source`` with example rows and the count.
    """
    dup = df.select(PAIR_KEYS).is_duplicated()
    if dup.any():
        raise DataValidationError(
            source,
            "duplicate store_id/product_id",
            examples=df.filter(dup).head(5).to_dicts(),
            count=int(dup.sum()),
            fix="keep one row per store and product",
        )
    outside = df.join(keys, on=PAIR_KEYS, how="anti")
    if outside.height:
        raise DataValidationError(
            source,
            extra[0],
            examples=outside.head(5).to_dicts(),
            count=outside.height,
            fix=extra[1],
        )
    joined = keys.join(df, on=PAIR_KEYS, how="left", maintain_order="left")
    absent = joined.filter(pl.col(value).is_null()).select(PAIR_KEYS)
    if absent.height:
        raise DataValidationError(
            source,
            missing[0],
            examples=absent.head(5).to_dicts(),
            count=absent.height,
            fix=missing[1],
        )
    return joined
