"""MF with bias on walk window pairs (method 7)."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from recsys.callbacks import TrainingCallback
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.models.mf_sequences import MFSequencesConfig, train_on_walks
from recsys.training.sgns_torch import mf_step_tensors


class Params(TrainingCallback):
    def __init__(self) -> None:
        self.params: dict[str, object] = {}

    def on_train_begin(self, params: dict[str, object]) -> None:
        self.params = params

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        self.metrics = metrics


def _cluster_walks(data: PreparedDataset, n_walks: int, seed: int) -> np.ndarray:
    """Walks that jump uniformly within one planted cluster of 25 (a hand-made sequence set)."""
    rng = np.random.default_rng(seed)
    vocabulary = np.flatnonzero(data.train_vocabulary())
    cluster = vocabulary // 25
    starts = rng.choice(vocabulary, n_walks)
    members = [vocabulary[cluster == c] for c in range(20)]
    walks = np.stack(
        [rng.choice(members[s // 25], 8) for s in starts]
    )  # (n_walks, 8): 8 products of the start's cluster
    walks[:, 0] = starts
    return walks.astype(np.int32)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])  # sgd: the CPU window kernel
def test_learns_from_walk_pairs_alone(planted_dataset: PreparedDataset, optimizer: str) -> None:
    walks = _cluster_walks(planted_dataset, 2000, seed=0)
    config = MFSequencesConfig(
        dim=16,
        epochs=2,
        batch_size=512,
        progress=False,
        threads=1,
        eval_every=10,
        optimizer=optimizer,  # type: ignore[arg-type]
        lr=0.1 if optimizer == "sgd" else 0.01,
    )
    callback = Params()
    embeddings = train_on_walks(planted_dataset, walks, config, [callback])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > 0.9  # measured 1.00
    assert callback.params["n_walks"] == 2000
    assert embeddings.bias is not None and embeddings.similarity == "dot_sigmoid"
    in_walks = np.zeros(planted_dataset.n_items, dtype=bool)
    in_walks[walks.reshape(-1)] = True
    np.testing.assert_array_equal(embeddings.known, in_walks)


def test_shuffled_walks_teach_nothing(planted_dataset: PreparedDataset) -> None:
    """The control: the same tokens with clusters destroyed give AUC near 0.5."""
    walks = _cluster_walks(planted_dataset, 2000, seed=0)
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(walks.reshape(-1)).reshape(walks.shape)
    config = MFSequencesConfig(
        dim=16, epochs=2, batch_size=512, progress=False, threads=1, eval_every=10, preset="study"
    )
    embeddings = train_on_walks(planted_dataset, shuffled, config)
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and abs(result.auc_seen - 0.5) < 0.1
    sgd = config.model_copy(update={"optimizer": "sgd", "lr": 0.1})
    result = evaluate(train_on_walks(planted_dataset, shuffled, sgd), planted_dataset)
    assert result.auc_seen is not None and abs(result.auc_seen - 0.5) < 0.1


def test_learns_through_the_gpu_step_with_shared_negatives(
    planted_dataset: PreparedDataset,
) -> None:
    """The GPU's path on the CPU (``tensor_step``): window pairs and MF's tensor step, each
    draw of negatives shared by a chunk of pairs."""
    walks = _cluster_walks(planted_dataset, 2000, seed=0)
    config = MFSequencesConfig(
        dim=16, epochs=2, batch_size=512, negative_chunk=16, lr=0.1, progress=False, threads=1,
        tensor_step=True,
    )  # fmt: skip
    with (
        mock.patch("recsys.models.mf.mf_step_tensors", wraps=mf_step_tensors) as step,
        mock.patch("recsys.training.window_sgns.window_sgns_step") as window_kernel,
    ):
        embeddings = train_on_walks(planted_dataset, walks, config)
    assert step.called and not window_kernel.called
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > 0.9


def test_defaults_are_sgd_on_every_device() -> None:
    default = MFSequencesConfig(device="cpu")
    assert (default.optimizer, default.lr, default.threads, default.max_logit) == (
        "sgd",
        0.025,
        0,
        6.0,
    )
    on_gpu = MFSequencesConfig(device="cuda")  # the tensor step, negatives shared by chunks
    assert (on_gpu.optimizer, on_gpu.max_logit, on_gpu.negative_chunk) == ("sgd", 6.0, 32)
    study = MFSequencesConfig(preset="study", dim=8)
    assert (study.optimizer, study.batch_size, study.dim) == ("adam", 1024, 8)
