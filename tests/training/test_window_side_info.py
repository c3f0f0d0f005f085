"""EGES's window step against its numpy reference, and against autograd on the torch model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys.models.side_info_model import SkipGramWithSideInfo
from recsys.training.batching import PairBatch
from recsys.training.window_side_info import (
    ABSENT,
    NO_ATTENTION,
    reference_side_info_step,
    side_info_window_step,
)
from tests.training.walk_helpers import draw, numba_threads, random_walks, two_token_walk

N_ITEMS, DIM, SIDE_ROWS = 12, 8, (5, 3)


def _side_rows(rng: np.random.Generator) -> np.ndarray:
    """Two side fields, about a third of the values absent; item 0 has none (never dropped)."""
    rows = np.stack([rng.integers(0, v, N_ITEMS) for v in SIDE_ROWS], axis=1)
    rows[rng.random(rows.shape) < 0.35] = ABSENT
    rows[0] = ABSENT
    return rows.astype(np.int64)


@pytest.mark.parametrize(
    ("learned", "context_side_info", "dropout", "max_logit"),
    [
        (False, True, 0.5, 0.0),  # equal weights, context side info, id dropout
        (False, False, 0.0, 0.0),  # the paper's id-only context
        (True, True, 0.5, 0.0),  # learned weights (EGES)
        (True, False, 0.25, 0.0),
        (False, False, 0.5, 0.1),  # gensim's rule: about half these pairs saturated, skipped
        (True, True, 0.5, 0.1),
    ],
)
def test_kernel_matches_reference(
    learned: bool, context_side_info: bool, dropout: float, max_logit: float
) -> None:
    rng = np.random.default_rng(0)
    walks = random_walks(0, N_ITEMS)
    side_rows = _side_rows(rng)
    describable = (side_rows != ABSENT).any(axis=1)
    drop_prob = (describable * dropout).astype(np.float32)
    keep, reach, negatives, drop_id, _ = draw(walks, N_ITEMS, True, 0.05, drop_prob=drop_prob)
    assert drop_id.any() == (dropout > 0)

    def tables() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray]:
        local = np.random.default_rng(1)
        center, context = (local.normal(0, 0.3, (N_ITEMS, DIM)).astype(np.float32) for _ in "ab")
        side = tuple(local.normal(0, 0.3, (v, DIM)).astype(np.float32) for v in SIDE_ROWS)
        attention = local.normal(0, 0.5, (N_ITEMS, 3)).astype(np.float32)
        outputs = (context, *side) if context_side_info else (context,)
        return (center, *side), outputs, attention if learned else NO_ATTENTION

    inputs, outputs, attention = tables()
    ref_inputs, ref_outputs, ref_attention = tables()
    batch = (walks, keep, reach, negatives, drop_id, 0.05, max_logit)
    with numba_threads(1):  # one thread: walks in order, as the reference
        loss = side_info_window_step(inputs, outputs, side_rows, attention, *batch)
    expected = reference_side_info_step(ref_inputs, ref_outputs, side_rows, ref_attention, *batch)
    assert abs(loss - expected) < 1e-4 * max(1.0, abs(expected))
    for got, want in zip(inputs + outputs[:1], ref_inputs + ref_outputs[:1], strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    np.testing.assert_allclose(attention, ref_attention, atol=1e-5)
    assert not np.allclose(ref_inputs[1], tables()[0][1])  # the side rows did train
    quiet_inputs, quiet_outputs, quiet_attention = tables()
    with numba_threads(1):  # without its loss the step trains the same, bit for bit
        skipped = side_info_window_step(
            quiet_inputs, quiet_outputs, side_rows, quiet_attention, *batch, False
        )
    assert skipped == 0.0
    for got, want in zip(quiet_inputs + quiet_outputs, inputs + outputs, strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(quiet_attention, attention)


@pytest.mark.parametrize("weighting", ["equal", "learned"])
@pytest.mark.parametrize("context_side_info", [True, False])
@pytest.mark.parametrize("max_logit", [0.0, 0.005])  # 0.005: about half these pairs skipped
def test_kernel_takes_the_torch_models_sgd_step(
    weighting: str, context_side_info: bool, max_logit: float
) -> None:
    """The walk [a, b] as two batches of one window each, b as input against a, then a
    against b: two autograd SGD steps on the model's own loss, in that order, must land
    where the kernel does (and leave out the same saturated pairs; the kernel's loss counts
    them, the model's not). Within one walk the kernel adds an input's steps only once no
    later window takes it, which the reference test above covers."""
    side_ids = torch.tensor([[2, 0], [3, 2], [2, 4], [0, 0], [4, 3], [5, 2]], dtype=torch.int64)
    generator = torch.Generator().manual_seed(0)

    def model(max_logit: float = max_logit) -> SkipGramWithSideInfo:
        built = SkipGramWithSideInfo(
            side_ids=side_ids,
            vocab_sizes=[6, 5],
            has_metadata=torch.ones(6, dtype=torch.bool),
            trained=torch.ones(6, dtype=torch.bool),
            dim=4,
            weighting=weighting,  # type: ignore[arg-type]
            id_dropout=0.0,
            generator=torch.Generator().manual_seed(3),
            skip_unknown=True,
            id_prior=0.5,
            context_side_info=context_side_info,
            max_logit=max_logit,
        )
        with torch.no_grad():  # a non-zero context table, so every gradient is non-zero
            built.context.weight.normal_(0, 0.3, generator=generator)
            if built.attention is not None:
                built.attention.weight.normal_(0, 0.5, generator=generator)
        return built

    kernel_model, torch_model = model(), model()
    torch_model.load_state_dict(kernel_model.state_dict())
    initial = {name: tensor.clone() for name, tensor in kernel_model.state_dict().items()}
    negatives = np.array([[[2, 5, 2], [0, 2, 5]]], dtype=np.int64)  # a repeated negative too
    batches = [two_token_walk(1, 4, negatives, reach) for reach in ((1, 0), (0, 1))]
    lr = 0.3
    kernel_loss = sum(kernel_model.fused_walk_step(batch, lr) for batch in batches)
    optimizer = torch.optim.SGD(torch_model.parameters(), lr=lr)
    torch_loss = 0.0
    for center, context, slot in ((4, 1, 0), (1, 4, 1)):
        optimizer.zero_grad()
        loss = torch_model.loss(
            PairBatch(
                center=torch.tensor([center]),
                context=torch.tensor([context]),
                negatives=torch.from_numpy(negatives[0, slot][None]),
                target=None,
                progress=1.0,
            )
        )
        loss.backward()
        optimizer.step()
        torch_loss += float(loss)
    if max_logit == 0:
        assert kernel_loss == pytest.approx(torch_loss, rel=1e-5)
    else:  # some pairs were skipped, others trained
        every_pair = model(0.0)
        every_pair.load_state_dict(initial)
        for batch in batches:
            every_pair.fused_walk_step(batch, lr)
        trained = kernel_model.center.weight.detach()
        assert not torch.allclose(trained, initial["center.weight"])
        assert not torch.allclose(trained, every_pair.center.weight.detach())
    for (name, got), want in zip(
        kernel_model.state_dict().items(), torch_model.state_dict().values(), strict=True
    ):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6, err_msg=name)
