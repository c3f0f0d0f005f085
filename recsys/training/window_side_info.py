"""EGES's skip-gram SGD straight from walks, negatives shared per window (CPU).

:mod:`recsys.training.window_sgns`'s window step with EGES's vectors (Wang et al. 2018,
:mod:`recsys.models.side_info_model`). A product's vector is a weighted sum of field rows,

    H_v = sum_f w_vf T_f[row_f(v)]      f = 0: its id row, f >= 1: its side values

with w_v equal over the fields present (GES) or softmax(a_v) over them (EGES, learned
logits per product). Inputs of a window use the center tables (id row from the center
table); the target and the shared negatives use the output tables: the context table's id
row alone (the paper's id-only context) or, with context side information, that row and
the product's own side values in the center's side tables. Per window, as word2vec:

    logits[i, j] = H_in[c_i] . H_out[o_j]     o_0 = t (label 1), o_1..o_K negatives (0)
    g[i, j]      = lr * (label_j - sigmoid(logits[i, j]))
    dH_in[i]     = sum_j g[i, j] H_out[o_j]     dH_out[j] = sum_i g[i, j] H_in[c_i]

and each field row present gets its weight's share, T_f[row_f(v)] += w_vf dH_v (autograd's
gradient of the weighted sum); with learned weights the logits take
a_vf += w_vf (T_f[row_f(v)] - H_v) . dH_v (the softmax's). A window's outputs are built
from the rows before its updates and updated after it, as word2vec; an input token's H is
built once, when the first window takes it, and its steps from every window it is an input
of are summed and added once no later window can take it, so its field rows (one per
field, a category row shared by thousands of products) are gathered and written once per
walk position instead of once per window (a side_info epoch at Electronics scale: 121.8 s
instead of about 200); the price is an input's H up to two window widths behind its rows.
An input whose id is dropped (EGES's id dropout, drawn per token by
:func:`recsys.training.walk_batches.draw_walk_batch`) is its side fields alone in every
window it is an input of. Each window prefetches the id rows of the window two ahead
(:mod:`recsys.training.prefetch`). :func:`reference_side_info_step` is the readable numpy
version.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from recsys.training.batching import WalkBatch
from recsys.training.fused_sgns import pair_gradient, softplus, window_logits
from recsys.training.prefetch import prefetch_window_ahead
from recsys.training.walk_batches import fill_window, kept_tokens, widest_reach

NO_ATTENTION = np.empty((0, 0), dtype=np.float32)  # ``attention`` of equal weights
ABSENT = -1  # a field's row in ``side_rows`` when the product has no value there (weight 0)


@numba.njit(nogil=True, fastmath=True, inline="always")
def _field_weights(
    item: int,
    drop_id: bool,
    side_rows: np.ndarray,
    attention: np.ndarray,
    rows: np.ndarray,
    weights: np.ndarray,
) -> None:
    """Fill ``rows`` (ABSENT for a field not in the sum) and ``weights`` of one product."""
    n_fields = rows.shape[0]
    rows[0] = ABSENT if drop_id else item
    for f in range(1, n_fields):
        rows[f] = side_rows[item, f - 1]
    if rows[0] == ABSENT:  # never empty: dropout only hits products with a side value
        any_side = False
        for f in range(1, n_fields):
            any_side = any_side or rows[f] != ABSENT
        if not any_side:
            rows[0] = item
    if attention.shape[0] == 0:
        n_present = 0
        for f in range(n_fields):
            n_present += rows[f] != ABSENT
        for f in range(n_fields):
            weights[f] = np.float32(1.0 / n_present) if rows[f] != ABSENT else np.float32(0.0)
        return
    top = -np.inf
    for f in range(n_fields):
        if rows[f] != ABSENT:
            top = max(top, attention[item, f])
    total = 0.0
    for f in range(n_fields):
        weights[f] = math.exp(attention[item, f] - top) if rows[f] != ABSENT else 0.0
        total += weights[f]
    for f in range(n_fields):
        weights[f] = np.float32(weights[f] / total)


@numba.njit(nogil=True, fastmath=True, inline="always")
def _weighted_sum(
    tables: tuple[np.ndarray, ...], rows: np.ndarray, weights: np.ndarray, out: np.ndarray
) -> None:
    """out = H = sum_f weights[f] * tables[f][rows[f]] over the fields present."""
    out[:] = 0.0
    for f in range(len(tables)):
        row = rows[f]
        if row == ABSENT:
            continue
        table, w = tables[f], weights[f]
        for d in range(out.shape[0]):
            out[d] += w * table[row, d]


@numba.njit(nogil=True, fastmath=True, inline="always")
def _copy_fields(tables: tuple[np.ndarray, ...], rows: np.ndarray, out: np.ndarray) -> None:
    """out[f] = T_f[row_f] for the fields present: an input's rows when its H was built."""
    for f in range(len(tables)):
        row = rows[f]
        if row == ABSENT:
            continue
        table = tables[f]
        for d in range(out.shape[1]):
            out[f, d] = table[row, d]


