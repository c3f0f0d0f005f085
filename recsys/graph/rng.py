"""A counter-based random stream per walker, for numba kernels.

Each walk gets its own splitmix64 stream whose start state is a hash of (seed, walk
index). Walks therefore depend only on the seed: the same matrix comes out for any thread
count and any chunking (numba's own ``np.random`` inside ``prange`` keeps one state per
thread, so its output changes with the thread count and the scheduling).

All constants are ``np.uint64``: numba promotes ``uint64 op int64`` to float64, which would
silently destroy the bits.
"""

from __future__ import annotations

import numba
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53: 53 random bits -> [0, 1)


@numba.njit(inline="always", nogil=True)
def mix64(z: np.uint64) -> np.uint64:
    """splitmix64's finalizer: a bijective scramble of 64 bits."""
    z = (z ^ (z >> _S30)) * _MIX_1
    z = (z ^ (z >> _S27)) * _MIX_2
    return z ^ (z >> _S31)


@numba.njit(inline="always", nogil=True)
def walker_state(seed: np.uint64, walk_index: np.uint64) -> np.uint64:
    """Start state of walk ``walk_index``: hashed, so neighbouring walks' streams do not overlap."""
    return mix64(mix64(seed + _GOLDEN) ^ (walk_index * _GOLDEN))


@numba.njit(inline="always", nogil=True)
def next_uniform(state: np.uint64) -> tuple[np.uint64, float]:
    """Advance the stream; returns (new state, a float64 uniform in [0, 1))."""
    state = state + _GOLDEN
    return state, float(mix64(state) >> _S11) * _TO_UNIT
