"""A tracked run end to end on the planted dataset, in a temporary MLflow store."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from pydantic import Field

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig, StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method
from recsys.models.base import Method
from recsys.tracking import names, run
from recsys.tracking.params import ParameterError
from recsys.tracking.parent import ERROR_ARTIFACT, TAG_ERROR
from recsys.tracking.resume import resumed_stop_tags
from recsys.tracking.server import TrackingServerError


class ClusterConfig(StrictModel):
    batches_per_epoch: int = Field(600, ge=1)
    epochs: int = Field(2, ge=1)


def train_cluster_oracle(
    dataset: PreparedDataset, config: ClusterConfig, callbacks: Sequence[TrainingCallback]
) -> ItemEmbeddings:
    """A stand-in method that reports batches like a real trainer and learns the clusters."""
    cluster = dataset.products["brand"].str.removeprefix("brand").astype(int).to_numpy()
    model = ItemEmbeddings(
        vectors=np.eye(cluster.max() + 1, dtype=np.float32)[cluster],
        known=dataset.train_vocabulary(),
    )
    for callback in callbacks:
        callback.on_train_begin(config.model_dump())
    step = 0
    for epoch in range(config.epochs):
        for _ in range(config.batches_per_epoch):
            metrics = {"loss": 1.0 / (step + 1)}
            if step % 100 == 0:
                metrics["sampled_auc"] = 0.5 + step / 10_000
            for callback in callbacks:
                callback.on_batch_end(step, metrics)
            step += 1
        for callback in callbacks:
            callback.on_epoch_end(epoch, {}, model)
    for callback in callbacks:
        callback.on_train_end(model, {})
    return model


ORACLE = Method("oracle", ClusterConfig, train_cluster_oracle, "test stand-in")  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_popularity_run_logs_tags_params_metrics_figures_and_model(
    planted_dataset: PreparedDataset, tracking_uri: str
) -> None:
    method, data_config, config = run.validate_params("popularity", {"dataset": "planted"})
    run_id = run.track_run(
        method, config, data_config, planted_dataset, tracking_uri=tracking_uri, progress=False
    )
    client = MlflowClient(tracking_uri)
    logged = client.get_run(run_id)
    tags, params, metrics = logged.data.tags, logged.data.params, logged.data.metrics

    assert client.get_experiment(logged.info.experiment_id).name == "recsys-planted"
    assert tags[names.TAG_RUN_NAME] == "popularity on planted"
    assert tags[names.TAG_METHOD] == "popularity"
    assert tags[names.TAG_VARIANT] == ""
    assert tags[names.TAG_SOURCE] == names.SOURCE_SYNTHETIC
    assert tags[names.TAG_N_PRODUCTS] == "500"
    assert tags[names.TAG_CHECKSUM].startswith("prepared:")
    assert tags[names.TAG_DEVICE] == "cpu"
    assert len(tags[names.TAG_GIT_COMMIT]) in (40, len("unknown"))
    assert params["dataset"] == "planted"
    assert params["weighted"] == "False"
    assert params["also_viewed"] == "0.5"
    assert params["products"] == params["columns"] == ""  # unset, as `mlflow run` logs them
    assert params["data.n_clusters"] == "20"

    expected = evaluate(
        get_method("popularity").train(planted_dataset, config, []), planted_dataset
    )
    assert metrics[names.METRIC_AUC_ALL] == pytest.approx(expected.auc_all)
    assert metrics[names.METRIC_AUC_COLD_START] == pytest.approx(expected.auc_cold_start)
    assert metrics[names.METRIC_PEAK_MEMORY_MB] > 10
    assert tags[names.TAG_PEAK_MEMORY_SOURCE] in ("vmhwm", "ru_maxrss")
    assert metrics[names.METRIC_TRAIN_MINUTES] >= 0
    # The dataset's statistics, once, at step 0 (see recsys.data.statistics).
    assert metrics["data.products"] == 500
    assert metrics["data.train_pairs"] == len(planted_dataset.train)
    assert 0 < metrics["data.seen_share"] < 1 and 0 < metrics["data.clustering"] < 1
    assert len(client.get_metric_history(run_id, "data.products")) == 1
    # The descriptive ones also as params, 3 significant digits, for filtering runs.
    assert params["data.products"] == "500"
    assert params["data.seen_share"] == f"{metrics['data.seen_share']:.3g}"
    assert "data.train_pairs" not in params and "data.clustering_sampled_nodes" not in params
    found = client.search_runs(
        [logged.info.experiment_id],
        f"params.`data.seen_share` = '{metrics['data.seen_share']:.3g}'",
    )
    assert [r.info.run_id for r in found] == [run_id]

    artifacts = {a.path for a in client.list_artifacts(run_id, names.ARTIFACT_FIGURES_DIR)}
    assert artifacts == {
        "figures/precision_recall_threshold.png",
        "figures/roc.png",
        "figures/roc_matched.png",
        "figures/recall_at_k.png",
        "figures/degree_buckets.png",
        "figures/learning_curve.png",
    }
    local = Path(client.download_artifacts(run_id, names.ARTIFACT_EMBEDDINGS_DIR))
    vocabulary = pd.read_parquet(local / "vocabulary.parquet")
    assert vocabulary["asin"].tolist() == planted_dataset.products["asin"].tolist()
    manifest = mlflow.artifacts.load_dict(f"runs:/{run_id}/{names.ARTIFACT_MANIFEST}")
    assert manifest["n_clusters"] == 20


def test_per_batch_and_per_epoch_metrics_arrive_with_their_steps(
    planted_dataset: PreparedDataset, tracking_uri: str
) -> None:
    config = ClusterConfig(batches_per_epoch=600, epochs=2)
    run_id = run.track_run(
        ORACLE,
        config,
        DataConfig(dataset="planted"),
        planted_dataset,
        tracking_uri=tracking_uri,
        progress=False,
    )
    client = MlflowClient(tracking_uri)
    loss = client.get_metric_history(run_id, names.METRIC_LOSS)
    assert sorted(m.step for m in loss) == list(range(1200))
    assert {m.step: m.value for m in loss}[9] == pytest.approx(0.1)
    sampled = client.get_metric_history(run_id, names.METRIC_SAMPLED_AUC)
    assert sorted(m.step for m in sampled) == list(range(0, 1200, 100))
    auc = client.get_metric_history(run_id, names.METRIC_AUC_ALL)
    # epochs 0 and 1, then the final evaluation at the last epoch's step
    assert sorted(m.step for m in auc) == [0, 1, 1]
    assert client.get_run(run_id).data.metrics[names.METRIC_AUC_SEEN] == 1.0


def test_invalid_parameter_fails_naming_it_before_any_work(
    monkeypatch: pytest.MonkeyPatch, tracking_uri: str
) -> None:
    def no_work(_: DataConfig, **__: object) -> PreparedDataset:
        raise AssertionError("the dataset must not be prepared when parameters are invalid")

    monkeypatch.setattr(run, "prepare", no_work)
    with pytest.raises(ParameterError, match="weighted='maybe'"):
        run.run_method("popularity", {"weighted": "maybe"}, progress=False)
    with pytest.raises(ParameterError, match="unknown parameter 'dimm'"):
        run.run_method("popularity", {"dimm": 3}, progress=False)
    with pytest.raises(ParameterError, match="validation_fraction"):
        run.run_method("popularity", {"validation_fraction": "1.5"}, progress=False)
    with pytest.raises(ParameterError, match="unknown method 'nope'"):
        run.run_method("nope", {}, progress=False)


def test_unreachable_tracking_server_fails_naming_the_uri_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_work(_: DataConfig, **__: object) -> PreparedDataset:
        raise AssertionError("the dataset must not be prepared when the server is down")

    monkeypatch.setattr(run, "prepare", no_work)
    uri = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(TrackingServerError, match=uri.replace(".", r"\.")):
        run.run_method("popularity", {}, tracking_uri=uri, progress=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(TrackingServerError, match="not reachable"):
        run.run_method("popularity", {}, progress=False)


def test_prepare_step_logs_the_manifest_into_the_project_run(
    planted_dataset: PreparedDataset, tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "prepare", lambda config, **_: planted_dataset)
    with pytest.raises(ParameterError, match="unknown parameter 'dim' for prepare"):
        run.run_prepare({"dim": "3"})
    client = MlflowClient(tracking_uri)
    project_run = client.create_run(client.create_experiment("prepare")).info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", project_run)  # what `mlflow run -e prepare` sets
    client.log_param(project_run, "split_seed", "0042")  # mlflow run logs the raw text first
    assert run.run_prepare({"dataset": "planted", "split_seed": "0042"}) is planted_dataset
    logged = client.get_run(project_run).data
    assert logged.tags[names.TAG_DATASET] == "planted"
    assert logged.tags[names.TAG_N_PRODUCTS] == "500"
    assert logged.params["split_seed"] == "0042"  # kept as the launcher logged it
    assert logged.params["data.n_clusters"] == "20"
    manifest = mlflow.artifacts.load_dict(f"runs:/{project_run}/{names.ARTIFACT_MANIFEST}")
    assert manifest["name"] == "planted"


def test_ranking_queries_above_the_catalog_is_an_error_naming_it(
    planted_dataset: PreparedDataset,
) -> None:
    run.check_ranking_queries(DataConfig(), planted_dataset)  # the default is an upper bound
    run.check_ranking_queries(DataConfig(ranking_queries=planted_dataset.n_items), planted_dataset)
    with pytest.raises(ParameterError, match=r"ranking_queries=5,000 .*\(500 products\)"):
        run.check_ranking_queries(DataConfig(ranking_queries=5_000), planted_dataset)


def test_training_runs_log_mlflow_system_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted_dataset: PreparedDataset
) -> None:
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1")
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    method, data_config, config = run.validate_params("word2vec", {"dataset": "planted",
                                                                    "workers": 1})  # fmt: skip
    run_id = run.track_run(
        method, config, data_config, planted_dataset, tracking_uri=uri, progress=False
    )
    metrics = MlflowClient(uri).get_run(run_id).data.metrics
    assert any(key.startswith("system/cpu_utilization") for key in metrics), sorted(metrics)
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")
    assert not run.system_metrics_enabled()


def test_a_run_of_a_few_seconds_gets_system_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted_dataset: PreparedDataset
) -> None:
    """MLflow samples every 10 s unless told otherwise: a popularity run of a few seconds
    (evaluation, figures and model included) had no system metrics at all."""
    monkeypatch.setenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "")  # unset: ours applies
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    method, data_config, config = run.validate_params("popularity", {"dataset": "planted"})
    run_id = run.track_run(
        method, config, data_config, planted_dataset, tracking_uri=uri, progress=False
    )
    client = MlflowClient(uri)
    history = client.get_metric_history(run_id, "system/cpu_utilization_percentage")
    info = client.get_run(run_id).info
    seconds = (info.end_time - info.start_time) / 1000
    assert len(history) >= 1, f"a run of {seconds:.1f} s"
    assert os.environ["MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"] == "1.0"


class FailAfterFirstEpoch(TrainingCallback):
    """Interrupts the second epoch's first batch (the first epoch's checkpoint is written)."""

    def __init__(self) -> None:
        self.epochs_done = 0

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.epochs_done += 1

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        if self.epochs_done:
            raise RuntimeError("interrupted after epoch 0")


def test_resuming_from_a_checkpoint_continues_the_interrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted_dataset: PreparedDataset
) -> None:
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = {"dataset": "planted", "epochs": 3, "dim": 8, "batch_size": 256, "device": "cpu",
              "progress": False, "checkpoint_dir": str(tmp_path / "ckpt")}  # fmt: skip
    method, data_config, config = run.validate_params("mf", params)
    with pytest.raises(RuntimeError, match="interrupted"):
        run.track_run(method, config, data_config, planted_dataset, tracking_uri=uri,
                      progress=False, extra_callbacks=[FailAfterFirstEpoch()])  # fmt: skip
    client = MlflowClient(uri)
    (first,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert first.info.status == "FAILED"
    assert first.data.tags[TAG_ERROR] == "RuntimeError: interrupted after epoch 0"
    traceback = client.download_artifacts(first.info.run_id, ERROR_ARTIFACT, str(tmp_path))
    assert "in on_batch_end" in Path(traceback).read_text()  # the callback that raised
    # As if stopped by SIGTERM, resumed, then stopped by Ctrl-C (what the signal handler tags).
    client.set_tag(first.info.run_id, names.TAG_RESUMED_AFTER, "SIGTERM")
    client.set_tag(first.info.run_id, names.TAG_STOPPED_BY, "SIGINT")
    client.delete_tag(first.info.run_id, TAG_ERROR)  # a stop is no error
    resumed_id = run.track_run(
        method, config, data_config, planted_dataset, tracking_uri=uri, progress=False
    )
    assert resumed_id == first.info.run_id
    resumed = client.get_run(resumed_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags[names.TAG_RESUMED] == "true"
    assert names.TAG_STOPPED_BY not in resumed.data.tags  # no signal ended the finished run
    assert TAG_ERROR not in resumed.data.tags  # nor did the error
    assert resumed.data.tags[names.TAG_RESUMED_AFTER] == "SIGTERM, SIGINT"
    epochs = sorted(m.step for m in client.get_metric_history(resumed_id, "epoch_loss"))
    assert epochs == [0, 1, 2]  # one history across the interruption
    # A finished run is never reopened: training on is a new result.
    more = run.validate_params("mf", {**params, "epochs": 4})
    again = run.track_run(more[0], more[2], more[1], planted_dataset, tracking_uri=uri,
                          progress=False)  # fmt: skip
    assert again != resumed_id


def test_degree_prior_calibration_keeps_off_the_runs_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, planted_dataset: PreparedDataset
) -> None:
    """The inner calibration trains on other data: it must not load or overwrite the run's
    checkpoint (which would be refused as written for other training data)."""
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    params = {"dataset": "planted", "epochs": 2, "dim": 8, "batch_size": 256, "device": "cpu",
              "progress": False, "checkpoint_dir": str(tmp_path / "ckpt"),
              "degree_prior": "true"}  # fmt: skip
    method, data_config, config = run.validate_params("mf_bias", params)
    run_id = run.track_run(
        method, config, data_config, planted_dataset, tracking_uri=uri, progress=False
    )
    assert MlflowClient(uri).get_run(run_id).info.status == "FINISHED"


def test_reopening_a_failed_run_moves_its_error_to_resumed_after(tracking_uri: str) -> None:
    """A failed run that is resumed and finishes was not ended by its error: the error's
    type joins the earlier stops in recsys.resumed_after and recsys.error goes."""
    client = MlflowClient(tracking_uri)
    experiment = client.create_experiment("reopened")
    run_id = client.create_run(experiment).info.run_id
    client.set_tag(run_id, names.TAG_RESUMED_AFTER, "SIGTERM")
    client.set_tag(run_id, TAG_ERROR, "DataError: the held-out slice is too small")
    assert resumed_stop_tags(client, run_id) == {names.TAG_RESUMED_AFTER: "SIGTERM, DataError"}
    assert TAG_ERROR not in client.get_run(run_id).data.tags
    assert resumed_stop_tags(client, run_id) == {}  # nothing ended it since
