"""The study's method 7: MF with bias trained on skip-gram (center, context) pairs of walks.

Method 2's model (one table, per-product bias, sigmoid(dot + b_a + b_b)) fed the same
window pairs as skip-gram (:mod:`recsys.models.skipgram`) instead of the raw co-purchase
pairs: walks add multi-hop neighbours as positives. Labels are binary (walk pairs carry no
weight); negatives follow the walks' unigram distribution ** 0.75.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field

from recsys.callbacks import TrainingCallback
from recsys.config import TUNE_L2, Negatives
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models.base import Method
from recsys.models.mf import MatrixFactorization
from recsys.training.config import STUDY_WINDOW_SETTINGS, SGDWindowConfig
from recsys.training.early_stopping import early_stopping_split
from recsys.training.engine import fit, resolve_device
from recsys.training.window_sgns import walk_training_source
from recsys.typing import WalkMatrix


class MFSequencesConfig(SGDWindowConfig):
    """MF with bias on walk window pairs: skip-gram's walk, window and SGD defaults (on CPU
    the window kernel with one table, biases and L2; on a GPU the same update in tensor
    ops, negatives shared by ``negative_chunk`` pairs,
    :func:`recsys.training.sgns_torch.mf_step_tensors`, tied with the kernel on the real
    samples when forced onto the CPU, docs/benchmarks.md); ``preset=study`` restores the
    study's Adam settings.

    Three negatives per positive pair where skip-gram keeps the study's five: MF with bias
    tied five on every AUC of the real samples and at Electronics scale, ranked better on
    the Amazon samples (recall@10 0.282 vs 0.243 on Digital Music, 0.351 vs 0.294 on the
    Books head) and trained in 0.5-0.9x the minutes (docs/benchmarks.md, "Fewer negatives
    for MF on sequences and node2vec"); two lost seen AUC on the Books head."""

    PRESETS: ClassVar[dict[str, Any]] = {
        "default": {},
        "study": {**STUDY_WINDOW_SETTINGS, "negatives": 5},
    }

    negatives: Negatives = Field(
        3, description="negative samples per positive pair (the study: 5, preset=study)"
    )

    l2: Annotated[float, TUNE_L2] = Field(
        1e-6, ge=0, le=1, description="L2 weight on the rows in each batch (not the whole table)"
    )
    init_std: float = Field(
        0.01, gt=0, le=1, description="std of the N(0, std^2) initial rows (small: no saturation)"
    )


def train_on_walks(
    data: PreparedDataset,
    walk_matrix: WalkMatrix,
    config: MFSequencesConfig,
    callbacks: Sequence[TrainingCallback] = (),
    stop_on: PreparedDataset | None = None,
) -> ItemEmbeddings:
    """MF with bias on the window pairs of a given walk matrix."""
    device = resolve_device(config.device)
    generator = torch.Generator().manual_seed(config.seed)
    model = MatrixFactorization(
        data.n_items,
        config.dim,
        "binary",
        config.l2,
        config.init_std,
        True,
        generator,
        config.max_logit,
        config.tensor_step,
    ).to(device)
    source, known = walk_training_source(walk_matrix, data.n_items, config, device)
    return fit(
        model,
        source,
        data,
        config,
        callbacks,
        known=known,
        run_params={"n_walks": int(walk_matrix.shape[0])},
        stop_on=stop_on,
    )


def train(
    data: PreparedDataset, config: MFSequencesConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Method 7: walk the training graph (cached), then MF with bias on its window pairs."""
    data, stop_on = early_stopping_split(data, config)
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    return train_on_walks(data, walk_matrix, config, callbacks, stop_on=stop_on)


METHOD = Method(
    name="mf_sequences",
    config_class=MFSequencesConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="MF with bias on skip-gram (center, context) pairs of first-order walks",
    needs_walks=True,
)
