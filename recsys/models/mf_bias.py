"""The study's method 2: matrix factorization with a per-product bias.

Score of a pair: sigmoid(v_a . v_b + b_a + b_b). The bias soaks up how much a product is
co-purchased at all (its popularity), so the vectors are left to model *which* products go
together. Same training as :mod:`recsys.models.mf` (sparse rows, batch-only L2, small init).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from recsys.callbacks import TrainingCallback
from recsys.config import Negatives
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.models.base import Method
from recsys.models.mf import MFConfig, train_pairs_mf


class MFBiasConfig(MFConfig):
    """Matrix factorization with per-product biases (the study's method 2 defaults).

    Five negatives per positive, as the study: one (``mf``'s default) raised seen AUC but
    lost degree-matched AUC on Digital Music and the Books head and recall@10 on Digital
    Music and Music0601 (docs/benchmarks.md, "MF with one negative").
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"default": {}, "study": {}}

    negatives: Negatives = Field(5, description="negative samples per positive pair (the study's)")


def train(
    data: PreparedDataset, config: MFBiasConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Method 2: MF with biases on the training pairs; embeddings carry ``bias``."""
    return train_pairs_mf(data, config, callbacks, bias=True)


METHOD = Method(
    name="mf_bias",
    config_class=MFBiasConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="matrix factorization with per-product bias, sigmoid(dot + b_a + b_b)",
)
