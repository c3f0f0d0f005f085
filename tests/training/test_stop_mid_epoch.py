"""A stop inside an epoch: the checkpoint keeps the place, and resuming trains the rest.

The engine finishes the batch in progress when a stop is requested, saves a checkpoint
with its place in the epoch (batches done, progress, running totals) and raises; resuming
skips exactly the batches already trained. The trained tables must equal a straight run's
bit for bit (one thread): a pair trained twice or skipped would change them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.models.mf import MFConfig
from recsys.models.mf import train as train_mf
from recsys.models.skipgram import SkipGramConfig
from recsys.models.skipgram import train as train_skipgram
from recsys.training.batching import NegativeSampler, PairBatch, PairTableSource, WalkBatch
from recsys.training.checkpoint import CHECKPOINT_NAME, CheckpointMismatch, check_checkpoint
from recsys.training.sequences import WindowPairSource
from recsys.training.stop import (
    StopRequested,
    pending_stop,
    request_stop,
    stops_at_batch_boundaries,
)
from recsys.training.walk_batches import WalkBatchSource

CPU = torch.device("cpu")
ONE_CORE: dict[str, Any] = {"progress": False, "threads": 1, "device": "cpu", "eval_every": 7}


class StopAt(TrainingCallback):
    """Requests a stop (as the SIGTERM handler does) after global step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.steps: list[int] = []
        self.epochs: list[int] = []

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        self.steps.append(step)
        if step == self.step:
            assert request_stop("SIGTERM")

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.epochs.append(epoch)


