"""MF's fused steps: SGD against its numpy reference and one autograd SGD step of
``MatrixFactorization.loss``; SparseAdam's step against autograd + ``torch.optim.SparseAdam``
over several steps (binary and continuous labels, with and without biases)."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch

from recsys.models.mf import MatrixFactorization
from recsys.training.batching import PairBatch
from recsys.training.fused_mf import (
    NO_TARGET,
    batch_rows,
    mf_adam_step,
    mf_pair_step,
    reference_mf_pair_step,
)
from recsys.training.window_sgns import NO_BIAS
from tests.training.walk_helpers import two_token_walk

N_ITEMS, DIM, L2 = 40, 8, 0.01


def _table(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.4, (N_ITEMS, DIM)).astype(np.float32)


def _bias(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 0.2, N_ITEMS).astype(np.float32)


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize(("continuous", "max_logit"), [(False, 0.0), (True, 0.0), (False, 0.3)])
def test_kernel_matches_reference_with_repeated_rows(
    with_bias: bool, continuous: bool, max_logit: float
) -> None:
    rng = np.random.default_rng(1)
    left, right = rng.integers(0, 10, 30), rng.integers(0, 10, 30)  # repeats: order matters
    negatives = rng.integers(0, 10, (30, 3))
    target = rng.choice([0.5, 1.0, 2.2], 30).astype(np.float32) if continuous else NO_TARGET
    table_a, table_b = _table(0), _table(0)
    bias_a = _bias(3) if with_bias else NO_BIAS
    bias_b = bias_a.copy()
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # one thread: pairs in order, as the reference
    try:
        loss = mf_pair_step(table_a, bias_a, left, right, negatives, target, 0.05, L2, max_logit)
    finally:
        numba.set_num_threads(previous)
    expected = reference_mf_pair_step(
        table_b, bias_b, left, right, negatives, target, 0.05, L2, max_logit
    )
    assert loss == pytest.approx(expected, abs=1e-5)
    np.testing.assert_allclose(table_a, table_b, atol=1e-5)
    np.testing.assert_allclose(bias_a, bias_b, atol=1e-5)
    assert not np.allclose(table_a, _table(0))  # it did train


def _model(
    labels: str, with_bias: bool, l2: float, seed: int, max_logit: float = 0.0
) -> MatrixFactorization:
    model = MatrixFactorization(
        N_ITEMS,
        DIM,
        labels,  # type: ignore[arg-type]
        l2,
        0.1,
        with_bias,
        torch.Generator(),
        max_logit,
    )
    with torch.no_grad():
        model.item.weight.copy_(torch.as_tensor(_table(seed)))
        if model.bias is not None:
            model.bias.weight.copy_(torch.as_tensor(_bias(seed)).unsqueeze(-1))
    return model


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize(
    ("labels", "max_logit"), [("binary", 0.0), ("continuous", 0.0), ("binary", 0.3)]
)
def test_kernel_equals_one_autograd_sgd_step_when_rows_are_distinct(
    with_bias: bool, labels: str, max_logit: float
) -> None:
    """max_logit 0.3 leaves some of these pairs' outputs out of the step."""
    batch = PairBatch(
        center=torch.tensor([0, 1, 2]),
        context=torch.tensor([10, 11, 12]),
        negatives=torch.tensor([[20, 21], [22, 23], [24, 25]]),
        target=torch.tensor([1.2, 0.5, 2.2]) if labels == "continuous" else None,
        progress=1.0,
    )
    lr = 0.1
    autograd = _model(labels, with_bias, L2, seed=2, max_logit=max_logit)
    if max_logit > 0:
        positive, negative, _ = autograd._logits(batch)
        logits = torch.cat([positive.unsqueeze(-1), negative], dim=-1).detach().abs()
        assert 0 < int((logits >= max_logit).sum()) < logits.numel()
    autograd.loss(batch).backward()
    torch.optim.SGD(autograd.sparse_parameters(), lr=lr * len(batch)).step()
    data_loss = float(
        _model(labels, with_bias, 0.0, seed=2, max_logit=max_logit).loss(batch).detach()
    )

    fused = _model(labels, with_bias, L2, seed=2, max_logit=max_logit)
    fused_loss = fused.fused_sgd_step(batch, lr)
    assert isinstance(fused_loss, float)  # the numba pair kernel, not the tensor step
    if max_logit == 0:  # the autograd loss leaves saturated outputs out, SGD steps count them
        assert fused_loss == pytest.approx(data_loss, abs=1e-5)  # the data loss, as skip-gram's
    for fused_table, autograd_table in zip(
        fused.sparse_parameters(), autograd.sparse_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            fused_table.detach().numpy(), autograd_table.detach().numpy(), atol=1e-6
        )


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("labels", ["binary", "continuous"])
def test_fused_adam_equals_sparse_adam_over_steps_with_repeated_rows(
    with_bias: bool, labels: str
) -> None:
    rng = np.random.default_rng(5)
    batches = [
        PairBatch(
            center=torch.as_tensor(rng.integers(0, 12, 16)),  # rows repeat within and across
            context=torch.as_tensor(rng.integers(0, 12, 16)),
            negatives=torch.as_tensor(rng.integers(0, 12, (16, 3))),
            target=torch.as_tensor(rng.choice([0.5, 1.0, 2.2], 16).astype(np.float32))
            if labels == "continuous"
            else None,
            progress=1.0,
        )
        for _ in range(4)
    ]
    autograd, fused = _model(labels, with_bias, L2, seed=6), _model(labels, with_bias, L2, seed=6)
    autograd_adam = torch.optim.SparseAdam(autograd.sparse_parameters(), lr=0.05)
    fused_adam = torch.optim.SparseAdam(fused.sparse_parameters(), lr=0.05)
    for lr, batch in zip([0.05, 0.03, 0.05, 0.01], batches, strict=True):
        with torch.no_grad():  # the data loss at the rows both models share before the step
            autograd.l2 = 0.0
            data_loss = float(autograd.loss(batch))
            autograd.l2 = L2
        for group in autograd_adam.param_groups:
            group["lr"] = lr
        autograd_adam.zero_grad()
        autograd.loss(batch).backward()
        autograd_adam.step()
        assert fused.fused_adam_step(batch, lr, fused_adam) == pytest.approx(data_loss, abs=1e-5)
    for fused_table, autograd_table in zip(
        fused.sparse_parameters(), autograd.sparse_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            fused_table.detach().numpy(), autograd_table.detach().numpy(), atol=2e-5
        )
        fused_state, autograd_state = (
            fused_adam.state[fused_table],
            autograd_adam.state[autograd_table],
        )
        assert fused_state["step"] == autograd_state["step"] == 4
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(
                fused_state[key].numpy(), autograd_state[key].numpy(), rtol=1e-4, atol=1e-9
            )
    # the optimizer's state is what a checkpoint saves: it loads into a fresh SparseAdam
    torch.optim.SparseAdam(autograd.sparse_parameters(), lr=0.05).load_state_dict(
        fused_adam.state_dict()
    )


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two CPU threads")
def test_fused_adam_gives_the_same_tables_on_one_thread_and_two() -> None:
    rng = np.random.default_rng(9)
    rows, slots, distinct = batch_rows(  # 64 pairs over 40 rows: every row repeats
        rng.integers(0, N_ITEMS, 64),
        rng.integers(0, N_ITEMS, 64),
        rng.integers(0, N_ITEMS, (64, 5)),
    )

    def step(threads: int) -> list[np.ndarray]:
        state = [_table(1), _bias(2), *(np.full((N_ITEMS, DIM), 0.1, np.float32) for _ in "mv")]
        state += [np.full(N_ITEMS, 0.1, np.float32) for _ in "mv"]
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            mf_adam_step(*state, rows, slots, distinct, NO_TARGET, L2, 0.05, 0.9, 0.999, 1e-8)
        finally:
            numba.set_num_threads(previous)
        return state

    one, two = step(1), step(2)
    assert not np.array_equal(one[0], _table(1))  # it did train
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def _walk_step(max_logit: float) -> tuple[MatrixFactorization, MatrixFactorization]:
    """MF on sequences' walk [1, 4] (two windows: 4 against 1, then 1 against 4) through
    the CPU window kernel and through two autograd SGD steps of the loss."""
    negatives = np.array([[[20, 21, 22], [23, 24, 25]]], dtype=np.int64)
    batch = two_token_walk(1, 4, negatives)
    lr = 0.2
    kernel = _model("binary", True, L2, seed=7, max_logit=max_logit)
    kernel.fused_walk_step(batch, lr)
    autograd = _model("binary", True, L2, seed=7, max_logit=max_logit)
    optimizer = torch.optim.SGD(autograd.sparse_parameters(), lr=lr)
    for center, context, slot in ((4, 1, 0), (1, 4, 1)):
        optimizer.zero_grad()
        pair = PairBatch(
            center=torch.tensor([center]),
            context=torch.tensor([context]),
            negatives=torch.from_numpy(negatives[0, slot][None]),
            target=None,
            progress=1.0,
        )
        autograd.loss(pair).backward()
        optimizer.step()
    return kernel, autograd


@pytest.mark.parametrize("max_logit", [0.0, 0.3])  # 0.3: some of these pairs are skipped
def test_walk_step_equals_autograd_sgd_and_skips_the_same_saturated_pairs(
    max_logit: float,
) -> None:
    kernel, autograd = _walk_step(max_logit)
    for kernel_table, autograd_table in zip(
        kernel.sparse_parameters(), autograd.sparse_parameters(), strict=True
    ):
        np.testing.assert_allclose(
            kernel_table.detach().numpy(), autograd_table.detach().numpy(), atol=1e-6
        )
    untouched, every_pair = _model("binary", True, L2, seed=7), _walk_step(0.0)[0]
    trained = kernel.item.weight.detach().numpy()
    assert not np.allclose(trained, untouched.item.weight.detach().numpy())
    if max_logit > 0:  # some pairs were left out, others trained
        assert not np.allclose(trained, every_pair.item.weight.detach().numpy())


def test_max_logit_needs_binary_labels() -> None:
    with pytest.raises(ValueError, match="binary"):
        _model("continuous", False, L2, seed=0, max_logit=6.0)
