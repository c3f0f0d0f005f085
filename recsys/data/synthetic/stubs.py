"""Exact-degree co-purchase lists: stubs paired with their nearest partners in the tree.

Every product brings as many *in-stubs* as the times it is still to be listed, every
record as many *out-stubs* as its list still needs (a configuration model: degrees come
out as drawn, not Poisson-blurred around a popularity). Stubs are paired level by level,
from the leaf category up to the whole catalog: each stub enters at a level drawn from
``block_probs`` (leaf, level 2, level 1, anywhere). Within a block the stubs are sorted by
position and paired nearest first (parenthesis matching: an excess of one side in one
place does not shift every pair after it, as pairing the i-th out with the i-th in
would). A product's position is its place in the tree with, inside its leaf, the order of
its affinity (a projection of its latent vector); each stub is spread around it over a
window as wide as the owner has stubs per partner, times ``jitter``, so a record lists
distinct neighbours and a popular product is listed by distinct records.

A pairing that repeats a pair already made, or pairs a product with itself, is undone and
both stubs go up one level; at the top they are paired at random for a few rounds and
what still fails is dropped (logged; the caller calibrates the counts afterwards).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np

from recsys.data.pairs import undirected_keys

logger = logging.getLogger(__name__)

GLOBAL_ROUNDS = 6  # random re-pairings of the leftovers at the top level
BLOCK_SHARE = 0.5  # a product takes at most this share of a block's partners


@dataclass(frozen=True)
class Layout:
    """Where products sit: their tree node per level and their position on one line."""

    nodes: tuple[np.ndarray, ...]  # (n,) int64 node per level, leaf first
    position: np.ndarray  # (n,) float64, tree order, affinity order inside a leaf


@numba.njit(nogil=True, cache=True)
def _nearest_pairs(is_out: np.ndarray, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair out- with in-stubs, nearest first, in one pass over stubs sorted by key.

    A stack holds the unpaired stubs seen so far (all of one side at any time); a stub of
    the other side pairs with the top. The stack empties at each block boundary.

    Returns:
        (out position, in position) of each pair, as indices into the sorted arrays.
    """
    n = is_out.shape[0]
    stack = np.empty(n, dtype=np.int64)
    out_at = np.empty(n // 2 + 1, dtype=np.int64)
    in_at = np.empty(n // 2 + 1, dtype=np.int64)
    top = 0
    made = 0
    for i in range(n):
        if i > 0 and block[i] != block[i - 1]:
            top = 0
        if top > 0 and is_out[stack[top - 1]] != is_out[i]:
            j = stack[top - 1]
            top -= 1
            if is_out[i]:
                out_at[made], in_at[made] = i, j
            else:
                out_at[made], in_at[made] = j, i
            made += 1
        else:
            stack[top] = i
            top += 1
    return out_at[:made], in_at[:made]


def _stubs(count: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stubs of ``count[i]`` per product: owner (sorted), rank within the owner, owner's count."""
    owner = np.repeat(np.arange(count.shape[0], dtype=np.int32), count)
    first = np.cumsum(count) - count
    slot = (np.arange(owner.shape[0], dtype=np.int64) - first[owner]).astype(np.int32)
    return owner, slot, count[owner]


def _stub_keys(
    owner: np.ndarray, slot: np.ndarray, count: np.ndarray, partners: int,
    position: np.ndarray, jitter: float, rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Each stub's position: its owner's, spread evenly over the owner's window (as wide as
    the owner has stubs, per partner-owning product per position, times ``jitter``)."""
    density = max(partners, 1) / position.shape[0]
    spread = (slot + rng.random(owner.shape[0])) / count - 0.5
    return position[owner] + jitter * count / density * spread


def _start_levels(
    slot: np.ndarray, partner_count: np.ndarray, layout: Layout, probs: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:  # fmt: skip
    """Level each stub first tries: drawn from ``probs``, but a product cannot be paired
    in a block more often than about half the partners the block holds, so its stubs past
    that start one level up (a bestseller is bought across its category, a niche product
    within its leaf)."""
    start = np.asarray(rng.choice(probs.shape[0], size=slot.shape[0], p=probs / probs.sum()))
    start = start.astype(np.int8)
    partners = np.flatnonzero(partner_count)
    for level, nodes in enumerate(layout.nodes):
        per_block = partners.size / max(1, np.unique(nodes[partners]).size)
        start[(start == level) & (slot >= BLOCK_SHARE * per_block)] = level + 1
    return start


def _merge_sorted(keys: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``keys`` (sorted) with ``new`` added, sorted (a stable sort merges the two runs)."""
    return np.sort(np.concatenate([keys, np.sort(new)]), kind="stable")


def match_stubs(
    out_count: np.ndarray,
    in_count: np.ndarray,
    layout: Layout,
    block_probs: tuple[float, ...],
    jitter: float,
    rng: np.random.Generator,
    existing: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair out-stubs with in-stubs into distinct undirected pairs (no self-pairs).

    Args:
        out_count: (n,) out-stubs of each product (the entries its list still needs).
        in_count: (n,) in-stubs of each product (the times it is still to be listed);
            the two sum equal.
        layout: the products' tree nodes and positions.
        block_probs: chance a stub first tries each level of ``layout.nodes`` and, last,
            the whole catalog.
        jitter: width of a stub's window, in positions per partner.
        rng: the generator's stream.
        existing: sorted undirected keys (``undirected_keys``) of pairs already made.

    Returns:
        (src, dst): the record and the listed product of every pair made, int64.
    """
    n = layout.position.shape[0]
    top = len(layout.nodes)
    probs = np.asarray(block_probs, dtype=np.float64)
    sides = []
    for count, partner_count in ((out_count, in_count), (in_count, out_count)):
        owner, slot, owner_count = _stubs(count)
        partners = int(np.count_nonzero(partner_count))
        key = _stub_keys(owner, slot, owner_count, partners, layout.position, jitter, rng)
        del owner_count
        sides.append((owner, key, _start_levels(slot, partner_count, layout, probs, rng)))
    (o_owner, o_key, o_start), (i_owner, i_key, i_start) = sides
    o_pending = np.ones(o_owner.shape[0], dtype=bool)
    i_pending = np.ones(i_owner.shape[0], dtype=bool)
    made_src: list[np.ndarray] = []
    made_dst: list[np.ndarray] = []
    made_keys = np.zeros(0, dtype=np.int64) if existing is None else existing
    for level in list(range(top)) + [top] * GLOBAL_ROUNDS:
        o_active = np.flatnonzero(o_pending & (o_start <= level))
        i_active = np.flatnonzero(i_pending & (i_start <= level))
        if o_active.size == 0 or i_active.size == 0:
            continue
        if level < top:  # sort by (block, position): one float key, blocks apart
            nodes = layout.nodes[level]
            block = np.concatenate([nodes[o_owner[o_active]], nodes[i_owner[i_active]]])
            position = np.concatenate([o_key[o_active], i_key[i_active]])
            low = position.min()
            sort_key = block * (position.max() - low + 1.0) + (position - low)
            del position
        else:  # the whole catalog, at random
            sort_key = rng.random(o_active.size + i_active.size)
            block = np.zeros(sort_key.size, dtype=np.int64)
        order = np.argsort(sort_key)
        del sort_key
        out_at, in_at = _nearest_pairs(order < o_active.size, block[order])
        del block
        o_idx = o_active[order[out_at]]
        i_idx = i_active[order[in_at] - o_active.size]
        del order
        src, dst = o_owner[o_idx].astype(np.int64), i_owner[i_idx].astype(np.int64)
        pair_keys = undirected_keys(src, dst, n)
        ok = src != dst
        if made_keys.size:
            where = np.minimum(np.searchsorted(made_keys, pair_keys), made_keys.size - 1)
            ok &= made_keys[where] != pair_keys
        first = np.zeros(pair_keys.shape[0], dtype=bool)
        first[np.unique(np.where(ok, pair_keys, -1), return_index=True)[1]] = True
        ok &= first
        made_src.append(src[ok])
        made_dst.append(dst[ok])
        made_keys = _merge_sorted(made_keys, pair_keys[ok])
        o_pending[o_idx[ok]] = False
        i_pending[i_idx[ok]] = False
    dropped = int(o_pending.sum())
    if dropped:
        logger.debug("stub matching: %d of %d stubs left unpaired", dropped, o_owner.shape[0])
    if not made_src:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(made_src), np.concatenate(made_dst)
