"""The learning curve: ROC-AUC of a fixed validation sample, scored from the live tables.

Scoring happens in torch on the training device with the model's own ``score_pairs``, so a
curve point costs one gather of ``2 * eval_sample`` rows, never a copy of the tables.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from recsys.data.dataset import ValidationPairs
from recsys.evaluation.metrics import auc_sample_indices


def roc_auc_torch(labels: Tensor, scores: Tensor) -> float:
    """ROC-AUC by the Mann-Whitney U statistic, ties counted half (as sklearn does).

    Args:
        labels: (n,) 0/1 (any numeric or bool dtype).
        scores: (n,) float scores.

    Returns:
        AUC, or NaN when one class is missing.
    """
    positive = labels.to(torch.bool)
    n_pos = int(positive.sum())
    n_neg = int(positive.numel()) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = torch.unique(
        scores.to(torch.float64), sorted=True, return_inverse=True, return_counts=True
    )
    # Average rank (1-based) of each distinct value: tied scores share their mean rank.
    upper = torch.cumsum(counts, 0).to(torch.float64)
    average_rank = upper - (counts.to(torch.float64) - 1.0) / 2.0
    rank_sum = average_rank[inverse][positive].sum()
    u = rank_sum - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


class SampledAuc:
    """A fixed, seeded validation sample held on the device for the learning curve.

    Args:
        validation: the dataset's validation pairs.
        size: pairs in the sample (TrainerConfig.eval_sample).
        seed: sample seed (the run's seed, so curves of different methods share a sample).
        device: training device.
    """

    def __init__(
        self, validation: ValidationPairs, size: int, seed: int, device: torch.device
    ) -> None:
        index = auc_sample_indices(validation, size, seed)
        self.item_a = torch.as_tensor(validation.item_a[index].astype(np.int64), device=device)
        self.item_b = torch.as_tensor(validation.item_b[index].astype(np.int64), device=device)
        self.label = torch.as_tensor(validation.label[index].astype(np.int8), device=device)

    def __call__(self, score_pairs: object) -> float:
        """AUC of ``score_pairs(item_a, item_b) -> (n,) scores`` on the sample."""
        with torch.no_grad():
            scores = score_pairs(self.item_a, self.item_b)  # type: ignore[operator]
        return roc_auc_torch(self.label, scores)
