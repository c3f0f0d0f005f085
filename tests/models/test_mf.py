"""MF (method 1) and MF with bias (method 2) on the planted dataset."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from recsys.data.dataset import PreparedDataset
from recsys.evaluation.metrics import evaluate
from recsys.models.mf import MatrixFactorization, MFConfig
from recsys.models.mf import train as train_mf
from recsys.models.mf_bias import MFBiasConfig
from recsys.models.mf_bias import train as train_mf_bias
from recsys.training.batching import PairBatch
from recsys.training.sgns_torch import mf_step_tensors
from tests.conftest import random_pair_batch

FAST: dict[str, Any] = {
    "dim": 16,
    "epochs": 10,
    "batch_size": 64,
    "progress": False,
    "threads": 1,
    "eval_every": 50,
}


def _with_study_weights(data: PreparedDataset) -> PreparedDataset:
    """Planted pairs re-weighted like real ones: 0.5 / 1.0 / 1.2 / 2.2 (summed relations)."""
    rng = np.random.default_rng(0)
    weight = rng.choice(np.array([0.5, 1.0, 1.2, 2.2], dtype=np.float32), len(data.train))
    return replace(data, train=replace(data.train, weight=weight))


@pytest.mark.parametrize("labels", ["binary", "continuous"])
def test_mf_learns_with_either_labels(planted_dataset: PreparedDataset, labels: str) -> None:
    data = _with_study_weights(planted_dataset)
    embeddings = train_mf(data, MFConfig(labels=labels, **FAST), [])  # type: ignore[arg-type]
    result = evaluate(embeddings, data)
    # Measured 0.91 (binary) and 0.89 (continuous) with these settings.
    assert result.auc_seen is not None and result.auc_seen > 0.8
    assert embeddings.bias is None and embeddings.similarity == "dot_sigmoid"


def test_mf_bias_learns_and_returns_biases(planted_dataset: PreparedDataset) -> None:
    embeddings = train_mf_bias(planted_dataset, MFBiasConfig(labels="binary", **FAST), [])
    result = evaluate(embeddings, planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > 0.85  # measured 0.97
    assert embeddings.bias is not None and embeddings.bias.shape == (planted_dataset.n_items,)
    vocabulary = planted_dataset.train_vocabulary()
    assert np.all(embeddings.bias[~vocabulary] == 0.0)  # never trained: still the zero init
    assert np.any(embeddings.bias[vocabulary] != 0.0)


def test_unseen_products_keep_their_small_initial_rows(planted_dataset: PreparedDataset) -> None:
    config = MFConfig(labels="binary", **FAST)
    embeddings = train_mf(planted_dataset, config, [])
    initial = MatrixFactorization(
        planted_dataset.n_items,
        config.dim,
        "binary",
        config.l2,
        config.init_std,
        False,
        torch.Generator().manual_seed(config.seed),
    ).item.weight.detach()
    unseen = ~planted_dataset.train_vocabulary()
    assert unseen.any()
    np.testing.assert_array_equal(embeddings.vectors[unseen], initial.numpy()[unseen])
    assert not embeddings.known[unseen].any()
    trained_norm = np.linalg.norm(embeddings.vectors[~unseen], axis=1).mean()
    assert trained_norm > 5 * np.linalg.norm(initial.numpy()[unseen], axis=1).mean()


def test_continuous_labels_need_targets() -> None:
    model = MatrixFactorization(5, 4, "continuous", 0.0, 0.1, False, torch.Generator())
    batch = PairBatch(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2]]), None, 1.0)
    with pytest.raises(ValueError, match="targets"):
        model.loss(batch)


def test_continuous_loss_is_squared_error_to_the_weight() -> None:
    model = MatrixFactorization(5, 4, "continuous", 0.0, 0.3, True, torch.Generator())
    batch = PairBatch(
        torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]), torch.tensor([1.2]), 1.0
    )
    w = model.item.weight.detach()
    b = model.bias.weight.detach()[:, 0] if model.bias is not None else torch.zeros(5)
    pos = torch.sigmoid(w[0] @ w[1] + b[0] + b[1])
    neg = torch.sigmoid(w[[2, 3]] @ w[0] + b[0] + b[[2, 3]])
    expected = (pos - 1.2) ** 2 + (neg**2).sum()
    assert float(model.loss(batch).detach()) == pytest.approx(float(expected), rel=1e-5)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="labels"):
        MFConfig(labels="ordinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="l2"):
        MFConfig(l2=-1.0)


@pytest.mark.parametrize("l2", [0.01, 0.0])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("shared_by", "max_logit"), [(1, 0.0), (6, 0.0), (6, 0.3), (50, 0.0)])
def test_tensor_step_equals_autograd_sgd_on_the_summed_loss(
    bias: bool, shared_by: int, max_logit: float, l2: float
) -> None:
    """The GPU's MF step (run here on CPU), L2 and shared negatives included: every row and
    bias moves as autograd SGD on the batch's summed loss moves it, repeated rows too."""
    rng = np.random.default_rng(shared_by)
    n_pairs = 40
    batch = random_pair_batch(rng, 25, n_pairs, 3, shared_by)

    def model() -> MatrixFactorization:
        built = MatrixFactorization(
            25, 8, "binary", l2, 0.3, bias, torch.Generator().manual_seed(0), max_logit
        )
        if built.bias is not None:
            with torch.no_grad():
                built.bias.weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(1))
        return built

    fused, autograd = model(), model()
    lr = 0.05
    loss = autograd.loss(batch)
    loss.backward()
    torch.optim.SGD(autograd.parameters(), lr=lr * n_pairs).step()
    fused_loss = mf_step_tensors(
        fused.item.weight.detach(),
        None if fused.bias is None else fused.bias.weight.detach().view(-1),
        batch.center,
        batch.context,
        batch.negatives,
        lr,
        fused.l2,
        max_logit,
        shared_by,
    )
    if max_logit == 0:  # the autograd loss leaves saturated pairs out, the step's counts them
        assert float(fused_loss) == pytest.approx(float(loss.detach()), rel=1e-5)
    for got, expected in zip(fused.parameters(), autograd.parameters(), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("shared_by", "max_logit", "tensor_step", "step"),
    [
        (1, 0.0, False, "numba"),
        (1, 6.0, False, "numba"),
        (4, 0.0, False, "tensor"),
        (1, 0.0, True, "tensor"),
    ],
)
def test_cpu_sgd_takes_the_pair_kernel_unless_negatives_are_shared_or_tensor_step_is_set(
    shared_by: int, max_logit: float, tensor_step: bool, step: str
) -> None:
    """The numba pair kernel reads per-pair negatives: batches with shared negatives take
    the tensor step (a loss tensor), as does a model told to (``tensor_step``)."""
    model = MatrixFactorization(
        8, 4, "binary", 0.0, 0.3, True, torch.Generator(), max_logit, tensor_step
    )
    batch = PairBatch(
        torch.tensor([0, 1, 2, 3]),
        torch.tensor([4, 5, 6, 7]),
        torch.tensor([[5]] * (4 // shared_by)),
        None,
        1.0,
        shared_by,
    )
    loss = model.fused_sgd_step(batch, 0.1)
    assert isinstance(loss, torch.Tensor) == (step == "tensor")


def test_continuous_labels_leave_the_tensor_step_to_autograd() -> None:
    model = MatrixFactorization(5, 4, "continuous", 0.0, 0.3, True, torch.Generator(), 0.0)
    batch = PairBatch(
        torch.tensor([0, 1]), torch.tensor([1, 2]), torch.tensor([[2]]), torch.ones(2), 1.0, 2
    )
    assert model.fused_sgd_step(batch, 0.1) is None