@numba.njit(nogil=True, fastmath=True, inline="always")
def _logit_steps(
    fields: np.ndarray,
    rows: np.ndarray,
    weights: np.ndarray,
    vector: np.ndarray,
    step: np.ndarray,
    out: np.ndarray,
) -> None:
    """out[f] = weights[f] * (T_f[row_f] - H) . step, the softmax logits' share of ``step``,
    from the field rows H was built from (``fields``, :func:`_copy_fields`)."""
    base = np.float32(0.0)
    for d in range(step.shape[0]):
        base += vector[d] * step[d]
    for f in range(fields.shape[0]):
        out[f] = 0.0
        if rows[f] == ABSENT:
            continue
        along = np.float32(0.0)
        for d in range(step.shape[0]):
            along += fields[f, d] * step[d]
        out[f] = weights[f] * (along - base)


@numba.njit(nogil=True, fastmath=True, inline="always")
def _add_to_fields(
    tables: tuple[np.ndarray, ...],
    rows: np.ndarray,
    weights: np.ndarray,
    step: np.ndarray,
    attention: np.ndarray,
    item: int,
    logit_steps: np.ndarray,
) -> None:
    """Each present field row takes its weight's share of ``step``; with learned weights
    (``attention`` not empty) the product's logits take ``logit_steps``."""
    for f in range(len(tables)):
        row = rows[f]
        if row == ABSENT:
            continue
        table, w = tables[f], weights[f]
        for d in range(step.shape[0]):
            table[row, d] += w * step[d]
        if attention.shape[0] > 0:
            attention[item, f] += logit_steps[f]


@numba.njit(nogil=True, fastmath=True, inline="always")
def _flush_input(
    input_tables: tuple[np.ndarray, ...],
    attention: np.ndarray,
    item: int,
    rows: np.ndarray,
    weights: np.ndarray,
    fields: np.ndarray,
    vector: np.ndarray,
    step: np.ndarray,
    logit_steps: np.ndarray,
) -> None:
    """Add an input token's summed step to its field rows; with learned weights its logits
    take the softmax's share, from the rows its H was built from (linear in the step, so
    the sum of every window's share)."""
    if attention.shape[0] > 0:
        _logit_steps(fields, rows, weights, vector, step, logit_steps)
    _add_to_fields(input_tables, rows, weights, step, attention, item, logit_steps)


