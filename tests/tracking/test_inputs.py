"""Dataset inputs: a first run that loses the insert of a dataset's row to a parallel one."""

from __future__ import annotations

import dataclasses

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import DatasetInput
from mlflow.exceptions import MlflowException

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.tracking import inputs as inputs_module
from recsys.tracking.inputs import log_dataset_inputs, statistics_params


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


def test_the_digest_tells_splits_of_one_file_apart(
    tracking_uri: str, planted_dataset: PreparedDataset
) -> None:
    """Another split seed of the same file is another dataset: the inputs' digest is the
    prepared data's key (content and data settings), not the file's checksum."""
    digests = []
    for key in ("f35862ae50ea", "2cc7c20f3c25"):  # one file, two split seeds
        split = dataclasses.replace(
            planted_dataset, manifest={**planted_dataset.manifest, "cache_key": key}
        )
        with mlflow.start_run() as run:
            log_dataset_inputs(split, DataConfig(dataset="planted"))
        logged = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
        digests.append({i.dataset.digest for i in logged})
    assert digests == [{"f35862ae50ea"}, {"2cc7c20f3c25"}]


def test_counts_are_exact_params_and_shares_three_digits() -> None:
    params = statistics_params({"products": 4187, "pairs": 40053.0, "seen_share": 0.891234})
    assert params == {"data.products": "4187", "data.pairs": "40053", "data.seen_share": "0.891"}
