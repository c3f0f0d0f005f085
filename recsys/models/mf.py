"""The study's method 1: matrix factorization of co-purchase pairs, pair by pair.

One embedding table; a pair (a, b) scores sigmoid(v_a . v_b) (plus per-product biases in
method 2, :mod:`recsys.models.mf_bias`). Every training pair is a positive, and
``negatives`` pairs per positive (1; the study and ``mf_bias``: 5) replace b by products
drawn by training degree ** 0.75. ``labels``:
``binary`` fits 1 / 0 with cross-entropy; ``continuous`` fits the pair's summed relation
weight (0.5 / 1.0 / 1.2 / ...) and 0 for negatives with squared error, as the study did
(targets above 1 just pull the sigmoid towards saturation).

Why the study's MF collapsed (AUC 0.4996 on Books after 22 h), and what is different here:

* its L2 term summed over the *whole* 1.95M x 128 table every step (1e-6 x ~250M squared
  N(0, 1) weights ~ 250, against a data loss of ~0.69): the gradient was all penalty.
  Here L2 covers only the rows in the batch (mean over the batch's pairs).
* it updated the whole table densely with Adam every step; here tables are sparse
  (``nn.Embedding(sparse=True)``) and SparseAdam touches only the batch's rows.
* it initialised N(0, 1): with dim 128 the dot products start at ~±11 and the sigmoid is
  saturated, so gradients vanish. Here rows start N(0, init_std^2), small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field
from torch import Tensor, nn

from recsys.callbacks import TrainingCallback
from recsys.config import TUNE_L2, Negatives
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import BIAS_TERMS, ItemEmbeddings
from recsys.models.base import Method
from recsys.training.batching import NegativeSampler, PairBatch, PairTableSource, WalkBatch
from recsys.training.config import EngineConfig
from recsys.training.early_stopping import early_stopping_split
from recsys.training.engine import EmbeddingModel, fit, resolve_device
from recsys.training.fused_mf import (
    NO_TARGET,
    batch_rows,
    mf_adam_step,
    mf_pair_step,
    sparse_adam_state,
)
from recsys.training.sgns_torch import mf_step_tensors, negative_sampling_losses
from recsys.training.window_sgns import NO_BIAS, train_walk_batch
from recsys.typing import BoolMask

Labels = Literal["binary", "continuous"]


class MatrixFactorization(EmbeddingModel):
    """One table of item vectors (and optionally biases) scored by sigmoid(dot [+ biases]).

    Args:
        n_items: vocabulary size.
        dim: embedding dimension.
        labels: ``binary`` (cross-entropy) or ``continuous`` (squared error on the targets).
        l2: L2 weight on the batch's rows (vectors and biases), mean over the batch's pairs.
        init_std: standard deviation of the N(0, init_std^2) initial rows.
        bias: learn a per-item bias (method 2).
        generator: seeds the initialization.
        max_logit: binary labels only: pairs whose |logit| reaches it are not trained
            (gensim's rule, MF on walk sequences; 0: all are).
        tensor_step: binary SGD through the batched tensor step on a CPU too (a GPU's).
    """

    def __init__(
        self,
        n_items: int,
        dim: int,
        labels: Labels,
        l2: float,
        init_std: float,
        bias: bool,
        generator: torch.Generator,
        max_logit: float = 0.0,
        tensor_step: bool = False,
    ) -> None:
        super().__init__()
        if max_logit > 0 and labels != "binary":
            raise ValueError("max_logit applies to binary labels only")
        self.labels = labels
        self.l2 = l2
        self.max_logit = max_logit
        self.tensor_step = tensor_step
        self.item = nn.Embedding(n_items, dim, sparse=True)
        with torch.no_grad():
            self.item.weight.normal_(0.0, init_std, generator=generator)
        self.bias: nn.Embedding | None = None
        if bias:
            self.bias = nn.Embedding(n_items, 1, sparse=True)
            nn.init.zeros_(self.bias.weight)

    def _logits(self, batch: PairBatch) -> tuple[Tensor, Tensor, Tensor]:
        """Positive logits (B,), negative logits (B, K) and the L2 penalty per pair (B,)."""
        negatives = batch.pair_negatives()
        n, k = negatives.shape
        ids = torch.cat([batch.center, batch.context, negatives.reshape(-1)])
        rows = self.item(ids)  # one gather, one sparse gradient: (2B + B*K, dim)
        center, context = rows[:n], rows[n : 2 * n]
        negative = rows[2 * n :].view(n, k, -1)  # (B, K, dim)
        positive_logit = (center * context).sum(-1)
        negative_logit = torch.bmm(negative, center.unsqueeze(-1)).squeeze(-1)  # (B, K)
        penalty = rows.pow(2).sum(-1)
        if self.bias is not None:
            bias = self.bias(ids).squeeze(-1)
            center_b, context_b = bias[:n], bias[n : 2 * n]
            negative_b = bias[2 * n :].view(n, k)
            positive_logit = positive_logit + center_b + context_b
            negative_logit = negative_logit + center_b.unsqueeze(-1) + negative_b
            penalty = penalty + bias.pow(2)
        per_pair_penalty = penalty[:n] + penalty[n : 2 * n] + penalty[2 * n :].view(n, k).sum(-1)
        return positive_logit, negative_logit, per_pair_penalty

    def loss(self, batch: PairBatch) -> Tensor:
        positive_logit, negative_logit, penalty = self._logits(batch)
        if self.labels == "binary":
            logits = torch.cat([positive_logit.unsqueeze(-1), negative_logit], dim=-1)
            data_loss = negative_sampling_losses(logits, self.max_logit)  # the L2 term stays
        else:
            if batch.target is None:
                raise ValueError("labels='continuous' needs batches with targets (pair weights)")
            data_loss = (torch.sigmoid(positive_logit) - batch.target).pow(2) + torch.sigmoid(
                negative_logit
            ).pow(2).sum(-1)
        return (data_loss + self.l2 * penalty).mean()

    def fused_sgd_step(self, batch: PairBatch, lr: float) -> Tensor | float | None:
        """The SGD step of :meth:`loss` without autograd: on CPU the numba pair kernel
        (:mod:`recsys.training.fused_mf`); on a GPU, with negatives shared by chunks or
        with ``tensor_step``, the tensor step
        (:func:`recsys.training.sgns_torch.mf_step_tensors`, binary labels); None for
        continuous labels off the CPU (the engine runs autograd)."""
        table = self.item.weight.detach()
        if table.device.type == "cpu" and batch.shared_by == 1 and not self.tensor_step:
            return mf_pair_step(
                table.numpy(),
                self._bias_rows(),
                batch.center.numpy(),
                batch.context.numpy(),
                batch.pair_negatives().numpy(),
                self._targets(batch),
                lr,
                self.l2,
                self.max_logit,
            )
        if self.labels != "binary":
            return None
        bias = None if self.bias is None else self.bias.weight.detach().view(-1)
        return mf_step_tensors(
            table,
            bias,
            batch.center,
            batch.context,
            batch.negatives,
            lr,
            self.l2,
            self.max_logit,
            batch.shared_by,
        )

    def fused_adam_step(
        self, batch: PairBatch, lr: float, optimizer: torch.optim.Optimizer
    ) -> float | None:
        """SparseAdam's step of :meth:`loss` without autograd on CPU (numba,
        :func:`recsys.training.fused_mf.mf_adam_step`), in the optimizer's own state;
        elsewhere (or with ``max_logit``) None, and the engine runs autograd."""
        table = self.item.weight
        if table.device.type != "cpu" or self.max_logit > 0:
            return None
        group = optimizer.param_groups[0]
        beta1, beta2 = group["betas"]
        group["lr"] = lr
        state = sparse_adam_state(optimizer, table)
        step = state["step"]
        step_size = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
        bias_moments = (NO_BIAS, NO_BIAS)
        if self.bias is not None:
            bias_state = sparse_adam_state(optimizer, self.bias.weight)
            bias_moments = (
                bias_state["exp_avg"].numpy().reshape(-1),
                bias_state["exp_avg_sq"].numpy().reshape(-1),
            )
        rows, slots, distinct = batch_rows(
            batch.center.numpy(), batch.context.numpy(), batch.pair_negatives().numpy()
        )
        return mf_adam_step(
            table.detach().numpy(),
            self._bias_rows(),
            state["exp_avg"].numpy(),
            state["exp_avg_sq"].numpy(),
            *bias_moments,
            rows,
            slots,
            distinct,
            self._targets(batch),
            self.l2,
            step_size,
            beta1,
            beta2,
            group["eps"],
        )

    def _bias_rows(self) -> np.ndarray:
        """The bias table as a flat numpy view the kernels update in place; empty for none."""
        return NO_BIAS if self.bias is None else self.bias.weight.detach().numpy().reshape(-1)

    def _targets(self, batch: PairBatch) -> np.ndarray:
        """The positives' targets for continuous labels; empty for binary ones."""
        if self.labels != "continuous":
            return NO_TARGET
        if batch.target is None:
            raise ValueError("labels='continuous' needs batches with targets (pair weights)")
        return batch.target.numpy().astype(np.float32, copy=False)

    def fused_walk_step(self, batch: WalkBatch, lr: float, with_loss: bool = True) -> float:
        """SGD on a batch of walks, negatives shared per window (MF on sequences, CPU).

        The window kernel with one table for inputs and outputs, the biases and the
        row-wise L2 of :meth:`loss` (binary labels: walk pairs carry no weight).
        """
        if self.labels != "binary":
            raise ValueError("walk batches train binary labels only (walk pairs have no weight)")
        table = self.item.weight.detach().numpy()
        return train_walk_batch(
            table, table, batch, lr, self._bias_rows(), self.l2, self.max_logit, with_loss
        )

    def score_pairs(self, item_a: Tensor, item_b: Tensor) -> Tensor:
        logit = (self.item(item_a) * self.item(item_b)).sum(-1)
        if self.bias is not None:
            logit = logit + self.bias(item_a).squeeze(-1) + self.bias(item_b).squeeze(-1)
        return logit

    def item_embeddings(self, known: BoolMask) -> ItemEmbeddings:
        vectors = self.item.weight.detach().float().cpu().numpy().copy()
        bias = None
        if self.bias is not None:
            bias = self.bias.weight.detach().float().cpu().numpy()[:, 0].copy()
        return ItemEmbeddings(
            vectors=vectors,
            known=np.asarray(known, dtype=bool),
            similarity="dot_sigmoid",
            bias=bias,
            extra={} if bias is None else {BIAS_TERMS: ("learned",)},
        )


class MFConfig(EngineConfig):
    """Matrix factorization on training pairs: the study's method 1 settings, but one
    negative per positive where the study drew five (``preset=study``).

    One negative scored higher on every metric on the three real samples and at
    Electronics scale, in under half the minutes (docs/benchmarks.md, "MF with one
    negative"); with biases (``mf_bias``) it did not, so that method keeps five.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"default": {}, "study": {"negatives": 5}}

    negatives: Negatives = Field(1, description="negative samples per positive pair (the study: 5)")

    labels: Labels = Field(
        "continuous",
        description="continuous: squared error to the summed pair weights (the study); "
        "binary: cross-entropy on 1 / 0",
    )
    l2: Annotated[float, TUNE_L2] = Field(
        1e-6, ge=0, le=1, description="L2 weight on the rows in each batch (not the whole table)"
    )
    init_std: float = Field(
        0.01, gt=0, le=1, description="std of the N(0, std^2) initial rows (small: no saturation)"
    )
    threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="CPU threads for training; 0 = every core. MF's steps run in numba "
        "without autograd on a CPU: two threads gave the same tables (Adam) 1.3x faster "
        "at Electronics scale",
    )


def train_pairs_mf(
    data: PreparedDataset,
    config: MFConfig,
    callbacks: Sequence[TrainingCallback],
    bias: bool,
) -> ItemEmbeddings:
    """MF (``bias=False``, method 1) or MF with bias (method 2) on the dataset's train pairs."""
    data, stop_on = early_stopping_split(data, config)
    device = resolve_device(config.device)
    generator = torch.Generator().manual_seed(config.seed)
    model = MatrixFactorization(
        data.n_items, config.dim, config.labels, config.l2, config.init_std, bias, generator
    ).to(device)
    train = data.train
    source = PairTableSource(
        train.item_a,
        train.item_b,
        train.weight if config.labels == "continuous" else None,
        NegativeSampler(data.train_degree(), device),
        config.batch_size,
        config.negatives,
        device,
    )
    return fit(
        model,
        source,
        data,
        config,
        callbacks,
        known=data.train_vocabulary(),
        run_params={"n_train_pairs": len(train)},
        stop_on=stop_on,
    )


def train(
    data: PreparedDataset, config: MFConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Method 1: MF without biases on the training pairs."""
    return train_pairs_mf(data, config, callbacks, bias=False)


METHOD = Method(
    name="mf",
    config_class=MFConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="matrix factorization of co-purchase pairs, sigmoid(dot), sparse updates",
)
