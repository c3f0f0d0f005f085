"""Hubness correction for ranking: CSLS offsets (Conneau et al. 2018, "Word translation
without parallel data").

In a high-dimensional embedding some vectors sit near the centre of many others (hubs) and
rank high for almost every query. EGES makes such vectors on purpose: a product known only
by its side information is the mean of category, brand and price rows that thousands of
products share. On the Books head 50 of them (0.07% of the catalog) filled 39-79% of all
top-10 slots (docs/benchmarks.md). CSLS scores a pair by ``2 s(a, b) - r(a) - r(b)``, where
``r(x)`` is the mean of ``x``'s ``k`` highest scores: a hub's neighbourhood is dense, so it
pays for the closeness it has with everything.

``r(x)`` is taken against a seeded sample of the products with a vector (the query side of
CSLS), ``x`` itself left out, and the correction is stored as the embeddings' per-product
bias ``-r(x) / 2`` (CSLS halved, ranks unchanged), so evaluation, ranking and the pyfunc
model all score the corrected pair without knowing about it. It can be limited to some
products (``only``), put on the others' scale: CSLS on every product lowered EGES's seen
AUC and its recall@10 on Digital Music, where the trained hubs are products people do buy
together; on the side-only products alone it raised recall@10 and left the trained
products' scores as they were.
"""

from __future__ import annotations

from dataclasses import replace

import numba
import numpy as np
from numba import prange

from recsys.embeddings import ItemEmbeddings, extra_with_bias_term
from recsys.typing import BoolMask

CSLS_NEIGHBOURS = 10  # k: Conneau et al.'s value
CSLS_SAMPLE = 5_000  # products whose scores estimate r(x); ranking evaluation uses 10,000
BLOCK_ROWS = 256  # sample rows scored at once: 256 x 418,749 float32 = 430 MB at Electronics
COLUMN_CHUNK = 4096  # columns a thread merges at once: their k best stay in cache


@numba.njit(parallel=True, nogil=True, cache=True)
def _merge_best(scores: np.ndarray, best: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fold a block of scores into each column's k best, kept ascending in ``best[column]``.

    ``scores``: (rows, n) block; ``best``: (n, k), -inf where fewer than k were seen. A
    score enters when it beats the column's smallest kept one (-inf never enters).
    """
    n, k = best.shape
    for chunk in prange((n + COLUMN_CHUNK - 1) // COLUMN_CHUNK):
        low = chunk * COLUMN_CHUNK
        high = min(low + COLUMN_CHUNK, n)
        for row in range(scores.shape[0]):
            for column in range(low, high):
                value = scores[row, column]
                if value > best[column, 0]:
                    slot = 1
                    while slot < k and best[column, slot] < value:
                        best[column, slot - 1] = best[column, slot]
                        slot += 1
                    best[column, slot - 1] = value


def neighbourhood_similarity(
    model: ItemEmbeddings,
    neighbours: int = CSLS_NEIGHBOURS,
    sample_size: int = CSLS_SAMPLE,
    seed: int = 0,
) -> np.ndarray:
    """``r(x)``: each product's mean score against its ``neighbours`` best-scoring products
    of a seeded sample (itself left out), under the model's own pair score without bias.

    Returns:
        (n_items,) float32; 0 for products without a vector (they are never ranked).

    Raises:
        ValueError: the model is not scored by cosine on dense vectors (CSLS compares
            scores on one scale, which cosine guarantees and dot products do not).
    """
    if model.is_sparse or model.similarity != "cosine":
        raise ValueError(
            f"CSLS needs dense vectors scored by cosine, not {model.similarity} "
            f"({'sparse' if model.is_sparse else 'dense'})"
        )
    score_rows = replace(model, bias=None).row_scorer()
    known = np.flatnonzero(model.known)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(known, size=min(sample_size, known.size), replace=False))
    k = min(neighbours, max(sample.size - 1, 1))
    unknown = ~model.known
    best = np.full((model.n_items, k), -np.inf, dtype=np.float32)  # k best per column
    for start in range(0, sample.size, BLOCK_ROWS):
        rows = sample[start : start + BLOCK_ROWS]
        scores = score_rows(rows)
        scores[np.arange(rows.size), rows] = -np.inf  # not its own neighbour
        scores[:, unknown] = -np.inf
        _merge_best(scores, best)
    finite = np.isfinite(best)
    counts = finite.sum(axis=1)
    sums = np.where(finite, best, 0.0).sum(axis=1)
    # Products without a vector have no finite score in any column: their r stays 0.
    r = np.divide(sums, counts, out=np.zeros(model.n_items, dtype=np.float64), where=counts > 0)
    return r.astype(np.float32)


def with_csls(
    model: ItemEmbeddings,
    neighbours: int = CSLS_NEIGHBOURS,
    sample_size: int = CSLS_SAMPLE,
    seed: int = 0,
    only: BoolMask | None = None,
) -> ItemEmbeddings:
    """``model`` scoring pairs by CSLS: ``-r(x) / 2`` added to each product's bias (to the
    bias it has, if any); ``extra["csls_mean_r"]`` records the mean ``r`` of its products.

    ``only``: correct these products alone, relative to the others: ``-(r(x) - r̄) / 2``
    with ``r̄`` the mean ``r`` of the other products with a vector, so their scores stay as
    they were and the corrected products are put on their scale (EGES's side-only vectors
    among trained ones).
    """
    r = neighbourhood_similarity(model, neighbours, sample_size, seed)
    if only is None:
        offset = -0.5 * r
    else:
        others = model.known & ~only
        reference = float(r[others].mean()) if others.any() else 0.0
        offset = np.where(only & model.known, -0.5 * (r - reference), 0.0)
    bias = offset if model.bias is None else model.bias + offset
    mean_r = float(r[model.known].mean()) if model.known.any() else 0.0
    term = "csls" if only is None else "csls_partial"
    extra = {
        **extra_with_bias_term(model, term),
        "csls_neighbours": neighbours,
        "csls_mean_r": mean_r,
    }
    return replace(model, bias=bias.astype(np.float32), extra=extra)
