"""Matrix factorization's steps on a batch of pairs without autograd (numba, CPU).

MF pair by pair (the study's methods 1 and 2) has one table and tiny per-pair work: one
positive and K negatives, 2 + K rows of 128 floats. Through autograd + SparseAdam each
batch paid for sparse-gradient bookkeeping (``coalesce``, ``sparse_mask``, sparse adds)
that dwarfs that arithmetic: 5.0 minutes of training for five epochs of synthetic
Electronics on 2 cores. Both kernels here take the step of exactly the loss
:meth:`recsys.models.mf.MatrixFactorization.loss` differentiates:

    x_j   = v_a . v_o_j (+ b_a + b_o_j)        o_0 = b (the positive), o_1..o_K negatives
    data  = binary:     softplus(-x_0) + sum_k softplus(x_k)
            continuous: (s(x_0) - t)^2 + sum_k s(x_k)^2       (t: the pair's summed weight)
    L2    = l2 * (|v_a|^2 + |v_b|^2 + sum_k |v_o_k|^2, and the same of the biases)

:func:`mf_pair_step` is plain SGD pair by pair, lock-free over threads (Hogwild, as
word2vec), with ``lr`` per pair (the autograd path scales the batch mean's step by the
batch size to match); row a's step is accumulated over the pair from the old rows and
applied at its end, as word2vec does for the input row. :func:`mf_adam_step` is
``torch.optim.SparseAdam``'s step on the batch mean, in the optimizer's own state (the
default; 1.9 minutes for those five epochs, same metrics).
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import torch
from numba import prange

from recsys.training.fused_sgns import saturated, softplus

NO_TARGET = np.empty(0, dtype=np.float32)  # ``target`` argument for binary labels


@numba.njit(inline="always", fastmath=True, cache=True)
def pair_logit(table: np.ndarray, bias: np.ndarray, a: int, o: int) -> float:
    """v_a . v_o, plus b_a + b_o when the model has biases (``bias`` not empty)."""
    x = np.float32(0.0)
    for d in range(table.shape[1]):
        x += table[a, d] * table[o, d]
    if bias.size > 0:
        x += bias[a] + bias[o]
    return float(x)


@numba.njit(inline="always", fastmath=True, cache=True)
def loss_and_slope(x: float, label: float, continuous: bool) -> tuple[float, float]:
    """One output's data loss at logit ``x`` and its derivative in ``x``: cross-entropy
    (``label`` 1 or 0), or the squared error of the sigmoid to ``label`` (continuous)."""
    s = 1.0 / (1.0 + math.exp(-x))
    if continuous:
        return (s - label) ** 2, 2.0 * (s - label) * s * (1.0 - s)
    return (softplus(-x) if label > 0.0 else softplus(x)), s - label


@numba.njit(nogil=True, fastmath=True, parallel=True, cache=True)
def mf_pair_step(
    table: np.ndarray,
    bias: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    negatives: np.ndarray,
    target: np.ndarray,
    lr: float,
    l2: float,
    max_logit: float = 0.0,
) -> float:
    """One Hogwild SGD pass over a batch of pairs, in place; returns the mean data loss.

    Args:
        table: (n_items, dim) float32 item rows, updated in place.
        bias: (n_items,) float32 per-item biases updated in place; empty for none (method 1).
        left: (batch,) int64 left products (they keep their place against negatives).
        right: (batch,) int64 right products of the positive pairs.
        negatives: (batch, K) int64 products replacing ``right``.
        target: (batch,) float32 targets of the positives for continuous labels (squared
            error on the sigmoid); empty for binary labels (cross-entropy).
        lr: learning rate per pair.
        l2: weight of each pair's squared rows (and biases).
        max_logit: binary labels: outputs with |logit| at or beyond it take no data step
            (gensim's rule; their L2 decay stays); the loss counts them, as every SGD step's.
    """
    n, k = negatives.shape
    dim = table.shape[1]
    has_bias = bias.size > 0
    continuous = target.size > 0
    decay = np.float32(2.0 * lr * l2)
    losses = np.zeros(n, dtype=np.float64)
    for i in prange(n):
        a = left[i]
        step = np.empty(dim, dtype=np.float32)  # row a's step, applied after the pair
        for d in range(dim):
            step[d] = -decay * table[a, d]
        bias_step = np.float32(0.0)
        if has_bias:
            bias_step = -decay * bias[a]
        loss = 0.0
        for j in range(k + 1):
            o = right[i] if j == 0 else negatives[i, j - 1]
            label = (float(target[i]) if continuous else 1.0) if j == 0 else 0.0
            x = pair_logit(table, bias, a, o)
            term, slope = loss_and_slope(x, label, continuous)
            if saturated(x, max_logit):
                slope = 0.0
            loss += term
            g = np.float32(-lr * slope)
            for d in range(dim):
                step[d] += g * table[o, d]
                table[o, d] += g * table[a, d] - decay * table[o, d]
            if has_bias:
                bias_step += g
                bias[o] += g - decay * bias[o]
        for d in range(dim):
            table[a, d] += step[d]
        if has_bias:
            bias[a] += bias_step
        losses[i] = loss
    return float(losses.mean())


def reference_mf_pair_step(
    table: np.ndarray,
    bias: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    negatives: np.ndarray,
    target: np.ndarray,
    lr: float,
    l2: float,
    max_logit: float = 0.0,
) -> float:
    """:func:`mf_pair_step` in plain numpy, pair after pair (one thread's order)."""
    has_bias, continuous = bias.size > 0, target.size > 0
    decay = 2.0 * lr * l2
    losses = []
    for i in range(len(left)):
        a = left[i]
        step = -decay * table[a].astype(np.float64)
        bias_step = -decay * float(bias[a]) if has_bias else 0.0
        loss = 0.0
        for j, o in enumerate([right[i], *negatives[i]]):
            x = float(table[a].astype(np.float64) @ table[o].astype(np.float64))
            if has_bias:
                x += float(bias[a]) + float(bias[o])
            label = (float(target[i]) if continuous else 1.0) if j == 0 else 0.0
            term, slope = loss_and_slope.py_func(x, label, continuous)
            if max_logit > 0 and abs(x) >= max_logit:
                slope = 0.0
            loss += term
            g = -lr * slope
            step += g * table[o]
            table[o] += (g * table[a] - decay * table[o]).astype(table.dtype)
            if has_bias:
                bias_step += g
                bias[o] += np.float32(g - decay * bias[o])
        table[a] += step.astype(table.dtype)
        if has_bias:
            bias[a] += np.float32(bias_step)
        losses.append(loss)
    return float(np.mean(losses))


@numba.njit(nogil=True, fastmath=True, parallel=True, cache=True)
def mf_adam_step(
    table: np.ndarray,
    bias: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    bias_exp_avg: np.ndarray,
    bias_exp_avg_sq: np.ndarray,
    rows: np.ndarray,
    slots: np.ndarray,
    distinct: np.ndarray,
    target: np.ndarray,
    l2: float,
    step_size: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> float:
    """One SparseAdam step of the batch mean loss, in place; returns the mean data loss.

    The gradient of each distinct row is summed over its occurrences in the batch (the
    coalesced sparse gradient autograd hands ``torch.optim.SparseAdam``), then each
    distinct row takes SparseAdam's update; rows not in the batch keep their moments.

    Args:
        table, bias, target, l2: as :func:`mf_pair_step` (``bias`` empty for none).
        exp_avg, exp_avg_sq: (n_items, dim) float32 SparseAdam's moments of ``table``,
            updated in place; ``bias_exp_avg``, ``bias_exp_avg_sq``: (n_items,) those of
            ``bias`` (empty for none).
        rows: (batch, 2 + K) int64 table rows of each pair: left, right, the negatives.
        slots: (batch, 2 + K) int64 index of each of those rows in ``distinct``.
        distinct: (n_distinct,) int64 the batch's distinct rows.
        step_size: ``lr * sqrt(1 - beta2**t) / (1 - beta1**t)`` at step ``t``.
    """
    n, width = rows.shape
    dim = table.shape[1]
    has_bias = bias.size > 0
    continuous = target.size > 0
    n_distinct = distinct.shape[0]
    # d(mean loss)/d(logit) of every (pair, output): output 0 the positive, 1..K negatives
    logit_grad = np.empty((n, width - 1), dtype=np.float32)
    losses = np.zeros(n, dtype=np.float64)
    for i in prange(n):
        a = rows[i, 0]
        for j in range(width - 1):
            o = rows[i, 1 + j]
            label = (float(target[i]) if continuous else 1.0) if j == 0 else 0.0
            term, slope = loss_and_slope(pair_logit(table, bias, a, o), label, continuous)
            losses[i] += term
            logit_grad[i, j] = np.float32(slope / n)
    # each distinct row's gradient, summed over its occurrences in batch order (a counting
    # sort lists them), one row per thread: the same sums whatever the number of threads
    flat_slots = slots.ravel()
    starts = np.zeros(n_distinct + 1, dtype=np.int64)
    for e in range(flat_slots.size):
        starts[flat_slots[e] + 1] += 1
    for r in range(n_distinct):
        starts[r + 1] += starts[r]
    filled = starts[:-1].copy()
    occurrences = np.empty(flat_slots.size, dtype=np.int64)
    for e in range(flat_slots.size):
        occurrences[filled[flat_slots[e]]] = e
        filled[flat_slots[e]] += 1
    grad = np.empty((n_distinct, dim), dtype=np.float32)
    bias_grad = np.empty(n_distinct, dtype=np.float32)
    decay = np.float32(2.0 * l2 / n)  # the L2 term: once per occurrence in a pair
    for r in prange(n_distinct):
        row = distinct[r]
        count = starts[r + 1] - starts[r]
        for d in range(dim):
            grad[r, d] = decay * count * table[row, d]
        b = decay * count * bias[row] if has_bias else np.float32(0.0)
        for k in range(starts[r], starts[r + 1]):
            i, column = divmod(occurrences[k], width)
            if column == 0:  # the pair's left row: every output's slope times its row
                for j in range(width - 1):
                    g, o = logit_grad[i, j], rows[i, 1 + j]
                    for d in range(dim):
                        grad[r, d] += g * table[o, d]
                    b += g
            else:  # an output: its slope times the left row
                g, a = logit_grad[i, column - 1], rows[i, 0]
                for d in range(dim):
                    grad[r, d] += g * table[a, d]
                b += g
        bias_grad[r] = b
    for r in prange(n_distinct):
        row = distinct[r]
        for d in range(dim):
            g = grad[r, d]
            m = exp_avg[row, d] + (1.0 - beta1) * (g - exp_avg[row, d])
            v = exp_avg_sq[row, d] + (1.0 - beta2) * (g * g - exp_avg_sq[row, d])
            exp_avg[row, d], exp_avg_sq[row, d] = m, v
            table[row, d] -= np.float32(step_size * m / (math.sqrt(v) + eps))
        if has_bias:
            g = bias_grad[r]
            m = bias_exp_avg[row] + (1.0 - beta1) * (g - bias_exp_avg[row])
            v = bias_exp_avg_sq[row] + (1.0 - beta2) * (g * g - bias_exp_avg_sq[row])
            bias_exp_avg[row], bias_exp_avg_sq[row] = m, v
            bias[row] -= np.float32(step_size * m / (math.sqrt(v) + eps))
    return float(losses.mean())


def sparse_adam_state(optimizer: torch.optim.Optimizer, parameter: torch.Tensor) -> dict[str, Any]:
    """``parameter``'s state in a ``torch.optim.SparseAdam``, made as its first step makes
    it and advanced by one step, so checkpoints and autograd steps share it."""
    state = optimizer.state[parameter]
    if len(state) == 0:
        state["step"] = 0
        state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
    state["step"] += 1
    return state


def batch_rows(
    left: np.ndarray, right: np.ndarray, negatives: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A pair batch's rows (batch, 2 + K), their slots among the distinct rows, and the
    distinct rows: the arguments :func:`mf_adam_step` sums gradients with."""
    rows = np.concatenate([left[:, None], right[:, None], negatives], axis=1)
    distinct, inverse = np.unique(rows.ravel(), return_inverse=True)
    return rows, inverse.reshape(rows.shape).astype(np.int64), distinct