class Steps(TrainingCallback):
    """The steps trained, and each epoch's metrics and first step after it."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.epochs: list[tuple[int, dict[str, float]]] = []
        self.ends: list[int] = []

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        self.steps.append(step)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.epochs.append((epoch, metrics))
        self.ends.append(self.steps[-1] + 1)


def _checkpoint(folder: Path) -> dict[str, Any]:
    return dict(torch.load(folder / CHECKPOINT_NAME, map_location="cpu", weights_only=False))


Trainer = Callable[[PreparedDataset, Any, list[TrainingCallback]], ItemEmbeddings]
CASES: dict[str, tuple[Trainer, Callable[..., Any]]] = {
    # PairTableSource, SparseAdam (the torch engine's autograd path)
    "mf": (train_mf, lambda **kw: MFConfig(dim=8, batch_size=64, epochs=3, **kw)),
    # WalkBatchSource + train_walk_batch (skip-gram's default CPU SGD window step)
    "skipgram-sgd": (
        train_skipgram,
        lambda **kw: SkipGramConfig(dim=8, batch_size=200, epochs=3, walks_per_node=3, **kw),
    ),
    # WindowPairSource (skip-gram with Adam, the study's preset)
    "skipgram-adam": (
        train_skipgram,
        lambda **kw: SkipGramConfig(
            preset="study", dim=8, batch_size=256, epochs=3, walks_per_node=3, **kw
        ),
    ),
}


def _stop_and_resume(
    case: str, device: str, data: PreparedDataset, folder: Path
) -> tuple[ItemEmbeddings, Steps, ItemEmbeddings, Steps]:
    """A straight run, then one stopped inside its second epoch and resumed: (straight
    embeddings, its steps, resumed embeddings, the resumed run's steps)."""
    train, make_config = CASES[case]
    straight_steps = Steps()
    straight = train(data, make_config(**{**ONE_CORE, "device": device}), [straight_steps])
    first, second = straight_steps.ends[:2]  # (subsampled walks: epochs differ in length)
    assert second - first >= 4, "the test needs epochs of several batches"
    stop_step = (first + second) // 2  # inside the second epoch

    config = make_config(checkpoint_dir=folder, **{**ONE_CORE, "device": device})
    stopper = StopAt(stop_step)
    with pytest.raises(StopRequested, match="SIGTERM"):
        train(data, config, [stopper])
    assert stopper.steps[-1] == stop_step  # the batch in progress finished, no more
    assert stopper.epochs == [0]
    assert pending_stop() is None  # the request is used up
    saved = _checkpoint(folder)
    assert saved["epochs_done"] == 1 and saved["global_step"] == stop_step + 1
    position = saved["in_epoch"]
    assert position["batches_done"] == stop_step + 1 - first
    assert 0 < position["progress"] < 1 and position["device"] == device

    resumed_steps = Steps()
    resumed = train(data, config, [resumed_steps])
    n_steps = len(straight_steps.steps)
    assert resumed_steps.steps == list(range(stop_step + 1, n_steps))  # none twice or skipped
    assert [e for e, _ in resumed_steps.epochs] == [1, 2]
    assert _checkpoint(folder)["in_epoch"] is None
    return straight, straight_steps, resumed, resumed_steps


@pytest.mark.filterwarnings("ignore:skipgram with optimizer=adam")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_stop_mid_epoch_resumes_to_the_straight_result(
    case: str, planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    straight, straight_steps, resumed, resumed_steps = _stop_and_resume(
        case, "cpu", planted_dataset, tmp_path / "ckpt"
    )
    np.testing.assert_array_equal(resumed.vectors, straight.vectors)
    if straight.context is not None:
        np.testing.assert_array_equal(resumed.context, straight.context)
    # The interrupted epoch's statistics cover the whole epoch, as the straight run's.
    stopped_epoch = resumed_steps.epochs[0][1]
    assert stopped_epoch["epoch_loss"] == pytest.approx(straight_steps.epochs[1][1]["epoch_loss"])
    assert stopped_epoch["auc_all"] == straight_steps.epochs[1][1]["auc_all"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("case", ["mf", "skipgram-sgd"])
def test_a_stop_mid_epoch_on_cuda_continues_with_the_next_batch(
    case: str, planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    """On a GPU the batches are drawn by CUDA generators (skip-gram SGD takes the tensor
    step on window pairs); scatter-adds may round in another order, so the result is
    compared by its AUC, the batch sequence exactly (inside the helper)."""
    straight, _, resumed, _ = _stop_and_resume(case, "cuda", planted_dataset, tmp_path / "ckpt")
    auc = [evaluate(e, planted_dataset).auc_all for e in (straight, resumed)]
    assert auc[0] is not None and auc[1] == pytest.approx(auc[0], abs=0.01)


def _pairs_source(data: PreparedDataset) -> PairTableSource:
    sampler = NegativeSampler(data.train_degree(), CPU)
    return PairTableSource(data.train.item_a, data.train.item_b, None, sampler, 50, 3, CPU)


def _walks(n_items: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, n_items, (300, 8)).astype(np.int32)


def _window_source(data: PreparedDataset) -> WindowPairSource:
    counts = np.bincount(_walks(data.n_items).ravel(), minlength=data.n_items)
    return WindowPairSource(
        _walks(data.n_items), data.n_items, 3, 0.01, NegativeSampler(counts, CPU), 100, 3, CPU,
        reduced_window=True, pairs_per_chunk=1000,
    )  # fmt: skip


def _walk_source(data: PreparedDataset) -> WalkBatchSource:
    return WalkBatchSource(_walks(data.n_items), data.n_items, 3, 0.01, 100, 3, True)


def _arrays(batch: PairBatch | WalkBatch) -> Iterator[np.ndarray]:
    if isinstance(batch, WalkBatch):
        yield from (batch.walks, batch.keep, batch.reach, batch.negatives)
    else:
        yield from (batch.center.numpy(), batch.context.numpy(), batch.negatives.numpy())
    yield np.array([batch.progress, len(batch)])


@pytest.mark.parametrize("make", [_pairs_source, _window_source, _walk_source])
def test_every_source_skips_exactly_the_batches_already_trained(
    make: Callable[[PreparedDataset], Any], planted_dataset: PreparedDataset
) -> None:
    source = make(planted_dataset)
    full = list(source.epoch(torch.Generator().manual_seed(5)))
    assert len(full) >= 6
    for skip in (1, 4, len(full) - 1, len(full)):
        rest = list(source.epoch(torch.Generator().manual_seed(5), skip=skip))
        assert len(rest) == len(full) - skip
        for expected, got in zip(full[skip:], rest, strict=True):
            for a, b in zip(_arrays(expected), _arrays(got), strict=True):
                np.testing.assert_array_equal(a, b)


def test_a_second_request_or_none_listening_means_stop_now() -> None:
    assert not request_stop("SIGINT")  # no loop is listening: the caller raises at once
    with pytest.raises(StopRequested, match="SIGINT"), stops_at_batch_boundaries():
        assert request_stop("SIGINT")
        assert pending_stop() == "SIGINT"
        assert not request_stop("SIGINT")  # pressed again: at once
    # still pending when the block ended (after the last batch): raised there, then cleared
    assert pending_stop() is None


def test_a_mid_epoch_checkpoint_on_another_device_is_refused(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    config = MFConfig(dim=8, batch_size=64, epochs=2, checkpoint_dir=tmp_path, **ONE_CORE)
    with pytest.raises(StopRequested):
        train_mf(planted_dataset, config, [StopAt(3)])
    payload = _checkpoint(tmp_path)
    payload["in_epoch"]["device"] = "cuda"  # as if stopped on a GPU machine
    torch.save(payload, tmp_path / CHECKPOINT_NAME)
    with pytest.raises(CheckpointMismatch, match=r"stopped inside epoch 1 \(batch 4\) on cuda"):
        check_checkpoint(tmp_path, config, planted_dataset)
