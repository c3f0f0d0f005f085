"""Random walks over the CSR product graph: first-order (DeepWalk) and node2vec.

Both kernels are numba ``prange`` loops over walks with the output matrix allocated up
front. A neighbour is drawn in O(1) from per-node alias tables (one int32 and one float32
per edge, see :mod:`recsys.graph.alias`).

node2vec's second-order step uses rejection sampling (KnightKing, SOSP 2019; PecanPy's
SparseOTF idea without its per-step O(degree) normalisation): propose x from the
first-order weights w_vx, accept with probability alpha(t, x) / max_alpha, where t is the
previous node and alpha = 1/p if x == t, 1 if x is a neighbour of t (binary search in t's
sorted row), else 1/q. The accepted x then follows alpha * w_vx exactly, and memory stays
O(edges): no alias table per edge, which is what ran the study's node2vec out of 64 GB.

Every walk has its own random stream (:mod:`recsys.graph.rng`), so the matrix depends only
on the seed, not on the thread count.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp
from numba import prange
from tqdm.auto import tqdm

from recsys.cores import resolve_workers
from recsys.graph.alias import alias_draw, alias_tables
from recsys.graph.csr import walk_start_nodes
from recsys.graph.rng import next_uniform, walker_state
from recsys.typing import ItemIds, WalkMatrix

# Walks per kernel call; small enough for a live progress bar, large enough that the
# per-call overhead (thread pool wake-up) is negligible.
_CHUNK_WALKS = 1 << 18
# Walkers one thread advances together (see _first_order_kernel). 16 is a guess within the
# usual memory-level parallelism of a core (10-20 outstanding misses); not tuned.
_LOCKSTEP_WALKERS = 16
# Rejection sampling needs max_alpha / min_alpha proposals per step in the worst case.
_SLOW_ALPHA_RATIO = 50.0


@numba.njit(inline="always", nogil=True)
def _has_edge(indptr: np.ndarray, indices: np.ndarray, node: int, other: int) -> bool:
    """Whether ``other`` is in ``node``'s sorted row (binary search)."""
    lo = indptr[node]
    hi = indptr[node + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        value = indices[mid]
        if value == other:
            return True
        if value < other:
            lo = mid + 1
        else:
            hi = mid
    return False


@numba.njit(inline="always", nogil=True)
def _start_block(
    indptr: np.ndarray,
    indices: np.ndarray,
    alias_index: np.ndarray,
    alias_probability: np.ndarray,
    starts: np.ndarray,
    first_walk_index: int,
    seed: np.uint64,
    begin: int,
    end: int,
    first_order_nodes: int,
    out: np.ndarray,
) -> np.ndarray:
    """Seed walkers ``begin:end`` (one random stream per walk index, so the walks do not
    depend on threads or chunks) and fill their first ``first_order_nodes`` nodes with
    first-order steps, in lockstep; returns the walkers' random states."""
    states = np.empty(end - begin, dtype=np.uint64)
    for w in range(begin, end):
        states[w - begin] = walker_state(seed, np.uint64(first_walk_index + w))
        out[w, 0] = starts[w]
    for step in range(1, min(first_order_nodes, out.shape[1])):
        for w in range(begin, end):
            state, u = next_uniform(states[w - begin])
            states[w - begin] = state
            node = out[w, step - 1]
            out[w, step] = alias_draw(indptr, indices, alias_index, alias_probability, node, u)
    return states


@numba.njit(nogil=True, parallel=True, cache=True)
def _first_order_kernel(
    indptr: np.ndarray,
    indices: np.ndarray,
    alias_index: np.ndarray,
    alias_probability: np.ndarray,
    starts: np.ndarray,
    first_walk_index: int,
    seed: np.uint64,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (n, walk_length) with first-order walks from ``starts`` (n,).

    Each thread advances a block of walkers in lockstep, one step for all of them at a
    time: their memory loads are independent, so the CPU keeps several cache misses in
    flight instead of waiting on one walker's chain. Measured on the 418k-node, 4.0M-pair
    benchmark graph (bench_walks.py's synthetic-random, 10 walks per node, 2026-11-23, a
    loaded 2-core VM): 15.7 s lockstep vs 55.3 s walker-by-walker on 1 thread, 9.0 vs 23.2 s
    on 2 threads.
    """
    n_walks, walk_length = out.shape
    n_blocks = (n_walks + _LOCKSTEP_WALKERS - 1) // _LOCKSTEP_WALKERS
    for block in prange(n_blocks):
        begin = block * _LOCKSTEP_WALKERS
        end = min(begin + _LOCKSTEP_WALKERS, n_walks)
        _start_block(
            indptr, indices, alias_index, alias_probability, starts, first_walk_index, seed,
            begin, end, walk_length, out,
        )  # fmt: skip


@numba.njit(inline="always", nogil=True)
def _node2vec_step(
    indptr: np.ndarray,
    indices: np.ndarray,
    alias_index: np.ndarray,
    alias_probability: np.ndarray,
    previous: int,
    node: int,
    state: np.uint64,
    inverse_p: float,
    inverse_q: float,
    max_alpha: float,
) -> tuple[int, np.uint64]:
    """One second-order step by rejection; returns (next node, new random state).

    The acceptance draw comes before the edge test: a draw below min(1, 1/q) accepts and one
    above max(1, 1/q) rejects whatever the candidate is, so the binary search in the previous
    node's row runs only in between (a quarter of proposals for p = 0.5, q = 2).
    """
    low = min(1.0, inverse_q)
    high = max(1.0, inverse_q)
    while True:
        state, u = next_uniform(state)
        candidate = alias_draw(indptr, indices, alias_index, alias_probability, node, u)
        state, u = next_uniform(state)
        threshold = u * max_alpha
        if candidate == previous:
            if threshold < inverse_p:
                return candidate, state
            continue
        if threshold < low:
            return candidate, state
        if threshold >= high:
            continue
        alpha = 1.0 if _has_edge(indptr, indices, previous, candidate) else inverse_q
        if threshold < alpha:
            return candidate, state


@numba.njit(nogil=True, parallel=True, cache=True)
def _node2vec_kernel(
    indptr: np.ndarray,
    indices: np.ndarray,
    alias_index: np.ndarray,
    alias_probability: np.ndarray,
    starts: np.ndarray,
    first_walk_index: int,
    seed: np.uint64,
    inverse_p: float,
    inverse_q: float,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (n, walk_length) with node2vec walks by rejection sampling (lockstep)."""
    n_walks, walk_length = out.shape
    max_alpha = max(inverse_p, 1.0, inverse_q)
    n_blocks = (n_walks + _LOCKSTEP_WALKERS - 1) // _LOCKSTEP_WALKERS
    for block in prange(n_blocks):
        begin = block * _LOCKSTEP_WALKERS
        end = min(begin + _LOCKSTEP_WALKERS, n_walks)
        # The first step has no previous node: it is first-order.
        states = _start_block(
            indptr, indices, alias_index, alias_probability, starts, first_walk_index, seed,
            begin, end, 2, out,
        )  # fmt: skip
        for step in range(2, walk_length):
            for w in range(begin, end):
                node, state = _node2vec_step(
                    indptr,
                    indices,
                    alias_index,
                    alias_probability,
                    out[w, step - 2],
                    out[w, step - 1],
                    states[w - begin],
                    inverse_p,
                    inverse_q,
                    max_alpha,
                )
                states[w - begin] = state
                out[w, step] = node


@dataclass(frozen=True)
class WalkGraph:
    """The arrays the kernels read, prepared once per graph (indices sorted per row)."""

    indptr: np.ndarray  # (n_nodes + 1,) int64
    indices: np.ndarray  # (nnz,) int32, sorted within each row
    alias_index: np.ndarray  # (nnz,) int32 alias slot within the row
    alias_probability: np.ndarray  # (nnz,) float32 probability of keeping the slot
    start_nodes: ItemIds  # nodes with degree > 0

    @classmethod
    def from_adjacency(cls, adjacency: sp.csr_matrix) -> WalkGraph:
        """Check and convert a symmetric CSR adjacency (see recsys.graph.csr.build_graph)."""
        if adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"adjacency must be square, got shape {adjacency.shape}")
        if not adjacency.has_sorted_indices:
            adjacency = adjacency.sorted_indices()
        if adjacency.nnz and adjacency.data.min() <= 0:
            raise ValueError("edge weights must be positive")
        alias_index, alias_probability = alias_tables(adjacency)
        return cls(
            indptr=adjacency.indptr.astype(np.int64, copy=False),
            indices=adjacency.indices.astype(np.int32, copy=False),
            alias_index=alias_index,
            alias_probability=alias_probability,
            start_nodes=walk_start_nodes(adjacency),
        )


def walk_starts(start_nodes: ItemIds, walks_per_node: int, rng: np.random.Generator) -> ItemIds:
    """Start node of every walk: ``walks_per_node`` rounds, each a fresh permutation.

    Shuffling each round (as DeepWalk and PecanPy do) spreads one node's walks over the
    corpus, which matters to gensim: its learning rate decays along the corpus.
    """
    rounds = [rng.permutation(start_nodes) for _ in range(walks_per_node)]
    if not rounds or start_nodes.size == 0:
        return np.empty(0, dtype=np.int32)
    return np.concatenate(rounds).astype(np.int32, copy=False)


def warn_if_wasteful(p: float, q: float) -> None:
    """Warn about node2vec settings that cost time for nothing or sample very slowly."""
    if p == 1.0 and q == 1.0:
        return
    alphas = (1.0 / p, 1.0, 1.0 / q)
    ratio = max(alphas) / min(alphas)
    if ratio > _SLOW_ALPHA_RATIO:
        warnings.warn(
            f"node2vec p={p}, q={q}: rejection sampling may need up to {ratio:.0f} proposals "
            "per step; walks will be slow. Values within [0.1, 10] stay fast.",
            stacklevel=3,
        )


def random_walks(
    adjacency: sp.csr_matrix | WalkGraph,
    *,
    walks_per_node: int = 10,
    walk_length: int = 10,
    p: float = 1.0,
    q: float = 1.0,
    seed: int = 42,
    workers: int = 0,
    progress: bool = False,
    second_order: bool | None = None,
) -> WalkMatrix:
    """Walks from every node with degree > 0, shape (walks_per_node * n_start, walk_length).

    p = q = 1 runs the first-order kernel (DeepWalk: next node proportional to edge
    weight); anything else runs node2vec's second-order kernel.

    Args:
        adjacency: symmetric CSR adjacency with positive weights, or a prepared WalkGraph.
        walks_per_node: rounds of walks; each round starts one walk from every node.
        walk_length: nodes per walk, the start included.
        p: node2vec return parameter (small p: walks backtrack more).
        q: node2vec in-out parameter (small q: walks move outwards, DFS-like).
        seed: the walks depend only on this (not on ``workers``).
        workers: threads; 0 = every core numba may use.
        progress: show a tqdm bar over chunks of walks.
        second_order: force the node2vec kernel (True) or the first-order one (False,
            only valid with p = q = 1); None picks first-order exactly when p = q = 1.

    Returns:
        int32 matrix of item ids, row = one walk.
    """
    if walk_length < 1 or walks_per_node < 1:
        raise ValueError(
            f"walk_length and walks_per_node must be >= 1, got {walk_length}, {walks_per_node}"
        )
    if p <= 0 or q <= 0:
        raise ValueError(f"node2vec p and q must be positive, got p={p}, q={q}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    graph = adjacency if isinstance(adjacency, WalkGraph) else WalkGraph.from_adjacency(adjacency)
    first_order_equivalent = p == 1.0 and q == 1.0
    if second_order is None:
        second_order = not first_order_equivalent
    elif not second_order and not first_order_equivalent:
        raise ValueError(f"second_order=False needs p = q = 1, got p={p}, q={q}")
    elif first_order_equivalent:
        warnings.warn(
            "node2vec walks with p = q = 1 follow the first-order distribution at about "
            "twice the cost; leave second_order unset to use the first-order kernel",
            stacklevel=2,
        )
    warn_if_wasteful(p, q)
    rng = np.random.default_rng(seed)
    starts = walk_starts(graph.start_nodes, walks_per_node, rng)
    walk_matrix = np.empty((starts.size, walk_length), dtype=np.int32)
    kernel_seed = np.uint64(seed)
    previous_threads = numba.get_num_threads()
    numba.set_num_threads(resolve_workers(workers, cap=int(numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
    try:
        chunks = range(0, starts.size, _CHUNK_WALKS)
        bar = tqdm(
            total=starts.size,
            desc="node2vec walks" if second_order else "walks",
            unit="walk",
            disable=not progress,
        )
        with bar:
            for begin in chunks:
                end = min(begin + _CHUNK_WALKS, starts.size)
                args = (
                    graph.indptr,
                    graph.indices,
                    graph.alias_index,
                    graph.alias_probability,
                    starts[begin:end],
                    begin,
                )
                if second_order:
                    _node2vec_kernel(*args, kernel_seed, 1.0 / p, 1.0 / q, walk_matrix[begin:end])
                else:
                    _first_order_kernel(*args, kernel_seed, walk_matrix[begin:end])
                bar.update(end - begin)
    finally:
        numba.set_num_threads(previous_threads)
    return walk_matrix
