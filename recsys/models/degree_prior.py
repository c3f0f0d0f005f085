"""A learned similarity plus a degree prior, calibrated on training pairs only.

Under the study's protocol (negatives uniform over the distinct validation products) a
product's degree predicts its pairs: popularity alone scores AUC 0.91-0.92 on the real
samples, and an embedding method loses to it on *all* pairs because the study gives every
pair with a product it never embedded the median score. Under degree-matched negatives
the same degree is worth nothing (AUC 0.5). The skip-gram objective explains the gap
(Levy & Goldberg 2014): its score estimates PMI(a, b) = log P(a, b) / (P(a) P(b)), the
right score against negatives drawn like P(a) P(b) (matched); against products drawn
uniformly the right score is log P(a, b) = PMI + log P(a) + log P(b).

``degree_prior=true`` scores a pair as

    score(a, b) + beta * (log(1 + deg a) + log(1 + deg b))

with training degrees, every product scorable (a product without a vector contributes a
similarity of 0, its prior still counts), and beta fitted without looking at validation:
the training pairs are split again (:data:`INNER_FRACTION` held out, with both negative
sets, exactly as the outer split draws them), the method is trained on the inner part,
and a logistic regression of "held-out positive" on (similarity, prior) over both
negative sets in equal shares gives beta = w_prior / w_similarity. The final model is the
method trained on all training pairs, as usual; the calibration costs one more training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from recsys.data.dataset import PreparedDataset
from recsys.data.split import inner_names, inner_split
from recsys.embeddings import ItemEmbeddings, extra_with_bias_term
from recsys.models.popularity import log_degree
from recsys.typing import ItemIds, Weights

INNER_FRACTION = 0.2  # training pairs held out to calibrate beta
CALIBRATION_SPLIT = inner_names(
    "the degree prior's calibration fraction",
    "Use a dataset with more pairs or turn the prior off with -P degree_prior=false.",
)


@dataclass(frozen=True)
class DegreePrior:
    """The fitted combination and what it was fitted on."""

    beta: float  # weight of the summed log-degrees, in units of the similarity
    weight_similarity: float  # the logistic regression's coefficients
    weight_prior: float
    n_calibration_pairs: int
    problem: str = ""  # why the prior is off (beta 0), when the fit could not place it


def log_degree_sum(dataset: PreparedDataset, item_a: ItemIds, item_b: ItemIds) -> Weights:
    """log(1 + deg a) + log(1 + deg b), training degrees of ``dataset``: the popularity
    baseline's score."""
    degree = log_degree(dataset)
    return degree[item_a] + degree[item_b]


def similarity_everywhere(model: ItemEmbeddings) -> ItemEmbeddings:
    """Every product scorable: rows without a learned vector become 0 (similarity 0), and
    a sigmoid is dropped (it is monotone; the prior is added before any squashing)."""
    unknown = ~model.known
    vectors = model.vectors.copy()
    vectors[unknown] = 0.0
    context = None
    if model.context is not None:
        context = model.context.copy()
        context[unknown] = 0.0
    similarity = "dot" if model.similarity == "dot_sigmoid" else model.similarity
    bias = None if model.bias is None else np.where(unknown, 0.0, model.bias).astype(np.float32)
    return dataclasses.replace(
        model,
        vectors=vectors,
        context=context,
        known=np.ones(model.n_items, dtype=bool),
        similarity=similarity,
        bias=bias,
    )


def fit_degree_prior(model: ItemEmbeddings, inner: PreparedDataset) -> DegreePrior:
    """beta from a logistic regression on the inner held-out pairs (see the module doc).

    When the similarity does not separate the inner held-out pairs (its weight is not
    positive, e.g. a method trained far too briefly), no prior can be put in its units:
    beta is 0 and ``problem`` says why (the run warns and tags it; nothing is dropped).
    """
    scorer = similarity_everywhere(model)
    validation = inner.validation
    a, b, label = validation.item_a, validation.item_b, validation.label
    features = np.column_stack([scorer.score(a, b), log_degree_sum(inner, a, b)])
    regression = LogisticRegression(class_weight="balanced", max_iter=1000)
    regression.fit(features.astype(np.float64), label)
    weight_similarity, weight_prior = (float(w) for w in regression.coef_[0])
    if weight_similarity <= 0:
        return DegreePrior(
            beta=0.0,
            weight_similarity=weight_similarity,
            weight_prior=weight_prior,
            n_calibration_pairs=int(label.size),
            problem=(
                "the similarity does not rank held-out training pairs above negatives "
                f"(weight {weight_similarity:.3g}), so the prior is off (beta 0); train the "
                "method longer"
            ),
        )
    return DegreePrior(
        beta=weight_prior / weight_similarity,
        weight_similarity=weight_similarity,
        weight_prior=weight_prior,
        n_calibration_pairs=int(label.size),
    )


def with_degree_prior(
    model: ItemEmbeddings, dataset: PreparedDataset, prior: DegreePrior
) -> ItemEmbeddings:
    """``model``'s similarity plus beta * log(1 + deg) per product, every product scorable."""
    scorer = similarity_everywhere(model)
    bias = prior.beta * log_degree(dataset) + (0.0 if scorer.bias is None else scorer.bias)
    return dataclasses.replace(
        scorer,
        bias=bias.astype(np.float32),
        extra={**extra_with_bias_term(model, "degree_prior"), "degree_prior_beta": prior.beta},
    )


def calibrate_and_apply(
    train: Callable[[PreparedDataset], ItemEmbeddings],
    model: ItemEmbeddings,
    dataset: PreparedDataset,
    seed: int,
) -> tuple[ItemEmbeddings, DegreePrior]:
    """Train once more on the inner split, fit beta, and return the blended full model.

    Args:
        train: trains the method on a dataset (same settings as ``model``, no tracking).
        model: the method trained on all of ``dataset``'s training pairs.
        dataset: the prepared dataset (its validation pairs are never read).
        seed: the inner split's seed.
    """
    inner = inner_split(dataset, INNER_FRACTION, seed, CALIBRATION_SPLIT)
    prior = fit_degree_prior(train(inner), inner)
    return with_degree_prior(model, dataset, prior), prior


def prior_metrics(prior: DegreePrior) -> dict[str, Any]:
    """What a run logs about its fitted prior."""
    return {
        "degree_prior_beta": prior.beta,
        "degree_prior_weight_similarity": prior.weight_similarity,
        "degree_prior_weight_prior": prior.weight_prior,
    }
