"""The shared contracts: ItemEmbeddings scoring, evaluation slices, dataset round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.data.dataset import PreparedDataset, load_prepared, save_prepared
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate


def _cluster_embeddings(dataset: PreparedDataset, known_fraction: float = 1.0) -> ItemEmbeddings:
    cluster = dataset.products["brand"].str.removeprefix("brand").astype(int).to_numpy()
    vectors = np.eye(cluster.max() + 1, dtype=np.float32)[cluster]
    known = np.ones(len(cluster), dtype=bool)
    known[: int(len(cluster) * (1 - known_fraction))] = False
    return ItemEmbeddings(vectors=vectors, known=known)


def test_planted_oracle_gets_perfect_auc_on_every_slice(planted_dataset: PreparedDataset) -> None:
    result = evaluate(_cluster_embeddings(planted_dataset), planted_dataset)
    assert result.auc_all == 1.0
    assert result.auc_seen == 1.0
    assert result.auc_cold_start == 1.0
    assert result.n_cold_start > 0 and result.n_seen > 0


def test_unknown_items_get_the_median_score(planted_dataset: PreparedDataset) -> None:
    result = evaluate(_cluster_embeddings(planted_dataset, known_fraction=0.5), planted_dataset)
    assert result.n_median_filled > 0
    assert 0.5 < result.auc_all < 1.0


def test_score_and_most_similar_agree_on_a_hand_checked_case() -> None:
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype=np.float32)
    model = ItemEmbeddings(vectors=vectors, known=np.ones(4, dtype=bool))
    ids, scores = model.most_similar(np.array([0, 2], dtype=np.int32), k=2)
    assert ids[0].tolist() == [1, 2]
    assert ids[1].tolist() == [1, 0]
    direct = model.score(np.array([0, 0], dtype=np.int32), ids[0])
    np.testing.assert_allclose(direct, scores[0], rtol=1e-6)


def test_prepared_dataset_round_trips_through_parquet(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    save_prepared(planted_dataset, tmp_path)
    loaded = load_prepared(tmp_path)
    assert loaded.n_items == planted_dataset.n_items
    np.testing.assert_array_equal(loaded.train.item_a, planted_dataset.train.item_a)
    np.testing.assert_array_equal(loaded.validation.seen, planted_dataset.validation.seen)
    assert loaded.folder == tmp_path


def test_most_similar_in_chunks_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 5)).astype(np.float32)
    known = rng.random(40) > 0.3
    bias = rng.normal(size=40).astype(np.float32)
    model = ItemEmbeddings(vectors=vectors, known=known, similarity="dot_sigmoid", bias=bias)
    queries = np.arange(40, dtype=np.int32)  # known and unknown queries alike
    ids, scores = model.most_similar(queries, k=4, chunk_size=7)
    candidates = np.flatnonzero(known)
    for q in queries:
        others = candidates[candidates != q]
        brute = vectors[others] @ vectors[q] + bias[others] + bias[q]
        best = others[np.argsort(-brute)[:4]]
        assert ids[q].tolist() == best.tolist()
        np.testing.assert_allclose(
            scores[q], model.score(np.full(4, q, np.int32), ids[q]), rtol=1e-5
        )


def test_context_vectors_score_each_center_against_the_others_context() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(30, 4)).astype(np.float32)
    context = rng.normal(size=(30, 4)).astype(np.float32)
    model = ItemEmbeddings(vectors=vectors, known=rng.random(30) > 0.2, context=context)

    def cos(x: np.ndarray, y: np.ndarray) -> float:
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    a, b = np.array([0, 3, 7], np.int32), np.array([1, 9, 7], np.int32)
    by_hand = [
        (cos(vectors[i], context[j]) + cos(vectors[j], context[i])) / 2
        for i, j in zip(a, b, strict=True)
    ]
    np.testing.assert_allclose(model.score(a, b), by_hand, rtol=1e-5)
    np.testing.assert_allclose(model.score(a, b), model.score(b, a), rtol=1e-6)  # symmetric
    queries = np.arange(30, dtype=np.int32)
    ids, scores = model.most_similar(queries, k=5, chunk_size=4)
    candidates = np.flatnonzero(model.known)
    for q in queries:
        others = candidates[candidates != q]
        brute = model.score(np.full(others.size, q, np.int32), others.astype(np.int32))
        assert ids[q].tolist() == others[np.argsort(-brute, kind="stable")[:5]].tolist()
        np.testing.assert_allclose(scores[q], np.sort(brute)[::-1][:5], rtol=1e-5)


def test_context_vectors_need_the_vectors_shape_and_cosine_scoring() -> None:
    vectors = np.ones((3, 2), dtype=np.float32)
    known = np.ones(3, dtype=bool)
    with pytest.raises(ValueError, match="context has shape"):
        ItemEmbeddings(vectors=vectors, known=known, context=np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match="cosine only"):
        ItemEmbeddings(vectors=vectors, known=known, similarity="dot", context=vectors)


@pytest.mark.parametrize(
    ("similarity", "with_context"), [("cosine", True), ("dot", False), ("dot_sigmoid", False)]
)
def test_score_in_chunks_matches_one_pass(similarity: str, with_context: bool) -> None:
    rng = np.random.default_rng(4)
    model = ItemEmbeddings(
        vectors=rng.normal(size=(30, 6)).astype(np.float32),
        known=np.ones(30, dtype=bool),
        context=rng.normal(size=(30, 6)).astype(np.float32) if with_context else None,
        bias=rng.normal(size=30).astype(np.float32),
        similarity=similarity,
    )
    a, b = rng.integers(0, 30, 1000), rng.integers(0, 30, 1000)
    expected = model.score(a, b, chunk_size=1000)
    np.testing.assert_allclose(model.score(a, b, chunk_size=7), expected, rtol=1e-6)
    vectors = model.scoring_tables()[0]
    plain = np.einsum("ij,ij->i", vectors[a], vectors[b])
    assert not np.allclose(expected, plain)  # the bias (and context) are in the score
