"""AUC, ROC and precision-recall curves, average precision and DeLong's interval of
scored pairs, every slice from one sort.

A final evaluation needs, per protocol, the AUC of three slices with their intervals, two
curves and the average precision; sklearn sorts the pairs again for each (seven sorts of
4M pairs per protocol at Electronics scale, plus the degree buckets'). A subset of a
stably sorted array is itself sorted, so one sort serves every slice: the values below
equal sklearn's ``roc_auc_score``, ``roc_curve``, ``precision_recall_curve`` and
``average_precision_score`` (tests/evaluation/test_curves.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from recsys.data.pairs import run_starts
from recsys.evaluation.intervals import (
    Interval,
    PairProducts,
    delong_interval_of_sorted,
    take_products,
)
from recsys.typing import BoolMask, Labels, Weights


@dataclass(frozen=True)
class Runs:
    """Each run of equal scores of a sorted slice, ascending: its score, positives, size."""

    values: np.ndarray
    positives: np.ndarray  # float64 counts
    sizes: np.ndarray  # float64 counts

    def descending_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tps, fps, thresholds) at each distinct score, highest first: sklearn's
        ``confusion_matrix_at_thresholds``."""
        tps = np.cumsum(self.positives[::-1])
        fps = np.cumsum(self.sizes[::-1]) - tps
        return tps, fps, self.values[::-1]


@dataclass(frozen=True)
class SortedPairs:
    """Scored pairs sorted once by ascending score (stable); ``order`` maps back to the
    caller's rows, so :meth:`subset` takes a mask in the caller's order. ``products``, in
    the sorted order, are each pair's two products, for intervals that count pairs sharing
    a product as dependent."""

    scores: Weights
    positive: BoolMask
    order: np.ndarray
    products: PairProducts | None = None

    @classmethod
    def of(
        cls, labels: Labels, scores: Weights, products: PairProducts | None = None
    ) -> SortedPairs:
        """Sort ``scores`` (with 0/1 ``labels`` and, if given, each pair's products).

        Raises:
            ValueError: a score is NaN (the embeddings hold NaN: training diverged).
        """
        values = np.asarray(scores)
        nan = int(np.isnan(values).sum())
        if nan:
            raise ValueError(
                f"{nan:,} of {values.size:,} validation scores are NaN: the embeddings hold "
                "NaN (training diverged); lower lr or check the input"
            )
        order = np.argsort(values, kind="stable")
        ordered = take_products(products, order)
        return cls(values[order], np.asarray(labels)[order] == 1, order, ordered)

    def subset(self, mask: BoolMask) -> SortedPairs:
        """The pairs where ``mask`` (in the caller's row order) is true, still sorted."""
        keep = mask[self.order]
        kept = take_products(self.products, keep)
        return SortedPairs(self.scores[keep], self.positive[keep], self.order[keep], kept)

    @property
    def size(self) -> int:
        return int(self.scores.size)

    @cached_property
    def runs(self) -> Runs:
        if self.size == 0:
            empty = np.zeros(0)
            return Runs(empty, empty, empty)
        starts = run_starts(self.scores)
        positives = np.add.reduceat(self.positive.astype(np.int64), starts).astype(np.float64)
        sizes = np.diff(np.r_[starts, self.size]).astype(np.float64)
        return Runs(self.scores[starts], positives, sizes)

    def auc(self) -> float | None:
        """ROC-AUC (Mann-Whitney, ties counted half: the area under sklearn's curve), or
        None when a class is missing."""
        runs = self.runs
        n_pos = runs.positives.sum()
        n_neg = runs.sizes.sum() - n_pos
        if n_pos == 0 or n_neg == 0:
            return None
        negatives = runs.sizes - runs.positives
        below = np.cumsum(negatives) - negatives
        return float((runs.positives * (below + 0.5 * negatives)).sum() / (n_pos * n_neg))

    def average_precision(self) -> float:
        """sklearn's step formula: each distinct score adds its share of the recall times
        the precision at or above it."""
        runs = self.runs
        n_pos = runs.positives.sum()
        at_or_above = n_pos - (np.cumsum(runs.positives) - runs.positives)
        counted = runs.sizes.sum() - (np.cumsum(runs.sizes) - runs.sizes)
        return float((runs.positives / n_pos * at_or_above / counted).sum())

    def roc_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(fpr, tpr, thresholds) as sklearn's ``roc_curve`` (collinear points dropped, a
        first point at +inf); both classes required."""
        tps, fps, thresholds = self.runs.descending_counts()
        if fps.size > 2:
            corner = np.r_[True, (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0), True]
            tps, fps, thresholds = tps[corner], fps[corner], thresholds[corner]
        tps, fps = np.r_[0.0, tps], np.r_[0.0, fps]
        thresholds = np.r_[np.inf, thresholds.astype(np.float64)]
        return fps / fps[-1], tps / tps[-1], thresholds

    def precision_recall_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(precision, recall, thresholds) as sklearn's ``precision_recall_curve``: recall
        decreasing, a last point (1, 0) with no threshold; positives required."""
        tps, fps, thresholds = self.runs.descending_counts()
        precision = tps / (tps + fps)  # every threshold counts at least its own run
        recall = tps / tps[-1]
        return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]

    def delong_interval(self) -> Interval:
        """95% DeLong interval of :meth:`auc`, pairs sharing a product counted as
        dependent when the products are known; both classes required."""
        return delong_interval_of_sorted(self.scores, self.positive, products=self.products)
