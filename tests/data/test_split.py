"""Properties of the seeded train / validation split and its negatives, on tiny graphs."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.errors import DataError
from recsys.data.pairs import UniquePairs, dedupe_pairs
from recsys.data.split import sample_negatives, split_pairs


def ring_with_chords(n_items: int = 40) -> UniquePairs:
    """A ring 0-1-...-(n-1)-0 plus chords i-(i+5): 2n unique pairs."""
    ring = np.arange(n_items, dtype=np.int32)
    source = np.concatenate([ring, ring])
    target = np.concatenate([(ring + 1) % n_items, (ring + 5) % n_items]).astype(np.int32)
    code = np.ones(source.size, dtype=np.uint8)
    return dedupe_pairs(source, target, code, n_items, np.array([1.2, 1.0, 0.5], np.float32))


def keyset(a: np.ndarray, b: np.ndarray) -> set[tuple[int, int]]:
    return {(int(x), int(y)) for x, y in zip(np.minimum(a, b), np.maximum(a, b), strict=True)}


def test_split_partitions_the_pairs() -> None:
    pairs = ring_with_chords()
    result = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(0))
    val = result.validation
    positives = val.label == 1
    assert positives.sum() == round(len(pairs) / 3) == 27
    assert len(result.train) == len(pairs) - 27
    all_pairs = keyset(pairs.item_a, pairs.item_b)
    train = keyset(result.train.item_a, result.train.item_b)
    held_out = keyset(val.item_a[positives], val.item_b[positives])
    assert train | held_out == all_pairs and not train & held_out
    assert np.all(result.train.item_a < result.train.item_b)
    assert result.train.weight.dtype == np.float32 and result.train.relations.dtype == np.uint8


def test_negatives_are_valid_distinct_and_as_many_as_positives() -> None:
    pairs = ring_with_chords()
    val = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(1)).validation
    negatives = val.label == 0
    assert negatives.sum() == (val.label == 1).sum()
    neg_a, neg_b = val.item_a[negatives], val.item_b[negatives]
    assert np.all(neg_a < neg_b)  # never a self-pair, always ordered
    neg = keyset(neg_a, neg_b)
    assert len(neg) == negatives.sum()  # no duplicates
    assert not neg & keyset(pairs.item_a, pairs.item_b)  # never a known positive
    pool = set(val.item_a[~negatives]) | set(val.item_b[~negatives])
    assert set(neg_a) | set(neg_b) <= pool  # drawn from the validation products


def test_seen_means_both_products_in_training() -> None:
    pairs = ring_with_chords()
    result = split_pairs(pairs, 40, 0.5, np.random.default_rng(2))
    vocab = set(result.train.item_a.tolist()) | set(result.train.item_b.tolist())
    val = result.validation
    pairs_ab = zip(val.item_a.tolist(), val.item_b.tolist(), strict=True)
    expected = [a in vocab and b in vocab for a, b in pairs_ab]
    assert val.seen.tolist() == expected


def test_split_is_seeded() -> None:
    pairs = ring_with_chords()
    first = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(7)).validation
    again = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(7)).validation
    other = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(8)).validation
    assert np.array_equal(first.item_a, again.item_a) and np.array_equal(first.item_b, again.item_b)
    assert not (
        np.array_equal(first.item_a, other.item_a) and np.array_equal(first.item_b, other.item_b)
    )


def test_negatives_avoid_a_dense_neighbourhood() -> None:
    """In a near-complete graph almost every candidate is rejected, yet none slips through."""
    n_items = 12
    a, b = np.triu_indices(n_items, k=1)
    keep = (b - a) % 4 != 0  # leave out a few pairs: the only possible negatives
    positives = set(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
    keys = np.sort(a[keep].astype(np.int64) * n_items + b[keep])
    val_a, val_b = a.astype(np.int32), b.astype(np.int32)
    count = int((~keep).sum())
    neg_a, neg_b = sample_negatives(val_a, val_b, keys, n_items, count, np.random.default_rng(0))
    negatives = keyset(neg_a, neg_b)
    assert len(negatives) == count and not negatives & positives


def test_impossible_negatives_are_a_clear_error() -> None:
    n_items = 6
    a, b = np.triu_indices(n_items, k=1)  # complete graph: no negative exists
    keys = np.sort(a.astype(np.int64) * n_items + b)
    with pytest.raises(DataError, match="validation negatives"):
        sample_negatives(
            a.astype(np.int32), b.astype(np.int32), keys, n_items, 3, np.random.default_rng(0)
        )


def test_too_few_pairs_is_a_clear_error() -> None:
    pairs = dedupe_pairs(
        np.array([0], np.int32),
        np.array([1], np.int32),
        np.array([1], np.uint8),
        2,
        np.ones(3, np.float32),
    )
    with pytest.raises(DataError, match="cannot be split"):
        split_pairs(pairs, 2, 1 / 3, np.random.default_rng(0))
