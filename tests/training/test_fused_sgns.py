"""The fused numba skip-gram step against its numpy reference and against autograd SGD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys.models.skipgram import SkipGram
from recsys.training.batching import PairBatch
from recsys.training.fused_sgns import reference_sgns_step, sgns_step


def _tables(seed: int, n: int = 40, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(0, 0.3, (n, dim)).astype(np.float32),
        rng.normal(0, 0.3, (n, dim)).astype(np.float32),
    )


@pytest.mark.parametrize("max_logit", [0.0, 0.15])  # 0.15: some pairs skipped
def test_kernel_matches_reference_with_repeated_rows(max_logit: float) -> None:
    import numba

    rng = np.random.default_rng(1)
    centers = rng.integers(0, 10, 30)  # many repeats: order of updates matters
    contexts = rng.integers(0, 10, 30)
    negatives = rng.integers(0, 10, (30, 3))
    center_a, context_a = _tables(0)
    center_b, context_b = center_a.copy(), context_a.copy()
    previous = numba.get_num_threads()
    numba.set_num_threads(1)  # one thread: pairs in order, as the reference
    try:
        loss = sgns_step(center_a, context_a, centers, contexts, negatives, 0.05, max_logit)
    finally:
        numba.set_num_threads(previous)
    expected = reference_sgns_step(
        center_b, context_b, centers, contexts, negatives, 0.05, max_logit
    )
    assert abs(loss - expected) < 1e-5
    np.testing.assert_allclose(center_a, center_b, atol=1e-5)
    np.testing.assert_allclose(context_a, context_b, atol=1e-5)


def test_kernel_equals_one_autograd_sgd_step_when_rows_are_distinct() -> None:
    model = SkipGram(40, 8, torch.Generator().manual_seed(0))
    center, context = _tables(2)
    with torch.no_grad():
        model.center.weight.copy_(torch.as_tensor(center))
        model.context.weight.copy_(torch.as_tensor(context))
    batch = PairBatch(
        center=torch.tensor([0, 1, 2]),
        context=torch.tensor([10, 11, 12]),
        negatives=torch.tensor([[20, 21], [22, 23], [24, 25]]),
        target=None,
        progress=1.0,
    )
    lr = 0.1
    loss = model.loss(batch)
    loss.backward()
    optimizer = torch.optim.SGD(model.sparse_parameters(), lr=lr * len(batch))
    optimizer.step()
    fused_loss = sgns_step(
        center, context, batch.center.numpy(), batch.context.numpy(), batch.negatives.numpy(), lr
    )
    assert abs(fused_loss - float(loss.detach())) < 1e-5
    np.testing.assert_allclose(model.center.weight.detach().numpy(), center, atol=1e-6)
    np.testing.assert_allclose(model.context.weight.detach().numpy(), context, atol=1e-6)
