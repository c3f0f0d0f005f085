"""Ranking metrics over the whole catalog, on catalogs small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from recsys.data.dataset import PairTable, PreparedDataset, ValidationPairs
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.ranking import (
    RankingQueries,
    evaluate_ranking,
    ranking_metrics_from_ranks,
    ranking_queries,
    relevant_ranks,
    training_adjacency,
)


def one_query(relevant: list[int]) -> RankingQueries:
    return RankingQueries(
        query=np.array([0], np.int32),
        indptr=np.array([0, len(relevant)], np.int64),
        relevant=np.array(relevant, np.int32),
        n_available=1,
    )


def bias_model(scores: list[float], known: list[bool] | None = None) -> ItemEmbeddings:
    """Scores against any query = the candidate's bias (plus the query's, a constant)."""
    n = len(scores)
    return ItemEmbeddings(
        vectors=np.zeros((n, 0), np.float32),
        known=np.ones(n, bool) if known is None else np.array(known),
        similarity="dot",
        bias=np.array(scores, np.float32),
    )


def no_neighbours(n: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((n, n), dtype=np.float32)


def test_rank_counts_better_candidates_and_leaves_out_the_query_and_its_neighbours() -> None:
    # Query 0. Item 1 is a training neighbour (excluded), 2 and 3 score above target 4.
    model = bias_model([9.0, 8.0, 7.0, 6.0, 5.0, 1.0])
    adjacency = sparse.csr_matrix((np.ones(2, np.float32), ([0, 1], [1, 0])), shape=(6, 6))
    ranks = relevant_ranks(model, one_query([4]), adjacency)
    assert ranks.tolist() == [3.0]  # behind 2 and 3; the query and its neighbour do not count


def test_ties_rank_at_their_midpoint_and_unknown_products_are_never_hits() -> None:
    # Items 1..4 tie; item 5 has no embedding.
    model = bias_model([0.0, 1.0, 1.0, 1.0, 1.0, 2.0], known=[True] * 5 + [False])
    ranks = relevant_ranks(model, one_query([2, 5]), no_neighbours(6))
    assert ranks[0] == pytest.approx(2.5)  # four tied at ranks 1..4 (item 5 is excluded)
    assert np.isinf(ranks[1])


def test_metrics_from_ranks_by_hand() -> None:
    queries = RankingQueries(
        query=np.array([0, 1], np.int32),
        indptr=np.array([0, 2, 3], np.int64),
        relevant=np.array([5, 6, 7], np.int32),
        n_available=3,
    )
    ranks = np.array([1.0, 50.0, 200.0])  # query 0: ranks 1 and 50; query 1: rank 200
    result = ranking_metrics_from_ranks(queries, ranks, np.random.default_rng(0))
    metrics = result.metrics()
    assert metrics["recall_at_10"] == pytest.approx((0.5 + 0.0) / 2)
    assert metrics["recall_at_100"] == pytest.approx((1.0 + 0.0) / 2)
    ideal_two = 1.0 + 1.0 / np.log2(3)
    assert metrics["ndcg_at_10"] == pytest.approx((1.0 / ideal_two + 0.0) / 2)
    assert metrics["mrr"] == pytest.approx((1.0 + 1.0 / 200) / 2)
    assert result.recall_curve[0] == pytest.approx(0.25) and result.recall_curve[99] == 0.5
    assert (
        metrics["recall_at_10_ci_low"] <= metrics["recall_at_10"] <= metrics["recall_at_10_ci_high"]
    )
    assert metrics["ranking_queries_used"] == 2 and metrics["ranking_query_pool"] == 3


def tiny_dataset() -> PreparedDataset:
    """Train: 0-1, 1-2, 2-3, 3-4; held out: 0-2 (seen both ends), 4-5 (5 unseen)."""
    train = PairTable(
        item_a=np.array([0, 1, 2, 3], np.int32),
        item_b=np.array([1, 2, 3, 4], np.int32),
        weight=np.ones(4, np.float32),
        relations=np.ones(4, np.uint8),
    )
    validation = ValidationPairs(
        item_a=np.array([0, 4, 0, 1], np.int32),
        item_b=np.array([2, 5, 3, 5], np.int32),
        label=np.array([1, 1, 0, 0], np.int8),
        seen=np.array([True, False, True, False]),
    )
    products = pd.DataFrame({"item_id": np.arange(6), "asin": [f"P{i}" for i in range(6)]})
    return PreparedDataset("tiny", products, train, validation)


def test_queries_are_seen_ends_of_held_out_positives_grouped() -> None:
    queries = ranking_queries(tiny_dataset(), max_queries=10, seed=0)
    assert queries.query.tolist() == [0, 2, 4]
    grouped = {
        int(q): queries.relevant[queries.indptr[i] : queries.indptr[i + 1]].tolist()
        for i, q in enumerate(queries.query)
    }
    assert grouped == {0: [2], 2: [0], 4: [5]}
    sampled = ranking_queries(tiny_dataset(), max_queries=2, seed=0)
    assert len(sampled) == 2 and sampled.n_available == 3
    again = ranking_queries(tiny_dataset(), max_queries=2, seed=0)
    assert sampled.query.tolist() == again.query.tolist()


def test_a_perfect_score_ranks_every_held_out_product_first() -> None:
    data = tiny_dataset()
    # One-hot "oracle" rows: a held-out pair shares a coordinate, nothing else does.
    vectors = np.zeros((6, 3), np.float32)
    vectors[[0, 2], 0] = 1.0
    vectors[[4, 5], 1] = 1.0
    vectors[[1, 3], 2] = 1.0
    oracle = ItemEmbeddings(vectors, np.ones(6, bool), similarity="dot")
    result = evaluate_ranking(oracle, data, ranking_queries(data, 10, 0), intervals=False)
    assert result.metrics()["recall_at_10"] == 1.0 and result.metrics()["mrr"] == 1.0
    adjacency = training_adjacency(data)
    assert adjacency[1].indices.tolist() == [0, 2]


def context_model(seed: int, with_bias: bool = False) -> ItemEmbeddings:
    """30 products with random center and context vectors (and biases)."""
    rng = np.random.default_rng(seed)
    vectors, context = rng.standard_normal((2, 30, 4)).astype(np.float32)
    bias = rng.standard_normal(30).astype(np.float32) if with_bias else None
    return ItemEmbeddings(vectors, np.ones(30, bool), context=context, bias=bias)


def test_sparse_rows_and_context_vectors_rank_like_their_pair_scores() -> None:
    dense = context_model(seed=0)
    adjacency = sparse.random(30, 30, density=0.2, random_state=1, format="csr", dtype=np.float32)
    graph = ItemEmbeddings(adjacency, np.ones(30, bool))
    query = np.array([3, 7], np.int32)
    for model in (dense, graph):
        rows = model.score_rows(query)
        pairs = model.score(np.repeat(query, 30), np.tile(np.arange(30, dtype=np.int32), 2))
        np.testing.assert_allclose(rows.ravel(), pairs, rtol=1e-5, atol=1e-6)


def test_a_row_scorer_over_some_candidates_scores_their_columns() -> None:
    model = context_model(seed=2, with_bias=True)
    query, candidates = np.array([3, 7], np.int32), np.array([1, 4, 29], np.int32)
    scores = model.row_scorer(candidates)(query)
    pairs = model.score(np.repeat(query, 3), np.tile(candidates, 2))
    np.testing.assert_allclose(scores.ravel(), pairs, rtol=1e-5, atol=1e-6)


def test_zero_width_vectors_score_rows_by_their_biases_alone() -> None:
    model = bias_model([0.5, -1.0, 2.0, 0.25])
    query, candidates = np.array([2, 0], np.int32), np.array([1, 3], np.int32)
    scores = model.row_scorer(candidates)(query)
    assert scores.dtype == np.float32
    pairs = model.score(np.repeat(query, 2), np.tile(candidates, 2))
    np.testing.assert_array_equal(scores.ravel(), pairs)
    no_bias = ItemEmbeddings(np.zeros((4, 0), np.float32), np.ones(4, bool), similarity="dot")
    assert not no_bias.row_scorer()(query).any()


def test_the_torch_path_ranks_exactly_like_the_numpy_path() -> None:
    """The GPU path's code, run on torch's CPU device: same ranks, ties and exclusions."""
    rng = np.random.default_rng(3)
    n = 60
    known = np.ones(n, bool)
    known[[7, 8]] = False
    model = ItemEmbeddings(
        np.round(rng.standard_normal((n, 3)), 1).astype(np.float32),  # rounded: ties happen
        known,
        context=np.round(rng.standard_normal((n, 3)), 1).astype(np.float32),
        bias=np.round(rng.standard_normal(n), 1).astype(np.float32),
    )
    queries = RankingQueries(
        query=np.array([0, 5, 9], np.int32),
        indptr=np.array([0, 3, 4, 6], np.int64),
        relevant=np.array([1, 7, 30, 2, 11, 40], np.int32),
        n_available=3,
    )
    a = rng.integers(0, n, 40)
    b = rng.integers(0, n, 40)
    adjacency = sparse.csr_matrix(
        (np.ones(80, np.float32), (np.r_[a, b], np.r_[b, a])), shape=(n, n)
    )
    on_cpu = relevant_ranks(model, queries, adjacency, block_rows=2)
    with_torch = relevant_ranks(model, queries, adjacency, block_rows=2, device="cpu")
    np.testing.assert_allclose(with_torch, on_cpu)
    assert np.isinf(on_cpu[1])  # item 7 has no vector
