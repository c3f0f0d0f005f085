"""The shared PyTorch training loop: every torch method (MF, skip-gram, EGES) trains here.

A method supplies an :class:`EmbeddingModel` (its tables and loss) and a
:class:`~recsys.training.batching.BatchSource` (its batches); :func:`fit` does the rest:
device placement, sparse optimizers, the per-batch learning-rate schedule, the learning
curve (sampled AUC every ``eval_every`` batches), full evaluation and a checkpoint after
every epoch, resumption, the progress bar and the callbacks.

Sparse updates are the point: a batch touches a few thousand rows of tables with millions,
so embedding tables are ``nn.Embedding(sparse=True)`` and their gradients only ever hold the
batch's rows (SparseAdam / sparse SGD update just those). The study's MF updated (and
L2-penalised) the whole 1.95M x 128 table every step, which both cost 22 hours and drowned
the loss in the penalty.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numba
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from recsys.callbacks import TrainingCallback
from recsys.cores import resolve_workers
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import epoch_metrics
from recsys.training.batching import BatchSource, PairBatch, WalkBatch
from recsys.training.checkpoint import (
    EpochPosition,
    TrainingState,
    data_fingerprint,
    epoch_seed,
    load_checkpoint,
    save_checkpoint,
)
from recsys.training.config import EngineConfig
from recsys.training.device import resolve_device
from recsys.training.early_stopping import KEPT_EPOCH_METRICS, EarlyStopping
from recsys.training.monitor import SampledAuc
from recsys.training.schedule import learning_rate
from recsys.training.stop import pending_stop, raise_if_stop_requested, stops_at_batch_boundaries
from recsys.typing import BoolMask

logger = logging.getLogger(__name__)


class EmbeddingModel(nn.Module):
    """What :func:`fit` trains: tables, a loss over a :class:`PairBatch`, a pair scorer.

    Subclasses create their tables as ``nn.Embedding(..., sparse=True)`` (updated sparsely
    by SparseAdam / SGD); any other parameter (e.g. EGES attention) is dense and gets Adam.
    """

    def loss(self, batch: PairBatch) -> Tensor:
        """Scalar loss of one batch (mean over its positive pairs)."""
        raise NotImplementedError

    def score_pairs(self, item_a: Tensor, item_b: Tensor) -> Tensor:
        """(n,) scores of pairs from the live tables, ordered as ItemEmbeddings.score orders."""
        raise NotImplementedError

    def item_embeddings(self, known: BoolMask) -> ItemEmbeddings:
        """The trained embeddings as numpy (a copy off the device)."""
        raise NotImplementedError

    def fused_sgd_step(self, batch: PairBatch, lr: float) -> Tensor | float | None:
        """Optional: one plain-SGD step applied in place without autograd; returns the loss.

        ``lr`` is per pair (word2vec's convention). Return None (the default) where the model
        has no fused step for its device; the engine then runs autograd + torch.optim.SGD.
        """
        return None

    def fused_adam_step(
        self, batch: PairBatch, lr: float, optimizer: torch.optim.Optimizer
    ) -> float | None:
        """Optional: ``optimizer``'s (a ``torch.optim.SparseAdam`` over every parameter)
        step without autograd, applied in place in its own state; returns the loss.

        Return None (the default) where the model has no fused step for its device.
        """
        return None

    def fused_walk_step(self, batch: WalkBatch, lr: float, with_loss: bool = True) -> float:
        """One plain-SGD step on a batch of walks (shared negatives); returns the mean loss
        (NaN without ``with_loss``: the step then skips computing it).

        Only models trained by :class:`~recsys.training.window_sgns.WalkBatchSource` have
        one (skip-gram on CPU).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot train on walk batches")

    def sparse_parameters(self) -> list[nn.Parameter]:
        """Weights of every sparse embedding table (the optimizer treats them lazily)."""
        tables = [m for m in self.modules() if isinstance(m, nn.Embedding) and m.sparse]
        return [weight for table in tables for weight in table.parameters()]

    def dense_parameters(self) -> list[nn.Parameter]:
        """Every other trainable parameter."""
        sparse = {id(p) for p in self.sparse_parameters()}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in sparse]


