"""The tensor skip-gram step against the numba kernel and against autograd SGD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys.models.skipgram import SkipGram
from recsys.training.batching import PairBatch
from recsys.training.fused_sgns import reference_sgns_step
from recsys.training.sgns_torch import sgns_step_tensors
from tests.conftest import random_pair_batch

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def _tables(seed: int, n: int = 40, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.normal(0, 0.3, (n, dim)).astype(np.float32),
        rng.normal(0, 0.3, (n, dim)).astype(np.float32),
    )


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("max_logit", [0.0, 0.2])  # 0.2: some of these pairs are skipped
def test_step_equals_sequential_reference_when_rows_are_distinct(
    device: str, max_logit: float
) -> None:
    center, context = _tables(3)
    centers, contexts = np.array([0, 1, 2, 3]), np.array([10, 11, 12, 13])
    negatives = np.arange(20, 32).reshape(4, 3)
    expected_center, expected_context = center.copy(), context.copy()
    expected = reference_sgns_step(
        expected_center, expected_context, centers, contexts, negatives, 0.2, max_logit
    )
    center_t = torch.as_tensor(center, device=device)
    context_t = torch.as_tensor(context, device=device)
    loss = sgns_step_tensors(
        center_t,
        context_t,
        torch.as_tensor(centers, device=device),
        torch.as_tensor(contexts, device=device),
        torch.as_tensor(negatives, device=device),
        0.2,
        max_logit,
    )
    assert loss.device.type == device
    assert abs(float(loss) - expected) < 1e-5
    np.testing.assert_allclose(center_t.cpu().numpy(), expected_center, atol=1e-6)
    np.testing.assert_allclose(context_t.cpu().numpy(), expected_context, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_step_equals_autograd_sgd_on_the_summed_loss_with_repeated_rows(device: str) -> None:
    rng = np.random.default_rng(4)
    batch = random_pair_batch(rng, 8, 50, 4, device=device)
    model = SkipGram(40, 8, torch.Generator().manual_seed(0)).to(device)
    center, context = _tables(5)
    with torch.no_grad():
        model.center.weight.copy_(torch.as_tensor(center))
        model.context.weight.copy_(torch.as_tensor(context))
    lr = 0.05
    loss = model.loss(batch)  # mean over pairs: SGD's lr is scaled back by the batch size
    loss.backward()
    torch.optim.SGD(model.sparse_parameters(), lr=lr * len(batch)).step()

    center_t = torch.as_tensor(center, device=device)
    context_t = torch.as_tensor(context, device=device)
    step_loss = sgns_step_tensors(
        center_t, context_t, batch.center, batch.context, batch.negatives, lr
    )
    assert abs(float(step_loss) - float(loss.detach())) < 1e-5
    np.testing.assert_allclose(
        center_t.cpu().numpy(), model.center.weight.detach().cpu().numpy(), atol=1e-5
    )
    np.testing.assert_allclose(
        context_t.cpu().numpy(), model.context.weight.detach().cpu().numpy(), atol=1e-5
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_skipgram_uses_the_tensor_step_on_cuda() -> None:
    model = SkipGram(40, 8, torch.Generator().manual_seed(0)).to("cuda")
    ids = torch.arange(4, device="cuda")
    loss = model.fused_sgd_step(PairBatch(ids, ids + 4, (ids + 8).view(4, 1), None, 1.0), 0.1)
    assert isinstance(loss, torch.Tensor) and loss.device.type == "cuda"
    assert float(model.context.weight[4:13].abs().sum()) > 0  # the step moved context rows


def test_the_autograd_loss_leaves_saturated_pairs_out() -> None:
    """The Adam path's rule is the SGD steps': a pair at |logit| >= max_logit adds no gradient."""
    from recsys.models.skipgram import skipgram_loss

    rng = np.random.default_rng(4)
    center = torch.tensor(rng.normal(0, 0.3, (6, 8)), dtype=torch.float32, requires_grad=True)
    rows = torch.tensor(rng.normal(0, 0.3, (6, 4, 8)), dtype=torch.float32, requires_grad=True)
    skipgram_loss(center, rows, max_logit=1e-9).backward()
    assert center.grad is not None and rows.grad is not None
    assert not center.grad.any() and not rows.grad.any()
    center.grad, rows.grad = None, None
    skipgram_loss(center, rows, max_logit=6.0).backward()  # these logits are all below 6
    assert center.grad is not None and center.grad.any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shared_by", [1, 4, 7, 64])  # 7: the last chunk is short
@pytest.mark.parametrize("max_logit", [0.0, 0.3])
def test_shared_negatives_step_equals_autograd_sgd_with_each_row_repeated(
    device: str, shared_by: int, max_logit: float
) -> None:
    """A chunk's shared row is, for the loss and its gradient, that row given to every pair
    of the chunk: the step equals autograd SGD on the per-pair loss of the repeated rows."""
    rng = np.random.default_rng(shared_by)
    n_pairs = 50
    batch = random_pair_batch(rng, 40, n_pairs, 3, shared_by, device)
    model = SkipGram(40, 8, torch.Generator().manual_seed(0), max_logit=max_logit).to(device)
    center, context = _tables(6)
    context_before = context.copy()
    with torch.no_grad():
        model.center.weight.copy_(torch.as_tensor(center))
        model.context.weight.copy_(torch.as_tensor(context))
    lr = 0.05
    loss = model.loss(batch)  # reads batch.pair_negatives()
    loss.backward()
    torch.optim.SGD(model.sparse_parameters(), lr=lr * len(batch)).step()

    center_t = torch.as_tensor(center, device=device)
    context_t = torch.as_tensor(context, device=device)
    step_loss = sgns_step_tensors(
        center_t,
        context_t,
        batch.center,
        batch.context,
        batch.negatives,
        lr,
        max_logit,
        shared_by=shared_by,
    )
    # The autograd loss leaves saturated pairs out; the step's loss counts every pair.
    if max_logit == 0:
        assert abs(float(step_loss) - float(loss.detach())) < 1e-5
    np.testing.assert_allclose(
        center_t.cpu().numpy(), model.center.weight.detach().cpu().numpy(), atol=1e-5
    )
    np.testing.assert_allclose(
        context_t.cpu().numpy(), model.context.weight.detach().cpu().numpy(), atol=1e-5
    )
    assert not np.allclose(context_t.cpu().numpy(), context_before)  # the step moved the tables


def test_shared_negatives_step_rejects_rows_that_do_not_fit_the_chunks() -> None:
    center, context = (torch.as_tensor(t) for t in _tables(7))
    ids = torch.arange(10)
    with pytest.raises(ValueError, match="rows of negatives"):
        sgns_step_tensors(
            center, context, ids, ids, torch.zeros((2, 3), dtype=torch.int64), 0.1, 0.0, 4
        )
