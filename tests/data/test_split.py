"""Properties of the seeded train / validation split and its negatives, on tiny graphs."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.data.dataset import Protocol
from recsys.data.errors import DataError
from recsys.data.pairs import UniquePairs, dedupe_pairs
from recsys.data.split import negative_pool, sample_negatives, split_pairs


def ring_with_chords(n_items: int = 40) -> UniquePairs:
    """A ring 0-1-...-(n-1)-0 plus chords i-(i+5): 2n unique pairs."""
    ring = np.arange(n_items, dtype=np.int32)
    source = np.concatenate([ring, ring])
    target = np.concatenate([(ring + 1) % n_items, (ring + 5) % n_items]).astype(np.int32)
    code = np.ones(source.size, dtype=np.uint8)
    return dedupe_pairs(source, target, code, n_items, np.array([1.2, 1.0, 0.5], np.float32))


def keyset(a: np.ndarray, b: np.ndarray) -> set[tuple[int, int]]:
    return {(int(x), int(y)) for x, y in zip(np.minimum(a, b), np.maximum(a, b), strict=True)}


@pytest.mark.parametrize("protocol", ["study", "matched"])
def test_split_partitions_the_pairs(protocol: Protocol) -> None:
    pairs = ring_with_chords()
    result = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(0))
    val = result.validation.for_protocol(protocol)
    positives = val.label == 1
    assert positives.sum() == round(len(pairs) / 3) == 27
    assert len(result.train) == len(pairs) - 27
    all_pairs = keyset(pairs.item_a, pairs.item_b)
    train = keyset(result.train.item_a, result.train.item_b)
    held_out = keyset(val.item_a[positives], val.item_b[positives])
    assert train | held_out == all_pairs and not train & held_out
    assert np.all(result.train.item_a < result.train.item_b)
    assert result.train.weight.dtype == np.float32 and result.train.relations.dtype == np.uint8


@pytest.mark.parametrize("protocol", ["study", "matched"])
def test_negatives_are_valid_distinct_and_as_many_as_positives(protocol: Protocol) -> None:
    pairs = ring_with_chords()
    val = split_pairs(pairs, 40, 1 / 3, np.random.default_rng(1)).validation.for_protocol(protocol)
    negatives = val.label == 0
    assert negatives.sum() == (val.label == 1).sum()
    neg_a, neg_b = val.item_a[negatives], val.item_b[negatives]
    assert np.all(neg_a < neg_b)  # never a self-pair, always ordered
    neg = keyset(neg_a, neg_b)
    assert len(neg) == negatives.sum()  # no duplicates
    assert not neg & keyset(pairs.item_a, pairs.item_b)  # never a known positive
    pool = set(val.item_a[~negatives]) | set(val.item_b[~negatives])
    assert set(neg_a) | set(neg_b) <= pool  # drawn from the validation products


@pytest.mark.parametrize("protocol", ["study", "matched"])
def test_seen_means_both_products_in_training(protocol: Protocol) -> None:
    pairs = ring_with_chords()
    result = split_pairs(pairs, 40, 0.5, np.random.default_rng(2))
    vocab = set(result.train.item_a.tolist()) | set(result.train.item_b.tolist())
    val = result.validation
    pairs_ab = zip(val.item_a.tolist(), val.item_b.tolist(), strict=True)
    expected = [a in vocab and b in vocab for a, b in pairs_ab]
    assert val.seen.tolist() == expected


@pytest.mark.parametrize("protocol", ["study", "matched"])
def test_split_is_seeded(protocol: Protocol) -> None:
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
    pool = negative_pool(val_a, val_b, "matched")
    neg_a, neg_b = sample_negatives(pool, keys, n_items, count, np.random.default_rng(0))
    negatives = keyset(neg_a, neg_b)
    assert len(negatives) == count and not negatives & positives


def test_impossible_negatives_are_a_clear_error() -> None:
    n_items = 6
    a, b = np.triu_indices(n_items, k=1)  # complete graph: no negative exists
    keys = np.sort(a.astype(np.int64) * n_items + b)
    with pytest.raises(DataError, match="validation negatives"):
        sample_negatives(np.concatenate([a, b]), keys, n_items, 3, np.random.default_rng(0))


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


def two_stars(n_leaves: int = 400) -> tuple[UniquePairs, int]:
    """Hubs 0 and 1, each paired with its own half of the leaves: each hub is in half the pairs.

    A hub can still be in a negative, with a leaf of the other hub (or with the other hub).
    Returns the pairs and the number of products.
    """
    leaves = np.arange(2, n_leaves + 2, dtype=np.int32)
    source = np.where(leaves < 2 + n_leaves // 2, 0, 1).astype(np.int32)
    code = np.ones(leaves.size, dtype=np.uint8)
    weights = np.array([1.2, 1.0, 0.5], np.float32)
    return dedupe_pairs(source, leaves, code, n_leaves + 2, weights), n_leaves + 2


def _negatives_and_positives(protocol: Protocol, seed: int) -> tuple[np.ndarray, np.ndarray]:
    pairs, n_items = two_stars()
    split = split_pairs(pairs, n_items, 0.5, np.random.default_rng(seed))
    val = split.validation.for_protocol(protocol)
    pos, neg = val.label == 1, val.label == 0
    return (
        np.stack([val.item_a[pos], val.item_b[pos]]),
        np.stack([val.item_a[neg], val.item_b[neg]]),
    )


@pytest.mark.parametrize("seed", [3, 4])
def test_study_negatives_break_the_popularity_match(seed: int) -> None:
    """Matched negatives hold a hub about half the time, like the positives; the study's rarely."""
    hub_share: dict[str, float] = {}
    protocol: Protocol
    for protocol in ("matched", "study"):
        positives, negatives = _negatives_and_positives(protocol, seed)
        assert (positives < 2).any(axis=0).mean() == 1.0  # every positive holds a hub
        hub_share[protocol] = float((negatives < 2).any(axis=0).mean())
    assert 0.35 < hub_share["matched"] < 0.65
    assert hub_share["study"] < 0.1


