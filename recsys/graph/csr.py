"""The product graph as CSR arrays: what every walk kernel reads.

The co-purchase graph is stored as a symmetric ``scipy.sparse.csr_matrix``: ``indptr``,
``indices`` (sorted within each row, so "is x a neighbour of t" is a binary search) and
float32 ``data`` weights. No per-node Python objects: Books at scale 1.0 has 53M directed
edges, and a dict of dicts for it would not fit in memory (the study's node2vec ran out of
64 GB building exactly that).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data.dataset import PairTable
from recsys.typing import ItemIds


def build_graph(pairs: PairTable, n_items: int) -> sp.csr_matrix:
    """Symmetric weighted adjacency of the training pairs, shape (n_items, n_items).

    Each undirected pair (a, b, w) becomes the two directed edges a->b and b->a with
    weight w; repeated pairs are summed. Self-pairs are dropped (a walk that stays in
    place teaches nothing). Row indices are sorted, as the node2vec kernel requires.

    Args:
        pairs: training pairs (item_a, item_b, weight).
        n_items: number of products; ids must lie in [0, n_items).

    Returns:
        CSR matrix with float32 data, int32 indices (int64 indptr when the edge count
        needs it).
    """
    if len(pairs) and (
        int(min(pairs.item_a.min(), pairs.item_b.min())) < 0
        or int(max(pairs.item_a.max(), pairs.item_b.max())) >= n_items
    ):
        raise ValueError(
            f"pair ids must lie in [0, {n_items}); got range "
            f"[{min(pairs.item_a.min(), pairs.item_b.min())}, "
            f"{max(pairs.item_a.max(), pairs.item_b.max())}]: pass the dataset's n_items"
        )
    if len(pairs) and np.any(pairs.weight <= 0):
        raise ValueError("pair weights must be positive (a zero-weight edge is never walked)")
    keep = pairs.item_a != pairs.item_b
    a, b = pairs.item_a[keep], pairs.item_b[keep]
    w = pairs.weight[keep].astype(np.float32, copy=False)
    rows = np.concatenate([a, b])
    cols = np.concatenate([b, a])
    adjacency = sp.csr_matrix(
        (np.concatenate([w, w]), (rows, cols)), shape=(n_items, n_items), dtype=np.float32
    )
    adjacency.sum_duplicates()
    adjacency.sort_indices()
    if adjacency.indices.dtype != np.int32 and n_items < np.iinfo(np.int32).max:
        adjacency.indices = adjacency.indices.astype(np.int32)
    return adjacency


def transition_matrix(adjacency: sp.csr_matrix) -> sp.csr_matrix:
    """Row-normalized transition probabilities P[i, j] = w_ij / sum_j w_ij (first-order walk).

    Rows of isolated nodes stay all zero (a walk never reaches nor starts from them).
    """
    row_sums = np.asarray(adjacency.sum(axis=1), dtype=np.float64).ravel()
    inverse = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
    return sp.csr_matrix(sp.diags(inverse.astype(np.float32)) @ adjacency, dtype=np.float32)


def walk_start_nodes(adjacency: sp.csr_matrix) -> ItemIds:
    """Nodes with degree > 0: the products every walk round starts from."""
    return np.flatnonzero(np.diff(adjacency.indptr) > 0).astype(np.int32)
