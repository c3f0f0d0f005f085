"""One sort gives sklearn's curves and areas on every slice, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from recsys.evaluation.curves import SortedPairs
from recsys.evaluation.intervals import delong_auc_interval


def _scored(seed: int, n: int = 4000, step: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """0/1 labels and float32 scores rounded to ``step`` (many ties)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n).astype(np.int8)
    scores = np.round(rng.normal(labels * 0.6, 1.0) / step) * step
    return labels, scores.astype(np.float32)


@pytest.mark.parametrize(("seed", "step"), [(0, 0.1), (1, 0.5), (2, 1e-6)])
def test_every_slice_equals_sklearn(seed: int, step: float) -> None:
    labels, scores = _scored(seed, step=step)
    mask = np.random.default_rng(seed + 10).random(labels.size) < 0.3
    whole = SortedPairs.of(labels, scores)
    for pairs, y, s in ((whole, labels, scores), (whole.subset(mask), labels[mask], scores[mask])):
        assert pairs.auc() == pytest.approx(roc_auc_score(y, s), rel=1e-12)
        assert pairs.average_precision() == pytest.approx(average_precision_score(y, s), rel=1e-12)
        for got, expected in zip(pairs.roc_curve(), roc_curve(y, s), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        for got, expected in zip(
            pairs.precision_recall_curve(), precision_recall_curve(y, s), strict=True
        ):
            np.testing.assert_allclose(got, expected, rtol=1e-12)
        np.testing.assert_allclose(pairs.delong_interval(), delong_auc_interval(y, s), rtol=1e-12)


def test_a_subset_keeps_each_pairs_products_for_its_interval() -> None:
    labels, scores = _scored(5)
    rng = np.random.default_rng(6)
    a, b = rng.integers(0, 50, (2, labels.size))
    luck = rng.normal(0, 1, 50)  # each product's: its positive pairs share it
    scores = (scores + labels * (luck[a] + luck[b])).astype(np.float32)
    mask = rng.random(labels.size) < 0.4
    part = SortedPairs.of(labels, scores, (a, b)).subset(mask)
    expected = delong_auc_interval(labels[mask], scores[mask], products=(a[mask], b[mask]))
    np.testing.assert_allclose(part.delong_interval(), expected, rtol=1e-12)
    assert part.delong_interval() != delong_auc_interval(labels[mask], scores[mask])


def test_a_subset_of_a_subset_keeps_the_callers_rows() -> None:
    labels, scores = _scored(3)
    rng = np.random.default_rng(4)
    first, second = rng.random(labels.size) < 0.5, rng.random(labels.size) < 0.5
    nested = SortedPairs.of(labels, scores).subset(first).subset(second)
    both = first & second
    assert nested.auc() == pytest.approx(roc_auc_score(labels[both], scores[both]), rel=1e-12)
    np.testing.assert_array_equal(np.sort(nested.order), np.flatnonzero(both))


def test_a_slice_without_both_classes_has_no_auc() -> None:
    labels, scores = _scored(5)
    pairs = SortedPairs.of(labels, scores)
    assert pairs.subset(labels == 1).auc() is None
    assert pairs.subset(np.zeros(labels.size, dtype=bool)).auc() is None


def test_a_nan_score_is_refused_with_the_count() -> None:
    labels, scores = _scored(6)
    scores[[3, 7]] = np.nan
    with pytest.raises(ValueError, match="2 of 4,000 validation scores are NaN"):
        SortedPairs.of(labels, scores)
