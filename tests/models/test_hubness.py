"""CSLS hubness correction: planted hubs stop crowding the top k, true neighbours move in."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from recsys.embeddings import ItemEmbeddings
from recsys.models.hubness import neighbourhood_similarity, with_csls


def pairs_with_hubs(
    n_pairs: int = 200, n_hubs: int = 20, dim: int = 32, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Products in partner pairs (each other's true neighbour) that all share one common
    direction, plus hubs: near that direction alone, moderately close to every product and
    closer than many partners, like EGES's side-only vectors (the mean of rows thousands
    of products share). Returns (vectors, each product's partner, hub ids)."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    common /= np.linalg.norm(common)
    shared = np.repeat(rng.normal(size=(n_pairs, dim)), 2, axis=0) / np.sqrt(dim)
    own = rng.normal(size=(2 * n_pairs, dim)) / np.sqrt(dim)
    members = 0.6 * common + 0.6 * shared + 0.6 * own
    hubs = common + 0.3 * rng.normal(size=(n_hubs, dim)) / np.sqrt(dim)
    vectors = np.concatenate([members, hubs]).astype(np.float32)
    partner = np.arange(2 * n_pairs) ^ 1
    return vectors, partner, np.arange(2 * n_pairs, 2 * n_pairs + n_hubs)


def top_k(model: ItemEmbeddings, queries: np.ndarray, k: int) -> np.ndarray:
    scores = model.score_rows(queries)
    scores[np.arange(queries.size), queries] = -np.inf
    return np.argsort(-scores, axis=1)[:, :k]


def test_csls_takes_the_hubs_out_of_the_top_k_and_puts_partners_in() -> None:
    vectors, partner, hubs = pairs_with_hubs()
    model = ItemEmbeddings(vectors, np.ones(len(vectors), dtype=bool))
    queries = np.arange(partner.size)

    before = top_k(model, queries, 3)
    after = top_k(with_csls(model, 10, 10_000), queries, 3)

    def hub_share(top: np.ndarray) -> float:
        return float(np.isin(top, hubs).mean())

    def partner_found(top: np.ndarray) -> float:
        return float((top == partner[:, None]).any(axis=1).mean())

    assert hub_share(before) > 0.2  # the hubs crowd the lists
    assert hub_share(after) < 0.02
    assert partner_found(after) > partner_found(before) + 0.05
    r = neighbourhood_similarity(model, 10, 10_000)
    assert r[hubs].min() > np.median(r[queries])


def test_offsets_add_to_an_existing_bias_and_skip_products_without_a_vector() -> None:
    vectors, _, _ = pairs_with_hubs(n_pairs=10, n_hubs=2)
    known = np.ones(len(vectors), dtype=bool)
    known[:3] = False
    bias = np.linspace(-1, 1, len(vectors)).astype(np.float32)
    model = ItemEmbeddings(vectors, known, bias=bias)

    r = neighbourhood_similarity(model, 3, 1000, seed=1)
    corrected = with_csls(model, 3, 1000, seed=1)

    assert np.all(r[:3] == 0) and np.all(r[3:] > 0)
    np.testing.assert_allclose(corrected.bias, bias - r / 2, rtol=1e-6)
    assert corrected.extra["csls_mean_r"] == pytest.approx(float(r[known].mean()))
    # The bias already there does not enter r: the same r without it.
    np.testing.assert_array_equal(
        r, neighbourhood_similarity(ItemEmbeddings(vectors, known), 3, 1000, seed=1)
    )
    # Seeded: a sample smaller than the catalog gives the same r for the same seed.
    np.testing.assert_array_equal(
        neighbourhood_similarity(model, 3, 8, seed=2), neighbourhood_similarity(model, 3, 8, seed=2)
    )


def test_only_some_products_are_put_on_the_others_scale() -> None:
    vectors, _, hubs = pairs_with_hubs()
    model = ItemEmbeddings(vectors, np.ones(len(vectors), dtype=bool))
    only = np.isin(np.arange(len(vectors)), hubs)

    r = neighbourhood_similarity(model, 10, 10_000)
    corrected = with_csls(model, 10, 10_000, only=only)

    assert np.all(corrected.bias[~only] == 0)  # the others score as they did
    np.testing.assert_allclose(corrected.bias[only], -(r[only] - r[~only].mean()) / 2, rtol=1e-5)
    queries = np.flatnonzero(~only)
    assert not np.isin(top_k(corrected, queries, 3), hubs).any()


def test_scores_that_are_not_cosine_are_refused() -> None:
    vectors = np.eye(4, dtype=np.float32)
    known = np.ones(4, dtype=bool)
    with pytest.raises(ValueError, match="cosine"):
        with_csls(ItemEmbeddings(vectors, known, similarity="dot"))
    with pytest.raises(ValueError, match="sparse"):
        with_csls(ItemEmbeddings(sparse.csr_matrix(vectors), known))


def test_r_is_the_mean_of_each_products_k_best_scores_against_the_sample() -> None:
    """Checked by brute force across several sample blocks and column chunks."""
    rng = np.random.default_rng(4)
    n, k, sample_size = 5_000, 10, 300
    known = rng.random(n) > 0.05
    model = ItemEmbeddings(rng.standard_normal((n, 8)).astype(np.float32), known)
    r = neighbourhood_similarity(model, k, sample_size, seed=3)
    sample = np.sort(rng_sample(known, sample_size, seed=3))
    scores = model.score_rows(sample).astype(np.float64)
    scores[np.arange(sample.size), sample] = -np.inf
    scores[:, ~known] = -np.inf
    expected = np.where(known, np.sort(scores, axis=0)[-k:].mean(axis=0), 0.0)
    np.testing.assert_allclose(r, expected, rtol=1e-5, atol=1e-6)


def rng_sample(known: np.ndarray, size: int, seed: int) -> np.ndarray:
    """The sample :func:`neighbourhood_similarity` draws with ``seed``."""
    return np.random.default_rng(seed).choice(np.flatnonzero(known), size=size, replace=False)
