"""Shared helpers of the window-kernel tests: random walks, their draws, numba threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numba
import numpy as np

from recsys.training.batching import WalkBatch, unigram_probabilities
from recsys.training.sequences import keep_probability
from recsys.training.walk_batches import NO_DROPS, draw_walk_batch, negative_table


@contextmanager
def numba_threads(n: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def random_walks(seed: int, n_items: int = 12, shape: tuple[int, int] = (20, 9)) -> np.ndarray:
    # Few items: windows repeat products, so update order and accumulation both matter.
    return np.random.default_rng(seed).integers(0, n_items, shape).astype(np.int32)


def draw(
    walks: np.ndarray,
    n_items: int,
    reduced: bool,
    subsample: float,
    seed: int = 3,
    drop_prob: np.ndarray = NO_DROPS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Window 4, 3 negatives: (keep, reach, negatives, drop_id, positive pairs)."""
    counts = np.bincount(walks.reshape(-1), minlength=n_items)
    keep_prob = keep_probability(counts, subsample)
    table = negative_table(unigram_probabilities(counts))
    return draw_walk_batch(walks, keep_prob, table, 4, reduced, 3, seed, drop_prob)


def two_token_walk(
    first: int, second: int, negatives: np.ndarray, reach: tuple[int, int] = (1, 1)
) -> WalkBatch:
    """The walk [first, second], nothing subsampled: with window 1 at both targets (the
    default ``reach``) two windows (second as input against first, then first against
    second); a reach of 0 leaves that target's window empty. ``negatives`` (1, 2, K)."""
    return WalkBatch(
        walks=np.array([[first, second]], dtype=np.int32),
        keep=np.ones((1, 2), dtype=bool),
        reach=np.array([reach], dtype=np.int32),
        negatives=negatives,
        drop_id=np.zeros((1, 2), dtype=bool),
        n_pairs=sum(reach),
        progress=1.0,
    )
