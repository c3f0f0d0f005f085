"""Batches of walks with every random draw made up front, for the CPU window kernels.

The window kernels (:mod:`recsys.training.window_sgns` for skip-gram and MF on sequences,
:mod:`recsys.training.window_side_info` for EGES) train straight from walk matrices. Every
random draw they need (subsampling, reduced windows, shared negatives, EGES's id dropout)
is made per batch here, before the kernel, from one counter-based stream per walk
(SplitMix64), so the kernels are pure functions of their inputs, their numpy references
reproduce them, and the draws do not depend on the thread count.
"""

from __future__ import annotations

from collections.abc import Iterator

import numba
import numpy as np
import scipy.sparse as sp
import torch
from numba import prange

from recsys.graph.alias import alias_tables
from recsys.training.batching import WalkBatch, unigram_probabilities
from recsys.training.config import WindowConfig
from recsys.training.sequences import (
    check_walk_matrix,
    keep_probability,
    pairs_per_walk,
    token_counts,
)
from recsys.typing import WalkMatrix

NO_DROPS = np.empty(0, dtype=np.float32)  # ``drop_prob`` of a model without id dropout

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_LOW_32 = np.uint64(0xFFFFFFFF)


@numba.njit(nogil=True, inline="always")
def _splitmix64(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    """(next state, 64 random bits): SplitMix64 (Steele et al. 2014), a counter-based stream."""
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    return state, z ^ (z >> np.uint64(31))


@numba.njit(nogil=True, inline="always")
def _uniform(bits: np.uint64) -> float:
    """A float in [0, 1) from the top 53 bits."""
    return float(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def negative_table(probabilities: np.ndarray) -> np.ndarray:
    """Walker's alias table of ``probabilities`` (:func:`unigram_probabilities`), one uint64
    per item: (alias item << 32) | acceptance threshold in units of 2**-32.

    A negative then costs one read of one table entry (:func:`draw_negative`). Inverse-CDF
    from a guide table (Chen and Asau 1974) reads the guide and the CDF, two cache misses
    per negative once the kernel's rows have pushed both out of cache: 14% of a skip-gram
    epoch's draws and kernel at Electronics scale, against 7% with this table
    (docs/benchmarks.md, "Negatives from an alias table").
    Items of probability 0 are never drawn (threshold 0, aliased to a drawable item).
    """
    weights = np.asarray(probabilities, dtype=np.float64)
    n = weights.size
    one_row = sp.csr_matrix((weights, np.arange(n), np.array([0, n])), shape=(1, n))
    alias, probability = alias_tables(one_row)
    threshold = np.minimum(np.floor(probability.astype(np.float64) * 2.0**32), 2.0**32 - 1)
    never = weights <= 0.0
    threshold[never] = 0.0
    stuck = never & (alias == np.arange(n))  # rounding left it as its own alias
    alias[stuck] = int(np.argmax(weights))
    return (alias.astype(np.uint64) << np.uint64(32)) | threshold.astype(np.uint64)


@numba.njit(nogil=True, inline="always")
def draw_negative(table: np.ndarray, bits: np.uint64) -> np.int64:
    """One item from :func:`negative_table`'s distribution, from 64 random bits: the high
    32 pick a slot (Lemire's multiply-shift), the low 32 accept it or take its alias."""
    slot = ((bits >> np.uint64(32)) * np.uint64(table.size)) >> np.uint64(32)
    entry = table[slot]
    if (bits & _LOW_32) < (entry & _LOW_32):
        return np.int64(slot)
    return np.int64(entry >> np.uint64(32))


@numba.njit(nogil=True, parallel=True, cache=True)
def draw_walk_batch(
    walks: np.ndarray,
    keep_prob: np.ndarray,
    table: np.ndarray,
    window: int,
    reduced_window: bool,
    negatives: int,
    seed: int,
    drop_prob: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """A batch's random draws: subsampling, reduced windows, each kept token's negatives
    and whether it drops its id (EGES's id dropout).

    Each walk row has its own SplitMix64 stream keyed by (``seed``, row), so the draws do not
    depend on the thread count. Negatives are drawn from ``table`` (:func:`negative_table`
    of the walks' unigram ** 0.75, gensim's ``cum_table`` distribution); dropped tokens get
    none (-1). ``drop_prob`` (n_items,) is each product's id-dropout probability, empty for
    none; its draws follow a token's negatives in the stream, so without it the other draws
    are unchanged.

    Returns:
        (keep (n, L) bool, reach (n, L) int32, negatives (n, L, K) int64,
        drop_id (n, L) bool, positive pairs).
    """
    n_walks, length = walks.shape
    keep = np.empty((n_walks, length), dtype=np.bool_)
    reach = np.empty((n_walks, length), dtype=np.int32)
    drawn = np.full((n_walks, length, negatives), -1, dtype=np.int64)
    drop_id = np.zeros((n_walks, length), dtype=np.bool_)
    with_drops = drop_prob.size > 0
    total = 0
    for r in prange(n_walks):
        state = np.uint64(seed) * _GOLDEN + np.uint64(r + 1) * _MIX_1
        n_kept = 0
        for t in range(length):
            state, bits = _splitmix64(state)
            keep[r, t] = _uniform(bits) < keep_prob[walks[r, t]]
            n_kept += keep[r, t]
            if reduced_window:
                state, bits = _splitmix64(state)
                reach[r, t] = 1 + np.int32(bits % np.uint64(window))
            else:
                reach[r, t] = window
        p = 0
        for t in range(length):
            if not keep[r, t]:
                continue
            total += min(p, reach[r, t]) + min(n_kept - 1 - p, reach[r, t])
            p += 1
            for j in range(negatives):
                state, bits = _splitmix64(state)
                drawn[r, t, j] = draw_negative(table, bits)
            if with_drops:
                state, bits = _splitmix64(state)
                drop_id[r, t] = _uniform(bits) < drop_prob[walks[r, t]]
    return keep, reach, drawn, drop_id, total


@numba.njit(nogil=True, inline="always")
def widest_reach(reach: np.ndarray) -> int:
    """The largest window any target of the batch has (at least 1): sizes a kernel's buffers."""
    widest = 1
    for r in range(reach.shape[0]):
        for t in range(reach.shape[1]):
            widest = max(widest, reach[r, t])
    return widest


@numba.njit(nogil=True, inline="always")
def kept_tokens(walks: np.ndarray, keep: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Walk ``r``'s kept tokens compacted to the front, as word2vec drops subsampled tokens
    before windowing: (tokens, their positions in the walk, how many)."""
    length = walks.shape[1]
    tokens = np.empty(length, dtype=np.int64)
    slots = np.empty(length, dtype=np.int64)
    n = 0
    for t in range(length):
        if keep[r, t]:
            tokens[n] = walks[r, t]
            slots[n] = t
            n += 1
    return tokens, slots, n


@numba.njit(nogil=True, inline="always")
def fill_window(
    tokens: np.ndarray,
    slots: np.ndarray,
    n: int,
    p: int,
    reach: np.ndarray,
    negatives: np.ndarray,
    r: int,
    inputs: np.ndarray,
    input_positions: np.ndarray,
    outputs: np.ndarray,
    labels: np.ndarray,
) -> int:
    """Target ``p``'s window of walk ``r`` (kept tokens of :func:`kept_tokens`): its inputs
    and their positions among the kept tokens, the target and its shared negatives with
    their labels (1, 0, or -1 for a negative that is the target itself, which word2vec
    skips). Returns how many inputs (0: no pair)."""
    b = reach[r, slots[p]]
    m = 0
    for q in range(max(0, p - b), min(n, p + b + 1)):
        if q != p:
            inputs[m] = tokens[q]
            input_positions[m] = q
            m += 1
    target = tokens[p]
    outputs[0] = target
    labels[0] = 1.0
    for j in range(negatives.shape[2]):
        outputs[1 + j] = negatives[r, slots[p], j]
        labels[1 + j] = -1.0 if outputs[1 + j] == target else 0.0
    return m


class WalkBatchSource:
    """Batches of walks with their draws for :func:`window_sgns_step` (CPU SGD).

    Each epoch the walks are shuffled and cut into batches of about ``batch_size`` positive
    pairs; per batch, subsampling (word2vec's keep probability), reduced windows and
    negatives (walk unigram ** 0.75) are drawn in bulk by :func:`draw_walk_batch`.

    Args:
        walk_matrix: (n_walks, walk_length) int32 walks.
        n_items: vocabulary size.
        window: context window on each side.
        subsample: word2vec subsampling threshold (0 = off).
        batch_size: about how many positive pairs per batch.
        negatives: negatives per window (shared by its inputs).
        reduced_window: draw each target's window in 1..window (word2vec, gensim).
        counts: :func:`token_counts` of ``walk_matrix`` when the caller has them.
        id_drop: (n_items,) each product's probability of dropping its id term as an input
            (EGES's id dropout, :mod:`recsys.training.window_side_info`); None for none.
    """

    def __init__(
        self,
        walk_matrix: WalkMatrix,
        n_items: int,
        window: int,
        subsample: float,
        batch_size: int,
        negatives: int,
        reduced_window: bool = False,
        counts: np.ndarray | None = None,
        id_drop: np.ndarray | None = None,
    ) -> None:
        check_walk_matrix(walk_matrix, n_items)
        if id_drop is not None and id_drop.shape != (n_items,):
            raise ValueError(f"id_drop has shape {id_drop.shape}, expected ({n_items},)")
        self.drop_prob = NO_DROPS if id_drop is None else id_drop.astype(np.float32)
        self.walks = np.ascontiguousarray(walk_matrix, dtype=np.int32)
        self.counts = token_counts(walk_matrix, n_items) if counts is None else counts
        self.keep_prob = keep_probability(self.counts, subsample)
        self.negative_table = negative_table(unigram_probabilities(self.counts))
        self.window = window
        self.negatives = negatives
        self.reduced_window = reduced_window
        kept_fraction = float((self.counts * self.keep_prob).sum() / max(self.counts.sum(), 1))
        per_walk = pairs_per_walk(walk_matrix.shape[1] * kept_fraction, window, reduced_window)
        self.walks_per_batch = max(1, int(batch_size // max(per_walk, 1.0)))
        self.batch_size = batch_size

    def batches_per_epoch(self) -> int:
        return max(1, -(-self.walks.shape[0] // self.walks_per_batch))

    def epoch(self, generator: torch.Generator, skip: int = 0) -> Iterator[WalkBatch]:
        seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        rng = np.random.default_rng(seed)
        n_walks = self.walks.shape[0]
        order = rng.permutation(n_walks)
        for index, start in enumerate(range(0, n_walks, self.walks_per_batch)):
            batch_seed = int(rng.integers(0, 2**62))  # a skipped batch only advances rng
            if index < skip:
                continue
            stop = min(start + self.walks_per_batch, n_walks)
            walks = self.walks[np.sort(order[start:stop])]
            keep, reach, negatives, drop_id, n_pairs = draw_walk_batch(
                walks,
                self.keep_prob,
                self.negative_table,
                self.window,
                self.reduced_window,
                self.negatives,
                batch_seed,
                self.drop_prob,
            )
            yield WalkBatch(walks, keep, reach, negatives, drop_id, int(n_pairs), stop / n_walks)


def walk_batch_source(
    walk_matrix: WalkMatrix,
    n_items: int,
    config: WindowConfig,
    id_drop: np.ndarray | None = None,
) -> tuple[WalkBatchSource, np.ndarray]:
    """The walk-batch source of a walk method's config, and its vocabulary (as
    :func:`recsys.training.sequences.window_pair_source`); ``id_drop`` as
    :class:`WalkBatchSource`'s."""
    counts = token_counts(walk_matrix, n_items)
    source = WalkBatchSource(
        walk_matrix,
        n_items,
        window=config.window,
        subsample=config.subsample,
        batch_size=config.batch_size,
        negatives=config.negatives,
        reduced_window=config.reduced_window,
        counts=counts,
        id_drop=id_drop,
    )
    return source, counts > 0
