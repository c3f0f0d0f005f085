"""Skip-gram SGD straight from walks, negatives shared by each window (pWord2Vec's step).

word2vec.c's skip-gram loop, for a target token t at position p, trains every context
token c within the window as an input row (``center_table[c]``) against t's output row
(``context_table[t]``), drawing K fresh negatives *per pair*: each pair reads and writes
2 + K rows scattered over tables of hundreds of MB, and on a 2-vCPU VM those cache misses,
not the arithmetic, set the speed. Ji et al. (2016, "Parallelizing Word2Vec in Shared and
Distributed Memory", Intel's pWord2Vec) share one draw of K negatives among all of a
window's inputs, which turns the window into two small matrix products over m + 1 + K rows
(m = contexts in the window) instead of m * (2 + K) row visits, and report the same
accuracy at several times the throughput. This module is that step:

    logits[i, j] = center[c_i] . context[o_j]     o_0 = t (label 1), o_1..o_K negatives (0)
    g[i, j]      = lr * (label_j - sigmoid(logits[i, j]))
    center[c_i]  += sum_j g[i, j] * context[o_j]      (old rows)
    context[o_j] += sum_i g[i, j] * center[c_i]       (old rows)

The set of (input, output) pairs is word2vec's: every pair within the (reduced) window of
the subsampled walk, both directions; only the negatives differ (shared by a window, and a
negative that equals the target is skipped, as word2vec does). Walks of a batch run in
parallel without locks (Hogwild, as word2vec); with one thread the result is deterministic.
Each window prefetches the rows of the window two ahead (:mod:`recsys.training.prefetch`).

Every random draw (subsampling, reduced windows, negatives) is made per batch before the
kernel (:mod:`recsys.training.walk_batches`, one counter-based stream per walk), so the
kernel is a pure function of its inputs and :func:`reference_window_step` (readable numpy)
reproduces it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import torch
from numba import prange

from recsys.training.batching import BatchSource, WalkBatch
from recsys.training.config import WindowConfig, uses_window_kernel
from recsys.training.fused_sgns import pair_gradient, softplus, window_logits
from recsys.training.prefetch import prefetch_window_ahead
from recsys.training.sequences import window_pair_source
from recsys.training.walk_batches import (
    fill_window,
    kept_tokens,
    walk_batch_source,
    widest_reach,
)
from recsys.typing import WalkMatrix

NO_BIAS = np.empty(0, dtype=np.float32)  # ``bias`` argument of a model without biases


@numba.njit(nogil=True, fastmath=True, parallel=True, cache=True)
def window_sgns_step(
    center_table: np.ndarray,
    context_table: np.ndarray,
    walks: np.ndarray,
    keep: np.ndarray,
    reach: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    bias: np.ndarray,
    l2: float,
    max_logit: float,
    with_loss: bool = True,
) -> float:
    """One Hogwild SGD pass over a batch of walks, in place; returns the summed pair loss.

    Args:
        center_table: (n_items, dim) float32 input rows, updated in place.
        context_table: (n_items, dim) float32 output rows, updated in place; the same array
            as ``center_table`` for MF on sequences (one table).
        walks, keep, reach, negatives: a :class:`WalkBatch`'s arrays.
        lr: learning rate per pair (word2vec's alpha).
        bias: (n_items,) float32 per-product bias added to every logit (MF with bias),
            updated in place; empty for none.
        l2: weight of the squared rows (and biases) of each pair, as MF's loss: per pair
            the input, the target and each negative decay once.
        max_logit: a pair whose |logit| is at least this gets no gradient (gensim's rule,
            :func:`recsys.training.fused_sgns.pair_gradient`); 0 = every pair has one.
        with_loss: compute the loss; without it (0 is returned) the step is ~15% faster
            and trains the same (the engine reads the loss every ``loss_every`` batches).

    Returns:
        Sum over the batch's positive pairs of -log s(x.t) - sum_k log s(-x.n_k), the logits
        x.o including the biases (the L2 term not included).
    """
    n_walks = walks.shape[0]
    k = negatives.shape[2]
    dim = center_table.shape[1]
    has_bias = bias.size > 0
    decay = np.float32(2.0 * lr * l2)
    max_window = widest_reach(reach)
    loss_sum = 0.0
    for r in prange(n_walks):
        tokens, slots, n = kept_tokens(walks, keep, r)
        inputs = np.empty(2 * max_window, dtype=np.int64)
        input_positions = np.empty(2 * max_window, dtype=np.int64)
        outputs = np.empty(1 + k, dtype=np.int64)
        labels = np.empty(1 + k, dtype=np.float32)
        grad = np.empty((2 * max_window, 1 + k), dtype=np.float32)
        input_rows = np.empty((2 * max_window, dim), dtype=np.float32)
        in_order = np.arange(2 * max_window)  # input_rows[i] is input i
        output_rows = np.empty((1 + k, dim), dtype=np.float32)
        input_step = np.empty(dim, dtype=np.float32)
        bias_rows = np.empty(2 * max_window, dtype=np.float32)
        output_step = np.empty((1 + k, dim), dtype=np.float32)
        walk_loss = 0.0
        for p in range(n):
            prefetch_window_ahead(
                context_table, center_table, tokens, slots, negatives, r, n, p, max_window
            )
            m = fill_window(
                tokens, slots, n, p, reach, negatives, r, inputs, input_positions, outputs, labels
            )
            if m == 0:
                continue
            for j in range(1 + k):  # the window's rows, old, in contiguous buffers
                o = outputs[j]
                for d in range(dim):
                    output_rows[j, d] = context_table[o, d]
                    output_step[j, d] = 0.0
            for i in range(m):
                c = inputs[i]
                for d in range(dim):
                    input_rows[i, d] = center_table[c, d]
                if has_bias:
                    bias_rows[i] = bias[c]
            window_logits(input_rows, in_order, output_rows, m, grad)
            for i in range(m):
                for j in range(1 + k):
                    if labels[j] < 0.0:
                        grad[i, j] = 0.0
                        continue
                    dot = grad[i, j]
                    if has_bias:
                        dot += bias_rows[i] + bias[outputs[j]]
                    if with_loss:
                        walk_loss += softplus(-float(dot) if j == 0 else float(dot))
                    grad[i, j] = np.float32(pair_gradient(labels[j], float(dot), lr, max_logit))
            for i in range(m):  # each input's step, added at once; the outputs' summed
                row = input_rows[i]
                for d in range(dim):
                    input_step[d] = -decay * row[d]
                for j in range(1 + k):
                    g = grad[i, j]
                    out_row, out_step = output_rows[j], output_step[j]
                    for d in range(dim):
                        input_step[d] += g * out_row[d]
                        out_step[d] += g * row[d]
                c = inputs[i]
                for d in range(dim):
                    center_table[c, d] += input_step[d]
                if has_bias:
                    bias_step = -decay * bias_rows[i]
                    for j in range(1 + k):
                        bias_step += grad[i, j]
                    bias[c] += bias_step
            shrink = np.float32(1.0) - decay * m  # the L2 decay of the window's m pairs
            for j in range(1 + k):
                if labels[j] < 0.0:
                    continue
                o = outputs[j]
                for d in range(dim):
                    context_table[o, d] = context_table[o, d] * shrink + output_step[j, d]
                if has_bias:
                    step_b = np.float32(0.0)
                    for i in range(m):
                        step_b += grad[i, j]
                    bias[o] = bias[o] * shrink + step_b
        loss_sum += walk_loss
    return loss_sum


def reference_window_step(
    center_table: np.ndarray,
    context_table: np.ndarray,
    walks: np.ndarray,
    keep: np.ndarray,
    reach: np.ndarray,
    negatives: np.ndarray,
    lr: float,
    bias: np.ndarray,
    l2: float,
    max_logit: float = 0.0,
) -> float:
    """Readable numpy version of :func:`window_sgns_step` (walks in order), for tests."""
    has_bias, decay = bias.size > 0, 2.0 * lr * l2
    loss_sum = 0.0
    for r in range(walks.shape[0]):
        slots = np.flatnonzero(keep[r])
        tokens = walks[r, slots].astype(np.int64)
        for p, slot in enumerate(slots):
            b = int(reach[r, slot])
            window = [q for q in range(max(0, p - b), min(len(tokens), p + b + 1)) if q != p]
            if not window:
                continue
            inputs = tokens[window]
            outputs = np.concatenate([[tokens[p]], negatives[r, slot]])
            labels = np.zeros(len(outputs))
            labels[0] = 1.0
            use = np.ones(len(outputs), dtype=bool)
            use[1:] = outputs[1:] != tokens[p]
            old_in = center_table[inputs].astype(np.float64)
            old_out = context_table[outputs].astype(np.float64)
            logits = old_in @ old_out.T
            if has_bias:
                logits += bias[inputs][:, None] + bias[outputs][None, :]
            signs = np.where(labels > 0, -1.0, 1.0)
            loss_sum += float((np.logaddexp(0.0, logits * signs) * use).sum())
            grad = lr * (labels - 1.0 / (1.0 + np.exp(-logits))) * use  # (m, 1 + K)
            if max_logit > 0:
                grad[np.abs(logits) >= max_logit] = 0.0
            input_step = grad @ old_out - decay * old_in
            bias_step = grad.sum(axis=1) - decay * bias[inputs] if has_bias else None
            output_step = grad.T @ old_in
            for i, c in enumerate(inputs):  # inputs first, then outputs (as the kernel)
                center_table[c] += input_step[i].astype(np.float32)
                if bias_step is not None:
                    bias[c] += bias_step[i]
            shrink = 1.0 - decay * len(inputs)
            for j in np.flatnonzero(use):  # in order: a repeated negative decays twice
                o = outputs[j]
                context_table[o] = context_table[o] * shrink + output_step[j]
                if has_bias:
                    bias[o] = bias[o] * shrink + grad[:, j].sum()
    return loss_sum


def walk_training_source(
    walk_matrix: WalkMatrix, n_items: int, config: WindowConfig, device: torch.device
) -> tuple[BatchSource, np.ndarray]:
    """Walk batches for the CPU window step, else window pairs (GPU, Adam, per-pair SGD);
    with the vocabulary (products that occur in the walks)."""
    if uses_window_kernel(config, device):
        return walk_batch_source(walk_matrix, n_items, config)
    return window_pair_source(walk_matrix, n_items, config, device)


def train_walk_batch(
    center_table: np.ndarray,
    context_table: np.ndarray,
    batch: WalkBatch,
    lr: float,
    bias: np.ndarray = NO_BIAS,
    l2: float = 0.0,
    max_logit: float = 0.0,
    with_loss: bool = True,
) -> float:
    """:func:`window_sgns_step` on a :class:`WalkBatch`; returns the mean loss per pair
    (NaN without ``with_loss``)."""
    loss_sum = window_sgns_step(
        center_table,
        context_table,
        batch.walks,
        batch.keep,
        batch.reach,
        batch.negatives,
        lr,
        bias,
        l2,
        max_logit,
        with_loss,
    )
    return loss_sum / max(batch.n_pairs, 1) if with_loss else math.nan
