"""MLflowCallback batches per-batch metrics and steps per-epoch metrics by epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
from mlflow.entities import Metric

from recsys.embeddings import ItemEmbeddings
from recsys.tracking.callback import MAX_METRICS_PER_CALL, MLflowCallback


class RecordingClient:
    """Stands in for MlflowClient: records every log_batch call."""

    def __init__(self) -> None:
        self.calls: list[list[Metric]] = []

    def log_batch(self, run_id: str, metrics: list[Metric], **_: Any) -> None:
        assert run_id == "run"
        self.calls.append(list(metrics))


def _model() -> ItemEmbeddings:
    return ItemEmbeddings(vectors=np.eye(3, dtype=np.float32), known=np.ones(3, dtype=bool))


def test_per_batch_metrics_go_out_in_batches_of_at_most_1000() -> None:
    client = RecordingClient()
    callback = MLflowCallback(client, "run")  # type: ignore[arg-type]
    for step in range(1500):  # two values per batch: 3,000 metrics in one epoch
        callback.on_batch_end(step, {"loss": 1.0, "lr": 0.1})
    assert len(client.calls) == 3 and all(len(c) == MAX_METRICS_PER_CALL for c in client.calls)
    callback.on_batch_end(1500, {"loss": 0.5})
    callback.on_epoch_end(0, {"auc_all": 0.9}, _model())
    assert len(client.calls) == 4  # the rest and the epoch metric flushed together
    last = {(m.key, m.step): m.value for m in client.calls[-1]}
    assert last == {("loss", 1500): 0.5, ("auc_all", 0): 0.9}
    assert callback.curve.epoch_end_steps == [1500]
    assert len(callback.curve.loss) == 1501


def test_epochs_without_auc_are_evaluated_and_train_end_flushes() -> None:
    client = RecordingClient()
    seen: list[ItemEmbeddings] = []

    def evaluate(model: ItemEmbeddings) -> dict[str, float]:
        seen.append(model)
        return {"auc_all": 0.75}

    callback = MLflowCallback(client, "run", evaluate_epoch=evaluate)  # type: ignore[arg-type]
    model = _model()
    callback.on_epoch_end(3, {"epoch_loss": 1.5}, model)
    assert seen == [model]
    assert {(m.key, m.step) for m in client.calls[0]} == {("epoch_loss", 3), ("auc_all", 3)}
    callback.on_epoch_end(4, {"auc_all": 0.8}, model)
    assert len(seen) == 1  # the trainer's own AUC is used, not recomputed
    callback.on_batch_end(99, {"sampled_auc": 0.6})
    assert len(client.calls) == 2
    callback.on_train_end(model, {})
    assert [(m.key, m.step) for m in client.calls[-1]] == [("sampled_auc", 99)]
    assert callback.last_epoch == 4


def test_an_epoch_value_under_a_batch_name_gets_its_own_series() -> None:
    client = RecordingClient()
    callback = MLflowCallback(client, "run")  # type: ignore[arg-type]
    callback.on_batch_end(0, {"loss": 3.0})
    callback.on_epoch_end(0, {"loss": 2.5, "auc_all": 0.7}, _model())
    keys = {(m.key, m.step) for m in client.calls[0]}
    assert keys == {("loss", 0), ("epoch_loss", 0), ("auc_all", 0)}
