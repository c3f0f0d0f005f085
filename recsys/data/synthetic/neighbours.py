"""Neighbour pairs: products co-purchased with the products just before them.

Real co-purchase graphs are far more clustered than their degrees alone imply (average
local clustering 0.11-0.30 on the real samples, against under 0.01 for a configuration
model with their degrees): albums of one artist, volumes of one series are bought
together, so a product's partners are also each other's. Here products are visited in
tree-and-affinity order and each tries to pair with the records just before it in its
leaf, the nearest first (``REACH`` records back at most; a record also with the products
since then): a growth along a line, as in Holme and Kim's triad formation, where
consecutive products share their predecessors and so close triangles. A pair is made
while both products have degree left and one of them has a record to list the other. The
fill is sequential, so it is a numba loop over candidates prepared as arrays.
"""

from __future__ import annotations

import numba
import numpy as np

REACH = 16  # a product tries the records up to this many records before it


@numba.njit(nogil=True, cache=True)
def _fill(
    first: np.ndarray, second: np.ndarray, is_record: np.ndarray, left: np.ndarray,
    min_list: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Make candidate pairs in order while both ends have degree ``left`` (updated).

    One end lists the other: a record, the one listing fewer so far when both are. A
    record is listed only while it keeps enough degree to list ``min_list`` itself (the
    study filters drop shorter lists).

    Returns (record, listed product) per pair made.
    """
    m = first.shape[0]
    src = np.empty(m, dtype=np.int64)
    dst = np.empty(m, dtype=np.int64)
    listing = np.zeros(left.shape[0], dtype=np.int64)
    made = 0
    for e in range(m):
        a, b = first[e], second[e]
        if left[a] <= 0 or left[b] <= 0:
            continue
        # Who may list whom: a record, with the other free to be listed.
        a_lists = is_record[a] and (not is_record[b] or left[b] > max(0, min_list - listing[b]))
        b_lists = is_record[b] and (not is_record[a] or left[a] > max(0, min_list - listing[a]))
        if a_lists and b_lists:
            a_lists = listing[a] <= listing[b]
        elif not (a_lists or b_lists):
            continue
        lister, listed = (a, b) if a_lists else (b, a)
        left[a] -= 1
        left[b] -= 1
        listing[lister] += 1
        src[made], dst[made] = lister, listed
        made += 1
    return src[:made], dst[:made]


def _candidates(
    order: np.ndarray, block: np.ndarray, is_record: np.ndarray, reach: int
) -> tuple[np.ndarray, ...]:
    """Candidate pairs (earlier, later product, distance in records, later's place): each
    product with the ``reach`` records before it, each record with the products since the
    ``reach``-th record before it, within one block."""
    along_record = is_record[order]
    along_block = block[order]
    n = order.shape[0]
    before = np.cumsum(along_record) - along_record  # records strictly before each place
    record_at = np.flatnonzero(along_record)
    earlier, later, distance = [], [], []
    for k in range(1, reach + 1):  # the k-th record before each place
        has = before >= k
        place = np.flatnonzero(has)
        other = record_at[before[place] - k]
        earlier.append(other)
        later.append(place)
        distance.append(np.full(place.size, k, dtype=np.int32))
    # Records with the record-less products since their reach-th record before.
    start = record_at[np.maximum(np.arange(record_at.size) - reach, 0)]
    start[: min(reach, record_at.size)] = 0
    length = record_at - start
    owner = np.repeat(record_at, length)
    place = np.repeat(start - np.cumsum(length) + length, length) + np.arange(int(length.sum()))
    keep = ~along_record[place]
    earlier.append(place[keep])
    later.append(owner[keep])
    distance.append((before[owner[keep]] - before[place[keep]]).astype(np.int32))
    first, second = np.concatenate(earlier), np.concatenate(later)
    same = along_block[first] == along_block[second]
    del n
    return first[same], second[same], np.concatenate(distance)[same]


def neighbour_pairs(
    order: np.ndarray,
    block: np.ndarray,
    is_record: np.ndarray,
    left: np.ndarray,
    rng: np.random.Generator,
    reach: int = REACH,
    min_list: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of near neighbours; ``left`` (degree budget per product) is spent in place.

    Args:
        order: (n,) product ids in tree-and-affinity order.
        block: (n,) the node (leaf) a pair's two products must share.
        is_record: (n,) bool, the product has a record (a list of its own).
        left: (n,) int64 degree each product may spend here (decremented).
        rng: the generator's stream (ties in the growth order).
        reach: a product tries the records up to this many records back.
        min_list: entries every record must keep degree for.

    Returns:
        (record, listed product) of every pair made, int64.
    """
    if order.shape[0] < 2 or not is_record.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first, second, distance = _candidates(order, block, is_record, reach)
    # Growth order: place by place along the line, each its nearest partner first.
    tried = np.lexsort((rng.random(first.size), distance, second))
    return _fill(order[first[tried]], order[second[tried]], is_record, left, min_list)
