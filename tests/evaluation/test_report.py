"""The final evaluation: degree buckets, and a dataset without ranking queries."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.dataset import PairTable, PreparedDataset, ValidationPairs
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.report import degree_buckets, evaluate_final, headline_summary
from tests.evaluation.test_ranking import tiny_dataset


def test_degree_buckets_split_at_the_median_and_the_90th_percentile() -> None:
    degree = np.array([0, 1, 1, 1, 2, 2, 3, 5, 8, 40, 100])
    assert degree_buckets(degree).tolist() == [-1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2]
    assert degree_buckets(np.zeros(3, np.int64)).tolist() == [-1, -1, -1]


def test_popularity_wins_on_head_pairs_under_the_study_protocol(
    planted_dataset: PreparedDataset,
) -> None:
    degree = planted_dataset.train_degree().astype(np.float32)
    popularity = ItemEmbeddings(
        np.zeros((planted_dataset.n_items, 0), np.float32),
        np.ones(planted_dataset.n_items, bool),
        similarity="dot",
        bias=np.log1p(degree),
    )
    final = evaluate_final(popularity, planted_dataset, max_queries=200, seed=0)
    metrics = final.metrics()
    assert final.ranking.n_queries == 200
    assert set(final.by_bucket) <= {"tail", "torso", "head"} and final.by_bucket
    assert "bucket_tail_recall_at_10" in metrics or "bucket_torso_recall_at_10" in metrics
    for key in ("auc_all_ci_low", "matched_auc_all", "recall_at_10_ci_high", "mrr"):
        assert np.isfinite(metrics[key]), key
    line = headline_summary(metrics)
    half = (metrics["auc_all_ci_high"] - metrics["auc_all_ci_low"]) / 2
    assert line.startswith(f"AUC all {metrics['auc_all']:.4f} ±{half:.4f}, seen "), line
    assert f"recall@10 {metrics['recall_at_10']:.4f}" in line and "matched all" in line


def test_the_headline_leaves_out_what_was_not_measured() -> None:
    line = headline_summary({"auc_all": 0.9, "auc_seen": float("nan"), "pr_auc": 0.8})
    assert line == "AUC all 0.9000, PR-AUC 0.8000"


def test_no_seen_query_gives_nan_ranking_metrics_with_a_warning() -> None:
    data = tiny_dataset()
    cold = ValidationPairs(  # every held-out pair has an end unseen in training
        item_a=np.array([4, 0], np.int32),
        item_b=np.array([5, 5], np.int32),
        label=np.array([1, 0], np.int8),
        seen=np.array([False, False]),
    )
    data = PreparedDataset(data.name, data.products, data.train, cold)
    data.products["has_metadata"] = True
    model = ItemEmbeddings(np.eye(6, dtype=np.float32), np.array([1, 1, 1, 1, 1, 0], bool))
    # Product 4 is in training: drop its pairs, so no held-out pair has a seen end.
    with pytest.warns(UserWarning, match="ranking metrics"):
        final = evaluate_final(model, _without_item(data, 4), max_queries=10, seed=0)
    assert np.isnan(final.metrics()["recall_at_10"])
    assert np.isfinite(final.metrics()["auc_all"])


def _without_item(data: PreparedDataset, item: int) -> PreparedDataset:
    keep = (data.train.item_a != item) & (data.train.item_b != item)
    train = PairTable(
        data.train.item_a[keep], data.train.item_b[keep], data.train.weight[keep],
        data.train.relations[keep],
    )  # fmt: skip
    return PreparedDataset(data.name, data.products, train, data.validation)
