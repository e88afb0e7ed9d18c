"""The network a synthetic dataset describes: cities, stores, the product hierarchy and
the distinct store-product pairs (series), scaled from the published FreshRetailNet-50K
counts (18 cities, 898 stores, 865 products, 50,000 pairs)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FULL_CITIES = 18
FULL_STORES = 898
FULL_PRODUCTS = 865
FULL_PAIRS = 50_000
# Hierarchy widths at full scale: management group -> first -> second -> third category.
FULL_HIERARCHY = (6, 32, 96, 288)
# Below this many pairs per product the catalogue shrinks, so that a product still reaches
# several stores (otherwise a tiny dataset has no product shared by two stores).
MIN_PAIRS_PER_PRODUCT = 5
# Zipf exponent of product reach: reach[rank] ~ rank^-ZIPF_EXPONENT (capped at the store count).
ZIPF_EXPONENT = 0.8


@dataclass(frozen=True)
class Counts:
    """Entity counts for one ``scale``."""

    cities: int
    stores: int
    products: int
    pairs: int


def scale_counts(scale: float) -> Counts:
    """Counts at ``scale``: stores and pairs scale, products stay 865 where possible.

    stores = max(1, round(898 s)); pairs = max(1, round(50,000 s));
    products = min(865, pairs, max(pairs // 5, ceil(pairs / stores))); cities = min(18, stores).
    """
    stores = max(1, round(FULL_STORES * scale))
    pairs = max(1, round(FULL_PAIRS * scale))
    products = min(
        FULL_PRODUCTS, pairs, max(pairs // MIN_PAIRS_PER_PRODUCT, math.ceil(pairs / stores))
    )
    pairs = min(pairs, stores * products)
    return Counts(cities=min(FULL_CITIES, stores), stores=stores, products=products, pairs=pairs)


@dataclass(frozen=True)
class Layout:
    """Entity tables as arrays (index = id)."""

    counts: Counts
    store_city: np.ndarray  # (stores,) city id of every store
    product_levels: np.ndarray  # (products, 4) mg, first, second, third category ids
    pair_store: np.ndarray  # (pairs,) store id, sorted by (store, product)
    pair_product: np.ndarray  # (pairs,) product id


def _tree_parents(n_children: int, n_parents: int, rng: np.random.Generator) -> np.ndarray:
    """Parent of every child; every parent gets at least one child; sorted (ids nest)."""
    parents = np.concatenate(
        [np.arange(n_parents), rng.integers(0, n_parents, n_children - n_parents)]
    )
    return np.sort(parents)


def _hierarchy(n_products: int, rng: np.random.Generator) -> np.ndarray:
    """(products, 4) array of globally numbered category ids: each product has exactly one
    third category, each third one second, and so on."""
    widths = [max(1, min(w, n_products // (2 ** (4 - i)))) for i, w in enumerate(FULL_HIERARCHY)]
    for i in range(1, 4):  # non-decreasing down the tree
        widths[i] = max(widths[i], widths[i - 1])
    parent_of = [_tree_parents(widths[i + 1], widths[i], rng) for i in range(3)]
    third = rng.permutation(_tree_parents(n_products, widths[3], rng))
    second = parent_of[2][third]
    first = parent_of[1][second]
    mg = parent_of[0][first]
    # Global numbering like the published data: ids of a level do not restart per parent.
    return np.stack([mg, first, second, third], axis=1).astype(np.int64)


def _reach(counts: Counts) -> np.ndarray:
    """Stores per product (sum = pairs): Zipf-like, capped at the store count, >= 1."""
    n_p, n_s, total = counts.products, counts.stores, counts.pairs
    w = np.arange(1, n_p + 1, dtype=np.float64) ** -ZIPF_EXPONENT
    lo, hi = 0.0, float(total) / w.min() + 1.0
    for _ in range(100):  # bisection on the scale c of clip(c w, 1, stores)
        c = 0.5 * (lo + hi)
        if np.clip(c * w, 1, n_s).sum() < total:
            lo = c
        else:
            hi = c
    reach = np.clip(np.floor(hi * w), 1, n_s).astype(np.int64)
    short = total - int(reach.sum())
    while short != 0:  # hand out the rounding remainder, most popular first
        room = reach < n_s if short > 0 else reach > 1
        idx = np.flatnonzero(room)[: abs(short)]
        reach[idx] += 1 if short > 0 else -1
        short -= len(idx) if short > 0 else -len(idx)
    return np.asarray(reach)


def build_layout(counts: Counts, rng: np.random.Generator) -> Layout:
    """Random network with the given counts (deterministic for a given ``rng`` state)."""
    n_s, n_p = counts.stores, counts.products
    # Cities of unequal size: Dirichlet shares, every city at least one store.
    share = rng.dirichlet(np.full(counts.cities, 2.0))
    extra = rng.choice(counts.cities, size=n_s - counts.cities, p=share)
    store_city = rng.permutation(np.concatenate([np.arange(counts.cities), extra]))
    product_levels = _hierarchy(n_p, rng)
    # Product popularity rank is random w.r.t. product id.
    reach = _reach(counts)[rng.permutation(n_p)]
    # Distinct stores per product by Gumbel-top-k on store "size" weights (big stores
    # carry more products): keys = log w_s + Gumbel; take the reach[p] largest keys.
    log_w = rng.normal(0.0, 0.6, n_s)
    keys = log_w[None, :] + rng.gumbel(size=(n_p, n_s))
    order = np.argsort(-keys, axis=1)
    take = np.arange(n_s)[None, :] < reach[:, None]
    prod_idx = np.broadcast_to(np.arange(n_p)[:, None], (n_p, n_s))[take]
    store_idx = order[take]
    sort = np.lexsort((prod_idx, store_idx))
    return Layout(
        counts=counts,
        store_city=store_city.astype(np.int64),
        product_levels=product_levels,
        pair_store=store_idx[sort].astype(np.int64),
        pair_product=prod_idx[sort].astype(np.int64),
    )
