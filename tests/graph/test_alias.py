"""Alias tables reproduce each row's weight distribution exactly."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.graph.alias import alias_tables


def implied_probabilities(
    alias_index: np.ndarray, alias_probability: np.ndarray, start: int, end: int
) -> np.ndarray:
    """P(slot i) = (keep_i + sum of (1 - keep_j) over slots j aliased to i) / degree."""
    degree = end - start
    keep = alias_probability[start:end].astype(np.float64)
    implied = keep.copy()
    np.add.at(implied, alias_index[start:end], 1.0 - keep)
    return implied / degree


def test_alias_tables_encode_row_weights() -> None:
    rng = np.random.default_rng(0)
    dense = rng.choice([0.0, 0.0, 0.5, 1.0, 1.2, 7.0], size=(40, 40)).astype(np.float32)
    dense[3] = 0.0  # an empty row
    dense[5] = 0.0
    dense[5, 7] = 2.0  # a single neighbour
    adjacency = sp.csr_matrix(dense)
    alias_index, alias_probability = alias_tables(adjacency)
    assert alias_index.dtype == np.int32 and alias_probability.dtype == np.float32
    for node in range(40):
        start, end = adjacency.indptr[node], adjacency.indptr[node + 1]
        if start == end:
            continue
        assert np.all((alias_index[start:end] >= 0) & (alias_index[start:end] < end - start))
        expected = adjacency.data[start:end] / adjacency.data[start:end].sum()
        np.testing.assert_allclose(
            implied_probabilities(alias_index, alias_probability, start, end),
            expected,
            atol=1e-6,
        )
