"""A batched skip-gram negative-sampling SGD step in plain tensor ops, for the GPU.

On a GPU the autograd path of a skip-gram step (gather -> loss -> backward into sparse
gradients -> torch.optim.SGD) builds sparse COO gradients and coalesces them every step.
This step does the same arithmetic by hand: gathers of the rows, batched matrix products for
the logits and the gradients, and ``index_add_`` of the scaled rows back into both tables,
with no autograd graph and no sparse tensors; the step itself never waits for the device
(the loss stays a device tensor until the engine reads it).

Negatives shared within chunks (pWord2Vec's idea, Ji et al. 2016, on the device): the
``shared_by`` consecutive pairs of a chunk (random pairs: the window source shuffles them)
meet one draw of K negatives, so a chunk's negative logits are one (C, dim) x (dim, K)
matrix product and each negative row is read and written once per chunk instead of once per
pair: per pair, 2 + K / C rows are gathered and as many scattered instead of 2 + K. The
loss is the per-pair loss with each shared row repeated
(:meth:`recsys.training.batching.PairBatch.pair_negatives`).

It is a *synchronous* batch step: every pair of the batch sees the tables as they were
before the batch, and a product that occurs several times in the batch gets the sum of its
updates (``index_add_`` accumulates). That equals the numba kernel
(:mod:`recsys.training.fused_sgns`, sequential Hogwild updates) whenever the batch's pairs
touch distinct rows, and autograd + SGD on the summed loss always (the tests check both).

The update (c = center row, o_j = context rows, label 1 for the true context, 0 for the
negatives; word2vec's per-pair ``lr``):
    g_j = lr * (label_j - sigmoid(c . o_j));  o_j += g_j * c;  c += sum_j g_j * o_j

:func:`sgns_update_contexts` is the output side alone, for input vectors built from several
rows (EGES's weighted sums, :meth:`recsys.models.side_info_model.SkipGramWithSideInfo.
fused_sgd_step`) and for MF's one table with biases and L2 (:func:`mf_step_tensors`: MF on
sequences, and the MF methods' binary SGD off the CPU), which add their inputs' own steps.

:func:`negative_sampling_losses` is the same loss for autograd (the study's Adam, the
models' ``loss``), with the same rule for saturated pairs.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor


def negative_sampling_losses(logits: Tensor, max_logit: float = 0.0) -> Tensor:
    """Per-pair negative-sampling loss for autograd, shape (batch,).

    Args:
        logits: (batch, 1 + negatives): the true context's logit first, then the negatives'.
        max_logit: pairs whose |logit| is at least this are left out of the loss (no
            gradient, as the SGD steps skip them: gensim's rule); 0 keeps every pair.

    Returns:
        -log s(x_0) - sum_k log s(-x_k) per row.
    """
    # softplus(-x) = -log sigmoid(x) for the positive, softplus(x) for the negatives.
    sign = torch.ones_like(logits)
    sign[:, 0] = -1.0
    losses = F.softplus(logits * sign)
    if max_logit > 0:
        losses = losses * (logits.detach().abs() < max_logit)
    return losses.sum(-1)


@torch.no_grad()
def sgns_step_tensors(
    center_table: Tensor,
    context_table: Tensor,
    centers: Tensor,
    contexts: Tensor,
    negatives: Tensor,
    lr: float,
    max_logit: float = 0.0,
    shared_by: int = 1,
) -> Tensor:
    """One synchronous SGD step over a batch, in place; returns the mean loss (a 0-d tensor).

    Args:
        center_table: (n_items, dim) float table, updated in place.
        context_table: (n_items, dim) float table, updated in place.
        centers: (batch,) int64 center ids.
        contexts: (batch,) int64 true context ids.
        negatives: (ceil(batch / shared_by), K) int64 negative ids, row i shared by the
            pairs i * shared_by .. (i + 1) * shared_by - 1.
        lr: learning rate per pair (word2vec's alpha).
        max_logit: pairs with |logit| at or beyond it are not updated (0: all are).
        shared_by: pairs per chunk sharing one row of negatives: a chunk's negative logits
            are one (shared_by, dim) x (dim, K) product, and each negative row is gathered
            and scattered once per chunk instead of once per pair (1: per pair).
    """
    center_rows = center_table[centers]  # (B, dim)
    side = sgns_update_contexts(
        center_rows, context_table, contexts, negatives, lr, max_logit, shared_by
    )
    center_table.index_add_(0, centers, side.step)
    return side.loss


class InputSide(NamedTuple):
    """What :func:`sgns_update_contexts` hands back to the pairs' inputs."""

    step: Tensor
    """(batch, dim): sum_j g_j o_j for each pair (the input's own L2 decay not included)."""
    bias_step: Tensor | None
    """(batch,): sum_j g_j, the input biases' step, when the logits carry biases."""
    loss: Tensor
    """0-d: the mean data loss plus the output side's L2 term (the inputs' own is not in)."""


@torch.no_grad()
def sgns_update_contexts(
    inputs: Tensor,
    context_table: Tensor,
    contexts: Tensor,
    negatives: Tensor,
    lr: float,
    max_logit: float = 0.0,
    shared_by: int = 1,
    *,
    input_bias: Tensor | None = None,
    context_bias: Tensor | None = None,
    l2: float = 0.0,
) -> InputSide:
    """The output side of :func:`sgns_step_tensors`, for any input vectors.

    Updates ``context_table`` in place (true contexts and shared negatives) and returns what
    the inputs' vectors take, so a model whose input vector is built from several rows (EGES's
    weighted sum of field rows) hands each row its share, and MF (one table for both sides,
    biases, L2) adds its centers' own decay. Every read precedes every write, so
    ``context_table`` may be the table the inputs were gathered from.

    Args:
        inputs: (batch, dim) the pairs' input vectors, as they were before the step.
        context_table, contexts, negatives, lr, max_logit, shared_by: as
            :func:`sgns_step_tensors`.
        input_bias: (batch,) the inputs' biases before the step, with ``context_bias``.
        context_bias: (n_items,) output-side biases, updated in place; logit = i . o + b_i
            + b_o. None: no biases.
        l2: weight of each pair's squared output rows (and biases) in its loss; a shared
            negative counts once per pair of its chunk.
    """
    n_pairs, dim = inputs.shape
    check_chunks(n_pairs, negatives, shared_by)
    n_chunks = negatives.shape[0]
    context_rows = context_table[contexts]  # (B, dim)
    negative_rows = context_table[negatives]  # (G, K, dim)
    chunked_inputs = chunk_rows(inputs, n_chunks, shared_by)  # (G, C, dim)
    positive_logits = (inputs * context_rows).sum(dim=1)  # (B,)
    negative_logits = torch.bmm(chunked_inputs, negative_rows.transpose(1, 2))  # (G, C, K)
    if context_bias is not None:
        if input_bias is None:
            raise ValueError("context_bias needs the inputs' biases (input_bias)")
        positive_bias, negative_bias = context_bias[contexts], context_bias[negatives]
        positive_logits += input_bias + positive_bias
        negative_logits += chunk_rows(input_bias, n_chunks, shared_by).unsqueeze(2)
        negative_logits += negative_bias.unsqueeze(1)
    positive, negative = coefficients(positive_logits, negative_logits, n_pairs, lr, max_logit)
    loss = mean_loss(positive_logits, negative_logits, n_pairs)

    input_step = torch.bmm(negative, negative_rows).view(-1, dim)[:n_pairs]
    input_step.addcmul_(positive.unsqueeze(1), context_rows)
    context_step = inputs * positive.unsqueeze(1)
    negative_step = torch.bmm(negative.transpose(1, 2), chunked_inputs)  # (G, K, dim)
    bias_step = None
    if context_bias is not None:
        bias_step = positive + negative.sum(dim=2).view(-1)[:n_pairs]
        context_bias_step = positive.clone()
        negative_bias_step = negative.sum(dim=1)  # (G, K)
    if l2 > 0:
        decay = 2.0 * lr * l2
        uses = chunk_uses(n_pairs, n_chunks, shared_by, inputs)  # (G, 1)
        context_step.sub_(context_rows, alpha=decay)
        negative_step -= decay * uses.unsqueeze(2) * negative_rows
        penalty = context_rows.square().sum() + (uses.unsqueeze(2) * negative_rows.square()).sum()
        if context_bias is not None:
            context_bias_step.sub_(positive_bias, alpha=decay)
            negative_bias_step -= decay * uses * negative_bias
            penalty += positive_bias.square().sum() + (uses * negative_bias.square()).sum()
        loss = loss + l2 * penalty / n_pairs
    context_table.index_add_(0, contexts, context_step)
    context_table.index_add_(0, negatives.reshape(-1), negative_step.view(-1, dim))
    if context_bias is not None:
        context_bias.index_add_(0, contexts, context_bias_step)
        context_bias.index_add_(0, negatives.reshape(-1), negative_bias_step.view(-1))
    return InputSide(input_step, bias_step, loss)


def check_chunks(n_pairs: int, negatives: Tensor, shared_by: int) -> None:
    """Raise ValueError unless ``negatives`` has one row per ``shared_by`` pairs."""
    n_chunks = negatives.shape[0]
    if n_chunks * shared_by < n_pairs or (n_chunks - 1) * shared_by >= n_pairs:
        raise ValueError(
            f"{n_chunks} rows of negatives do not fit {n_pairs} pairs shared by {shared_by}"
        )


def chunk_rows(rows: Tensor, n_chunks: int, shared_by: int) -> Tensor:
    """(n_chunks, shared_by, ...) view of per-pair ``rows``, the last chunk padded with zeros."""
    padding = n_chunks * shared_by - rows.shape[0]
    widths = (0, 0) * (rows.dim() - 1) + (0, padding)
    return F.pad(rows, widths).view(n_chunks, shared_by, *rows.shape[1:])


def chunk_uses(n_pairs: int, n_chunks: int, shared_by: int, like: Tensor) -> Tensor:
    """(n_chunks, 1): the pairs each chunk's negatives serve (the last chunk may be short)."""
    uses = torch.full((n_chunks, 1), float(shared_by), dtype=like.dtype, device=like.device)
    uses[-1] = n_pairs - (n_chunks - 1) * shared_by
    return uses


def coefficients(
    positive_logits: Tensor, negative_logits: Tensor, n_pairs: int, lr: float, max_logit: float
) -> tuple[Tensor, Tensor]:
    """word2vec's g = lr * (label - sigmoid(logit)) for the true contexts (B,) and the shared
    negatives (G, C, K); 0 at |logit| >= max_logit (when > 0) and for the padded pairs."""
    positive = torch.sigmoid(positive_logits).neg_().add_(1.0).mul_(lr)
    negative = torch.sigmoid(negative_logits).mul_(-lr)
    if max_logit > 0:
        positive.masked_fill_(positive_logits.abs() >= max_logit, 0.0)
        negative.masked_fill_(negative_logits.abs() >= max_logit, 0.0)
    negative.view(-1, negative.shape[-1])[n_pairs:] = 0.0
    return positive, negative


def mean_loss(positive_logits: Tensor, negative_logits: Tensor, n_pairs: int) -> Tensor:
    """Mean over the pairs of -log sigmoid(x_0) - sum_k log sigmoid(-x_k), the padded pairs
    left out: softplus(-x) for the true context, softplus(x) for the negatives."""
    negative_losses = F.softplus(negative_logits).view(-1, negative_logits.shape[-1])[:n_pairs]
    return (F.softplus(-positive_logits).sum() + negative_losses.sum()) / n_pairs


@torch.no_grad()
def mf_step_tensors(
    table: Tensor,
    bias: Tensor | None,
    centers: Tensor,
    contexts: Tensor,
    negatives: Tensor,
    lr: float,
    l2: float,
    max_logit: float = 0.0,
    shared_by: int = 1,
) -> Tensor:
    """MF's binary step (one table, optional biases, L2 on the rows a pair uses) in tensor
    ops, negatives shared by ``shared_by`` pairs: :func:`sgns_step_tensors` with both sides
    in ``table`` and logit = t_a . t_b + b_a + b_b. Equal to autograd SGD on the summed
    :meth:`recsys.models.mf.MatrixFactorization.loss` (each pair's L2 term counts every row
    it uses, a shared negative once per pair of its chunk); returns that loss's mean.

    Args:
        table: (n_items, dim) float rows, updated in place.
        bias: (n_items,) float biases updated in place, or None for MF without bias.
        centers, contexts, negatives, lr, max_logit, shared_by: as :func:`sgns_step_tensors`.
        l2: weight of the squared rows (and biases) in each pair's loss.
    """
    center_rows = table[centers]  # gathered before the output side writes to the table
    center_bias = None if bias is None else bias[centers]
    side = sgns_update_contexts(
        center_rows, table, contexts, negatives, lr, max_logit, shared_by,
        input_bias=center_bias, context_bias=bias, l2=l2,
    )  # fmt: skip
    loss, center_step, center_bias_step = side.loss, side.step, side.bias_step
    if l2 > 0:
        decay = 2.0 * lr * l2
        center_step.sub_(center_rows, alpha=decay)
        loss = loss + l2 * center_rows.square().sum() / centers.numel()
        if center_bias is not None and center_bias_step is not None:
            center_bias_step.sub_(center_bias, alpha=decay)
            loss = loss + l2 * center_bias.square().sum() / centers.numel()
    table.index_add_(0, centers, center_step)
    if bias is not None and center_bias_step is not None:
        bias.index_add_(0, centers, center_bias_step)
    return loss
