"""The window step (negatives shared per window) against its reference, and its draws."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np
import pytest
import torch

from recsys.training.batching import unigram_table
from recsys.training.sequences import keep_probability, window_pairs
from recsys.training.window_sgns import (
    NO_BIAS,
    WalkBatchSource,
    draw_walk_batch,
    reference_window_step,
    window_sgns_step,
)


@contextmanager
def numba_threads(n: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def _walks(seed: int, n_items: int = 12, shape: tuple[int, int] = (20, 9)) -> np.ndarray:
    # Few items: windows repeat products, so update order and accumulation both matter.
    return np.random.default_rng(seed).integers(0, n_items, shape).astype(np.int32)


def _draw(walks: np.ndarray, n_items: int, reduced: bool, subsample: float, seed: int = 3):
    counts = np.bincount(walks.reshape(-1), minlength=n_items)
    keep_prob = keep_probability(counts, subsample)
    return draw_walk_batch(walks, keep_prob, unigram_table(counts), 4, reduced, 3, seed)


@pytest.mark.parametrize(
    ("reduced", "subsample", "one_table", "with_bias", "l2"),
    [
        (True, 0.05, False, False, 0.0),  # skip-gram: two tables, no bias
        (False, 0.0, False, False, 0.0),
        (True, 0.05, True, True, 0.01),  # MF with bias on sequences: one table, bias, L2
    ],
)
def test_kernel_matches_reference(
    reduced: bool, subsample: float, one_table: bool, with_bias: bool, l2: float
) -> None:
    walks = _walks(0)
    keep, reach, negatives, _ = _draw(walks, 12, reduced, subsample)
    rng = np.random.default_rng(1)
    center = rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    context = center if one_table else rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    bias = rng.normal(0, 0.3, 12).astype(np.float32) if with_bias else NO_BIAS
    center_ref = center.copy()
    context_ref = center_ref if one_table else context.copy()
    bias_ref = bias.copy()
    with numba_threads(1):  # one thread: walks in order, as the reference
        loss = window_sgns_step(center, context, walks, keep, reach, negatives, 0.05, bias, l2)
    expected = reference_window_step(
        center_ref, context_ref, walks, keep, reach, negatives, 0.05, bias_ref, l2
    )
    assert abs(loss - expected) < 1e-4 * max(1.0, abs(expected))
    np.testing.assert_allclose(center, center_ref, atol=1e-5)
    np.testing.assert_allclose(context, context_ref, atol=1e-5)
    np.testing.assert_allclose(bias, bias_ref, atol=1e-5)


def test_pair_count_is_the_window_pairs_of_the_kept_tokens() -> None:
    walks = _walks(2, shape=(50, 10))
    keep, reach, _, n_pairs = _draw(walks, 12, True, 0.05)
    # Compact each row's kept tokens to the front, as word2vec drops them before windowing.
    order = np.argsort(~keep, axis=1, kind="stable")
    compact = torch.as_tensor(np.take_along_axis(walks, order, 1))
    compact_reach = torch.as_tensor(np.take_along_axis(reach, order, 1))
    centers, _ = window_pairs(compact, 4, torch.as_tensor(keep.sum(1)), compact_reach)
    assert n_pairs == centers.numel() > 0


def test_draws_do_not_depend_on_the_thread_count() -> None:
    walks = _walks(4, shape=(64, 10))
    with numba_threads(1):
        one = _draw(walks, 12, True, 0.05, seed=9)
    with numba_threads(2):
        two = _draw(walks, 12, True, 0.05, seed=9)
    for a, b in zip(one[:3], two[:3], strict=True):
        np.testing.assert_array_equal(a, b)
    assert one[3] == two[3]
    other = _draw(walks, 12, True, 0.05, seed=10)
    assert not np.array_equal(one[2], other[2])


def test_draws_follow_their_distributions() -> None:
    n_items = 6
    walks = np.tile(np.arange(n_items, dtype=np.int32), (4000, 2))  # (4000, 12)
    counts = np.array([1, 2, 4, 8, 16, 0], dtype=np.int64)  # item 5 must never be drawn
    keep_prob = np.array([1.0, 0.5, 1.0, 0.25, 1.0, 1.0], dtype=np.float32)
    cdf = unigram_table(counts)
    keep, reach, negatives, _ = draw_walk_batch(walks, keep_prob, cdf, 5, True, 4, 0)
    kept_share = np.array([keep[walks == i].mean() for i in range(n_items)])
    np.testing.assert_allclose(kept_share, keep_prob, atol=0.02)
    assert set(np.unique(reach)) == {1, 2, 3, 4, 5}
    assert (negatives[~keep] == -1).all()
    drawn = np.bincount(negatives[keep].reshape(-1), minlength=n_items)
    expected = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(drawn / drawn.sum(), expected, atol=0.01)
    assert drawn[5] == 0


def test_source_covers_every_walk_once_per_epoch() -> None:
    walks = np.arange(300, dtype=np.int32).reshape(100, 3) % 37
    source = WalkBatchSource(walks, 37, 2, 0.0, batch_size=40, negatives=2)
    batches = list(source.epoch(torch.Generator().manual_seed(0)))
    assert len(batches) == source.batches_per_epoch()
    seen = np.concatenate([b.walks for b in batches])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, walks))
    assert sum(len(b) for b in batches) == 100 * 6  # window 2 over 3 tokens: 2 pairs each
    assert batches[-1].progress == 1.0
    again = list(source.epoch(torch.Generator().manual_seed(0)))
    np.testing.assert_array_equal(batches[0].negatives, again[0].negatives)