def test_study_negatives_follow_no_popularity() -> None:
    """Products' counts in matched negatives track their counts in positives; study's do not."""

    def correlation(protocol: Protocol) -> float:
        positives, negatives = _negatives_and_positives(protocol, 5)
        count_pos = np.bincount(positives.ravel(), minlength=402)
        count_neg = np.bincount(negatives.ravel(), minlength=402)
        in_val = count_pos > 0
        return float(np.corrcoef(count_pos[in_val], count_neg[in_val])[0, 1])

    assert correlation("matched") > 0.9
    assert correlation("study") < 0.3


def test_uniform_pool_weights_each_product_equally() -> None:
    val_a = np.array([0, 0, 0, 0, 2], np.int32)
    val_b = np.array([1, 3, 4, 5, 3], np.int32)
    pool = negative_pool(val_a, val_b, "uniform")
    counts = np.bincount(pool)
    assert set(np.flatnonzero(counts)) == {0, 1, 2, 3, 4, 5}
    assert len(set(counts[counts > 0])) == 1 and pool.size >= val_a.size * 2
    matched = negative_pool(val_a, val_b, "matched")
    assert np.bincount(matched)[0] == 4  # the matched pool keeps multiplicity


def test_unknown_negatives_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="negatives"):
        negative_pool(np.zeros(2, np.int32), np.ones(2, np.int32), "popular")


def test_both_negative_sets_share_the_positives_and_are_stored_in_one_table() -> None:
    split = split_pairs(ring_with_chords(), 40, 1 / 3, np.random.default_rng(0))
    val = split.validation
    assert val.negative_set is not None
    assert np.array_equal(val.negative_set == 0, val.label == 1)
    counts = np.bincount(val.negative_set, minlength=3)
    assert counts[0] == counts[1] == counts[2] == 27  # positives, study, matched
    study, matched = val.for_protocol("study"), val.for_protocol("matched")
    assert np.array_equal(study.item_a[study.label == 1], matched.item_a[matched.label == 1])
    assert len(study) == len(matched) == 54
    with pytest.raises(ValueError, match="protocol"):
        val.for_protocol("uniform")  # type: ignore[arg-type]
