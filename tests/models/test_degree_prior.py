"""The degree prior: fitted on an inner split of the training pairs, added to the score."""

from __future__ import annotations

import numpy as np

from recsys.data.dataset import PreparedDataset
from recsys.data.split import inner_split
from recsys.embeddings import ItemEmbeddings
from recsys.models.degree_prior import (
    INNER_FRACTION,
    DegreePrior,
    calibrate_and_apply,
    fit_degree_prior,
    log_degree_sum,
    similarity_everywhere,
    with_degree_prior,
)


def cluster_oracle(data: PreparedDataset, noise: float = 0.0, seed: int = 0) -> ItemEmbeddings:
    """One-hot brand (= planted cluster) vectors, optionally blurred: a similarity that
    knows the answer, for items seen in training."""
    codes = data.products["brand"].astype("category").cat.codes.to_numpy()
    vectors = np.eye(codes.max() + 1, dtype=np.float32)[codes]
    vectors += noise * np.random.default_rng(seed).standard_normal(vectors.shape).astype(np.float32)
    return ItemEmbeddings(vectors, data.train_vocabulary(), similarity="cosine")


def test_similarity_everywhere_scores_unknown_products_as_zero(
    planted_dataset: PreparedDataset,
) -> None:
    model = cluster_oracle(planted_dataset)
    everywhere = similarity_everywhere(model)
    assert everywhere.known.all()
    unknown = np.flatnonzero(~model.known)
    assert unknown.size and not everywhere.vectors[unknown].any()
    a = np.full(unknown.size, np.flatnonzero(model.known)[0], np.int32)
    assert np.allclose(everywhere.score(a, unknown.astype(np.int32)), 0.0)


def test_blended_score_is_similarity_plus_beta_times_summed_log_degrees(
    planted_dataset: PreparedDataset,
) -> None:
    model = cluster_oracle(planted_dataset)
    prior = DegreePrior(beta=0.25, weight_similarity=4.0, weight_prior=1.0, n_calibration_pairs=1)
    blended = with_degree_prior(model, planted_dataset, prior)
    a = np.array([0, 1, 2, 3], np.int32)
    b = np.array([5, 30, 60, 499], np.int32)
    expected = similarity_everywhere(model).score(a, b) + 0.25 * log_degree_sum(
        planted_dataset, a, b
    )
    np.testing.assert_allclose(blended.score(a, b), expected, rtol=1e-5)
    assert blended.extra["degree_prior_beta"] == 0.25


def test_inner_split_holds_out_a_fifth_of_the_training_pairs_only(
    planted_dataset: PreparedDataset,
) -> None:
    inner = inner_split(planted_dataset, INNER_FRACTION, seed=0)
    outer_train = set(zip(planted_dataset.train.item_a.tolist(),
                          planted_dataset.train.item_b.tolist(), strict=True))  # fmt: skip
    positives = inner.validation.label == 1
    held = set(zip(inner.validation.item_a[positives].tolist(),
                   inner.validation.item_b[positives].tolist(), strict=True))  # fmt: skip
    assert held <= outer_train  # never a validation pair of the outer split
    assert len(held) == round(len(planted_dataset.train) * 0.2)


def test_fitted_beta_follows_whether_degree_carries_signal(
    planted_dataset: PreparedDataset,
) -> None:
    inner = inner_split(planted_dataset, INNER_FRACTION, seed=0)
    prior = fit_degree_prior(cluster_oracle(inner, noise=0.3), inner)
    assert prior.weight_similarity > 0 and np.isfinite(prior.beta)
    assert prior.n_calibration_pairs == len(inner.validation)
    oracle = cluster_oracle(inner)
    backwards = ItemEmbeddings(  # scores same-cluster pairs lowest: no prior can be put on it
        oracle.vectors, oracle.known, context=-oracle.vectors
    )
    off = fit_degree_prior(backwards, inner)
    assert off.beta == 0.0 and "does not rank" in off.problem


def test_calibration_trains_on_the_inner_split_and_returns_the_full_model_blended(
    planted_dataset: PreparedDataset,
) -> None:
    trained_on: list[int] = []

    def train(data: PreparedDataset) -> ItemEmbeddings:
        trained_on.append(len(data.train))
        return cluster_oracle(data, noise=0.3)

    full = cluster_oracle(planted_dataset, noise=0.3)
    blended, prior = calibrate_and_apply(train, full, planted_dataset, seed=0)
    assert trained_on == [len(planted_dataset.train) - round(len(planted_dataset.train) * 0.2)]
    assert blended.known.all() and blended.extra["degree_prior_beta"] == prior.beta
