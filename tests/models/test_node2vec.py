"""node2vec (second-order walks + gensim skip-gram) learns the planted clusters."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.dataset import PreparedDataset
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method
from recsys.models.node2vec import Node2VecConfig
from tests.models.test_word2vec import AUC_ALL_FLOOR, AUC_SEEN_FLOOR, RecordingCallback


def test_defaults_are_second_order_skip_gram() -> None:
    config = Node2VecConfig()
    assert config.sg == 1
    assert (config.p, config.q) == (0.5, 2.0)


def test_node2vec_learns_planted_clusters(planted_dataset: PreparedDataset) -> None:
    method = get_method("node2vec")
    assert method.needs_walks
    callback = RecordingCallback()
    embeddings = method.train(planted_dataset, Node2VecConfig(workers=2), [callback])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > AUC_SEEN_FLOOR
    assert result.auc_all > AUC_ALL_FLOOR
    np.testing.assert_array_equal(embeddings.known, planted_dataset.train_vocabulary())
    assert [epoch for epoch, _ in callback.epochs] == [0, 1, 2, 3, 4]
    assert len(callback.begin) == 1 and callback.begin[0]["p"] == 0.5
    assert len(callback.end) == 1


def test_single_worker_training_is_deterministic(planted_dataset: PreparedDataset) -> None:
    config = Node2VecConfig(workers=1, epochs=2, dim=16)
    first = get_method("node2vec").train(planted_dataset, config)
    second = get_method("node2vec").train(planted_dataset, config)
    np.testing.assert_array_equal(first.vectors, second.vectors)


def test_first_order_settings_warn(planted_dataset: PreparedDataset) -> None:
    config = Node2VecConfig(p=1.0, q=1.0, epochs=1, dim=8, workers=1)
    with pytest.warns(UserWarning, match="first-order"):
        get_method("node2vec").train(planted_dataset, config)
