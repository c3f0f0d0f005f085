"""A run's final evaluation: both protocols with intervals, ranking, and where a method wins.

Per-epoch evaluation stays cheap (pair AUCs only,
:func:`recsys.evaluation.metrics.epoch_metrics`); the final model also gets DeLong
intervals, the ranking metrics over the whole catalog and
the same metrics by degree bucket, which say *why* a method leads: popularity-driven
methods win on head products, co-occurrence methods on the torso, side information on the
tail.

Buckets go by training degree: ``tail`` up to the median degree of the products seen in
training, ``head`` above the 90th percentile, ``torso`` between. A validation pair belongs
to the bucket of its rarer product (a pair is as hard as its least-known end); pairs with
a product unseen in training are in no bucket (``auc_cold_start`` covers them). A ranking
query belongs to its query product's bucket.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import (
    MATCHED_PREFIX,
    EvaluationResult,
    ScoredProtocol,
    evaluate_scored,
    score_protocols,
)
from recsys.evaluation.ranking import (
    RankingResult,
    evaluate_ranking,
    ranking_device,
    ranking_queries,
)

BUCKETS = ("tail", "torso", "head")
TAIL_QUANTILE, HEAD_QUANTILE = 0.5, 0.9


def degree_buckets(train_degree: np.ndarray) -> np.ndarray:
    """Bucket index per product (0 tail, 1 torso, 2 head; -1 unseen in training)."""
    seen = train_degree > 0
    if not seen.any():
        return np.full(train_degree.shape, -1, dtype=np.int8)
    tail_max, head_min = np.quantile(train_degree[seen], [TAIL_QUANTILE, HEAD_QUANTILE])
    bucket = np.where(train_degree <= tail_max, 0, np.where(train_degree > head_min, 2, 1))
    return np.where(seen, bucket, -1).astype(np.int8)


@dataclass(frozen=True)
class FinalEvaluation:
    """Everything a finished run logs about its model's quality."""

    pairs: EvaluationResult  # both protocols, with intervals
    ranking: RankingResult
    by_bucket: dict[str, dict[str, float]] = field(default_factory=dict)  # bucket -> metrics

    def metrics(self) -> dict[str, float]:
        flat = {**self.pairs.metrics(), **self.ranking.metrics()}
        for bucket, values in self.by_bucket.items():
            flat.update({f"bucket_{bucket}_{name}": value for name, value in values.items()})
        return flat


# (label, metric) of the line a run prints when it finishes, in reading order.
HEADLINE = (
    ("AUC all", "auc_all"),
    ("seen", "auc_seen"),
    ("cold start", "auc_cold_start"),
    ("matched all", "matched_auc_all"),
    ("matched seen", "matched_auc_seen"),
    ("PR-AUC", "pr_auc"),
    ("recall@10", "recall_at_10"),
    ("MRR", "mrr"),
)


def headline_summary(metrics: dict[str, float]) -> str:
    """The headline metrics on one line, each with half its 95% interval where it has one
    ("AUC all 0.9018 ±0.0004, seen 0.9416 ±0.0003, ..."); absent metrics are left out."""
    parts = []
    for label, name in HEADLINE:
        value = metrics.get(name)
        if value is None or not math.isfinite(value):
            continue
        low, high = metrics.get(f"{name}_ci_low"), metrics.get(f"{name}_ci_high")
        half = f" ±{(high - low) / 2:.4f}" if low is not None and high is not None else ""
        parts.append(f"{label} {value:.4f}{half}")
    return ", ".join(parts)


def bucket_metrics(
    dataset: PreparedDataset, scored: dict[str, ScoredProtocol], ranking: RankingResult
) -> dict[str, dict[str, float]]:
    """AUC under both protocols and recall@10 per degree bucket (absent when undefined)."""
    bucket_of = degree_buckets(dataset.train_degree())
    found: dict[str, dict[str, float]] = {name: {} for name in BUCKETS}
    for protocol, one in scored.items():
        validation = one.validation
        pair_bucket = np.minimum(bucket_of[validation.item_a], bucket_of[validation.item_b])
        prefix = "" if protocol == "study" else MATCHED_PREFIX
        for index, name in enumerate(BUCKETS):
            auc = one.sorted.subset(pair_bucket == index).auc()
            if auc is not None:
                found[name][f"{prefix}auc_all"] = auc
    query_bucket = bucket_of[ranking.query]
    recall = ranking.per_query["recall_at_10"]
    for index, name in enumerate(BUCKETS):
        mask = query_bucket == index
        if mask.any():
            found[name]["recall_at_10"] = float(recall[mask].mean())
            found[name]["n_queries"] = float(mask.sum())
    return {name: values for name, values in found.items() if values}


def evaluate_final(
    model: ItemEmbeddings, dataset: PreparedDataset, max_queries: int, seed: int
) -> FinalEvaluation:
    """Both protocols with DeLong intervals, ranking metrics with bootstrap intervals, buckets.

    Args:
        model: the trained embeddings.
        dataset: the prepared dataset.
        max_queries: ranking query products at most (a seeded sample past that).
        seed: the query sample's and the bootstrap's seed (the split seed, so every
            method of a dataset ranks the same queries).
    """
    scored = score_protocols(model, dataset)  # once, for the pair metrics and the buckets
    pairs = evaluate_scored(dataset, scored, intervals=True)
    queries = ranking_queries(dataset, max_queries, seed)
    if len(queries) == 0:
        warnings.warn(
            f"{dataset.name}: no held-out pair has a product seen in training, so the ranking "
            "metrics (recall@k, NDCG@10, MRR) are NaN for this run",
            stacklevel=2,
        )
    ranking = evaluate_ranking(model, dataset, queries, seed=seed, device=ranking_device())
    return FinalEvaluation(pairs, ranking, bucket_metrics(dataset, scored, ranking))
