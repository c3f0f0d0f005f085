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
