"""Pure-numpy reference walks and exact node2vec probabilities, for tests on tiny graphs.

Deliberately the textbook algorithm, one Python step at a time (node2vec, Grover &
Leskovec 2016, Alg. 1, with the full normalised distribution at each step): slow, but
obviously right, so the numba kernels in :mod:`recsys.graph.walks` are checked against it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.typing import ItemIds, WalkMatrix


def node2vec_step_probabilities(
    adjacency: sp.csr_matrix, previous: int, current: int, p: float, q: float
) -> tuple[ItemIds, np.ndarray]:
    """Exact P(next = x | previous, current) for node2vec: alpha(previous, x) * w(current, x).

    Returns (neighbours of ``current``, their probabilities).
    """
    row = slice(adjacency.indptr[current], adjacency.indptr[current + 1])
    neighbors = adjacency.indices[row].astype(np.int32)
    weights = adjacency.data[row].astype(np.float64)
    previous_row = adjacency.indices[adjacency.indptr[previous] : adjacency.indptr[previous + 1]]
    alpha = np.where(np.isin(neighbors, previous_row), 1.0, 1.0 / q)
    alpha[neighbors == previous] = 1.0 / p
    unnormalized = alpha * weights
    return neighbors, unnormalized / unnormalized.sum()


def reference_walks(
    adjacency: sp.csr_matrix,
    starts: ItemIds,
    walk_length: int,
    rng: np.random.Generator,
    p: float = 1.0,
    q: float = 1.0,
) -> WalkMatrix:
    """One walk per entry of ``starts``, shape (len(starts), walk_length)."""
    walks = np.empty((len(starts), walk_length), dtype=np.int32)
    for w, start in enumerate(starts):
        walks[w, 0] = start
        for step in range(1, walk_length):
            current = int(walks[w, step - 1])
            if step == 1:
                row = slice(adjacency.indptr[current], adjacency.indptr[current + 1])
                neighbors = adjacency.indices[row]
                probabilities = adjacency.data[row] / adjacency.data[row].sum()
            else:
                neighbors, probabilities = node2vec_step_probabilities(
                    adjacency, int(walks[w, step - 2]), current, p, q
                )
            walks[w, step] = rng.choice(neighbors, p=probabilities)
    return walks