@numba.njit(nogil=True, fastmath=True, parallel=True, cache=True)
def side_info_window_step(
    input_tables: tuple[np.ndarray, ...],
    output_tables: tuple[np.ndarray, ...],
    side_rows: np.ndarray,
    attention: np.ndarray,
    walks: np.ndarray,
    keep: np.ndarray,
    reach: np.ndarray,
    negatives: np.ndarray,
    drop_id: np.ndarray,
    lr: float,
    max_logit: float,
    with_loss: bool = True,
) -> float:
    """One Hogwild SGD pass of EGES over a batch of walks, in place; returns the summed loss.

    Each input token's H is built once, when a window first takes it, and its steps from
    every window it is an input of are summed and added once, when no later window can
    take it (after window ``q + widest reach``): its field rows are gathered and updated
    once per walk position instead of once per window (1.5x the pairs per second at
    Electronics scale). Outputs are built and updated per window, as word2vec.

    Args:
        input_tables: (center table, side table 1, ...), each (rows, dim) float32.
        output_tables: (context table,) for id-only contexts, or (context table, side
            table 1, ...) (the same side arrays) with context side information.
        side_rows: (n_items, n_side) int row of each product in each side table, ABSENT
            where the field stays out of its sum.
        attention: (n_items, n_side + 1) float32 logits a_v (learned weights), updated in
            place; :data:`NO_ATTENTION` for equal weights.
        walks, keep, reach, negatives, drop_id: a :class:`WalkBatch`'s arrays.
        lr: learning rate per pair (word2vec's alpha).
        max_logit: a pair whose |logit| is at least this gets no gradient (gensim's rule,
            :func:`recsys.training.fused_sgns.pair_gradient`); 0 = every pair has one.
        with_loss: compute the loss (0 is returned without it; the step trains the same).

    Returns:
        Sum over the batch's positive pairs of -log s(x.t) - sum_k log s(-x.n_k).
    """
    n_walks, length = walks.shape
    k = negatives.shape[2]
    dim = input_tables[0].shape[1]
    n_in, n_out = len(input_tables), len(output_tables)
    learned = attention.shape[0] > 0
    output_logits = learned and n_out > 1  # an id-only context has no weights to learn
    output_attention = attention if output_logits else np.empty((0, 0), dtype=np.float32)
    max_window = widest_reach(reach)
    loss_sum = 0.0
    for r in prange(n_walks):
        tokens, slots, n = kept_tokens(walks, keep, r)
        width = 2 * max_window
        inputs = np.empty(width, dtype=np.int64)
        positions = np.empty(width, dtype=np.int64)  # of the window's inputs among tokens
        # per kept token: its fields, weights and H (built when first taken), summed steps
        token_rows = np.empty((length, n_in), dtype=np.int64)
        token_weights = np.empty((length, n_in), dtype=np.float32)
        token_vectors = np.empty((length, dim), dtype=np.float32)
        token_steps = np.zeros((length, dim), dtype=np.float32)
        token_logit_steps = np.zeros((length, n_in), dtype=np.float32)
        token_fields = np.zeros((length if learned else 1, n_in, dim), dtype=np.float32)
        outputs = np.empty(1 + k, dtype=np.int64)
        labels = np.empty(1 + k, dtype=np.float32)
        out_rows = np.empty((1 + k, n_out), dtype=np.int64)
        out_weights = np.empty((1 + k, n_out), dtype=np.float32)
        # zeros: a skipped negative's row enters the steps times a zero gradient, and
        # uninitialised memory there could hold NaN (0 * NaN is NaN)
        out_vectors = np.zeros((1 + k, dim), dtype=np.float32)
        out_steps = np.empty((1 + k, dim), dtype=np.float32)
        out_logit_steps = np.zeros((1 + k, n_out), dtype=np.float32)
        out_fields = np.zeros((n_out, dim), dtype=np.float32)
        grad = np.empty((width, 1 + k), dtype=np.float32)
        walk_loss = 0.0
        built = 0  # tokens [0, built) have their H
        for p in range(n):
            prefetch_window_ahead(
                output_tables[0], input_tables[0], tokens, slots, negatives, r, n, p, max_window
            )
            m = fill_window(
                tokens, slots, n, p, reach, negatives, r, inputs, positions, outputs, labels
            )
            if m > 0:
                while built <= positions[m - 1]:  # H of the tokens this window takes first
                    dropped = drop_id[r, slots[built]]
                    _field_weights(
                        tokens[built],
                        dropped,
                        side_rows,
                        attention,
                        token_rows[built],
                        token_weights[built],
                    )
                    _weighted_sum(
                        input_tables, token_rows[built], token_weights[built], token_vectors[built]
                    )
                    if learned:
                        _copy_fields(input_tables, token_rows[built], token_fields[built])
                    built += 1
                for j in range(1 + k):
                    if labels[j] >= 0.0:
                        _field_weights(
                            outputs[j], False, side_rows, attention, out_rows[j], out_weights[j]
                        )
                        _weighted_sum(output_tables, out_rows[j], out_weights[j], out_vectors[j])
                window_logits(token_vectors, positions, out_vectors, m, grad)
                for i in range(m):
                    for j in range(1 + k):
                        if labels[j] < 0.0:
                            grad[i, j] = 0.0
                            continue
                        dot = grad[i, j]
                        if with_loss:
                            walk_loss += softplus(-float(dot) if j == 0 else float(dot))
                        grad[i, j] = np.float32(pair_gradient(labels[j], float(dot), lr, max_logit))
                for i in range(m):  # dH_in = g @ H_out, summed over the token's windows
                    step = token_steps[positions[i]]
                    for j in range(1 + k):
                        g = grad[i, j]
                        for d in range(dim):
                            step[d] += g * out_vectors[j, d]
                for j in range(1 + k):  # dH_out = g.T @ H_in
                    for d in range(dim):
                        out_steps[j, d] = 0.0
                    for i in range(m):
                        g = grad[i, j]
                        vector = token_vectors[positions[i]]
                        for d in range(dim):
                            out_steps[j, d] += g * vector[d]
                for j in range(1 + k):  # softmax steps from the rows before any update
                    if labels[j] >= 0.0 and output_logits:
                        _copy_fields(output_tables, out_rows[j], out_fields)
                        _logit_steps(
                            out_fields,
                            out_rows[j],
                            out_weights[j],
                            out_vectors[j],
                            out_steps[j],
                            out_logit_steps[j],
                        )
                for j in range(1 + k):
                    if labels[j] < 0.0:
                        continue
                    _add_to_fields(
                        output_tables,
                        out_rows[j],
                        out_weights[j],
                        out_steps[j],
                        output_attention,
                        outputs[j],
                        out_logit_steps[j],
                    )
            done = p - max_window  # no later window takes this token
            if 0 <= done < built:
                _flush_input(
                    input_tables,
                    attention,
                    tokens[done],
                    token_rows[done],
                    token_weights[done],
                    token_fields[done if learned else 0],
                    token_vectors[done],
                    token_steps[done],
                    token_logit_steps[done],
                )
        for q in range(max(0, n - max_window), built):
            _flush_input(
                input_tables,
                attention,
                tokens[q],
                token_rows[q],
                token_weights[q],
                token_fields[q if learned else 0],
                token_vectors[q],
                token_steps[q],
                token_logit_steps[q],
            )
        loss_sum += walk_loss
    return loss_sum


