"""A batched skip-gram negative-sampling SGD step in plain tensor ops, for the GPU.

On a GPU the autograd path of a skip-gram step (gather -> loss -> backward into sparse
gradients -> torch.optim.SGD) builds sparse COO gradients and coalesces them every step.
This step does the same arithmetic by hand: one gather per table, two batched matrix
products for the logits and the center gradient, and ``index_add_`` of the scaled rows back
into both tables, with no autograd graph and no sparse tensors; the step itself never waits
for the device (the loss stays a device tensor until the engine reads it).

It is a *synchronous* batch step: every pair of the batch sees the tables as they were
before the batch, and a product that occurs several times in the batch gets the sum of its
updates (``index_add_`` accumulates). That equals the numba kernel
(:mod:`recsys.training.fused_sgns`, sequential Hogwild updates) whenever the batch's pairs
touch distinct rows, and autograd + SGD on the summed loss always (the tests check both).

The update (c = center row, o_j = context rows, label 1 for the true context, 0 for the
negatives; word2vec's per-pair ``lr``):
    g_j = lr * (label_j - sigmoid(c . o_j));  o_j += g_j * c;  c += sum_j g_j * o_j

:func:`negative_sampling_losses` is the same loss for autograd (the study's Adam, the
models' ``loss``), with the same rule for saturated pairs.
"""

from __future__ import annotations

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
) -> Tensor:
    """One synchronous SGD step over a batch, in place; returns the mean loss (a 0-d tensor).

    Args:
        center_table: (n_items, dim) float table, updated in place.
        context_table: (n_items, dim) float table, updated in place.
        centers: (batch,) int64 center ids.
        contexts: (batch,) int64 true context ids.
        negatives: (batch, K) int64 negative ids.
        lr: learning rate per pair (word2vec's alpha).
        max_logit: pairs with |logit| at or beyond it are not updated (0: all are).
    """
    ids = torch.cat([contexts.unsqueeze(1), negatives], dim=1)  # (B, 1 + K)
    center_rows = center_table[centers]  # (B, dim)
    context_rows = context_table[ids]  # (B, 1 + K, dim)
    logits = torch.bmm(context_rows, center_rows.unsqueeze(-1)).squeeze(-1)  # (B, 1 + K)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    coefficients = (labels - torch.sigmoid(logits)).mul_(lr)  # g_j
    if max_logit > 0:
        coefficients.masked_fill_(logits.abs() >= max_logit, 0.0)
    center_step = torch.bmm(coefficients.unsqueeze(1), context_rows).squeeze(1)  # (B, dim)
    context_step = coefficients.unsqueeze(-1) * center_rows.unsqueeze(1)  # (B, 1 + K, dim)
    context_table.index_add_(0, ids.reshape(-1), context_step.reshape(-1, context_table.shape[1]))
    center_table.index_add_(0, centers, center_step)
    # softplus(-x) = -log sigmoid(x) for the true context, softplus(x) for the negatives.
    signs = 1.0 - 2.0 * labels
    return F.softplus(logits * signs).sum(dim=1).mean()
