"""The popularity baseline: how much AUC product degree alone earns.

``score(a, b) = log(1 + deg_a) + log(1 + deg_b)`` with ``deg`` the number of training
pairs a product takes part in. Held-out positives favour popular products (a product in
many pairs lands in many held-out pairs). Under the study's protocol the validation
negatives are drawn uniformly from the distinct validation products, so degree alone
earns a high AUC (Digital Music 0.909, the Books head 0.924); under degree-matched
negatives (``matched_auc_*``) it earns about 0.5. Whatever it earns above 0.5 is what any
method gets for free from degree, and every other method's AUC should be read against it.

The model is an :class:`ItemEmbeddings` with zero-width vectors and the log-degree as
bias, so evaluation, the pyfunc model and ``most_similar`` treat it like any method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field

from recsys.callbacks import TrainingCallback, report_counted_model
from recsys.config import TUNE_WEIGHTED, StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import BIAS_TERMS, ItemEmbeddings
from recsys.models.base import Method
from recsys.typing import Weights


class PopularityConfig(StrictModel):
    """Settings of the popularity baseline."""

    weighted: Annotated[bool, TUNE_WEIGHTED] = Field(
        False,
        description="degree as the sum of pair weights (bought_together 1.2, ...) instead of "
        "the number of training pairs",
    )


def log_degree(dataset: PreparedDataset, weighted: bool = False) -> Weights:
    """``log(1 + degree)`` of every item in the training pairs, shape (n_items,)."""
    return np.log1p(dataset.train_degree(weighted)).astype(np.float32)


def train_popularity(
    dataset: PreparedDataset,
    config: PopularityConfig,
    callbacks: Sequence[TrainingCallback] = (),
) -> ItemEmbeddings:
    """Count training degrees; every product gets a score (degree 0 scores lowest).

    All items are ``known``: a product absent from training has a well-defined popularity
    of zero, which is the baseline's honest answer, so no pair is median-filled.
    """
    model = ItemEmbeddings(
        vectors=np.zeros((dataset.n_items, 0), dtype=np.float32),
        known=np.ones(dataset.n_items, dtype=bool),
        similarity="dot",
        bias=log_degree(dataset, config.weighted),
        extra={BIAS_TERMS: ("log_degree",)},
    )
    report_counted_model(model, config.model_dump(), callbacks)
    return model


METHOD = Method(
    name="popularity",
    config_class=PopularityConfig,
    train=train_popularity,  # type: ignore[arg-type]
    description="baseline: score = log(1+deg_a) + log(1+deg_b) of training degrees",
)
