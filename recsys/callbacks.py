"""The hooks a trainer calls, so tracking and progress plug in without models knowing.

Models never call MLflow themselves (STYLE.md): they call these hooks, and
``recsys.tracking.callback.MLflowCallback`` turns them into MLflow calls. The module sits
below models, training and tracking, which all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from recsys.embeddings import ItemEmbeddings

# gensim's own training loss, reported once per epoch: the sum of its running loss over
# the epoch's pairs (skip-gram) or centers (CBOW), in float32, not the per-pair mean the
# other methods report as ``loss``. A name of its own keeps the two apart in MLflow's
# charts and searches: compare it only between gensim runs.
GENSIM_EPOCH_LOSS = "gensim_epoch_loss"


class TrainingCallback:
    """Hooks a trainer calls; tracking (MLflow) and progress bars plug in here.

    Models never call MLflow themselves (STYLE.md): they call these hooks.
    """

    def on_train_begin(self, params: dict[str, Any]) -> None:
        """Called once with the effective configuration."""

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        """Called after batch ``step`` (global, 0-based) with e.g. loss and sampled AUC."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        """Called after each epoch with full-validation metrics and the current embeddings."""

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        """Called once with the final embeddings and metrics."""


class MetricsForwarder(TrainingCallback):
    """Passes every hook on to ``callbacks``, letting a subclass add metrics on the way.

    A method that knows more than the engine (EGES: its learned field weights) wraps the
    run's callbacks in one of these and overrides :meth:`extra_metrics`; the tracking
    callbacks then log the extra values like any other epoch metric.
    """

    def __init__(self, callbacks: Sequence[TrainingCallback]) -> None:
        self.callbacks = tuple(callbacks)

    def extra_metrics(self, model: ItemEmbeddings) -> dict[str, float]:
        """Metrics added to each epoch's and the final metrics (none by default)."""
        return {}

    def on_train_begin(self, params: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(params)

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_batch_end(step, metrics)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        metrics = {**metrics, **self.extra_metrics(model)}
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, metrics, model)

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        metrics = {**metrics, **self.extra_metrics(model)}
        for callback in self.callbacks:
            callback.on_train_end(model, metrics)


class HeldTrainEnd(MetricsForwarder):
    """Passes every hook on but ``on_train_end``, which waits for :meth:`release` with the
    embeddings the method returns: a method that adjusts its trained embeddings (EGES's
    hubness correction) still ends its callbacks with the model it hands back."""

    def __init__(self, callbacks: Sequence[TrainingCallback]) -> None:
        super().__init__(callbacks)
        self.metrics: dict[str, float] = {}

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        self.metrics = metrics

    def release(self, model: ItemEmbeddings) -> None:
        """``on_train_end(model, the held metrics)`` on every callback."""
        for callback in self.callbacks:
            callback.on_train_end(model, self.metrics)


def report_counted_model(
    model: ItemEmbeddings, params: dict[str, Any], callbacks: Sequence[TrainingCallback]
) -> None:
    """The hooks a trainer calls, for a method that counts instead of iterating (the
    popularity and graph baselines): one begin, one epoch (epoch 0), one end."""
    for callback in callbacks:
        callback.on_train_begin(params)
    for callback in callbacks:
        callback.on_epoch_end(0, {}, model)
    for callback in callbacks:
        callback.on_train_end(model, {})
