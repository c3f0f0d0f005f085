"""Undirected, weighted pair deduplication in bounded memory.

The full Books file lists tens of millions of relation entries. Holding them as Python
tuples would take gigabytes, so asins become integers as they are read
(:mod:`recsys.data.asin_codes`), entries accumulate as int32/uint8 numpy chunks, and
deduplication is a single sort of int64 keys: ``(a * n + b) * 4 + relation_code``. After
the sort, equal pairs are adjacent, so per-pair weights and relation bitmasks are
``np.add.reduceat`` and ``np.bitwise_or.reduceat`` over the runs: no Python per pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys.data.errors import DataError
from recsys.data.formats.amazon_records import N_RELATIONS
from recsys.typing import ItemIds, Weights

INT32_LIMIT = np.iinfo(np.int32).max
MAX_DENSE_ITEMS = 1 << 29  # keeps (a * n + b) * 4 + code inside int64


def undirected_keys(
    a: npt.NDArray[np.integer], b: npt.NDArray[np.integer], n_items: int
) -> npt.NDArray[np.int64]:
    """``min * n + max``: one int64 per undirected pair (no bound check, no relation)."""
    return np.minimum(a, b).astype(np.int64) * n_items + np.maximum(a, b)


def pair_keys(
    source: npt.NDArray[np.int32],
    target: npt.NDArray[np.int32],
    code: npt.NDArray[np.uint8],
    n_items: int,
) -> npt.NDArray[np.int64]:
    """``(min * n + max) * 4 + code``: sorts by undirected pair, then by relation."""
    if n_items > MAX_DENSE_ITEMS:
        raise DataError(f"{n_items:,} products: more than the {MAX_DENSE_ITEMS:,} supported")
    return undirected_keys(source, target, n_items) * 4 + code


def run_starts(ordered: np.ndarray) -> npt.NDArray[np.int64]:
    """Index of the first entry of each run of equal values in sorted, non-empty
    ``ordered`` (pair keys here; scores in the evaluation's AUCs and intervals)."""
    new_run = np.empty(ordered.size, dtype=bool)
    new_run[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
    return np.flatnonzero(new_run)


@dataclass(frozen=True)
class UniquePairs:
    """Unique undirected pairs, item_a < item_b, sorted by (item_a, item_b)."""

    item_a: ItemIds
    item_b: ItemIds
    weight: Weights  # summed over every entry of the pair
    relations: npt.NDArray[np.uint8]  # bitwise or of 1 << code over its entries

    def __len__(self) -> int:
        return int(self.item_a.shape[0])


def dedupe_pair_keys(
    keys: npt.NDArray[np.int64], n_items: int, code_weights: npt.NDArray[np.float32]
) -> UniquePairs:
    """Collapse entries (keys from :func:`pair_keys`, sorted in place) into unique pairs.

    Args:
        keys: one key per entry; self-pairs must already be gone. Sorted in place.
        n_items: the ``n`` the keys were built with.
        code_weights: weight per relation code, shape (3,).
    """
    if code_weights.shape != (N_RELATIONS,):
        raise ValueError(f"code_weights must have shape ({N_RELATIONS},)")
    keys.sort()
    code = (keys & 3).astype(np.uint8)
    keys >>= 2  # now the pair key a * n + b
    if keys.size == 0:
        empty = np.zeros(0, np.int32)
        return UniquePairs(empty, empty.copy(), np.zeros(0, np.float32), np.zeros(0, np.uint8))
    starts = run_starts(keys)
    weight = np.add.reduceat(code_weights.astype(np.float32)[code], starts)
    relations = np.bitwise_or.reduceat(np.left_shift(np.uint8(1), code), starts)
    unique = keys[starts]
    return UniquePairs(
        item_a=(unique // n_items).astype(np.int32),
        item_b=(unique % n_items).astype(np.int32),
        weight=weight,
        relations=relations.astype(np.uint8),
    )


def dedupe_pairs(
    source: npt.NDArray[np.int32],
    target: npt.NDArray[np.int32],
    code: npt.NDArray[np.uint8],
    n_items: int,
    code_weights: npt.NDArray[np.float32],
) -> UniquePairs:
    """Unique undirected pairs of relation entries (the in-memory form, for small inputs)."""
    keep = source != target
    keys = pair_keys(source[keep], target[keep], code[keep], n_items)
    return dedupe_pair_keys(keys, n_items, code_weights)


def dedupe_entries(
    a: npt.NDArray[np.int64],
    b: npt.NDArray[np.int64],
    relation_bits: npt.NDArray[np.uint8],
    n_items: int,
    weight: npt.NDArray[np.float32] | None = None,
) -> UniquePairs:
    """Unique undirected pairs of entries carrying relation flags rather than codes.

    For formats whose relations do not fit the 2-bit codes of :func:`pair_keys` (a pairs
    file's own relation names). Self-pairs must already be gone.

    Args:
        a, b: dense item ids of each entry's two products, in either order.
        relation_bits: each entry's relation flag; or-ed per pair.
        n_items: number of dense ids.
        weight: each entry's weight, summed per pair; None = 1.0 per distinct relation
            flag of the pair (its popcount).
    """
    keys = undirected_keys(a, b, n_items)
    if keys.size == 0:
        empty = np.zeros(0, np.int32)
        return UniquePairs(empty, empty.copy(), np.zeros(0, np.float32), np.zeros(0, np.uint8))
    one_relation = weight is None and bool(np.all(relation_bits == relation_bits[0]))
    if one_relation:  # nothing to carry along: sort the keys alone (2x faster, measured)
        keys.sort()
        starts = run_starts(keys)
        relations = np.full(starts.size, relation_bits[0], dtype=np.uint8)
    else:
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        starts = run_starts(keys)
        relations = np.bitwise_or.reduceat(relation_bits[order], starts).astype(np.uint8)
    if weight is None:
        summed = np.unpackbits(relations[:, None], axis=1).sum(axis=1).astype(np.float32)
    else:
        summed = np.add.reduceat(weight[order].astype(np.float32), starts)
    unique = keys[starts]
    return UniquePairs(
        item_a=(unique // n_items).astype(np.int32),
        item_b=(unique % n_items).astype(np.int32),
        weight=summed,
        relations=relations,
    )
