"""The study's method 4: gensim Word2Vec on first-order (DeepWalk) walks.

The study ran gensim 3.8 without setting ``sg``, so its "word2vec" row is CBOW (sg=0),
not skip-gram: dimension 128, window 5, min_count 1, 5 negatives, sample 1e-3, 5 epochs at
alpha 0.025, seed 42, over 10 weighted walks of length 10 from every product. Those are
the defaults here but for the epochs: three at alpha 0.04 tied five at 0.025 on every real
sample and at Electronics scale in 0.6x the minutes (docs/benchmarks.md, "Fewer epochs at a
higher lr"); ``preset=study`` restores gensim's own five at 0.025. ``sg=1`` gives skip-gram
on the same walks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field, model_validator

from recsys.callbacks import TrainingCallback
from recsys.config import Epochs, PresetConfig
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models.base import Method
from recsys.models.gensim_common import (
    GensimLearningRate,
    GensimWalkConfig,
    gensim_own_defaults,
    train_word2vec_on_walks,
)


class Word2VecConfig(PresetConfig, GensimWalkConfig):
    """First-order walks + gensim Word2Vec (sg=0: CBOW, the study's setting), three epochs at
    alpha 0.04 by default; ``preset=study`` is gensim's own five at 0.025."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        "study": gensim_own_defaults("epochs", "alpha"),
    }

    epochs: Epochs = Field(
        3,
        description="passes over the walks (the study, gensim: 5); three at alpha 0.04 tied "
        "five at 0.025 on every real sample and at Electronics scale in 0.6x the minutes",
    )
    alpha: GensimLearningRate = Field(
        0.04, description="initial learning rate, linear decay (the study, gensim: 0.025)"
    )

    @model_validator(mode="after")
    def _first_order_only(self) -> Word2VecConfig:
        if self.p != 1.0 or self.q != 1.0:
            raise ValueError(
                f"word2vec walks are first-order (p = q = 1), got p={self.p}, q={self.q}; "
                "use the node2vec method for second-order walks"
            )
        return self


def train(
    data: PreparedDataset, config: Word2VecConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Walk the training graph (cached beside the dataset) and fit gensim Word2Vec."""
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    return train_word2vec_on_walks(data, walk_matrix, config, callbacks)


METHOD = Method(
    name="word2vec",
    config_class=Word2VecConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="gensim Word2Vec (CBOW by default, as the study ran it) on first-order walks",
    needs_walks=True,
)
