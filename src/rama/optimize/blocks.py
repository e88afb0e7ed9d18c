"""Packing products into blocks: the units of work of the HiGHS backend.

A block is one product, or several small ones side by side in one block-diagonal LP (one
HiGHS call per pricing round instead of one per product). Blocks run largest first.
"""

from __future__ import annotations

import numpy as np

from rama.problem.model import Problem

BLOCK_REACH = 120  # products reaching more stores are solved alone
BLOCK_PAIRS = 400  # target pairs per block of small products
WARM_BLOCK_REACH, WARM_BLOCK_PAIRS = 300, 1500  # the same for warm-started (or recording) solves


def make_blocks(problem: Problem, warm: bool = False) -> list[np.ndarray]:
    """Products (positions) grouped into blocks, largest work first.

    A product whose stores hold more than capacity + demand (it may be infeasible, and its
    diagnosis stays attributable) or that reaches more than BLOCK_REACH stores is its own
    block; the others are packed in order into blocks of about BLOCK_PAIRS pairs. Products
    without stores need no LP. Solves that record or use warm starts (``warm``) take few
    simplex iterations, so building the block LPs weighs more: they pack larger blocks
    (WARM_BLOCK_REACH, WARM_BLOCK_PAIRS).
    """
    reach = np.diff(problem.product_start)
    over = problem.current_inventory - problem.demand > problem.max_capacity
    forced = np.bincount(problem.pair_product, weights=over, minlength=problem.n_products) > 0
    block_reach, block_pairs = (
        (WARM_BLOCK_REACH, WARM_BLOCK_PAIRS) if warm else (BLOCK_REACH, BLOCK_PAIRS)
    )
    alone = (reach > block_reach) | forced
    blocks = [np.array([k]) for k in np.flatnonzero(alone)]
    small = np.flatnonzero(~alone & (reach > 0))
    if small.size:
        cuts = np.flatnonzero(np.diff(np.cumsum(reach[small]) // block_pairs)) + 1
        blocks.extend(np.split(small, cuts))
    work = [float((reach[b].astype(np.float64) ** 2).sum()) for b in blocks]
    return [blocks[i] for i in np.argsort(work)[::-1]]
