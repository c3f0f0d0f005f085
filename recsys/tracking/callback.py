"""The training callback that talks to MLflow.

Models call :class:`recsys.callbacks.TrainingCallback` hooks; this one
turns them into MLflow metrics, batched, so a run of 100k batches costs ~200 requests, not
200k. Progress bars are the trainers' own (``TrainerConfig.progress``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import epoch_metrics
from recsys.tracking.names import (
    METRIC_AUC_ALL,
    METRIC_GENSIM_EPOCH_LOSS,
    METRIC_LOSS,
    METRIC_SAMPLED_AUC,
)
from recsys.tracking.params import param_text
from recsys.training.early_stopping import KEPT_EPOCH_METRICS

MAX_METRICS_PER_CALL = 1000  # MLflow's limit per log_batch request (MAX_METRICS_PER_BATCH)
MAX_PARAMS_PER_CALL = 100  # MLflow's limit of params per log_batch request
EpochEvaluator = Callable[[ItemEmbeddings], dict[str, float]]


def epoch_evaluator(dataset: PreparedDataset) -> EpochEvaluator:
    """:func:`epoch_metrics` on ``dataset``, computed once per model object: a run's
    callbacks share it, and its final model is often the last epoch's object."""
    last: list[tuple[ItemEmbeddings, dict[str, float]]] = []

    def evaluate(model: ItemEmbeddings) -> dict[str, float]:
        if not last or last[0][0] is not model:
            last[:] = [(model, epoch_metrics(model, dataset))]
        return last[0][1]

    return evaluate


def log_new_params(client: MlflowClient, run_id: str, values: Mapping[str, Any]) -> None:
    """Log params in batches, keeping any a launcher (`mlflow run`) already logged.

    `mlflow run` logs the entry point's raw strings ("1e-2") before our process starts;
    MLflow refuses to change a param, and the raw spelling validated to the same value.
    """
    existing = client.get_run(run_id).data.params
    items = [Param(k, param_text(v)) for k, v in values.items() if k not in existing]
    for start in range(0, len(items), MAX_PARAMS_PER_CALL):
        client.log_batch(run_id, params=items[start : start + MAX_PARAMS_PER_CALL])


@dataclass
class LearningCurve:
    """Per-batch loss and sampled AUC, and where each epoch ended (for the plot).

    ``loss_name`` says which loss it holds: the per-pair ``loss`` of most methods, or
    gensim's per-epoch sum (``gensim_epoch_loss``).
    """

    loss_steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    auc_steps: list[int] = field(default_factory=list)
    sampled_auc: list[float] = field(default_factory=list)
    epoch_end_steps: list[int] = field(default_factory=list)
    loss_name: str = METRIC_LOSS

    def add(self, step: int, metrics: dict[str, float]) -> None:
        for name in (METRIC_LOSS, METRIC_GENSIM_EPOCH_LOSS):
            if name in metrics:
                self.loss_name = name
                self.loss_steps.append(step)
                self.loss.append(float(metrics[name]))
        if METRIC_SAMPLED_AUC in metrics:
            self.auc_steps.append(step)
            self.sampled_auc.append(float(metrics[METRIC_SAMPLED_AUC]))


class MLflowCallback(TrainingCallback):
    """Logs a trainer's metrics to one MLflow run.

    Per-batch metrics (``loss``, ``sampled_auc``, ...) are buffered and sent with
    ``MlflowClient.log_batch`` in chunks of at most 1,000, when the buffer fills and at
    every epoch end and train end. Per-epoch metrics are logged with ``step=epoch`` (one
    that shares a per-batch metric's name is logged as ``epoch_<name>``); when a
    trainer reports no full-validation AUC for an epoch, ``evaluate_epoch`` (if given)
    computes it from the epoch's embeddings.

    Args:
        client: the client of the tracking store.
        run_id: the run to log into.
        evaluate_epoch: model -> metrics, used when an epoch reports no ``auc_all``.
        buffer_size: per-batch values held before a flush (at most 1,000 per call).
        prefix: put before every metric name logged (a tuning trial's ``inner.``: its
            scores are on the inner split, never the validation pairs method runs report).
    """

    def __init__(
        self,
        client: MlflowClient,
        run_id: str,
        evaluate_epoch: EpochEvaluator | None = None,
        buffer_size: int = MAX_METRICS_PER_CALL,
        prefix: str = "",
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.run_id = run_id
        self.evaluate_epoch = evaluate_epoch
        self.buffer_size = max(1, min(buffer_size, MAX_METRICS_PER_CALL))
        self.curve = LearningCurve()
        self.last_epoch: int | None = None
        self.last_step: int | None = None
        self.calls = 0  # log_batch requests sent, for tests and for the curious
        self._buffer: list[Metric] = []
        self._batch_keys: set[str] = set()

    def _now_ms(self) -> int:
        return int(time.time() * 1000)

    def flush(self) -> None:
        """Send everything buffered, at most 1,000 metrics per request."""
        while self._buffer:
            chunk = self._buffer[:MAX_METRICS_PER_CALL]
            self.client.log_batch(self.run_id, metrics=chunk, synchronous=True)
            self.calls += 1
            del self._buffer[: len(chunk)]

    def _add(self, metrics: dict[str, float], step: int) -> None:
        timestamp = self._now_ms()
        self._buffer.extend(
            Metric(f"{self.prefix}{k}", float(v), timestamp, step) for k, v in metrics.items()
        )

    def on_train_begin(self, params: dict[str, Any]) -> None:
        """Log what the trainer resolved beyond the config the run logged already (the
        device, the batch size used, batches per epoch, products in the walks, ...)."""
        resolved = {
            k: v for k, v in params.items() if isinstance(v, str | int | float | bool) and v != ""
        }
        log_new_params(self.client, self.run_id, resolved)

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        self._batch_keys.update(metrics)
        self.curve.add(step, metrics)
        self.last_step = step
        self._add(metrics, step)
        if len(self._buffer) >= self.buffer_size:
            self.flush()

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        # A per-epoch value under a per-batch name (gensim reports its epoch loss as both)
        # would land in the batch series at step=epoch: it becomes epoch_<name> instead.
        values = {(f"epoch_{k}" if k in self._batch_keys else k): v for k, v in metrics.items()}
        if METRIC_AUC_ALL not in values and self.evaluate_epoch is not None:
            values.update(self.evaluate_epoch(model))
        self.last_epoch = epoch
        if self.last_step is not None:
            self.curve.epoch_end_steps.append(self.last_step)
        self._add(values, epoch)
        self.flush()

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        # The final evaluation logs the model's metrics; from training only which epoch
        # early stopping kept, and how many ran.
        kept = {key: metrics[key] for key in KEPT_EPOCH_METRICS if key in metrics}
        if kept:
            self._add(kept, self.last_epoch or 0)
        self.flush()

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Log metrics now (final metrics, timings), in as few requests as possible."""
        self._add(metrics, step)
        self.flush()