def _reference_weights(
    item: int, drop: bool, side_rows: np.ndarray, attention: np.ndarray, n_fields: int
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, weights) of one product's fields, as :func:`_field_weights`."""
    rows = np.concatenate([[item], side_rows[item, : n_fields - 1]]).astype(np.int64)
    if drop and (rows[1:] != ABSENT).any():
        rows[0] = ABSENT
    present = rows != ABSENT
    logits = attention[item, :n_fields].astype(np.float64) if attention.size else np.zeros(n_fields)
    weights = np.where(present, np.exp(logits - logits[present].max()), 0.0)
    return rows, weights / weights.sum()


def reference_side_info_step(
    input_tables: tuple[np.ndarray, ...],
    output_tables: tuple[np.ndarray, ...],
    side_rows: np.ndarray,
    attention: np.ndarray,
    walks: np.ndarray,
    keep: np.ndarray,
    reach: np.ndarray,
    negatives: np.ndarray,
    drop_id: np.ndarray,
    lr: float,
    max_logit: float = 0.0,
) -> float:
    """Readable numpy version of :func:`side_info_window_step` (walks in order), for tests."""
    learned = attention.size > 0
    widest = max(1, int(reach.max(initial=0)))
    loss_sum = 0.0

    def embed(tables: tuple[np.ndarray, ...], item: int, drop: bool) -> tuple[np.ndarray, ...]:
        """(rows, weights, field rows (n_fields, dim), H) of one product from the tables as
        they are now, float64."""
        rows, weights = _reference_weights(item, drop, side_rows, attention, len(tables))
        fields = np.zeros((len(tables), tables[0].shape[1]))
        for f, (table, row) in enumerate(zip(tables, rows, strict=True)):
            if row != ABSENT:
                fields[f] = table[row]
        return rows, weights, fields, weights @ fields

    def add(tables: tuple[np.ndarray, ...], item: int, embedded: tuple, step: np.ndarray) -> None:
        """Each present field row takes its weight's share of ``step``; learned weights'
        logits take theirs, from the rows ``embedded`` was built from."""
        rows, weights, fields, h = embedded
        for f, row in enumerate(rows):
            if row == ABSENT:
                continue
            tables[f][row] += (weights[f] * step).astype(np.float32)
            if learned and len(tables) > 1:
                attention[item, f] += weights[f] * float((fields[f] - h) @ step)

    for r in range(walks.shape[0]):
        slots = np.flatnonzero(keep[r])
        tokens = walks[r, slots].astype(np.int64)
        n = len(tokens)
        built: list[tuple] = []  # embed() of each input token, built when first taken
        steps = np.zeros((n, input_tables[0].shape[1]))  # its steps, summed over its windows
        for p, slot in enumerate(slots):
            b = int(reach[r, slot])
            window = [q for q in range(max(0, p - b), min(n, p + b + 1)) if q != p]
            if window:
                while len(built) < min(n, p + b + 1):
                    q = len(built)
                    built.append(embed(input_tables, tokens[q], bool(drop_id[r, slots[q]])))
                outputs = np.concatenate([[tokens[p]], negatives[r, slot]])
                use = np.ones(len(outputs), dtype=bool)
                use[1:] = outputs[1:] != tokens[p]
                labels = np.zeros(len(outputs))
                labels[0] = 1.0
                outs = [embed(output_tables, o, False) for o in outputs]
                h_in = np.stack([built[q][3] for q in window])  # (m, dim)
                h_out = np.stack([x[3] for x in outs])  # (1 + K, dim)
                logits = h_in @ h_out.T
                signs = np.where(labels > 0, -1.0, 1.0)
                loss_sum += float((np.logaddexp(0.0, logits * signs) * use).sum())
                grad = lr * (labels - 1.0 / (1.0 + np.exp(-logits))) * use  # (m, 1 + K)
                if max_logit > 0:
                    grad[np.abs(logits) >= max_logit] = 0.0
                steps[window] += grad @ h_out
                out_steps = grad.T @ h_in
                for j in np.flatnonzero(use):
                    add(output_tables, outputs[j], outs[j], out_steps[j])
            done = p - widest  # no later window takes this token
            if 0 <= done < len(built):
                add(input_tables, tokens[done], built[done], steps[done])
        for q in range(max(0, n - widest), len(built)):
            add(input_tables, tokens[q], built[q], steps[q])
    return loss_sum


def train_side_info_batch(
    input_tables: tuple[np.ndarray, ...],
    output_tables: tuple[np.ndarray, ...],
    side_rows: np.ndarray,
    attention: np.ndarray,
    batch: WalkBatch,
    lr: float,
    max_logit: float = 0.0,
    with_loss: bool = True,
) -> float:
    """:func:`side_info_window_step` on a :class:`WalkBatch`; returns the mean loss per pair
    (NaN without ``with_loss``)."""
    loss_sum = side_info_window_step(
        input_tables,
        output_tables,
        side_rows,
        attention,
        batch.walks,
        batch.keep,
        batch.reach,
        batch.negatives,
        batch.drop_id,
        lr,
        max_logit,
        with_loss,
    )
    return loss_sum / max(batch.n_pairs, 1) if with_loss else math.nan
