"""gensim word2vec on first-order walks: learns the planted clusters, reports per epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gensim.models import Word2Vec
from pydantic import ValidationError

from recsys.callbacks import GENSIM_EPOCH_LOSS, TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method
from recsys.models.gensim_common import format_walks, walk_vocabulary, write_corpus_file
from recsys.models.word2vec import Word2VecConfig

# Measured on planted_dataset (seed 0): AUC seen 0.98 after the first epoch and 1.0 after 5 epochs
# for CBOW and skip-gram alike; AUC all 0.97 (unseen pairs get the median).
AUC_SEEN_FLOOR = 0.9
AUC_ALL_FLOOR = 0.85


class RecordingCallback(TrainingCallback):
    def __init__(self) -> None:
        self.begin: list[dict[str, Any]] = []
        self.batches: list[tuple[int, dict[str, float]]] = []
        self.epochs: list[tuple[int, dict[str, float]]] = []
        self.end: list[dict[str, float]] = []

    def on_train_begin(self, params: dict[str, Any]) -> None:
        self.begin.append(params)

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        self.batches.append((step, metrics))

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.epochs.append((epoch, metrics))

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        self.end.append(metrics)


def test_defaults_are_the_studys_cbow_in_three_epochs_and_its_preset_gensims_five() -> None:
    config = Word2VecConfig()
    assert (config.sg, config.dim, config.window, config.min_count) == (0, 128, 5, 1)
    assert (config.negative, config.sample, config.seed) == (5, 1e-3, 42)
    assert (config.walks_per_node, config.walk_length) == (10, 10)
    assert (config.epochs, config.alpha) == (3, 0.04)
    study = Word2VecConfig(preset="study")
    assert (study.epochs, study.alpha, study.sg) == (5, 0.025, 0)
    assert Word2VecConfig(preset="study", epochs=2).epochs == 2  # explicit values win
    with pytest.raises(ValidationError, match="'default' or 'study'"):
        Word2VecConfig(preset="gensim")


def test_second_order_walk_settings_are_rejected() -> None:
    with pytest.raises(ValidationError, match="node2vec"):
        Word2VecConfig(p=0.5)


@pytest.mark.parametrize("sg", [0, 1])
def test_word2vec_learns_planted_clusters(planted_dataset: PreparedDataset, sg: int) -> None:
    method = get_method("word2vec")
    callback = RecordingCallback()
    embeddings = method.train(planted_dataset, Word2VecConfig(sg=sg, workers=2), [callback])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > AUC_SEEN_FLOOR
    assert result.auc_all > AUC_ALL_FLOOR
    # Every item gets a row; exactly the trained items are known, the rest are zero.
    assert embeddings.vectors.shape == (planted_dataset.n_items, 128)
    np.testing.assert_array_equal(embeddings.known, planted_dataset.train_vocabulary())
    assert not embeddings.vectors[~embeddings.known].any()
    assert embeddings.similarity == "cosine"
    # Callbacks: begin once, one loss and one full evaluation per epoch, end once.
    assert len(callback.begin) == 1 and callback.begin[0]["sg"] == sg
    assert [epoch for epoch, _ in callback.epochs] == [0, 1, 2]
    assert [step for step, _ in callback.batches] == [0, 1, 2]
    # gensim's loss is an epoch sum, under a name of its own: never charted as ``loss``.
    assert all(set(metrics) == {GENSIM_EPOCH_LOSS} for _, metrics in callback.batches)
    assert all(metrics[GENSIM_EPOCH_LOSS] > 0 for _, metrics in callback.batches)
    assert not any("loss" in metrics for _, metrics in callback.epochs)
    assert all("auc_seen" in metrics for _, metrics in callback.epochs)
    assert callback.end == [pytest.approx(result.metrics(), rel=1e-12)]


def test_single_worker_training_is_deterministic(planted_dataset: PreparedDataset) -> None:
    config = Word2VecConfig(workers=1, epochs=2, dim=16)
    first = get_method("word2vec").train(planted_dataset, config, [])
    second = get_method("word2vec").train(planted_dataset, config, [])
    np.testing.assert_array_equal(first.vectors, second.vectors)
    other = get_method("word2vec").train(planted_dataset, config.model_copy(update={"seed": 1}))
    assert not np.array_equal(first.vectors, other.vectors)


def test_iterable_corpus_learns_as_well(planted_dataset: PreparedDataset) -> None:
    config = Word2VecConfig(corpus="iterable", workers=2)
    embeddings = get_method("word2vec").train(planted_dataset, config, [])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > AUC_SEEN_FLOOR


def test_format_walks_matches_python_join() -> None:
    rng = np.random.default_rng(0)
    walks = rng.integers(0, 2_000_000, size=(50, 7)).astype(np.int32)
    walks[0, 0] = 0
    expected = "".join(" ".join(map(str, walk)) + "\n" for walk in walks.tolist())
    assert format_walks(walks) == expected.encode()


def test_the_vocabulary_from_counts_trains_what_gensims_corpus_scan_trains(
    tmp_path: Path,
) -> None:
    walks = (np.random.default_rng(0).zipf(1.3, (3000, 10)) % 700).astype(np.int32)
    corpus = tmp_path / "walks.txt"
    write_corpus_file(walks, corpus)
    params: dict[str, Any] = {"vector_size": 16, "epochs": 2, "seed": 7, "workers": 1}
    scanned = Word2Vec(corpus_file=str(corpus), **params)
    counted = Word2Vec(**params)
    counted.build_vocab_from_freq(walk_vocabulary(walks), corpus_count=walks.shape[0])
    counted.train(
        corpus_file=str(corpus),
        total_examples=counted.corpus_count,
        total_words=int(walks.size),
        epochs=counted.epochs,
    )
    assert counted.wv.index_to_key == scanned.wv.index_to_key
    np.testing.assert_array_equal(counted.wv.vectors, scanned.wv.vectors)
    np.testing.assert_array_equal(counted.syn1neg, scanned.syn1neg)
