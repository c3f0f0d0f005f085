"""node2vec (second-order walks + skip-gram) learns the planted clusters, on skipgram's
engine by default and on gensim's Word2Vec (the study's trainer) with trainer=gensim."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from recsys.data.dataset import PreparedDataset
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method
from recsys.models.node2vec import Node2VecConfig, gensim_config
from recsys.tracking.params import flatten_config
from tests.models.test_word2vec import AUC_ALL_FLOOR, AUC_SEEN_FLOOR, RecordingCallback


def test_defaults_are_second_order_walks_on_the_skipgram_engine() -> None:
    config = Node2VecConfig()
    assert (config.p, config.q, config.trainer, config.optimizer) == (0.5, 2.0, "engine", "sgd")
    assert (config.epochs, config.lr) == (3, 0.04)
    study = Node2VecConfig(preset="study")
    assert study.trainer == "gensim"
    gensim = gensim_config(study)
    assert (gensim.sg, gensim.p, gensim.q, gensim.alpha, gensim.negative) == (1, 0.5, 2.0, 0.025, 5)
    assert (gensim.sample, gensim.window, gensim.epochs, gensim.dim) == (1e-3, 5, 5, 128)


@pytest.mark.parametrize("trainer", ["engine", "gensim"])
def test_node2vec_learns_planted_clusters(planted_dataset: PreparedDataset, trainer: str) -> None:
    method = get_method("node2vec")
    assert method.needs_walks
    callback = RecordingCallback()
    config = Node2VecConfig(workers=2, trainer=trainer)  # type: ignore[arg-type]
    embeddings = method.train(planted_dataset, config, [callback])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > AUC_SEEN_FLOOR
    assert result.auc_all > AUC_ALL_FLOOR
    np.testing.assert_array_equal(embeddings.known, planted_dataset.train_vocabulary())
    assert [epoch for epoch, _ in callback.epochs] == list(range(config.epochs))
    assert len(callback.end) == 1
    if trainer == "gensim":  # gensim reports its own settings: skip-gram on these walks
        assert callback.begin[0]["p"] == 0.5 and callback.begin[0]["sg"] == 1


def test_single_worker_gensim_training_is_deterministic(planted_dataset: PreparedDataset) -> None:
    config = Node2VecConfig(trainer="gensim", workers=1, epochs=2, dim=16)
    first = get_method("node2vec").train(planted_dataset, config)
    second = get_method("node2vec").train(planted_dataset, config)
    np.testing.assert_array_equal(first.vectors, second.vectors)


def test_engine_settings_with_the_gensim_trainer_are_refused() -> None:
    with pytest.raises(ValidationError, match="batch_size, optimizer: settings of trainer=engine"):
        Node2VecConfig(trainer="gensim", optimizer="adam", batch_size=1024)
    Node2VecConfig(preset="study", lr=0.05, negatives=10)  # shared settings map to gensim's


def test_gensim_runs_take_engine_defaults_as_mlproject_passes_them_and_do_not_log_them() -> None:
    """`mlflow run . -e node2vec -P preset=study` passes every declared parameter, the
    engine's at their defaults: accepted, and left out of the run's params."""
    declared = {"optimizer": "sgd", "batch_size": 65536, "threads": 0, "max_logit": 6.0}
    config = Node2VecConfig(preset="study", **declared)  # type: ignore[arg-type]
    logged = flatten_config(config)
    assert logged["trainer"] == "gensim" and logged["lr"] == 0.025
    assert not set(logged) & set(declared)
    assert {"optimizer", "max_logit"} <= set(flatten_config(Node2VecConfig()))


def test_first_order_settings_warn(planted_dataset: PreparedDataset) -> None:
    config = Node2VecConfig(p=1.0, q=1.0, epochs=1, dim=8, workers=1)
    with pytest.warns(UserWarning, match="first-order"):
        get_method("node2vec").train(planted_dataset, config)
