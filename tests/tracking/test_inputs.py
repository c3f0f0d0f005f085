"""Dataset inputs: a first run that loses the insert of a dataset's row to a parallel one."""

from __future__ import annotations

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import DatasetInput
from mlflow.exceptions import MlflowException

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.tracking import inputs as inputs_module
from recsys.tracking.inputs import log_dataset_inputs


def test_an_input_lost_to_a_parallel_first_run_links_to_the_winners_dataset(
    tracking_uri: str, planted_dataset: PreparedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient(tracking_uri)
    real_log_input = mlflow.log_input
    lost: list[str] = []

    def lose_the_first_insert(dataset: mlflow.data.Dataset, context: str) -> None:
        if not lost:  # the other run inserts the dataset's row first; ours is refused
            lost.append(context)
            other = client.create_run(mlflow.active_run().info.experiment_id)
            client.log_inputs(other.info.run_id, [DatasetInput(dataset._to_mlflow_entity())])
            raise MlflowException("UNIQUE constraint failed: datasets.experiment_id")
        real_log_input(dataset, context=context)

    monkeypatch.setattr(inputs_module.mlflow, "log_input", lose_the_first_insert)
    with mlflow.start_run() as run:
        log_dataset_inputs(planted_dataset, DataConfig(dataset="planted"))
    logged = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert lost == ["training"]
    assert sorted((i.dataset.name, i.tags[0].value) for i in logged) == [
        ("planted-train", "training"), ("planted-validation", "validation")
    ]  # fmt: skip


def test_an_input_that_fails_twice_is_raised(
    tracking_uri: str, planted_dataset: PreparedDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(dataset: mlflow.data.Dataset, context: str) -> None:
        raise MlflowException("database is locked")

    monkeypatch.setattr(inputs_module.mlflow, "log_input", fail)
    with mlflow.start_run(), pytest.raises(MlflowException, match="locked"):
        log_dataset_inputs(planted_dataset, DataConfig(dataset="planted"))
