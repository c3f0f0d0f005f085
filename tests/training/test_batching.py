"""Negative sampling and pair batches: distribution, shapes, shuffling, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys.training.batching import NegativeSampler, PairTableSource, unigram_table

CPU = torch.device("cpu")


def test_negatives_follow_count_to_the_three_quarters() -> None:
    counts = np.array([0, 1, 10, 100, 1000, 5], dtype=np.int64)
    sampler = NegativeSampler(counts, CPU)
    draws = sampler.sample((200_000,), torch.Generator().manual_seed(0)).numpy()
    observed = np.bincount(draws, minlength=counts.size)
    expected_p = counts**0.75 / (counts**0.75).sum()
    assert observed[0] == 0  # count 0: never drawn
    expected = expected_p * draws.size
    chi2 = ((observed[1:] - expected[1:]) ** 2 / expected[1:]).sum()
    assert chi2 < 20.5  # chi-square, 4 dof: p = 0.0004; a power of 1.0 gives chi2 in the thousands


def test_unigram_power_one_would_be_rejected_by_the_same_test() -> None:
    counts = np.array([1, 10, 100, 1000, 5], dtype=np.int64)
    cdf = unigram_table(counts, power=0.75)
    p = np.diff(np.concatenate([[0.0], cdf]))
    assert p[3] / p[2] == pytest.approx(10**0.75)


def test_all_zero_counts_are_an_error() -> None:
    with pytest.raises(ValueError, match="positive count"):
        NegativeSampler(np.zeros(4, dtype=np.int64), CPU)


def test_pair_source_covers_every_pair_once_per_epoch() -> None:
    a = np.arange(0, 10, dtype=np.int32)
    b = np.arange(10, 20, dtype=np.int32)
    weight = np.linspace(0.5, 1.4, 10).astype(np.float32)
    sampler = NegativeSampler(np.ones(20, dtype=np.int64), CPU)
    source = PairTableSource(a, b, weight, sampler, batch_size=4, negatives=3, device=CPU)
    batches = list(source.epoch(torch.Generator().manual_seed(1)))
    assert source.batches_per_epoch() == len(batches) == 3
    assert [len(x) for x in batches] == [4, 4, 2]
    assert batches[-1].progress == 1.0
    center = torch.cat([x.center for x in batches]).numpy()
    context = torch.cat([x.context for x in batches]).numpy()
    target = torch.cat([x.target for x in batches if x.target is not None]).numpy()
    pairs = {(min(c, o), max(c, o)) for c, o in zip(center, context, strict=True)}
    assert pairs == {(i, i + 10) for i in range(10)}
    # Targets travel with their pair, whichever side was flipped to the center.
    np.testing.assert_allclose(target, weight[np.minimum(center, context)])
    assert (center >= 10).any() and (center < 10).any()  # both sides meet the negatives
    assert batches[0].negatives.shape == (4, 3)


def test_pair_source_epochs_are_reproducible_from_the_generator() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50, 100).astype(np.int32), rng.integers(0, 50, 100).astype(np.int32)
    sampler = NegativeSampler(np.ones(50, dtype=np.int64), CPU)
    source = PairTableSource(a, b, None, sampler, batch_size=16, negatives=2, device=CPU)
    first = [x.negatives for x in source.epoch(torch.Generator().manual_seed(3))]
    again = [x.negatives for x in source.epoch(torch.Generator().manual_seed(3))]
    other = [x.negatives for x in source.epoch(torch.Generator().manual_seed(4))]
    assert all(torch.equal(x, y) for x, y in zip(first, again, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(first, other, strict=True))
