"""A fused CPU kernel for skip-gram negative-sampling SGD: word2vec's inner loop in numba.

On CPU, the autograd path of a skip-gram step materialises (batch, 1 + K, dim) tensors
three times (gather, gradient, scatter), and on this project's 2-vCPU VM each of those
memory-bound passes costs more than the arithmetic (docs/benchmarks.md, "Skip-gram
throughput"). This kernel does what word2vec.c and gensim do instead: per pair, K + 1 dot
products and in-place axpy updates on the rows themselves, never a temporary larger than
one row. Pairs of a batch run in parallel without locks ("Hogwild", Recht et al. 2011, as
word2vec does); with one thread the result is deterministic.

The update per pair (c = center row, o_j = context row j, label 1 for the true context):
    g_j = lr * (label_j - sigmoid(c . o_j));  o_j += g_j * c;  c += sum_j g_j * o_j(old)
which is exactly one SGD step on the pair's loss -log s(c.o_0) - sum_k log s(-c.o_k),
word2vec's order of operations included (:func:`reference_sgns_step` is the readable
version that the tests compare with). With ``max_logit`` > 0 a pair whose |c . o_j| is at
least that gets no update, as gensim (its ``MAX_EXP``, 6): :func:`pair_gradient`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange


@numba.njit(nogil=True, fastmath=True, cache=True)
def softplus(x: float) -> float:
    """log(1 + exp(x)) without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


# gensim skips every (input, output) pair whose logit is at +-6 or beyond (MAX_EXP in its
# word2vec_inner.pyx): neither row moves. Without it our skip-gram ranked the Books head's
# held-out products half as well as gensim's (recall@10 0.11 vs 0.24) at the same AUC: the
# exact gradient keeps pushing products that are already far apart (docs/benchmarks.md,
# "Saturated pairs").
GENSIM_MAX_LOGIT = 6.0


@numba.njit(nogil=True, fastmath=True, inline="always")
def saturated(logit: float, max_logit: float) -> bool:
    """gensim's rule: a pair at |logit| >= max_logit (when > 0) is not trained."""
    return max_logit > 0.0 and (logit >= max_logit or logit <= -max_logit)


@numba.njit(nogil=True, fastmath=True, cache=True)
def pair_gradient(label: float, logit: float, lr: float, max_logit: float) -> float:
    """lr * (label - sigmoid(logit)); 0 when the pair is :func:`saturated`."""
    if saturated(logit, max_logit):
        return 0.0
    return lr * (label - 1.0 / (1.0 + math.exp(-logit)))


@numba.njit(nogil=True, fastmath=True, inline="always")
def window_logits(
    input_rows: np.ndarray, which: np.ndarray, output_rows: np.ndarray, m: int, out: np.ndarray
) -> None:
    """out[i, j] = input_rows[which[i]] . output_rows[j] for a window's m inputs, every
    logit before any gradient: independent dot products the CPU overlaps, where a
    sigmoid after each dot waited on it (the window kernels: 1.2x the pairs/s)."""
    for i in range(m):
        row = input_rows[which[i]]
        for j in range(output_rows.shape[0]):
            dot = np.float32(0.0)
            for d in range(row.shape[0]):
                dot += row[d] * output_rows[j, d]
            out[i, j] = dot


@numba.njit(nogil=True, fastmath=True, parallel=True, cache=True)
def sgns_step(
    center_table: np.ndarray,
    context_table: np.ndarray,
    centers: np.ndarray,
    contexts: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    max_logit: float = 0.0,
) -> float:
    """One Hogwild SGD pass over a batch, in place; returns the batch's mean loss.

    Args:
        center_table: (n_items, dim) float32, updated in place.
        context_table: (n_items, dim) float32, updated in place.
        centers: (batch,) int64 center ids.
        contexts: (batch,) int64 true context ids.
        negatives: (batch, K) int64 negative ids.
        lr: learning rate per pair (word2vec's alpha).
        max_logit: pairs with |logit| at or beyond it are not updated (0: all are).
    """
    n, k = negatives.shape
    dim = center_table.shape[1]
    losses = np.zeros(n, dtype=np.float64)
    for i in prange(n):
        c = centers[i]
        update = np.zeros(dim, dtype=np.float32)  # accumulated step of the center row
        loss = 0.0
        for j in range(k + 1):
            o = contexts[i] if j == 0 else negatives[i, j - 1]
            dot = np.float32(0.0)
            for d in range(dim):
                dot += center_table[c, d] * context_table[o, d]
            label = 1.0 if j == 0 else 0.0
            loss += softplus(-float(dot)) if j == 0 else softplus(float(dot))
            g = np.float32(pair_gradient(label, float(dot), lr, max_logit))
            for d in range(dim):
                update[d] += g * context_table[o, d]
                context_table[o, d] += g * center_table[c, d]
        for d in range(dim):
            center_table[c, d] += update[d]
        losses[i] = loss
    return float(losses.mean())


def reference_sgns_step(
    center_table: np.ndarray,
    context_table: np.ndarray,
    centers: np.ndarray,
    contexts: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    max_logit: float = 0.0,
) -> float:
    """Readable numpy version of :func:`sgns_step` (pairs in order), for tests."""
    losses = []
    for i in range(centers.shape[0]):
        c = centers[i]
        update = np.zeros(center_table.shape[1], dtype=np.float64)
        loss = 0.0
        for j, o in enumerate([contexts[i], *negatives[i]]):
            dot = float(center_table[c] @ context_table[o])
            label = 1.0 if j == 0 else 0.0
            loss += np.logaddexp(0.0, -dot if j == 0 else dot)
            g = lr * (label - 1.0 / (1.0 + np.exp(-dot)))
            if max_logit > 0 and abs(dot) >= max_logit:
                g = 0.0
            update += g * context_table[o]
            context_table[o] += (g * center_table[c]).astype(context_table.dtype)
        center_table[c] += update.astype(center_table.dtype)
        losses.append(loss)
    return float(np.mean(losses))
