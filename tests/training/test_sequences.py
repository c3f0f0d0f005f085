"""Window pairs from walks and word2vec subsampling, on hand-made walk matrices."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from recsys.training.batching import NegativeSampler
from recsys.training.sequences import (
    WindowPairSource,
    keep_probability,
    pairs_per_walk,
    subsample_walks,
    token_counts,
    window_pairs,
)

CPU = torch.device("cpu")
WALKS = torch.tensor([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]])


def _pairs(center: torch.Tensor, context: torch.Tensor) -> Counter[tuple[int, int]]:
    return Counter(zip(center.tolist(), context.tolist(), strict=True))


def _expected(rows: list[list[int]], window: int) -> Counter[tuple[int, int]]:
    out: Counter[tuple[int, int]] = Counter()
    for row in rows:
        for i, c in enumerate(row):
            for j, x in enumerate(row):
                if i != j and abs(i - j) <= window:
                    out[(c, x)] += 1
    return out


@pytest.mark.parametrize("window", [1, 2, 4, 7])
def test_window_pairs_on_a_2x5_walk_matrix(window: int) -> None:
    center, context = window_pairs(WALKS, window)
    assert _pairs(center, context) == _expected(WALKS.tolist(), window)


def test_window_pairs_by_hand_for_window_1() -> None:
    center, context = window_pairs(WALKS[:1], 1)
    assert _pairs(center, context) == Counter(
        {(0, 1): 1, (1, 2): 1, (2, 3): 1, (3, 4): 1, (1, 0): 1, (2, 1): 1, (3, 2): 1, (4, 3): 1}
    )


def test_window_pairs_respect_row_lengths() -> None:
    center, context = window_pairs(WALKS, 2, lengths=torch.tensor([3, 5]))
    assert _pairs(center, context) == _expected([[0, 1, 2], [5, 6, 7, 8, 9]], 2)


def test_reduced_window_pairs_only_within_each_centers_reach() -> None:
    reach = torch.tensor([[1, 2, 1, 1, 3], [2, 2, 2, 2, 2]])
    center, context = window_pairs(WALKS, 3, reach=reach)
    expected: Counter[tuple[int, int]] = Counter()
    for row, row_reach in zip(WALKS.tolist(), reach.tolist(), strict=True):
        for i, c in enumerate(row):
            for j, x in enumerate(row):
                if i != j and abs(i - j) <= row_reach[i]:
                    expected[(c, x)] += 1
    assert _pairs(center, context) == expected


def test_pairs_per_walk_counts() -> None:
    assert pairs_per_walk(5, 2, reduced_window=False) == 2 * (4 + 3)
    assert pairs_per_walk(10, 5, reduced_window=False) == 70
    # Reduced window: mean over w' = 1..5 of 2 * sum_{d<=w'} (10 - d) = (18+34+48+60+70)/5.
    assert pairs_per_walk(10, 5, reduced_window=True) == pytest.approx(46.0)


def test_keep_probability_is_word2vecs_formula() -> None:
    counts = np.array([0, 1, 1_000, 100_000, 898_999], dtype=np.int64)  # total 1e6
    keep = keep_probability(counts, threshold=1e-3)
    f = counts[1:] / counts.sum()
    expected = np.minimum((np.sqrt(f / 1e-3) + 1) * 1e-3 / f, 1.0)
    np.testing.assert_allclose(keep[1:], expected, rtol=1e-6)
    assert keep[0] == 1.0 and keep[1] == 1.0 and keep[4] < 0.04
    np.testing.assert_array_equal(keep_probability(counts, 0.0), np.ones(5, dtype=np.float32))


def test_subsampling_drops_frequent_items_at_the_formulas_rate() -> None:
    # Item 0 fills half of every walk; items 1..99 share the rest.
    rng = np.random.default_rng(0)
    walks = rng.integers(1, 100, (4000, 10)).astype(np.int32)
    walks[:, ::2] = 0
    counts = token_counts(walks, 100)
    keep = keep_probability(counts, threshold=1e-2)
    compact, lengths = subsample_walks(
        torch.as_tensor(walks), torch.as_tensor(keep), torch.Generator().manual_seed(0)
    )
    kept = np.concatenate(
        [row[:n] for row, n in zip(compact.numpy(), lengths.numpy(), strict=True)]
    )
    kept_counts = token_counts(kept[None, :], 100)
    rate = kept_counts / np.maximum(counts, 1)
    assert rate[0] == pytest.approx(keep[0], abs=0.01)  # 20,000 draws: sd ~0.003
    assert 0.1 < keep[0] < 0.3
    assert rate[1:].min() == 1.0  # rare items are always kept


def test_subsampling_keeps_order_of_surviving_tokens() -> None:
    walks = torch.tensor([[3, 0, 4, 0, 5, 0]])
    keep_prob = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 1.0])  # drop item 0 always
    compact, lengths = subsample_walks(walks, keep_prob, torch.Generator().manual_seed(0))
    assert lengths.tolist() == [3]
    assert compact[0, :3].tolist() == [3, 4, 5]


def test_window_source_yields_every_pair_once_without_subsampling() -> None:
    walks = np.arange(40, dtype=np.int32).reshape(8, 5) % 13
    sampler = NegativeSampler(np.ones(13, dtype=np.int64), CPU)
    source = WindowPairSource(
        walks,
        13,
        window=2,
        subsample=0.0,
        sampler=sampler,
        batch_size=7,
        negatives=2,
        device=CPU,
        pairs_per_chunk=20,
    )
    batches = list(source.epoch(torch.Generator().manual_seed(0)))
    center = torch.cat([b.center for b in batches])
    context = torch.cat([b.context for b in batches])
    assert _pairs(center, context) == _expected(walks.tolist(), 2)
    assert all(len(b) == 7 for b in batches[:-1])
    assert len(batches) == source.batches_per_epoch()
    assert batches[-1].progress == 1.0
    progress = [b.progress for b in batches]
    assert progress == sorted(progress)


def test_window_source_rejects_ids_outside_the_vocabulary() -> None:
    sampler = NegativeSampler(np.ones(3, dtype=np.int64), CPU)
    with pytest.raises(ValueError, match="outside"):
        WindowPairSource(np.array([[0, 5]], dtype=np.int32), 3, 2, 0.0, sampler, 4, 1, CPU)


@pytest.mark.parametrize("shared_by", [1, 3, 7, 50])
def test_window_source_draws_one_row_of_negatives_per_chunk(shared_by: int) -> None:
    walks = np.arange(40, dtype=np.int32).reshape(8, 5) % 13
    sampler = NegativeSampler(np.ones(13, dtype=np.int64), CPU)
    source = WindowPairSource(
        walks, 13, 2, 0.0, sampler, 7, 2, CPU, pairs_per_chunk=20, negatives_shared_by=shared_by
    )
    for batch in source.epoch(torch.Generator().manual_seed(0)):
        assert batch.shared_by == shared_by
        assert batch.negatives.shape == (-(-len(batch) // shared_by), 2)
        per_pair = batch.pair_negatives()
        assert per_pair.shape == (len(batch), 2)
        for pair in range(len(batch)):  # each pair reads its chunk's row
            assert per_pair[pair].tolist() == batch.negatives[pair // shared_by].tolist()


def test_window_source_rejects_a_chunk_below_one() -> None:
    sampler = NegativeSampler(np.ones(3, dtype=np.int64), CPU)
    with pytest.raises(ValueError, match="negatives_shared_by"):
        WindowPairSource(
            np.array([[0, 1]], dtype=np.int32), 3, 1, 0.0, sampler, 4, 1, CPU, negatives_shared_by=0
        )


@pytest.mark.parametrize(
    ("settings", "shared_by"),
    [
        ({}, 32),  # SGD with shared negatives: the GPU step's chunks
        ({"negative_chunk": 8}, 8),
        ({"shared_negatives": False}, 1),  # word2vec.c's draw per pair
        ({"optimizer": "adam", "lr": 0.01}, 1),  # the study's Adam: per pair
    ],
)
def test_window_pair_source_shares_negatives_only_for_the_shared_sgd_step(
    settings: dict[str, object], shared_by: int
) -> None:
    from recsys.models.skipgram import SkipGramConfig
    from recsys.training.sequences import window_pair_source

    walks = np.arange(40, dtype=np.int32).reshape(8, 5) % 13
    source, _ = window_pair_source(walks, 13, SkipGramConfig(**settings), CPU)  # type: ignore[arg-type]
    assert source.negatives_shared_by == shared_by


@pytest.mark.parametrize(
    ("settings", "batch_size"),
    [
        ({}, 13),  # SGD by default: at most one pair per product in the walks
        ({"batch_size": 65536}, 65536),  # given: used as given
        ({"batch_size": 8}, 8),
        ({"optimizer": "adam", "lr": 0.01}, 65536),  # Adam keeps its batch
        ({"preset": "study"}, 1024),  # the study's batch, given by its preset
    ],
)
def test_sgd_window_batches_hold_at_most_one_pair_per_product_unless_given(
    settings: dict[str, object], batch_size: int
) -> None:
    """The synchronous tensor step sums a product's steps over the batch from stale rows:
    its default batch shrinks to the products in the walks; a given batch size is kept."""
    from recsys.models.skipgram import SkipGramConfig
    from recsys.training.sequences import window_pair_source

    walks = np.arange(40, dtype=np.int32).reshape(8, 5) % 13
    source, known = window_pair_source(walks, 20, SkipGramConfig(**settings), CPU)  # type: ignore[arg-type]
    assert int(known.sum()) == 13
    assert source.batch_size == batch_size
