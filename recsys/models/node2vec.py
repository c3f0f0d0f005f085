"""The study's method 3: node2vec walks (p, q) + gensim skip-gram.

Walks come from the rejection-sampling kernel in :mod:`recsys.graph.walks`, whose memory
is O(edges); the study's node2vec (per-edge alias tables in Python dicts) did not finish on
Books in 64 GB. Defaults p = 0.5, q = 2 favour local, BFS-like walks (returning and staying
near the previous product); p = q = 1 would be first-order walks, which the word2vec method
already covers with ``sg=1``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import Field

from recsys.callbacks import TrainingCallback
from recsys.config import TuneRange
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models.base import Method
from recsys.models.gensim_common import GensimWalkConfig, train_word2vec_on_walks

# node2vec's own grid was {0.25, 0.5, 1, 2, 4} for p and q (Grover & Leskovec 2016).
TUNE_P_Q = TuneRange(0.25, 4.0, log=True)


class Node2VecConfig(GensimWalkConfig):
    """node2vec walks + gensim Word2Vec, skip-gram by default as in the node2vec paper."""

    p: Annotated[float, TUNE_P_Q] = Field(
        0.5, gt=0, description="return parameter: 1/p weighs going back"
    )
    q: Annotated[float, TUNE_P_Q] = Field(
        2.0, gt=0, description="in-out parameter: 1/q weighs moving away"
    )
    sg: Literal[0, 1] = Field(1, description="1 = skip-gram (node2vec's choice), 0 = CBOW")


def train(
    data: PreparedDataset, config: Node2VecConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Walk the training graph with node2vec's second-order walk and fit gensim Word2Vec."""
    if config.p == 1.0 and config.q == 1.0:
        warnings.warn(
            "node2vec with p = q = 1 is word2vec on first-order walks; the first-order "
            "kernel is used (method word2vec with sg=1 is the same model)",
            stacklevel=2,
        )
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    return train_word2vec_on_walks(data, walk_matrix, config, callbacks)


METHOD = Method(
    name="node2vec",
    config_class=Node2VecConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="node2vec second-order walks (p, q; rejection sampling) + gensim skip-gram",
    needs_walks=True,
)
