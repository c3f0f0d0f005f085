"""The training loop: sparse L2, callbacks, checkpoints and resumption, device choice."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.models.mf import MatrixFactorization, MFConfig
from recsys.models.mf import train as train_mf
from recsys.models.mf_bias import MFBiasConfig
from recsys.models.skipgram import SkipGramConfig
from recsys.training.batching import NegativeSampler, PairBatch, PairTableSource
from recsys.training.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointMismatch,
    check_checkpoint,
    config_fingerprint,
)
from recsys.training.engine import fit, resolve_device
from tests.conftest import make_planted_dataset

FAST: dict[str, Any] = {
    "dim": 16,
    "batch_size": 128,
    "progress": False,
    "threads": 1,
    "eval_every": 5,
    "device": "cpu",  # the tests build CPU sources; a GPU machine must not switch them to cuda
}


class Recorder(TrainingCallback):
    """Keeps every callback call, for assertions."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.batches: list[tuple[int, dict[str, float]]] = []
        self.epochs: list[tuple[int, dict[str, float]]] = []
        self.ended: list[dict[str, float]] = []

    def on_train_begin(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        self.batches.append((step, metrics))

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.epochs.append((epoch, metrics))

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        self.ended.append(metrics)


def test_l2_and_updates_touch_only_the_batchs_rows() -> None:
    model = MatrixFactorization(50, 8, "binary", 1.0, 0.1, True, torch.Generator().manual_seed(0))
    batch = PairBatch(
        center=torch.tensor([1, 2]),
        context=torch.tensor([3, 4]),
        negatives=torch.tensor([[5, 6], [7, 5]]),
        target=None,
        progress=1.0,
    )
    model.loss(batch).backward()
    for table in (model.item, model.bias):
        assert table is not None and table.weight.grad is not None
        assert table.weight.grad.is_sparse
        rows = set(table.weight.grad.coalesce().indices()[0].tolist())
        assert rows == {1, 2, 3, 4, 5, 6, 7}
    before = model.item.weight.detach().clone()
    optimizer = torch.optim.SparseAdam(model.sparse_parameters(), lr=0.1)
    optimizer.step()
    changed = (model.item.weight.detach() != before).any(dim=1).nonzero()[:, 0].tolist()
    assert changed == [1, 2, 3, 4, 5, 6, 7]


def test_l2_weight_moves_the_loss_by_the_batch_rows_norm() -> None:
    generator = torch.Generator().manual_seed(0)
    plain = MatrixFactorization(20, 4, "binary", 0.0, 0.5, False, generator)
    penalised = MatrixFactorization(20, 4, "binary", 0.1, 0.5, False, generator)
    penalised.load_state_dict(plain.state_dict())
    batch = PairBatch(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]), None, 1.0)
    rows = plain.item.weight[[0, 1, 2, 3]]
    expected = 0.1 * rows.detach().pow(2).sum()
    assert float((penalised.loss(batch) - plain.loss(batch)).detach()) == pytest.approx(
        float(expected)
    )


