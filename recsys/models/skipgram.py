"""The study's method 5: skip-gram with negative sampling in PyTorch, on random walks.

word2vec's model (Mikolov et al. 2013) on first-order walks over the co-purchase graph:
a *center* table and a separate *context* table; a (center, context) pair within the
window is a positive, and ``negatives`` products drawn from the walks' unigram
distribution ** 0.75 replace the context as negatives. Frequent products are subsampled
(word2vec's formula, :func:`recsys.training.sequences.keep_probability`).

How a pair is scored (``pair_score``): the study compared two products' *center* rows by
cosine, which says how alike their contexts are (second-order similarity). The loss itself
trains a center row against the *context* rows of the products beside it, so
``center_context`` scores (cos(center_a, context_b) + cos(center_b, context_a)) / 2 (the
"IN-OUT" similarity of Mitra et al. 2016's dual embedding space model): whether the two
are bought together, which is what the validation pairs ask. Measured in
docs/benchmarks.md (+0.02 AUC on Digital Music's seen pairs); the default.

Initialisation follows word2vec.c: center rows uniform in [-0.5/dim, 0.5/dim], context
rows zero (so the first updates move only the context table, no symmetric deadlock).

For EGES (method 6) build on :class:`SkipGram`'s pieces: :func:`skipgram_loss` takes
center vectors and context rows from any source; :func:`train_on_walks` shows the wiring
(``window_pair_source`` + :func:`recsys.training.engine.fit`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from recsys.callbacks import TrainingCallback
from recsys.config import Epochs
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import PAIR_SCORE_HELP, ItemEmbeddings, PairScore
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models.base import Method
from recsys.training.batching import PairBatch, WalkBatch
from recsys.training.config import STUDY_WINDOW_SETTINGS, SGDLearningRate, SGDWindowConfig
from recsys.training.early_stopping import early_stopping_split
from recsys.training.engine import EmbeddingModel, fit, resolve_device
from recsys.training.fused_sgns import sgns_step
from recsys.training.sgns_torch import negative_sampling_losses, sgns_step_tensors
from recsys.training.window_sgns import train_walk_batch, walk_training_source
from recsys.typing import BoolMask, WalkMatrix


def pair_cosine(
    center_a: Tensor, center_b: Tensor, context_a: Tensor | None, context_b: Tensor | None
) -> Tensor:
    """(n,) pair scores as :class:`ItemEmbeddings` computes them (``context`` given or not)."""
    if context_a is None or context_b is None:
        return F.cosine_similarity(center_a, center_b, dim=-1)
    forward = F.cosine_similarity(center_a, context_b, dim=-1)
    return 0.5 * (forward + F.cosine_similarity(context_a, center_b, dim=-1))


def skipgram_loss(center: Tensor, context_rows: Tensor, max_logit: float = 0.0) -> Tensor:
    """Negative-sampling loss, mean over the batch.

    Args:
        center: (batch, dim) center vectors.
        context_rows: (batch, 1 + negatives, dim) context vectors: the true context
            first, then the negatives.
        max_logit: pairs whose |logit| is at least this are left out of the loss (no
            gradient, as the SGD steps skip them: gensim's rule); 0 keeps every pair.

    Returns:
        Scalar: mean over pairs of -log s(c.x) - sum_k log s(-c.n_k).
    """
    logits = torch.bmm(context_rows, center.unsqueeze(-1)).squeeze(-1)  # (B, 1 + K)
    return negative_sampling_losses(logits, max_logit).mean()


class SkipGram(EmbeddingModel):
    """Center and context tables, sparse, trained with negative sampling.

    Args:
        n_items: vocabulary size.
        dim: embedding dimension.
        generator: seeds the center table's initialization.
        pair_score: "center" scores pairs by their center rows, "center_context" by each
            one's center row against the other's context row (module docstring).
        max_logit: pairs whose |logit| reaches it are not trained (gensim's rule; 0: all).
        tensor_step: SGD through the batched tensor step on a CPU too (a GPU's arithmetic).
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        generator: torch.Generator,
        pair_score: PairScore = "center",
        max_logit: float = 0.0,
        tensor_step: bool = False,
    ) -> None:
        super().__init__()
        self.pair_score = pair_score
        self.max_logit = max_logit
        self.tensor_step = tensor_step
        self.center = nn.Embedding(n_items, dim, sparse=True)
        self.context = nn.Embedding(n_items, dim, sparse=True)
        with torch.no_grad():
            bound = 0.5 / dim
            self.center.weight.uniform_(-bound, bound, generator=generator)
            self.context.weight.zero_()

    def loss(self, batch: PairBatch) -> Tensor:
        context_ids = torch.cat([batch.context.unsqueeze(1), batch.pair_negatives()], dim=1)
        # One gather per table: one sparse gradient each, (B, dim) and (B, 1 + K, dim).
        return skipgram_loss(self.center(batch.center), self.context(context_ids), self.max_logit)

    def fused_sgd_step(self, batch: PairBatch, lr: float) -> Tensor | float | None:
        """word2vec's update without autograd: numba (Hogwild) on CPU, tensor ops elsewhere.

        On the 2-vCPU VM the numba kernel trained 0.66M pairs/s against 0.04-0.11M for
        autograd + sparse SGD (docs/benchmarks.md). On a GPU the batched tensor step
        (:func:`recsys.training.sgns_torch.sgns_step_tensors`) skips the sparse-gradient
        bookkeeping and returns the loss as a device tensor, so the host waits for the
        device only where the engine reads the loss (every ``loss_every`` batches).
        ``tensor_step`` takes that step on a CPU too.
        """
        if self.tensor_step or self.center.weight.device.type != "cpu":
            return self.tensor_sgd_step(batch, lr)
        center, context = self.center.weight.detach(), self.context.weight.detach()
        return sgns_step(
            center.numpy(),
            context.numpy(),
            batch.center.numpy(),
            batch.context.numpy(),
            batch.pair_negatives().numpy(),
            lr,
            self.max_logit,
        )

    def tensor_sgd_step(self, batch: PairBatch, lr: float) -> Tensor:
        """word2vec's update in tensor ops on any device, negatives shared by
        ``batch.shared_by`` pairs (:func:`recsys.training.sgns_torch.sgns_step_tensors`)."""
        return sgns_step_tensors(
            self.center.weight.detach(),
            self.context.weight.detach(),
            batch.center,
            batch.context,
            batch.negatives,
            lr,
            self.max_logit,
            batch.shared_by,
        )

    def fused_walk_step(self, batch: WalkBatch, lr: float, with_loss: bool = True) -> float:
        """word2vec's update with negatives shared by each window (numba, CPU)."""
        center, context = self.center.weight.detach(), self.context.weight.detach()
        return train_walk_batch(
            center.numpy(),
            context.numpy(),
            batch,
            lr,
            max_logit=self.max_logit,
            with_loss=with_loss,
        )

    def score_pairs(self, item_a: Tensor, item_b: Tensor) -> Tensor:
        if self.pair_score == "center":
            return pair_cosine(self.center(item_a), self.center(item_b), None, None)
        return pair_cosine(
            self.center(item_a), self.center(item_b), self.context(item_a), self.context(item_b)
        )

    def item_embeddings(self, known: BoolMask) -> ItemEmbeddings:
        def copy(table: nn.Embedding) -> np.ndarray:
            return table.weight.detach().float().cpu().numpy().copy()

        return ItemEmbeddings(
            vectors=copy(self.center),
            known=np.asarray(known, dtype=bool),
            similarity="cosine",
            context=copy(self.context) if self.pair_score == "center_context" else None,
        )


class SkipGramConfig(SGDWindowConfig):
    """Skip-gram on first-order walks: word2vec's SGD by default, the study's Adam as a preset.

    The defaults are word2vec's step and schedule (:class:`SGDWindowConfig`), three epochs
    at a peak lr of 0.04 where word2vec takes five at 0.025: tied with five on every real
    sample and at Electronics scale (node2vec's walks too) in 0.6x the minutes
    (docs/benchmarks.md, "Fewer epochs at a higher lr"); on the real samples it trains in a
    fraction of gensim's skip-gram minutes, tied with it on every AUC (within the
    intervals) and ranking at least as well (recall@10, docs/results.md).
    ``preset=study`` restores the study's Adam settings and five epochs. Window 5, 5
    negatives and dim 128 are the study's in both.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        "study": STUDY_WINDOW_SETTINGS,
    }

    epochs: Epochs = Field(
        3,
        description="passes over the walks (the study, word2vec: 5); three at lr 0.04 tied "
        "five at 0.025 on every real sample and at Electronics scale in 0.6x the minutes",
    )
    lr: SGDLearningRate = Field(
        0.04,
        description="peak learning rate, annealed once over the run (word2vec: 0.025 over "
        "five epochs; 0.06 over three cost the real samples' ranking)",
    )
    pair_score: PairScore = Field("center_context", description=PAIR_SCORE_HELP)


# One SGD epoch below this lr stayed near chance in docs/benchmarks.md (3 walks per
# product: Digital Music 0.57 seen AUC at 0.025, 0.83 on synthetic-small at 0.05; 0.96 and
# 0.88 at 0.1), gensim's sg=1 alike.
ONE_EPOCH_SGD_MIN_LR = 0.1


def settings_advice(config: SkipGramConfig, device: torch.device) -> list[str]:
    """Settings measured to train slowly or too little, each with what to use instead."""
    advice = []
    if device.type == "cpu" and config.optimizer == "adam":
        advice.append(
            "skipgram with optimizer=adam (the study's, preset=study) trains ~0.1M pairs/s "
            "on a CPU; the default SGD window step (-P optimizer=sgd) trains ~3.3M pairs/s "
            "on 2 cores for the same AUC (docs/benchmarks.md)"
        )
    if config.optimizer == "sgd" and config.epochs == 1 and config.lr < ONE_EPOCH_SGD_MIN_LR:
        advice.append(
            f"one SGD epoch at lr={config.lr} can leave skip-gram near chance on small data "
            "(Digital Music, 3 walks per product: 0.57 seen AUC at lr 0.025); use "
            f"-P lr={ONE_EPOCH_SGD_MIN_LR} or more epochs"
        )
    return advice


def train_on_walks(
    data: PreparedDataset,
    walk_matrix: WalkMatrix,
    config: SkipGramConfig,
    callbacks: Sequence[TrainingCallback] = (),
    stop_on: PreparedDataset | None = None,
) -> ItemEmbeddings:
    """Skip-gram on a given walk matrix (walks of ``data``'s training graph)."""
    device = resolve_device(config.device)
    for advice in settings_advice(config, device):
        warnings.warn(advice, stacklevel=2)
    generator = torch.Generator().manual_seed(config.seed)
    model = SkipGram(
        data.n_items,
        config.dim,
        generator,
        config.pair_score,
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
        run_params={
            "n_walks": int(walk_matrix.shape[0]),
            "walk_length_actual": walk_matrix.shape[1],
        },
        stop_on=stop_on,
    )


def train(
    data: PreparedDataset, config: SkipGramConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Method 5: walk the training graph (cached beside the dataset), then skip-gram."""
    data, stop_on = early_stopping_split(data, config)
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    return train_on_walks(data, walk_matrix, config, callbacks, stop_on=stop_on)


METHOD = Method(
    name="skipgram",
    config_class=SkipGramConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="PyTorch skip-gram with negative sampling on first-order walks",
    needs_walks=True,
)
