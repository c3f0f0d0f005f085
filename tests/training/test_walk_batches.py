"""Walk batches and their draws (subsampling, reduced windows, negatives, id dropout)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recsys.training.batching import unigram_probabilities
from recsys.training.sequences import window_pairs
from recsys.training.walk_batches import (
    NO_DROPS,
    WalkBatchSource,
    draw_negative,
    draw_walk_batch,
    negative_table,
)
from tests.training.walk_helpers import draw, numba_threads, random_walks


def test_pair_count_is_the_window_pairs_of_the_kept_tokens() -> None:
    walks = random_walks(2, shape=(50, 10))
    keep, reach, _, _, n_pairs = draw(walks, 12, True, 0.05)
    # Compact each row's kept tokens to the front, as word2vec drops them before windowing.
    order = np.argsort(~keep, axis=1, kind="stable")
    compact = torch.as_tensor(np.take_along_axis(walks, order, 1))
    compact_reach = torch.as_tensor(np.take_along_axis(reach, order, 1))
    centers, _ = window_pairs(compact, 4, torch.as_tensor(keep.sum(1)), compact_reach)
    assert n_pairs == centers.numel() > 0


def test_draws_do_not_depend_on_the_thread_count() -> None:
    walks = random_walks(4, shape=(64, 10))
    with numba_threads(1):
        one = draw(walks, 12, True, 0.05, seed=9)
    with numba_threads(2):
        two = draw(walks, 12, True, 0.05, seed=9)
    for a, b in zip(one[:4], two[:4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert one[4] == two[4]
    other = draw(walks, 12, True, 0.05, seed=10)
    assert not np.array_equal(one[2], other[2])


def test_draws_follow_their_distributions() -> None:
    n_items = 6
    walks = np.tile(np.arange(n_items, dtype=np.int32), (4000, 2))  # (4000, 12)
    counts = np.array([1, 2, 4, 8, 16, 0], dtype=np.int64)  # item 5 must never be drawn
    keep_prob = np.array([1.0, 0.5, 1.0, 0.25, 1.0, 1.0], dtype=np.float32)
    table = negative_table(unigram_probabilities(counts))
    keep, reach, negatives, drop_id, _ = draw_walk_batch(
        walks, keep_prob, table, 5, True, 4, 0, NO_DROPS
    )
    assert not drop_id.any()
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


def test_id_drops_follow_their_probabilities_and_leave_the_other_draws_alone() -> None:
    walks = np.tile(np.arange(4, dtype=np.int32), (3000, 3))  # (3000, 12)
    drop_prob = np.array([0.0, 0.25, 0.5, 1.0], dtype=np.float32)
    keep, reach, negatives, drop_id, pairs = draw(walks, 4, True, 0.0, drop_prob=drop_prob)
    share = np.array([drop_id[walks == i].mean() for i in range(4)])
    np.testing.assert_allclose(share, drop_prob, atol=0.02)
    assert not drop_id[~keep].any()
    # Drops come after each token's negatives: the first token's draws are unchanged.
    plain = draw(walks, 4, True, 0.0)
    np.testing.assert_array_equal(plain[0], keep)
    np.testing.assert_array_equal(plain[1], reach)
    np.testing.assert_array_equal(plain[2][:, 0], negatives[:, 0])
    assert plain[4] == pairs and not plain[3].any()


def test_source_rejects_a_drop_vector_of_the_wrong_length() -> None:
    walks = np.zeros((4, 3), dtype=np.int32)
    with pytest.raises(ValueError, match=r"id_drop has shape \(3,\), expected \(5,\)"):
        WalkBatchSource(walks, 5, 2, 0.0, 40, 2, id_drop=np.zeros(3, dtype=np.float32))


@pytest.mark.parametrize(
    "counts",
    [
        np.array([1, 2, 4, 8, 16, 0], dtype=np.int64),  # a never-drawn item last
        np.array([0, 0, 5, 0, 0, 1, 0, 3, 0, 0], dtype=np.int64),  # mostly never drawn
        np.array([10**6, 1, 1, 1, 1, 1, 1], dtype=np.int64),  # one item over many slots
        np.random.default_rng(0).zipf(1.5, 5000).astype(np.int64),
    ],
)
def test_the_negative_table_holds_the_unigram_distribution_exactly(counts: np.ndarray) -> None:
    probabilities = unigram_probabilities(counts)
    table = negative_table(probabilities)
    n = table.size
    accept = (table & np.uint64(0xFFFFFFFF)).astype(np.float64) / 2.0**32
    alias = (table >> np.uint64(32)).astype(np.int64)
    # slot i keeps i with its acceptance, else gives that slot's rest to its alias
    implied = (accept + np.bincount(alias, weights=1.0 - accept, minlength=n)) / n
    np.testing.assert_allclose(implied, probabilities, atol=1e-8)
    assert implied[counts == 0].max(initial=0.0) == 0.0
    # the draw itself: the top bits pick the slot, the low bits accept it or take the alias
    bits = np.random.default_rng(1).integers(0, 2**64, 20_000, dtype=np.uint64)
    drawn = np.array([draw_negative(table, b) for b in bits])
    slot = ((bits >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32)
    low = bits & np.uint64(0xFFFFFFFF)
    expected = np.where(low < (table[slot] & np.uint64(0xFFFFFFFF)), slot, alias[slot])
    np.testing.assert_array_equal(drawn, expected)
    assert not np.isin(drawn, np.flatnonzero(counts == 0)).any()
