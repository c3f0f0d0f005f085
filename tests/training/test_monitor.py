"""The learning-curve AUC matches sklearn's, ties included."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from recsys.training.monitor import roc_auc_torch


def test_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.normal(size=500) + labels, 1)  # rounding makes many ties
    ours = roc_auc_torch(torch.as_tensor(labels), torch.as_tensor(scores))
    assert abs(ours - roc_auc_score(labels, scores)) < 1e-12


def test_auc_of_one_class_is_nan() -> None:
    assert np.isnan(roc_auc_torch(torch.ones(4), torch.arange(4.0)))
