"""Seeded train / validation split of unique pairs, with two sets of validation negatives.

The study shuffles the unique pairs, holds out a third as validation positives and draws
as many negatives from the *set* of validation products: "put the set of products in an
array, shuffle the array, for each iteration take a slice of 2" (eugeneyan/recsys-nlp-graph,
``src/prep/train_val_split.py``). Each distinct product is equally likely in a negative, a
hub no likelier than a leaf, while positives favour popular products: popularity alone
earns AUC under this protocol (``study``).

The second set (``matched``) pairs up the validation pairs' two product columns *with
multiplicity*, so a product appears in the negatives as often as in the positives: degree
is matched, and a method cannot score well just by preferring popular products. Every
prepared dataset carries both sets beside the same positives, so one run reports both
protocols and the gap between them says how much of a method's AUC is popularity.

Both are drawn in vectorized rounds: each round permutes the pool, pairs the first half
with the second, and keeps the candidates that are not a self-pair, not any known positive
(train or validation) and not an earlier negative of the same set; rounds repeat until
there are exactly as many negatives as positives.

Matching can fail where every pair of a hub is a positive (a star: the hub is in every
validation positive and can be in no negative). :func:`multiplicity_distance` measures how
far the matched negatives' product counts are from the positives' (about 0.007 on the
Digital Music sample, 0.0004 on SNAP's Music0601); above :data:`MATCHED_DISTANCE_WARNING`
the ``matched`` protocol no longer removes the popularity signal, and preparing says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from recsys.data.dataset import (
    NEGATIVE_SET_CODES,
    PairTable,
    PreparedDataset,
    Protocol,
    ValidationPairs,
)
from recsys.data.errors import DataError
from recsys.data.pairs import UniquePairs, undirected_keys
from recsys.typing import ItemIds

MAX_ROUNDS = 64  # a dense graph may reject most candidates; past this, say so
# Total-variation distance above which matched negatives are called unmatched: a hub in
# every positive and no negative (a 2,000-leaf star) gives 0.5, real samples below 0.01, a
# tiny sample of 2,670 positives (synthetic-small:0.002) 0.10 from rejected repeats alone.
MATCHED_DISTANCE_WARNING = 0.15
# Validation positives below which preparing warns that AUCs cannot tell methods apart:
# with as many negatives as positives, Hanley & McNeil's standard error puts the 95%
# interval of an AUC of 0.8 at ±0.05 with 150 positives (±0.10 with 40, ±0.50 with 2),
# as wide as the gaps between method families in docs/results.md. 0.8 is mid-range of the
# AUCs there (0.5 to 0.99); a lower AUC has a wider interval (±0.064 at 0.6, 150 positives).
FEW_POSITIVES_WARNING = 150
TYPICAL_AUC = 0.8
Negatives = Literal["matched", "uniform"]
NEGATIVE_MODES: tuple[str, ...] = ("matched", "uniform")
# Which pool each protocol draws its negatives from, and the order the sets are drawn in
# (the study's first, so its negatives do not depend on whether matched ones are drawn).
PROTOCOL_POOLS: dict[Protocol, Negatives] = {"study": "uniform", "matched": "matched"}


@dataclass(frozen=True)
class SplitNames:
    """What a split's errors call its pairs and fraction, and what they tell the user to do:
    the inner splits (early stopping, tuning, the degree prior) are set by other parameters
    than the main split, and an error naming ``validation_fraction`` would mislead there."""

    pairs: str = "unique pairs"
    held_out: str = "validation"
    fraction: str = "validation_fraction"
    remedy: str = (
        "Use a dataset with more pairs or another --validation-fraction / -P validation_fraction."
    )


MAIN_SPLIT = SplitNames()


@dataclass(frozen=True)
class SplitResult:
    """Training pairs and labelled validation pairs (positives first, then negatives)."""

    train: PairTable
    validation: ValidationPairs
    matched_distance: float  # see multiplicity_distance: 0 = degree-matched exactly


def _is_member(keys: npt.NDArray[np.int64], sorted_keys: npt.NDArray[np.int64]) -> npt.NDArray:
    """Whether each key occurs in ``sorted_keys`` (binary search, no hashing)."""
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    where = np.searchsorted(sorted_keys, keys)
    where[where == sorted_keys.size] = 0
    return sorted_keys[where] == keys


def negative_pool(val_a: ItemIds, val_b: ItemIds, negatives: str) -> ItemIds:
    """The products negatives are drawn from, given the validation positives.

    Args:
        val_a, val_b: the validation positives.
        negatives: ``"matched"``: both columns with multiplicity, so a product appears as
            often as in the positives (degree-matched); ``"uniform"``: each distinct
            validation product equally often (the study's protocol). The distinct
            products are repeated until the pool is as large as the matched one, so a
            round yields as many candidates either way (a small set of distinct products
            would otherwise need many rounds).

    Raises:
        ValueError: ``negatives`` is neither mode.
    """
    pool = np.concatenate([val_a, val_b])
    if negatives == "matched":
        return pool
    if negatives == "uniform":
        distinct = np.unique(pool)
        return np.tile(distinct, -(-pool.size // max(distinct.size, 1)))
    raise ValueError(f"negatives must be one of {NEGATIVE_MODES}, got {negatives!r}")


def auc_half_interval(auc: float, n_positives: int, n_negatives: int) -> float:
    """Half the 95% interval of an AUC from its counts alone (Hanley & McNeil, Radiology
    1982, eq. 1: the DeLong interval's expected width before any score is seen)."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (
        auc * (1 - auc) + (n_positives - 1) * (q1 - auc**2) + (n_negatives - 1) * (q2 - auc**2)
    ) / max(n_positives * n_negatives, 1)
    return 1.96 * float(np.sqrt(variance))


def multiplicity_distance(
    pos_a: ItemIds, pos_b: ItemIds, neg_a: ItemIds, neg_b: ItemIds, n_items: int
) -> float:
    """Total-variation distance between how often each product appears in the positives
    and in the negatives (0: the same shares, 1: no product in common), shape (pairs,) each.

    Matched negatives should score near 0; a large value says the negatives could not
    follow the positives' degrees, so popularity still separates the two.
    """
    positives = np.bincount(np.concatenate([pos_a, pos_b]), minlength=n_items)
    negatives = np.bincount(np.concatenate([neg_a, neg_b]), minlength=n_items)
    if positives.sum() == 0 or negatives.sum() == 0:
        return 0.0
    share = positives / positives.sum() - negatives / negatives.sum()
    return float(0.5 * np.abs(share).sum())


def sample_negatives(
    pool: ItemIds,
    positive_keys: npt.NDArray[np.int64],
    n_items: int,
    count: int,
    rng: np.random.Generator,
    names: SplitNames = MAIN_SPLIT,
) -> tuple[ItemIds, ItemIds]:
    """``count`` distinct negative pairs (a < b) among the products of ``pool``.

    Args:
        pool: products to pair up, see :func:`negative_pool`; a product's share of the pool
            is its chance of landing in a negative.
        positive_keys: sorted ``a * n_items + b`` (a < b) of every known positive pair.
        n_items: number of products.
        count: negatives wanted.
        rng: the split's generator.
        names: how the error names the split and what to do.

    Raises:
        DataError: after MAX_ROUNDS rounds there are still too few valid candidates (the
            validation products are nearly all connected to each other).
    """
    half = pool.size // 2
    found: list[npt.NDArray[np.int64]] = []
    found_sorted = np.zeros(0, dtype=np.int64)
    have = 0
    for _ in range(MAX_ROUNDS):
        need = count - have
        if need <= 0:
            break
        order = rng.permutation(pool.size)
        # After the first round only a few are missing: pair up no more than needed (with
        # room for rejections) instead of the whole shuffled pool again.
        size = half if not found else min(half, 2 * need + 1024)
        left, right = pool[order[:size]], pool[order[size : 2 * size]]
        keys = undirected_keys(left, right, n_items)[left != right]
        # Sorted unique candidates: membership by binary search is fast on sorted needles
        # (numpy reuses the previous position), and repeats within the round go at once.
        unique, first = np.unique(keys, return_index=True)
        fresh = ~_is_member(unique, positive_keys) & ~_is_member(unique, found_sorted)
        keys = keys[np.sort(first[fresh])][:need]  # back in draw order, the first ones win
        found.append(keys)
        have += keys.size
        found_sorted = np.sort(np.concatenate([found_sorted, keys]))
    if have < count:
        raise DataError(
            f"could draw only {have:,} of {count:,} {names.held_out} negatives in {MAX_ROUNDS} "
            f"rounds: the {names.held_out} products are almost all paired with each other. "
            f"{names.remedy}"
        )
    keys = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
    return (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)


def split_pairs(
    pairs: UniquePairs,
    n_items: int,
    validation_fraction: float,
    rng: np.random.Generator,
    names: SplitNames = MAIN_SPLIT,
) -> SplitResult:
    """Hold out ``validation_fraction`` of the unique pairs and draw both negative sets.

    Args:
        pairs: unique undirected pairs, item_a < item_b.
        n_items: number of products (item ids are 0..n_items-1).
        validation_fraction: share of pairs held out, in (0, 1).
        rng: seeded generator; the same seed gives the same split.
        names: how errors name the pairs, the fraction and what to do.

    Returns:
        Training pairs (sorted by item_a, item_b) and validation pairs: held-out positives
        (label 1), then as many ``study`` negatives, then as many ``matched`` ones (label 0,
        ``negative_set`` says which), with ``seen`` marking pairs whose two products are
        both in some training pair.

    Raises:
        DataError: too few pairs to leave both a training and a validation pair.
        ValueError: ``validation_fraction`` outside (0, 1).
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    n_pairs = len(pairs)
    n_validation = round(n_pairs * validation_fraction)
    if n_validation < 1 or n_validation >= n_pairs:
        raise DataError(
            f"{n_pairs:,} {names.pairs} cannot be split with {names.fraction}="
            f"{validation_fraction:.3g}: it holds out {n_validation:,} of them, and each side "
            f"needs at least one pair. {names.remedy}"
        )
    order = rng.permutation(n_pairs)
    held_out = order[:n_validation]
    train_rows = np.sort(order[n_validation:])  # pairs arrive sorted: keep train sorted too
    val_a, val_b = pairs.item_a[held_out], pairs.item_b[held_out]
    positive_keys = np.sort(undirected_keys(pairs.item_a, pairs.item_b, n_items))
    columns_a, columns_b, sets = [val_a], [val_b], [np.zeros(n_validation, np.int8)]
    matched_distance = 0.0
    for protocol, pool_mode in PROTOCOL_POOLS.items():
        pool = negative_pool(val_a, val_b, pool_mode)
        neg_a, neg_b = sample_negatives(pool, positive_keys, n_items, n_validation, rng, names)
        columns_a.append(neg_a)
        columns_b.append(neg_b)
        sets.append(np.full(neg_a.size, NEGATIVE_SET_CODES[protocol], np.int8))
        if protocol == "matched":
            matched_distance = multiplicity_distance(val_a, val_b, neg_a, neg_b, n_items)

    train = PairTable(
        item_a=pairs.item_a[train_rows],
        item_b=pairs.item_b[train_rows],
        weight=pairs.weight[train_rows],
        relations=pairs.relations[train_rows],
    )
    in_train = np.zeros(n_items, dtype=bool)
    in_train[train.item_a] = True
    in_train[train.item_b] = True
    item_a = np.concatenate(columns_a).astype(np.int32)
    item_b = np.concatenate(columns_b).astype(np.int32)
    negative_set = np.concatenate(sets)
    validation = ValidationPairs(
        item_a=item_a,
        item_b=item_b,
        label=(negative_set == 0).astype(np.int8),
        seen=in_train[item_a] & in_train[item_b],
        negative_set=negative_set,
    )
    return SplitResult(train=train, validation=validation, matched_distance=matched_distance)


def source_of(dataset: PreparedDataset) -> str:
    """The file a dataset was read from (its name when it has no manifest): what errors and
    warnings about it, or about a split of it, should name."""
    return str(dataset.manifest.get("source") or dataset.name)


def few_held_out_warning(
    held_out: PreparedDataset, slice_name: str, setting: str, consequence: str, remedy: str
) -> str | None:
    """The one-line warning for an inner split whose held-out positives are too few to
    choose on (None when there are enough): the threshold and interval of ``recsys
    prepare``'s warning about the validation split, naming the file, the slice and the
    setting that sized it (``early_stopping_fraction=0.05``)."""
    positives = int(np.count_nonzero(held_out.validation.label))
    if positives >= FEW_POSITIVES_WARNING:
        return None
    half = auc_half_interval(TYPICAL_AUC, positives, positives)  # as many negatives
    return (
        f"{source_of(held_out)}: only {positives} held-out positives in {slice_name} (fewer "
        f"than {FEW_POSITIVES_WARNING}, {setting}): its AUC's 95% interval is about "
        f"±{half:.2f} at AUC {TYPICAL_AUC:.1f}, so {consequence}; {remedy}"
    )


def inner_names(fraction: str, remedy: str) -> SplitNames:
    """Error names for an inner split set by the parameter ``fraction``."""
    return SplitNames(pairs="training pairs", held_out="held-out", fraction=fraction, remedy=remedy)


# An inner split whose caller names no parameter of its own.
INNER_SPLIT = inner_names("the inner split's fraction", "Use a dataset with more pairs.")


def inner_split(
    dataset: PreparedDataset, fraction: float, seed: int, names: SplitNames = INNER_SPLIT
) -> PreparedDataset:
    """The training pairs split again like the outer split (both negative sets).

    What a method may calibrate or stop on without looking at the reported validation
    pairs: its ``train`` is the rest of the training pairs, its ``validation`` a held-out
    ``fraction`` of them with as many negatives per protocol. No cache folder (walks of
    its graph are not the dataset's). Its manifest keeps only the dataset's ``source``, so
    a split nested in it (early stopping inside a tuning trial) still names the file.

    Raises:
        DataError: too few training pairs, or no negatives to draw; the message names the
            dataset's file (as the main split's does), ``names.fraction`` and what to do.
    """
    train = dataset.train
    pairs = UniquePairs(train.item_a, train.item_b, train.weight, train.relations)
    try:
        split = split_pairs(pairs, dataset.n_items, fraction, np.random.default_rng(seed), names)
    except DataError as error:
        raise DataError(f"{source_of(dataset)}: {error}") from None
    return PreparedDataset(
        name=f"{dataset.name} (inner split)",
        products=dataset.products,
        train=split.train,
        validation=split.validation,
        manifest={"source": source_of(dataset)},
    )