def build_optimizers(model: EmbeddingModel, config: EngineConfig) -> list[torch.optim.Optimizer]:
    """SparseAdam + Adam (``adam``) or one SGD (``sgd``) over the model's parameters."""
    sparse, dense = model.sparse_parameters(), model.dense_parameters()
    optimizers: list[torch.optim.Optimizer] = []
    if config.optimizer == "adam":
        if sparse:
            optimizers.append(torch.optim.SparseAdam(sparse, lr=config.lr))
        if dense:
            optimizers.append(torch.optim.Adam(dense, lr=config.lr))
    elif config.optimizer == "sgd":
        optimizers.append(torch.optim.SGD(sparse + dense, lr=config.lr))
    else:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; use adam or sgd")
    return optimizers


def _set_lr(optimizers: Sequence[torch.optim.Optimizer], lr: float) -> None:
    for optimizer in optimizers:
        for group in optimizer.param_groups:
            group["lr"] = lr


@dataclass(frozen=True)
class EpochStats:
    """What one epoch did: wall time (training only), pairs, batches, mean loss, next step;
    ``stopped_at``: where a requested stop ended it early (None when it ran to its end)."""

    seconds: float
    n_pairs: int
    n_batches: int
    mean_loss: float
    end_step: int
    stopped_at: EpochPosition | None = None


def train_step(
    model: EmbeddingModel,
    optimizers: Sequence[torch.optim.Optimizer],
    batch: PairBatch | WalkBatch,
    lr: float,
    optimizer_kind: str,
    with_loss: bool = True,
) -> Tensor | float:
    """One optimisation step on ``batch``; returns its loss (a tensor, or a float if fused).

    Without ``with_loss`` a step that can skip computing its loss does (the walk step, whose
    loss is ~15% of its time) and returns NaN; the others return it anyway.

    Losses are means over the batch; plain SGD takes ``lr`` per pair (word2vec's convention,
    0.025 there), so its step is scaled back up by the batch size. A model with a fused SGD
    step (skip-gram, MF on CPU) bypasses autograd, as does a fused SparseAdam step (MF on
    CPU); a batch of walks always takes the fused walk step.
    """
    if isinstance(batch, WalkBatch):
        return model.fused_walk_step(batch, lr, with_loss)
    if optimizer_kind == "sgd":
        fused_loss = model.fused_sgd_step(batch, lr)
        if fused_loss is not None:
            return fused_loss
    elif len(optimizers) == 1 and isinstance(optimizers[0], torch.optim.SparseAdam):
        fused = model.fused_adam_step(batch, lr, optimizers[0])
        if fused is not None:
            return fused
    _set_lr(optimizers, lr * len(batch) if optimizer_kind == "sgd" else lr)
    for optimizer in optimizers:
        optimizer.zero_grad(set_to_none=True)
    loss = model.loss(batch)
    loss.backward()
    for optimizer in optimizers:
        optimizer.step()
    return loss


