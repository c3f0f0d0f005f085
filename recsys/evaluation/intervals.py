"""95% intervals for the headline metrics, so a leaderboard can say "tied".

AUC: DeLong's variance (DeLong et al. 1988) through midranks (Sun & Xu, "Fast
implementation of DeLong's algorithm", IEEE SPL 2014): O(n log n), exact on millions of
pairs where a bootstrap would resort them a thousand times. Means over queries (recall@k,
NDCG, MRR): a percentile bootstrap over queries, since per-query values are skewed
(mostly 0 or 1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from recsys.data.pairs import run_starts
from recsys.typing import BoolMask, Labels, Weights

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 1000
Interval = tuple[float, float]


def _midranks_of_sorted(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ascending ``values``, each run of equal values at its midpoint."""
    if values.size == 0:
        return np.zeros(0)
    starts = run_starts(values)
    ends = np.r_[starts[1:], values.size]
    return np.repeat((starts + ends + 1) / 2.0, ends - starts)


def delong_auc_interval(labels: Labels, scores: Weights, level: float = LEVEL) -> Interval:
    """Two-sided ``level`` interval of ROC-AUC, clipped to [0, 1].

    Args:
        labels: (n,) 0/1; both classes present.
        scores: (n,) scores, ties allowed (counted half, as the AUC does).

    Raises:
        ValueError: one class is missing.
    """
    values = np.asarray(scores, dtype=np.float64)
    order = np.argsort(values, kind="stable")
    return delong_interval_of_sorted(values[order], (np.asarray(labels) == 1)[order], level)


def delong_interval_of_sorted(
    ordered: npt.NDArray[np.floating], is_positive: BoolMask, level: float = LEVEL
) -> Interval:
    """:func:`delong_auc_interval` of scores already sorted ascending (stably, with their
    labels as booleans). One sort serves the three midrankings DeLong needs (all pairs,
    positives among themselves, negatives among themselves): each class keeps its sorted
    order inside the whole sort.

    Raises:
        ValueError: one class is missing.
    """
    ordered = np.asarray(ordered, dtype=np.float64)
    m = int(is_positive.sum())
    n = is_positive.size - m
    if m == 0 or n == 0:
        raise ValueError("an AUC interval needs both positives and negatives")
    combined = _midranks_of_sorted(ordered)
    rank_pos, rank_neg = combined[is_positive], combined[~is_positive]
    auc = (rank_pos.sum() - m * (m + 1) / 2) / (m * n)
    # Structural components: each positive's share of negatives below it, and vice versa.
    v_pos = (rank_pos - _midranks_of_sorted(ordered[is_positive])) / n
    v_neg = 1.0 - (rank_neg - _midranks_of_sorted(ordered[~is_positive])) / m
    variance = (v_pos.var(ddof=1) if m > 1 else 0.0) / m + (v_neg.var(ddof=1) if n > 1 else 0.0) / n
    half = float(norm.ppf(0.5 + level / 2) * np.sqrt(max(variance, 0.0)))
    return max(0.0, float(auc) - half), min(1.0, float(auc) + half)


def bootstrap_mean_interval(
    values: np.ndarray,
    rng: np.random.Generator,
    level: float = LEVEL,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> Interval:
    """Percentile bootstrap interval of the mean of per-query ``values``.

    Resampled in blocks of rows, so memory stays at about 8M indices whatever the size.
    Returns (nan, nan) for no values.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    means = np.empty(resamples)
    block = max(1, (8 << 20) // values.size)
    for start in range(0, resamples, block):
        stop = min(start + block, resamples)
        picks = rng.integers(0, values.size, size=(stop - start, values.size))
        means[start:stop] = values[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