def test_callbacks_see_params_batches_epochs_and_end(planted_dataset: PreparedDataset) -> None:
    recorder = Recorder()
    config = MFConfig(epochs=2, labels="binary", **FAST)
    train_mf(planted_dataset, config, [recorder])
    assert recorder.params["device_resolved"] == "cpu"
    assert recorder.params["n_train_pairs"] == len(planted_dataset.train)
    assert recorder.params["batch_size_used"] == 128
    steps = [s for s, _ in recorder.batches]
    per_epoch = -(-len(planted_dataset.train) // 128)
    assert steps == list(range(len(steps))) and len(steps) == 2 * per_epoch
    # The loss and lr every loss_every-th batch and at each epoch's first.
    reported = [s for s, m in recorder.batches if "loss" in m]
    expected = {s for s in steps if s % config.loss_every == 0} | {0, per_epoch}
    assert config.loss_every > 1 and reported == sorted(expected)
    assert [s for s, m in recorder.batches if "lr" in m] == reported
    curve = [m["sampled_auc"] for _, m in recorder.batches if "sampled_auc" in m]
    assert len(curve) == len(steps) // 5 and all(0 <= x <= 1 for x in curve)
    assert [e for e, _ in recorder.epochs] == [0, 1]
    assert {"auc_all", "auc_seen", "pr_auc", "epoch_loss"} <= set(recorder.epochs[-1][1])
    assert recorder.ended == [recorder.epochs[-1][1]]


def test_the_progress_bar_shows_the_latest_loss_beside_each_sampled_auc(
    planted_dataset: PreparedDataset, capsys: pytest.CaptureFixture[str]
) -> None:
    # eval_every and loss_every rarely fall on the same batch: the bar must not show
    # "loss=nan" in between, which reads as a diverged run.
    config = MFConfig(epochs=1, labels="binary", **{**FAST, "progress": True, "eval_every": 7})
    train_mf(planted_dataset, config, [])
    bar = capsys.readouterr().err
    losses = re.findall(r"loss=([^,\]\s]+)", bar)
    assert losses and "auc=" in bar
    assert all(math.isfinite(float(x)) for x in losses), losses


def test_resume_after_two_epochs_equals_three_straight(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    straight = train_mf(planted_dataset, MFConfig(epochs=3, **FAST), [])
    folder = tmp_path / "ckpt"
    train_mf(planted_dataset, MFConfig(epochs=2, checkpoint_dir=folder, **FAST), [])
    assert (folder / CHECKPOINT_NAME).exists()
    recorder = Recorder()
    resumed = train_mf(
        planted_dataset, MFConfig(epochs=3, checkpoint_dir=folder, **FAST), [recorder]
    )
    assert [e for e, _ in recorder.epochs] == [2]  # only the missing epoch ran
    assert recorder.batches[0][0] > 0  # the global step continued
    np.testing.assert_array_equal(resumed.vectors, straight.vectors)


def test_resume_with_other_settings_is_refused(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    train_mf(planted_dataset, MFConfig(epochs=1, checkpoint_dir=tmp_path, **FAST), [])
    with pytest.raises(CheckpointMismatch, match=r"other settings: lr \(0.01 -> 0.5\)"):
        train_mf(planted_dataset, MFConfig(epochs=2, checkpoint_dir=tmp_path, lr=0.5, **FAST), [])


def test_resume_on_another_split_or_dataset_is_refused_not_reused(tmp_path: Path) -> None:
    """Another split seed (the same products, other training pairs) or another dataset (other
    table sizes) must never load the checkpoint: that would score training pairs as held out."""
    train_mf(make_planted_dataset(seed=0), MFConfig(epochs=1, checkpoint_dir=tmp_path, **FAST), [])
    for other in (make_planted_dataset(seed=1), make_planted_dataset(n_clusters=10)):
        with pytest.raises(CheckpointMismatch, match="other training data"):
            train_mf(other, MFConfig(epochs=2, checkpoint_dir=tmp_path, **FAST), [])


def test_resume_with_other_side_information_is_refused_not_reused(tmp_path: Path) -> None:
    """The same training pairs with another products file (brands shuffled, as after editing
    ``--products`` between a stop and its rerun) must not resume: side_info's vocabularies
    and rows would be the old file's, or of other sizes (a state_dict traceback)."""
    data = make_planted_dataset(seed=0)
    train_mf(data, MFConfig(epochs=1, checkpoint_dir=tmp_path, **FAST), [])
    brands = data.products["brand"].to_numpy()
    shuffled = data.products.assign(brand=np.roll(brands, 1))  # same vocabulary, other rows
    other = dataclasses.replace(data, products=shuffled)
    with pytest.raises(CheckpointMismatch, match="side information"):
        train_mf(other, MFConfig(epochs=2, checkpoint_dir=tmp_path, **FAST), [])
    resumed = Recorder()
    train_mf(data, MFConfig(epochs=2, checkpoint_dir=tmp_path, **FAST), [resumed])
    assert [e for e, _ in resumed.epochs] == [1]  # the same data still resumes


def test_another_methods_checkpoint_of_the_same_settings_is_refused(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    """mf and mf_bias share every setting: mf_bias in mf's checkpoint_dir loaded it and
    failed with ``RuntimeError: Error(s) in loading state_dict`` after opening a run."""
    train_mf(planted_dataset, MFConfig(epochs=1, checkpoint_dir=tmp_path, **FAST), [])
    bias = MFBiasConfig(epochs=2, checkpoint_dir=tmp_path, **{**FAST, "negatives": 1})
    assert config_fingerprint(bias) != config_fingerprint(MFConfig(**bias.model_dump()))
    with pytest.raises(CheckpointMismatch, match=r"another method's training \(MFConfig, not"):
        check_checkpoint(tmp_path, bias, planted_dataset)


def test_an_unreadable_checkpoint_is_named_not_a_traceback(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    (tmp_path / CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointMismatch, match="cannot be read"):
        train_mf(planted_dataset, MFConfig(epochs=1, checkpoint_dir=tmp_path, **FAST), [])


def test_device_auto_and_explicit() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_mf_trains_on_cuda(planted_dataset: PreparedDataset) -> None:
    recorder = Recorder()
    config = MFConfig(epochs=2, **{**FAST, "threads": 0, "device": "cuda"})
    embeddings = train_mf(planted_dataset, config, [recorder])
    assert recorder.params["device_resolved"].startswith("cuda")
    assert np.isfinite(embeddings.vectors).all()


class NanModel(MatrixFactorization):
    """An MF whose loss turns NaN: the engine must stop and say so."""

    def loss(self, batch: PairBatch) -> torch.Tensor:
        return super().loss(batch) * torch.tensor(float("nan"))

    def fused_adam_step(
        self, batch: PairBatch, lr: float, optimizer: torch.optim.Optimizer
    ) -> float | None:
        step_loss = super().fused_adam_step(batch, lr, optimizer)
        return None if step_loss is None else float("nan")


def test_nan_loss_is_reported(planted_dataset: PreparedDataset) -> None:
    config = MFConfig(epochs=1, **FAST)
    model = NanModel(planted_dataset.n_items, 16, "binary", 0.0, 0.01, False, torch.Generator())
    source = PairTableSource(
        planted_dataset.train.item_a,
        planted_dataset.train.item_b,
        None,
        NegativeSampler(planted_dataset.train_degree(), torch.device("cpu")),
        128,
        5,
        torch.device("cpu"),
    )
    with pytest.raises(FloatingPointError, match="lower lr"):
        fit(model, source, planted_dataset, config, [], planted_dataset.train_vocabulary())


def test_scoring_and_speed_settings_do_not_block_resumption() -> None:
    default = config_fingerprint(SkipGramConfig())
    assert config_fingerprint(SkipGramConfig(pair_score="center", threads=2)) == default
    assert config_fingerprint(SkipGramConfig(lr=0.5)) != default
