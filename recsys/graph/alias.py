"""Per-node alias tables: O(1) weighted neighbour draws at one int32 + one float32 per edge.

Walker's alias method (Vose's construction) per CSR row: for row position i, keep
``alias_probability[i]`` and ``alias_index[i]`` (a position in the same row). A draw takes
one uniform u: slot = floor(u * degree); keep the slot's neighbour if the fractional part of
u * degree is below its probability, else take its alias. Compared with inverse-CDF over
cumulative weights (a binary search, log(degree) dependent cache misses per step), this is
what makes first-order walks and node2vec's proposals constant-time on hub products.
These are per-node tables (O(edges) memory), not node2vec's per-edge tables (O(sum of
degree squared)), which is what exhausted memory in the study.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp
from numba import prange


@numba.njit(nogil=True, parallel=True, cache=True)
def _build_alias_tables(
    indptr: np.ndarray, data: np.ndarray, alias_index: np.ndarray, alias_probability: np.ndarray
) -> None:
    n_nodes = indptr.size - 1
    for node in prange(n_nodes):
        start = indptr[node]
        degree = indptr[node + 1] - start
        if degree == 0:
            continue
        total = 0.0
        for i in range(degree):
            total += data[start + i]
        scaled = np.empty(degree, dtype=np.float64)
        small = np.empty(degree, dtype=np.int64)
        large = np.empty(degree, dtype=np.int64)
        n_small = 0
        n_large = 0
        for i in range(degree):
            scaled[i] = data[start + i] * degree / total
            if scaled[i] < 1.0:
                small[n_small] = i
                n_small += 1
            else:
                large[n_large] = i
                n_large += 1
        while n_small > 0 and n_large > 0:
            n_small -= 1
            low = small[n_small]
            n_large -= 1
            high = large[n_large]
            alias_probability[start + low] = scaled[low]
            alias_index[start + low] = high
            scaled[high] = scaled[high] + scaled[low] - 1.0
            if scaled[high] < 1.0:
                small[n_small] = high
                n_small += 1
            else:
                large[n_large] = high
                n_large += 1
        # Leftovers are 1 up to rounding: they keep their own slot.
        for k in range(n_large):
            alias_probability[start + large[k]] = 1.0
            alias_index[start + large[k]] = large[k]
        for k in range(n_small):
            alias_probability[start + small[k]] = 1.0
            alias_index[start + small[k]] = small[k]


def alias_tables(adjacency: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(alias_index int32, alias_probability float32), each shape (nnz,), for every row."""
    alias_index = np.empty(adjacency.nnz, dtype=np.int32)
    alias_probability = np.empty(adjacency.nnz, dtype=np.float32)
    _build_alias_tables(
        adjacency.indptr.astype(np.int64, copy=False),
        adjacency.data,
        alias_index,
        alias_probability,
    )
    return alias_index, alias_probability


@numba.njit(inline="always", nogil=True)
def alias_draw(
    indptr: np.ndarray,
    indices: np.ndarray,
    alias_index: np.ndarray,
    alias_probability: np.ndarray,
    node: int,
    u: float,
) -> int:
    """Neighbour of ``node`` drawn with probability proportional to its edge weight."""
    start = indptr[node]
    degree = indptr[node + 1] - start
    scaled = u * degree
    slot = int(scaled)
    if slot >= degree:  # u * degree rounded up to degree
        slot = degree - 1
    position = start + slot
    if scaled - slot < alias_probability[position]:
        return indices[position]
    return indices[start + alias_index[position]]
