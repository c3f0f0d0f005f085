"""Every registered method trains, evaluates and logs through one tracked run.

Small settings on the planted dataset: this checks the wiring (callbacks, metrics with
steps, figures, the pyfunc model) for each method, not its accuracy, which each method's
own tests and the benchmarks cover.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from scipy import sparse

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import BIAS_TERMS, ItemEmbeddings
from recsys.methods import BASELINE_METHODS, method_names
from recsys.tracking import names
from recsys.tracking.params import flat_fields
from recsys.tracking.pyfunc import BIAS_TERM_TEXT, score_description
from recsys.tracking.run import track_run, validate_params
from recsys.tracking.run_info import settings_of
from tests.conftest import make_planted_dataset, private_store

GENSIM_METHODS = {"word2vec"}  # gensim trains it (node2vec: with trainer=gensim): its own loss

# Applied where a method has the setting: one short epoch, small vectors, short walks.
SMALL = {
    "epochs": 2,
    "dim": 8,
    "batch_size": 256,
    "eval_every": 5,
    "eval_sample": 200,
    "walks_per_node": 2,
    "walk_length": 5,
    "workers": 1,
    "threads": 1,
    "progress": False,
}


class KeepModel(TrainingCallback):
    """Keeps the final embeddings, to compare the logged model with."""

    model: ItemEmbeddings | None = None

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        self.model = model


@pytest.fixture(scope="module")
def store(empty_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("methods")
    uri = private_store(empty_store, tmp)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        for launcher_env in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
            patch.delenv(launcher_env, raising=False)
        patch.chdir(tmp)
        previous = mlflow.get_tracking_uri()
        yield uri
        mlflow.set_tracking_uri(previous)


def _small_params(method: str) -> dict[str, Any]:
    method_obj, _, _ = validate_params(method, {})
    known = flat_fields(method_obj.config_class)
    return {key: value for key, value in SMALL.items() if key in known}


@pytest.mark.slow
@pytest.mark.parametrize("method", method_names())
def test_method_logs_a_complete_run(method: str, store: str) -> None:
    dataset: PreparedDataset = make_planted_dataset()
    method_obj, data_config, config = validate_params(
        method, {"dataset": "planted", **_small_params(method)}
    )
    keep = KeepModel()
    run_id = track_run(
        method_obj, config, data_config, dataset, tracking_uri=store, progress=False,
        extra_callbacks=[keep],
    )  # fmt: skip
    client = MlflowClient(store)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags[names.TAG_METHOD] == method
    assert run.data.tags[names.TAG_SETTINGS] == settings_of(config)  # SMALL, away from defaults
    assert 0.0 <= run.data.metrics[names.METRIC_AUC_ALL] <= 1.0
    epochs = client.get_metric_history(run_id, names.METRIC_AUC_ALL)
    assert len(epochs) >= 2  # per epoch (step = epoch) and the final value
    if method not in BASELINE_METHODS:  # they count, they do not iterate
        # A per-pair mean as ``loss``; gensim's epoch sum under its own name, never both.
        gensim = method in GENSIM_METHODS
        name = names.METRIC_GENSIM_EPOCH_LOSS if gensim else names.METRIC_LOSS
        other = names.METRIC_LOSS if gensim else names.METRIC_GENSIM_EPOCH_LOSS
        loss = client.get_metric_history(run_id, name)
        assert loss and len({m.step for m in loss}) == len(loss)  # one value per step
        assert not client.get_metric_history(run_id, other)
    figures = {Path(f.path).name for f in client.list_artifacts(run_id, names.ARTIFACT_FIGURES_DIR)}
    assert figures == {
        "precision_recall_threshold.png", "roc.png", "roc_matched.png", "recall_at_k.png",
        "degree_buckets.png", "learning_curve.png",
    }  # fmt: skip
    metrics = run.data.metrics
    for metric in ("matched_auc_all", "recall_at_10", "recall_at_100", "ndcg_at_10", "mrr"):
        assert 0.0 <= metrics[f"{metric}_ci_low"] <= metrics[metric] <= metrics[f"{metric}_ci_high"]
    assert 0.0 <= metrics["auc_all_ci_low"] <= metrics["auc_all"] <= metrics["auc_all_ci_high"]
    # Counts the evaluation measured are metrics; the param is what was asked for.
    used = metrics[names.METRIC_RANKING_QUERIES_USED]
    assert 0 < used <= metrics[names.METRIC_RANKING_QUERY_POOL]
    assert used <= int(run.data.params["ranking_queries"])
    assert not {names.METRIC_RANKING_QUERIES_USED, names.METRIC_RANKING_QUERY_POOL} & set(
        run.data.params
    )
    if "device" in flat_fields(method_obj.config_class):  # the engine's own resolved values
        assert run.data.params["device_resolved"] == "cpu"
        assert int(run.data.params["batch_size_used"]) >= 1
        assert int(run.data.params["batches_per_epoch"]) >= 1
    inputs = {
        (i.dataset.name, i.tags[0].value, i.dataset.digest) for i in run.inputs.dataset_inputs
    }
    digest = run.data.tags[names.TAG_DATA_KEY][:16]  # the data and its data settings
    (output,) = run.outputs.model_outputs
    model_metrics = {m.key: m for m in client.get_logged_model(output.model_id).metrics or []}
    assert model_metrics[names.METRIC_AUC_ALL].value == run.data.metrics[names.METRIC_AUC_ALL]
    assert model_metrics[names.METRIC_AUC_ALL].dataset_name == "planted-validation"
    assert inputs == {("planted-train", "training", digest),
                      ("planted-validation", "validation", digest)}  # fmt: skip

    assert keep.model is not None
    embeddings = keep.model
    asins = dataset.products["asin"].to_numpy()
    pairs = np.flatnonzero(
        embeddings.known[dataset.validation.item_a] & embeddings.known[dataset.validation.item_b]
    )[:20]
    a, b = dataset.validation.item_a[pairs], dataset.validation.item_b[pairs]
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    answer = model.predict(pd.DataFrame({"product1": asins[a], "product2": asins[b]}))
    np.testing.assert_allclose(
        answer["score"].astype(float), embeddings.score(a, b), rtol=1e-5, atol=1e-6
    )
    score_text = model.metadata.metadata["score"]  # what the served score means
    assert score_text == score_description(embeddings)
    terms = embeddings.extra.get(BIAS_TERMS, ())
    assert bool(terms) == (embeddings.bias is not None) and set(terms) <= set(BIAS_TERM_TEXT)
    assert ("vectors" in score_text) == (embeddings.dim > 0 and not embeddings.is_sparse)
    local = Path(client.download_artifacts(run_id, names.ARTIFACT_EMBEDDINGS_DIR))
    if embeddings.is_sparse:  # graph baselines store their adjacency rows
        stored = sparse.load_npz(local / "vectors.npz")
        assert (stored != embeddings.vectors).nnz == 0
    else:
        np.testing.assert_array_equal(np.load(local / "vectors.npy"), embeddings.vectors)


@pytest.mark.slow
def test_degree_prior_run_logs_its_beta_and_its_own_variant(store: str) -> None:
    dataset = make_planted_dataset()
    settings = {"dim": 16, "walks_per_node": 5, "walk_length": 10, "workers": 1}
    method_obj, data_config, config = validate_params(
        "word2vec", {"dataset": "planted", **settings, "degree_prior": "true"}
    )
    run_id = track_run(method_obj, config, data_config, dataset, tracking_uri=store, progress=False)
    run = MlflowClient(store).get_run(run_id)
    assert run.data.tags[names.TAG_VARIANT] == "prior"
    assert np.isfinite(run.data.metrics["degree_prior_beta"])
    mlflow.set_tracking_uri(store)
    score_text = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").metadata.metadata["score"]
    assert "plus each product's degree prior" in score_text
    assert run.data.metrics["frac_median_filled"] == 0.0  # every product is scored


@pytest.mark.slow
def test_a_run_with_patience_logs_the_epoch_it_kept(store: str) -> None:
    dataset = make_planted_dataset()
    settings = {"dim": 16, "walks_per_node": 4, "epochs": 4, "patience": 1, "threads": 1}
    method_obj, data_config, config = validate_params(
        "skipgram", {"dataset": "planted", **settings}
    )
    run_id = track_run(method_obj, config, data_config, dataset, tracking_uri=store, progress=False)
    metrics = MlflowClient(store).get_run(run_id).data.metrics
    assert 1 <= metrics["best_epoch"] <= metrics["epochs_trained"] <= 4
