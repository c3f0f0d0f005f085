"""95% intervals: DeLong's for AUC, a bootstrap for means over queries."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm, rankdata

from recsys.evaluation.intervals import bootstrap_mean_interval, delong_auc_interval


def test_delong_interval_covers_the_true_auc_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(0)
    true_auc = norm.cdf(0.8 / np.sqrt(2))  # N(0.8, 1) positives against N(0, 1) negatives
    covered = 0
    for _ in range(200):
        labels = rng.integers(0, 2, 300)
        scores = rng.normal(size=300) + 0.8 * labels
        low, high = delong_auc_interval(labels, scores)
        covered += low <= true_auc <= high
    assert 0.9 <= covered / 200 <= 0.99


def test_pairs_that_share_no_product_get_delongs_interval() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 2000)
    scores = rng.normal(size=2000) + 0.5 * labels
    own = np.arange(4000).reshape(2, 2000)  # every product in one pair
    np.testing.assert_allclose(
        delong_auc_interval(labels, scores, products=(own[0], own[1])),
        delong_auc_interval(labels, scores),
        rtol=1e-12,
    )


def test_pairs_whose_products_cancel_get_no_less_than_delongs_interval() -> None:
    """Each product's positive and negative pairs pull its influence to zero (as a degree
    score does against degree-matched negatives): the shared-product sum falls below
    DeLong's, which is kept."""
    rng = np.random.default_rng(7)
    a = rng.integers(0, 100, 1000)
    b = (a + rng.integers(1, 100, 1000)) % 100
    degree = np.bincount(np.r_[a, b], minlength=100).astype(float)
    labels = np.r_[np.ones(500), np.zeros(500)].astype(np.int64)
    negatives = slice(500, None)
    a[negatives], b[negatives] = a[:500], b[:500]  # every product as often in each class
    scores = degree[a] + degree[b] + rng.normal(0, 0.1, 1000)
    independent = delong_auc_interval(labels, scores)
    shared = delong_auc_interval(labels, scores, products=(a, b))
    np.testing.assert_allclose(shared, independent, rtol=1e-12)


def test_pairs_sharing_products_get_an_interval_that_covers_where_delongs_does_not() -> None:
    """Each product's luck q_p moves every positive pair it is in (an embedding good or
    bad for that product): 200 products in 2,000 pairs. DeLong, taking pairs as
    independent, covered the true AUC 77% of the time; with the products, 93%."""
    rng = np.random.default_rng(0)
    n_products, half, margin, luck = 200, 1000, 1.0, 0.5
    true_auc = norm.cdf(margin / np.sqrt(2 * luck**2 + 2))
    labels = np.r_[np.ones(half), np.zeros(half)].astype(np.int64)
    covered = {"independent": 0, "shared products": 0}
    for _ in range(400):
        q = rng.normal(0, luck, n_products)
        a = rng.integers(0, n_products, 2 * half)
        b = (a + rng.integers(1, n_products, 2 * half)) % n_products
        scores = (margin + q[a] + q[b]) * labels + rng.normal(0, 1, 2 * half)
        for name, products in (("independent", None), ("shared products", (a, b))):
            low, high = delong_auc_interval(labels, scores, products=products)
            covered[name] += low <= true_auc <= high
    assert covered["independent"] / 400 < 0.85
    assert covered["shared products"] / 400 > 0.9


def test_delong_interval_of_a_perfect_ranking_is_one_and_ties_are_handled() -> None:
    assert delong_auc_interval(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == (1, 1)
    low, high = delong_auc_interval(np.array([0, 1, 0, 1]), np.array([1.0, 1.0, 1.0, 1.0]))
    assert low <= 0.5 <= high
    with pytest.raises(ValueError, match="both"):
        delong_auc_interval(np.array([1, 1]), np.array([0.2, 0.3]))


def test_bootstrap_interval_brackets_the_mean_and_narrows_with_more_queries() -> None:
    rng = np.random.default_rng(1)
    few = (rng.random(100) < 0.3).astype(float)
    many = (rng.random(10_000) < 0.3).astype(float)
    low_few, high_few = bootstrap_mean_interval(few, np.random.default_rng(2))
    low_many, high_many = bootstrap_mean_interval(many, np.random.default_rng(2))
    assert low_few <= few.mean() <= high_few and low_many <= many.mean() <= high_many
    assert high_many - low_many < (high_few - low_few) / 5
    assert np.isnan(bootstrap_mean_interval(np.zeros(0), rng)[0])


def _delong_by_rankdata(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """DeLong's interval with three separate midrankings (Sun & Xu's formulation)."""
    pos, neg = scores[labels == 1].astype(np.float64), scores[labels == 0].astype(np.float64)
    m, n = pos.size, neg.size
    combined = rankdata(np.concatenate([pos, neg]))
    auc = (combined[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_pos = (combined[:m] - rankdata(pos)) / n
    v_neg = 1.0 - (combined[m:] - rankdata(neg)) / m
    half = norm.ppf(0.975) * np.sqrt(v_pos.var(ddof=1) / m + v_neg.var(ddof=1) / n)
    return max(0.0, auc - half), min(1.0, auc + half)


def test_delong_from_one_sort_equals_three_midrankings_with_ties() -> None:
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 5000)
    scores = np.round(rng.normal(labels * 0.7, 1.0), 1).astype(np.float32)  # many ties
    np.testing.assert_allclose(
        delong_auc_interval(labels, scores), _delong_by_rankdata(labels, scores), rtol=1e-12
    )