def run_epoch(
    model: EmbeddingModel,
    source: BatchSource,
    optimizers: Sequence[torch.optim.Optimizer],
    config: EngineConfig,
    epoch: int,
    step: int = 0,
    callbacks: Sequence[TrainingCallback] = (),
    monitor: SampledAuc | None = None,
    resume_at: EpochPosition | None = None,
) -> EpochStats:
    """Train one epoch: schedule, steps, loss checks, learning curve, progress bar.

    The epoch's randomness comes from a generator seeded with ``epoch_seed(config.seed,
    epoch)``; ``resume_at`` continues an epoch a stop interrupted, from the next batch and
    with its running totals. A stop requested meanwhile (:mod:`recsys.training.stop`) ends
    the epoch after the batch in progress, and ``stopped_at`` says where. Benchmarks call
    this directly (no evaluation, no callbacks).

    Raises:
        FloatingPointError: the loss stopped being finite (lower ``lr``).
    """
    device = resolve_device(config.device)
    generator = torch.Generator(device=device)
    generator.manual_seed(epoch_seed(config.seed, epoch))
    done = resume_at or EpochPosition(device=device.type)
    started = time.perf_counter() - done.seconds
    epoch_progress, loss_sum, n_losses = done.progress, done.loss_sum, done.n_losses
    n_batches, n_pairs, stopped = done.batches_done, done.n_pairs, False
    last_loss = math.nan  # the bar shows the latest reported loss beside each sampled AUC
    bar = tqdm(
        total=source.batches_per_epoch(),
        initial=n_batches,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        disable=not config.progress,
        unit="batch",
    )
    model.train()
    for batch in source.epoch(generator, skip=done.batches_done):
        lr = learning_rate(config.schedule, config.lr, epoch, epoch_progress, config.epochs)
        # Every loss_every-th step reports its loss, and each epoch's first (so every epoch
        # has a mean loss however few batches it holds).
        report_loss = step % config.loss_every == 0 or n_losses == 0
        loss = train_step(model, optimizers, batch, lr, config.optimizer, report_loss)
        epoch_progress = batch.progress
        n_batches += 1
        n_pairs += len(batch)
        # lr goes with the loss: a schedule is smooth, and logging it on every batch put tens
        # of thousands of rows per run into the tracking store (side_info at Electronics scale).
        batch_metrics: dict[str, float] = {}
        if report_loss:
            batch_metrics["lr"] = lr
            loss_value = float(loss.detach()) if isinstance(loss, Tensor) else loss
            if not math.isfinite(loss_value):
                raise FloatingPointError(
                    f"loss is {loss_value} at step {step} (epoch {epoch}); lower lr "
                    f"(now {config.lr})"
                )
            batch_metrics["loss"] = last_loss = loss_value
            loss_sum += loss_value
            n_losses += 1
        if monitor is not None and (step + 1) % config.eval_every == 0:
            model.eval()
            batch_metrics["sampled_auc"] = monitor(model.score_pairs)
            model.train()
            bar.set_postfix(
                loss=f"{last_loss:.4f}",
                auc=f"{batch_metrics['sampled_auc']:.4f}",
                refresh=False,
            )
        for callback in callbacks:
            callback.on_batch_end(step, batch_metrics)
        bar.update(1)
        step += 1
        if pending_stop() is not None:
            stopped = True
            break
    bar.close()
    seconds = time.perf_counter() - started
    position = EpochPosition(
        n_batches, epoch_progress, n_pairs, loss_sum, n_losses, seconds, device.type
    )
    return EpochStats(
        seconds=seconds,
        n_pairs=n_pairs,
        n_batches=n_batches,
        mean_loss=loss_sum / max(n_losses, 1),
        end_step=step,
        stopped_at=position if stopped else None,
    )


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run a block with ``threads`` torch and numba CPU threads (0 = every core), then restore."""
    threads = resolve_workers(threads)
    previous, previous_numba = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(threads)
    max_numba = int(getattr(numba.config, "NUMBA_NUM_THREADS"))  # noqa: B009 (set at import)
    numba.set_num_threads(min(threads, max_numba))  # fused kernels
    try:
        yield
    finally:
        torch.set_num_threads(previous)
        numba.set_num_threads(previous_numba)


def fit(
    model: EmbeddingModel,
    source: BatchSource,
    data: PreparedDataset,
    config: EngineConfig,
    callbacks: Sequence[TrainingCallback],
    known: BoolMask,
    run_params: dict[str, Any] | None = None,
    stop_on: PreparedDataset | None = None,
) -> ItemEmbeddings:
    """Train ``model`` on ``source``'s batches and return its item embeddings.

    Args:
        model: the model, already on ``resolve_device(config.device)``.
        source: batches of the method (pairs from a table or from walk windows).
        data: the prepared dataset (validation pairs for the curve and per-epoch evaluation).
        config: engine settings (epochs, lr, schedule, seed, eval_every, checkpoints, ...).
        callbacks: told about the run: ``on_train_begin(params)`` (config, resolved device,
            ``run_params``), ``on_batch_end(step, {["loss", "lr",] ["sampled_auc"]})`` (the
            loss and lr every ``loss_every`` batches),
            ``on_epoch_end(epoch, epoch_metrics(...) + epoch stats, embeddings)``,
            ``on_train_end(embeddings, last epoch's metrics)``.
        known: (n_items,) items with a trained vector (the training vocabulary).
        run_params: method facts worth logging (pair / walk counts, ...).
        stop_on: the held-out slice of training pairs for early stopping
            (:func:`recsys.training.early_stopping.early_stopping_split`); the best
            epoch's embeddings are returned and ``best_epoch`` / ``epochs_trained`` logged.

    Returns:
        The final ItemEmbeddings (the best epoch's with early stopping).

    Raises:
        FloatingPointError: the loss stopped being finite (lower ``lr``).
    """
    with torch_threads(config.threads):
        return _fit(model, source, data, config, callbacks, known, run_params, stop_on)


def _fit(
    model: EmbeddingModel,
    source: BatchSource,
    data: PreparedDataset,
    config: EngineConfig,
    callbacks: Sequence[TrainingCallback],
    known: BoolMask,
    run_params: dict[str, Any] | None,
    stop_on: PreparedDataset | None,
) -> ItemEmbeddings:
    device = resolve_device(config.device)
    params: dict[str, Any] = {
        **config.model_dump(mode="json"),
        "device_resolved": str(device),
        "cuda_device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "",
        "n_items": data.n_items,
        "n_known": int(known.sum()),
        "batches_per_epoch": source.batches_per_epoch(),
        "batch_size_used": source.batch_size,
        **(run_params or {}),
    }
    if stop_on is not None:
        params["early_stopping_pairs"] = int(stop_on.validation.label.sum())
    for callback in callbacks:
        callback.on_train_begin(params)

    optimizers = build_optimizers(model, config)
    state = TrainingState(epochs_done=0, global_step=0, metrics={})
    if config.checkpoint_dir is not None:
        data_key = data_fingerprint(data)
        state = load_checkpoint(config.checkpoint_dir, model, optimizers, config, data_key) or state
    # The learning curve follows the headline protocol (the study's negatives).
    monitor = SampledAuc(data.validation_for("study"), config.eval_sample, config.seed, device)
    step, metrics = state.global_step, state.metrics
    embeddings: ItemEmbeddings | None = None
    stopper = None if stop_on is None else EarlyStopping(stop_on, config.patience)
    if state.in_epoch is not None and state.epochs_done < config.epochs:
        logger.info(
            "continuing epoch %d at batch %d (trained before the stop)",
            state.epochs_done + 1,
            state.in_epoch.batches_done + 1,
        )

    # With a checkpoint folder, a stop (SIGTERM, Ctrl-C) waits for the batch in progress
    # and the checkpoint saved then holds every batch trained so far.
    checkpoints = config.checkpoint_dir
    with stops_at_batch_boundaries() if checkpoints is not None else nullcontext():
        for epoch in range(state.epochs_done, config.epochs):
            resume_at = state.in_epoch if epoch == state.epochs_done else None
            stats = run_epoch(
                model, source, optimizers, config, epoch, step, callbacks, monitor, resume_at
            )
            step = stats.end_step
            if stats.stopped_at is not None:  # only ever with a checkpoint folder
                assert checkpoints is not None
                state = TrainingState(epoch, step, metrics, stats.stopped_at)
                path = save_checkpoint(checkpoints, model, optimizers, state, config, data_key)
                logger.warning(
                    "stopped after batch %d of epoch %d; checkpoint %s holds it: run the same "
                    "command again to continue from the next batch",
                    stats.n_batches,
                    epoch + 1,
                    path,
                )
                raise_if_stop_requested()
            model.eval()
            embeddings = model.item_embeddings(known)
            metrics = {
                **epoch_metrics(embeddings, data),
                "epoch_loss": stats.mean_loss,
                "epoch_seconds": stats.seconds,
                "pairs_per_second": stats.n_pairs / max(stats.seconds, 1e-9),
            }
            if stopper is not None:
                metrics["early_stopping_auc"] = stopper.update(epoch, embeddings, metrics)
            for callback in callbacks:
                callback.on_epoch_end(epoch, metrics, embeddings)
            if checkpoints is not None:
                state = TrainingState(epochs_done=epoch + 1, global_step=step, metrics=metrics)
                save_checkpoint(checkpoints, model, optimizers, state, config, data_key)
                raise_if_stop_requested()
            if stopper is not None and stopper.should_stop(epoch):
                break

    if stopper is not None and stopper.best_embeddings is not None:
        embeddings = stopper.best_embeddings
        best_epoch, epochs_trained = KEPT_EPOCH_METRICS
        metrics = {
            **stopper.best_metrics,
            best_epoch: stopper.best_epoch + 1,
            epochs_trained: epoch + 1,
        }

    if embeddings is None:  # resumed from a checkpoint of a finished run: no epoch ran
        model.eval()
        embeddings = model.item_embeddings(known)
    if not metrics:
        metrics = epoch_metrics(embeddings, data)
    for callback in callbacks:
        callback.on_train_end(embeddings, metrics)
    return embeddings
