"""The CSR product graph: symmetry, summed weights, dtypes, transition probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.dataset import PairTable
from recsys.graph.csr import (
    build_graph,
    transition_matrix,
    walk_start_nodes,
)


def pairs_of(a: list[int], b: list[int], w: list[float]) -> PairTable:
    return PairTable(
        item_a=np.array(a, dtype=np.int32),
        item_b=np.array(b, dtype=np.int32),
        weight=np.array(w, dtype=np.float32),
        relations=np.zeros(len(a), dtype=np.uint8),
    )


def test_build_graph_is_symmetric_weighted_and_sorted() -> None:
    # 0-1 twice (weights summed), 1-2, 2-3, a self pair on 3 (dropped), node 4 isolated.
    pairs = pairs_of([0, 0, 1, 2, 3, 1], [1, 1, 2, 3, 3, 0], [1.0, 0.5, 1.2, 2.0, 9.0, 1.0])
    graph = build_graph(pairs, n_items=5)
    dense = graph.toarray()
    expected = np.zeros((5, 5), dtype=np.float32)
    expected[0, 1] = expected[1, 0] = 2.5
    expected[1, 2] = expected[2, 1] = 1.2
    expected[2, 3] = expected[3, 2] = 2.0
    np.testing.assert_allclose(dense, expected)
    assert graph.data.dtype == np.float32
    assert graph.indices.dtype == np.int32
    assert graph.has_sorted_indices
    np.testing.assert_array_equal(walk_start_nodes(graph), [0, 1, 2, 3])


def test_build_graph_rejects_ids_out_of_range() -> None:
    with pytest.raises(ValueError, match="n_items"):
        build_graph(pairs_of([0], [7], [1.0]), n_items=5)


def test_build_graph_rejects_non_positive_weights() -> None:
    with pytest.raises(ValueError, match="positive"):
        build_graph(pairs_of([0], [1], [0.0]), n_items=2)


def test_transition_matrix_rows_sum_to_one_or_zero() -> None:
    graph = build_graph(pairs_of([0, 0, 1], [1, 2, 2], [1.0, 3.0, 1.0]), n_items=4)
    transitions = transition_matrix(graph).toarray()
    np.testing.assert_allclose(transitions.sum(axis=1), [1.0, 1.0, 1.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(transitions[0], [0.0, 0.25, 0.75, 0.0], rtol=1e-6)
