"""Early stopping: a held-out slice of the training pairs picks the epoch, never validation."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PairTable, PreparedDataset
from recsys.data.errors import DataError
from recsys.data.pairs import undirected_keys
from recsys.data.split import FEW_POSITIVES_WARNING, inner_split
from recsys.embeddings import ItemEmbeddings
from recsys.models.skipgram import SkipGramConfig
from recsys.models.skipgram import train as train_skipgram
from recsys.training.early_stopping import EarlyStopping, early_stopping_split


def _oracle(data: PreparedDataset, noise: float) -> ItemEmbeddings:
    """Planted-cluster vectors blurred by ``noise``: a model whose quality we choose."""
    codes = data.products["brand"].astype("category").cat.codes.to_numpy()
    vectors = np.eye(codes.max() + 1, dtype=np.float32)[codes]
    rng = np.random.default_rng(0)
    vectors += noise * rng.standard_normal(vectors.shape).astype(np.float32)
    return ItemEmbeddings(vectors, data.train_vocabulary(), similarity="cosine")


def test_split_holds_out_training_pairs_and_keeps_the_validation(
    planted_dataset: PreparedDataset,
) -> None:
    off = SkipGramConfig(patience=0)
    assert early_stopping_split(planted_dataset, off) == (planted_dataset, None)
    config = SkipGramConfig(patience=2, early_stopping_fraction=0.1)
    fit_data, held_out = early_stopping_split(planted_dataset, config)
    assert held_out is not None and fit_data.folder is None
    assert fit_data.validation is planted_dataset.validation  # still reported every epoch
    n = planted_dataset.n_items
    full = set(undirected_keys(planted_dataset.train.item_a, planted_dataset.train.item_b, n))
    kept = set(undirected_keys(fit_data.train.item_a, fit_data.train.item_b, n))
    positives = held_out.validation.label == 1
    slice_keys = set(
        undirected_keys(
            held_out.validation.item_a[positives], held_out.validation.item_b[positives], n
        )
    )
    assert slice_keys <= full and not slice_keys & kept  # from training, not trained on
    assert kept | slice_keys == full
    assert len(slice_keys) == pytest.approx(0.1 * len(full), rel=0.05)


def test_keeps_the_best_epoch_and_stops_after_patience(planted_dataset: PreparedDataset) -> None:
    good, bad = _oracle(planted_dataset, 0.1), _oracle(planted_dataset, 3.0)
    stopper = EarlyStopping(planted_dataset, patience=2)
    scores = [stopper.update(e, model, {"epoch": e}) for e, model in enumerate([bad, good, bad])]
    assert scores[1] > scores[0] and scores[1] > scores[2]
    assert stopper.best_epoch == 1 and stopper.best_embeddings is good
    assert stopper.best_metrics == {"epoch": 1}  # the kept epoch's own metrics
    assert not stopper.should_stop(2)  # one epoch without improvement: patience 2 waits
    stopper.update(3, bad, {})
    assert stopper.should_stop(3)


class _Recorder(TrainingCallback):
    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.final: dict[str, Any] = {}

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], embeddings: Any) -> None:
        self.epochs.append(epoch)
        assert "early_stopping_auc" in metrics

    def on_train_end(self, embeddings: Any, metrics: dict[str, float]) -> None:
        self.final = metrics


def test_a_run_with_patience_logs_the_kept_epoch(planted_dataset: PreparedDataset) -> None:
    config = SkipGramConfig(
        patience=1, epochs=4, dim=16, walks_per_node=4, progress=False, threads=1, lr=0.05
    )
    recorder = _Recorder()
    train_skipgram(planted_dataset, config, [recorder])
    final = recorder.final
    assert 1 <= final["best_epoch"] <= final["epochs_trained"] == len(recorder.epochs) <= 4
    assert final["epochs_trained"] == 4 or final["epochs_trained"] == final["best_epoch"] + 1
    assert final["auc_seen"] > 0.9  # the best epoch's embeddings, scored on validation


def test_early_stopping_with_checkpoints_is_refused(tmp_path: Any) -> None:
    with pytest.raises(ValidationError, match="patience > 0"):
        SkipGramConfig(patience=1, checkpoint_dir=tmp_path)


def _with_train(data: PreparedDataset, a: list[int], b: list[int], source: str) -> PreparedDataset:
    """``data`` with only the training pairs a-b, read from ``source``."""
    n = len(a)
    train = PairTable(
        np.array(a, np.int32), np.array(b, np.int32), np.ones(n, np.float32), np.ones(n, np.uint8)
    )
    return dataclasses.replace(data, train=train, manifest={"source": source})


def test_too_few_training_pairs_name_the_file_the_parameters_and_the_way_out(
    planted_dataset: PreparedDataset,
) -> None:
    # 8 pairs at early_stopping_fraction=0.05 hold out round(0.4) = 0 of them.
    few = _with_train(planted_dataset, list(range(0, 16, 2)), list(range(1, 16, 2)), "/d/p.csv")
    with pytest.raises(DataError) as error:
        early_stopping_split(few, SkipGramConfig(patience=2))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(
        "/d/p.csv: 8 training pairs cannot be split with early_stopping_fraction=0.05: it "
        "holds out 0 of them"
    )
    assert "-P early_stopping_fraction" in message and "-P patience=0" in message
    assert "validation_fraction" not in message  # the main split's parameter is not at fault


def test_no_negatives_to_hold_out_name_the_file_and_the_way_out(
    planted_dataset: PreparedDataset,
) -> None:
    # Every pair among products 0..5 is a training pair: no held-out negative exists.
    a, b = np.triu_indices(6, k=1)
    dense = _with_train(planted_dataset, a.tolist(), b.tolist(), "/d/dense.csv")
    with pytest.raises(DataError) as error:
        early_stopping_split(dense, SkipGramConfig(patience=2, early_stopping_fraction=0.4))
    message = str(error.value)
    assert message.startswith("/d/dense.csv: could draw only 0 of 6 held-out negatives")
    assert "-P patience=0" in message and "\n" not in message


def _few_positive_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "early-stopping slice" in r.getMessage()]


def test_a_slice_with_few_positives_warns_once_per_training(
    planted_dataset: PreparedDataset, caplog: pytest.LogCaptureFixture
) -> None:
    # 1,238 training pairs: 0.05 holds out 62 positives, below FEW_POSITIVES_WARNING.
    config = SkipGramConfig(
        patience=1, epochs=3, dim=8, walks_per_node=2, progress=False, threads=1
    )
    with caplog.at_level(logging.WARNING, logger="recsys.training.early_stopping"):
        train_skipgram(planted_dataset, config, [])
    (line,) = _few_positive_lines(caplog)
    assert line.startswith(
        f"planted: only 62 held-out positives in the early-stopping slice (fewer than "
        f"{FEW_POSITIVES_WARNING}, early_stopping_fraction=0.05)"
    )
    assert "interval is about ±0.08 at AUC 0.8" in line
    assert "-P early_stopping_fraction" in line and "-P patience=0" in line
    assert "\n" not in line


def test_a_large_enough_slice_or_no_early_stopping_says_nothing(
    planted_dataset: PreparedDataset, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="recsys.training.early_stopping"):
        early_stopping_split(planted_dataset, SkipGramConfig(patience=0))
        _, held_out = early_stopping_split(
            planted_dataset, SkipGramConfig(patience=2, early_stopping_fraction=0.2)
        )
    assert held_out is not None
    assert int(held_out.validation.label.sum()) >= FEW_POSITIVES_WARNING
    assert _few_positive_lines(caplog) == []


def test_a_slice_of_an_inner_split_names_the_file_and_its_own_parameter(
    planted_dataset: PreparedDataset,
) -> None:
    # A tuning trial's inner split (10 pairs, 2 held out), then early stopping's slice of
    # the 8 left: round(8 * 0.05) = 0 held out.
    few = _with_train(planted_dataset, list(range(0, 20, 2)), list(range(1, 20, 2)), "/d/p.csv")
    trial_data = inner_split(few, 0.2, seed=0)
    with pytest.raises(DataError) as error:
        early_stopping_split(trial_data, SkipGramConfig(patience=2))
    assert str(error.value).startswith(
        "/d/p.csv: 8 training pairs cannot be split with early_stopping_fraction=0.05"
    )
