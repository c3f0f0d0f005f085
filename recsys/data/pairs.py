"""Asin interning and undirected, weighted pair deduplication, in bounded memory.

The full Books file lists tens of millions of relation entries. Holding them as Python
tuples would take gigabytes, so asins become integers as they are read (one dict
asin -> id), entries accumulate as int32/uint8 numpy chunks, and deduplication is a single
sort of int64 keys: ``(a * n + b) * 4 + relation_code``. After the sort, equal pairs are
adjacent, so per-pair weights and relation bitmasks are ``np.add.reduceat`` and
``np.bitwise_or.reduceat`` over the runs: no Python per pair.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from recsys.data.errors import DataError
from recsys.data.records import N_RELATIONS
from recsys.typing import ItemIds, Weights

INT32_LIMIT = np.iinfo(np.int32).max
MAX_DENSE_ITEMS = 1 << 29  # keeps (a * n + b) * 4 + code inside int64


class AsinInterner:
    """Assigns every asin an integer id the first time it is read.

    Ids are provisional: each *token* draws the next number (new asins keep theirs, repeats
    get the earlier one), which lets ``dict.setdefault`` run at C speed through ``map``.
    :meth:`dense_ids` then renumbers them 0..n-1 in first-seen order.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._next = 0

    def __len__(self) -> int:
        return len(self._ids)

    def intern(self, tokens: list[str]) -> npt.NDArray[np.int32]:
        """Provisional ids of ``tokens``, shape (len(tokens),)."""
        start = self._next
        self._next += len(tokens)
        if self._next > INT32_LIMIT:
            raise DataError(
                f"more than {INT32_LIMIT:,} asin references: too large for int32 item ids"
            )
        ids = map(self._ids.setdefault, tokens, itertools.count(start))
        return np.fromiter(ids, dtype=np.int32, count=len(tokens))

    def dense_ids(self) -> npt.NDArray[np.int32]:
        """Lookup table provisional id -> dense id (0..len-1, first-seen order); -1 unused."""
        provisional = np.fromiter(self._ids.values(), dtype=np.int64, count=len(self._ids))
        lookup = np.full(self._next, -1, dtype=np.int32)
        lookup[provisional] = np.arange(provisional.size, dtype=np.int32)
        return lookup

    def asins(self) -> list[str]:
        """Every asin seen, in dense-id order."""
        return list(self._ids)


class PairAccumulator:
    """Relation entries (source id, target id, relation code) as growing numpy chunks."""

    def __init__(self) -> None:
        self._source: list[npt.NDArray[np.int32]] = []
        self._target: list[npt.NDArray[np.int32]] = []
        self._code: list[npt.NDArray[np.uint8]] = []
        self.n_entries = 0

    def add(
        self,
        source: npt.NDArray[np.int32],
        target: npt.NDArray[np.int32],
        code: npt.NDArray[np.uint8],
    ) -> None:
        """Append entries; self-pairs are dropped here already, they never make a pair."""
        keep = source != target
        if not keep.all():
            source, target, code = source[keep], target[keep], code[keep]
        self._source.append(source)
        self._target.append(target)
        self._code.append(code)
        self.n_entries += int(source.size)

    def keys(self, lookup: npt.NDArray[np.int32], n_items: int) -> npt.NDArray[np.int64]:
        """Sort keys of all entries under dense ids, freeing the chunks as it goes."""
        keys = np.empty(self.n_entries, dtype=np.int64)
        position = 0
        while self._source:
            source = lookup[self._source.pop(0)]
            target = lookup[self._target.pop(0)]
            code = self._code.pop(0)
            size = source.size
            keys[position : position + size] = pair_keys(source, target, code, n_items)
            position += size
        self.n_entries = 0
        return keys


def pair_keys(
    source: npt.NDArray[np.int32],
    target: npt.NDArray[np.int32],
    code: npt.NDArray[np.uint8],
    n_items: int,
) -> npt.NDArray[np.int64]:
    """``(min * n + max) * 4 + code``: sorts by undirected pair, then by relation."""
    if n_items > MAX_DENSE_ITEMS:
        raise DataError(f"{n_items:,} products: more than the {MAX_DENSE_ITEMS:,} supported")
    low = np.minimum(source, target).astype(np.int64)
    high = np.maximum(source, target).astype(np.int64)
    return (low * n_items + high) * 4 + code


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
    new_run = np.empty(keys.size, dtype=bool)
    new_run[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    del new_run
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
