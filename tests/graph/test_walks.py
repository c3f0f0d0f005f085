"""Walk kernels follow the walk distributions (statistical tests, fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from recsys.graph.csr import transition_matrix
from recsys.graph.reference import node2vec_step_probabilities, reference_walks
from recsys.graph.walks import random_walks

# A fixed seed makes every test deterministic; this bound only says how unlikely a
# correct sampler must have been to fail at that seed.
P_VALUE_FLOOR = 1e-3


def transition_counts(walks: np.ndarray, n_nodes: int, first_step: int = 0) -> np.ndarray:
    """(n_nodes, n_nodes) counts of moves u -> v at steps >= first_step."""
    sources = walks[:, first_step:-1].ravel()
    targets = walks[:, first_step + 1 :].ravel()
    return np.bincount(sources * n_nodes + targets, minlength=n_nodes * n_nodes).reshape(
        n_nodes, n_nodes
    )


def triple_counts(walks: np.ndarray, n_nodes: int) -> np.ndarray:
    """(n, n, n) counts of (previous, current, next) over every second-order step."""
    t, v, x = walks[:, :-2].ravel(), walks[:, 1:-1].ravel(), walks[:, 2:].ravel()
    flat = (t.astype(np.int64) * n_nodes + v) * n_nodes + x
    return np.bincount(flat, minlength=n_nodes**3).reshape(n_nodes, n_nodes, n_nodes)


def chi_square_p_value(observed: np.ndarray, expected_probabilities: np.ndarray) -> float:
    """Pooled Pearson chi-square over rows (each row a separate multinomial)."""
    statistic, dof = 0.0, 0
    for counts, probabilities in zip(observed, expected_probabilities, strict=True):
        support = probabilities > 0
        total = counts.sum()
        if total == 0:
            continue
        assert counts[~support].sum() == 0, "a move with probability zero was taken"
        expected = total * probabilities[support]
        statistic += float(((counts[support] - expected) ** 2 / expected).sum())
        dof += int(support.sum()) - 1
    return float(stats.chi2.sf(statistic, dof))


def node2vec_expected(graph: sp.csr_matrix, p: float, q: float) -> np.ndarray:
    """(n*n, n) exact next-node probabilities for every (previous, current) context."""
    n = graph.shape[0]
    table = np.zeros((n * n, n))
    for previous in range(n):
        for current in graph.indices[graph.indptr[previous] : graph.indptr[previous + 1]]:
            neighbors, probabilities = node2vec_step_probabilities(
                graph, previous, int(current), p, q
            )
            table[previous * n + current, neighbors] = probabilities
    return table


def test_walk_shape_starts_and_edges(small_graph: sp.csr_matrix) -> None:
    walks = random_walks(small_graph, walks_per_node=7, walk_length=9, seed=3)
    assert walks.dtype == np.int32
    assert walks.shape == (7 * 6, 9)
    np.testing.assert_array_equal(np.bincount(walks[:, 0], minlength=6), np.full(6, 7))
    dense = small_graph.toarray()
    assert np.all(dense[walks[:, :-1], walks[:, 1:]] > 0), "every move must follow an edge"


def test_isolated_nodes_start_no_walk(small_graph: sp.csr_matrix) -> None:
    padded = sp.block_diag([small_graph, sp.csr_matrix((2, 2), dtype=np.float32)], format="csr")
    walks = random_walks(padded, walks_per_node=3, walk_length=4, seed=0)
    assert walks.shape == (18, 4)
    assert walks.max() < 6


@pytest.mark.parametrize(("p", "q"), [(1.0, 1.0), (0.5, 2.0)])
def test_walks_depend_on_seed_not_on_thread_count(
    small_graph: sp.csr_matrix, p: float, q: float
) -> None:
    one = random_walks(small_graph, walks_per_node=50, walk_length=12, p=p, q=q, workers=1)
    two = random_walks(small_graph, walks_per_node=50, walk_length=12, p=p, q=q, workers=2)
    np.testing.assert_array_equal(one, two)
    other = random_walks(small_graph, walks_per_node=50, walk_length=12, p=p, q=q, seed=7)
    assert not np.array_equal(one, other)


def test_first_order_walks_follow_transition_probabilities(small_graph: sp.csr_matrix) -> None:
    walks = random_walks(small_graph, walks_per_node=5000, walk_length=8, seed=11)
    observed = transition_counts(walks, 6)
    expected = transition_matrix(small_graph).toarray()
    assert chi_square_p_value(observed, expected) > P_VALUE_FLOOR
    # Power check: the same counts must reject a uniform-over-neighbours walk.
    binary = (small_graph > 0).astype(np.float64).toarray()
    uniform = binary / binary.sum(axis=1, keepdims=True)
    assert chi_square_p_value(observed, uniform) < 1e-9


def test_first_order_matches_numpy_reference(small_graph: sp.csr_matrix) -> None:
    rng = np.random.default_rng(5)
    starts = np.repeat(np.arange(6, dtype=np.int32), 400)
    reference = reference_walks(small_graph, starts, walk_length=6, rng=rng)
    ours = random_walks(small_graph, walks_per_node=400, walk_length=6, seed=5)
    for step in range(1, 6):
        table = np.stack(
            [np.bincount(reference[:, step], minlength=6), np.bincount(ours[:, step], minlength=6)]
        )
        table = table[:, table.sum(axis=0) > 0]
        assert stats.chi2_contingency(table).pvalue > P_VALUE_FLOOR


def test_node2vec_matches_exact_second_order_probabilities(small_graph: sp.csr_matrix) -> None:
    p, q = 0.5, 2.0
    walks = random_walks(small_graph, walks_per_node=4000, walk_length=8, p=p, q=q, seed=13)
    observed = triple_counts(walks, 6).reshape(36, 6)
    assert chi_square_p_value(observed, node2vec_expected(small_graph, p, q)) > P_VALUE_FLOOR
    # Power check: first-order walks must fail the node2vec test.
    first_order = random_walks(small_graph, walks_per_node=4000, walk_length=8, seed=13)
    first_observed = triple_counts(first_order, 6).reshape(36, 6)
    assert chi_square_p_value(first_observed, node2vec_expected(small_graph, p, q)) < 1e-9


def test_node2vec_matches_numpy_reference(small_graph: sp.csr_matrix) -> None:
    rng = np.random.default_rng(2)
    starts = np.repeat(np.arange(6, dtype=np.int32), 300)
    reference = reference_walks(small_graph, starts, walk_length=6, rng=rng, p=0.5, q=2.0)
    ours = random_walks(small_graph, walks_per_node=300, walk_length=6, p=0.5, q=2.0, seed=2)
    reference_triples = triple_counts(reference, 6).ravel()
    our_triples = triple_counts(ours, 6).ravel()
    table = np.stack([reference_triples, our_triples])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > P_VALUE_FLOOR


def test_node2vec_with_p_q_one_matches_first_order(small_graph: sp.csr_matrix) -> None:
    with pytest.warns(UserWarning, match="first-order"):
        second = random_walks(
            small_graph, walks_per_node=4000, walk_length=8, seed=21, second_order=True
        )
    first = random_walks(small_graph, walks_per_node=4000, walk_length=8, seed=22)
    second_triples = triple_counts(second, 6).ravel()
    first_triples = triple_counts(first, 6).ravel()
    total_variation = (
        0.5
        * np.abs(second_triples / second_triples.sum() - first_triples / first_triples.sum()).sum()
    )
    assert total_variation < 0.02
    table = np.stack([first_triples, second_triples])
    table = table[:, table.sum(axis=0) > 0]
    assert stats.chi2_contingency(table).pvalue > P_VALUE_FLOOR


def test_extreme_p_q_warn_about_speed(small_graph: sp.csr_matrix) -> None:
    with pytest.warns(UserWarning, match="slow"):
        random_walks(small_graph, walks_per_node=1, walk_length=4, p=0.01, q=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 0.0}, "positive"),
        ({"walk_length": 0}, "walk_length"),
        ({"workers": -1}, "workers"),
        ({"p": 2.0, "second_order": False}, "second_order"),
    ],
)
def test_bad_settings_are_named(small_graph: sp.csr_matrix, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        random_walks(small_graph, **kwargs)
