"""Trained item vectors and how a pair is scored with them: what every method returns.

Every method, from the popularity baseline to skip-gram with side information, hands
back an :class:`ItemEmbeddings`: one float32 row per product plus what scoring needs.
Evaluation, the MLflow pyfunc model and the leaderboard depend only on this class, so
every number is computed the same way for every method. It sits below models, training
and evaluation, which all use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numba
import numpy as np
from numba import prange
from scipy import sparse

from recsys.typing import BoolMask, EmbeddingMatrix, ItemIds, Weights

Similarity = Literal["cosine", "dot", "dot_sigmoid"]
# Which vectors a skip-gram-style method (skip-gram, EGES, gensim) scores a pair with:
# "center" = cos(center_a, center_b), the study's; "center_context" = ItemEmbeddings.context.
PairScore = Literal["center", "center_context"]
PAIR_SCORE_HELP = (
    "how a pair is scored: center = cosine of the two products' center (input) vectors, the "
    "study's way; center_context = mean of cos(center_a, context_b) and cos(center_b, "
    "context_a), the co-occurrence the loss trains (measured: +0.005 to +0.027 AUC on seen "
    "pairs, docs/benchmarks.md)"
)

# ItemEmbeddings.extra key: what ``bias`` sums, in the order the terms were added ("learned",
# "log_degree", "degree_prior", "csls", "csls_partial"); the model's score text names them.
BIAS_TERMS = "bias_terms"


@dataclass(frozen=True)
class ItemEmbeddings:
    """Trained item vectors aligned with item_id, and how to score a pair with them.

    ``known`` marks items whose vector was learned (or derived from side information);
    the rest keep whatever initial vector the method had, and evaluation treats them as
    having no embedding (the study scored such pairs with the median score).

    ``context`` (cosine only) holds a second vector per product, the output ("context")
    vectors of a skip-gram-style model. With it a pair scores
    (cos(v_a, c_b) + cos(v_b, c_a)) / 2, the first-order similarity the skip-gram loss
    trains (a product against the products seen beside it), instead of cos(v_a, v_b),
    which only compares the two products' contexts.

    ``vectors`` may be a scipy CSR matrix: the graph baselines' rows are products' rows of
    the training adjacency (n_items wide, a few entries each), so item-kNN is the cosine
    and Adamic-Adar the dot product of sparse rows, scored by the same code as any method.
    """

    vectors: EmbeddingMatrix | sparse.csr_matrix  # (n_items, dim), float32
    known: BoolMask  # (n_items,)
    similarity: Similarity = "cosine"
    bias: Weights | None = None  # (n_items,), added to the pair score when present
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. learned side-info weights
    context: EmbeddingMatrix | None = None  # (n_items, dim): output vectors, see above

    def __post_init__(self) -> None:
        if sparse.issparse(self.vectors) and not isinstance(self.vectors, sparse.csr_matrix):
            object.__setattr__(self, "vectors", sparse.csr_matrix(self.vectors))
        if self.vectors.ndim != 2:
            raise ValueError(f"vectors must be 2-D (n_items, dim), got shape {self.vectors.shape}")
        if self.known.shape != (self.vectors.shape[0],):
            raise ValueError(
                f"known has shape {self.known.shape}, expected ({self.vectors.shape[0]},)"
            )
        if self.bias is not None and self.bias.shape != (self.vectors.shape[0],):
            raise ValueError(
                f"bias has shape {self.bias.shape}, expected ({self.vectors.shape[0]},)"
            )
        if self.context is not None:
            if self.is_sparse:
                raise ValueError("context vectors need dense vectors")
            if self.context.shape != self.vectors.shape:
                raise ValueError(
                    f"context has shape {self.context.shape}, expected {self.vectors.shape}"
                )
            if self.similarity != "cosine":
                raise ValueError("context vectors are scored by cosine only")

    @property
    def n_items(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def is_sparse(self) -> bool:
        return isinstance(self.vectors, sparse.csr_matrix)

    @cached_property
    def _scoring_vectors(self) -> EmbeddingMatrix | sparse.csr_matrix:
        """Unit rows for cosine, the raw rows otherwise; computed once per instance.

        Cached because a served model scores many small requests: re-normalizing a
        1.95M x 128 table per request would dominate their latency.
        """
        if self.similarity != "cosine":
            if isinstance(self.vectors, sparse.csr_matrix):
                return self.vectors
            return np.ascontiguousarray(self.vectors, dtype=np.float32)  # the compiled loops'
        return _unit_rows(self.vectors)

    @cached_property
    def _scoring_context(self) -> EmbeddingMatrix | None:
        """Unit context rows (None without context vectors); cached like the vectors."""
        return None if self.context is None else _unit_rows(self.context)

    def scoring_tables(self) -> tuple[EmbeddingMatrix | sparse.csr_matrix, EmbeddingMatrix | None]:
        """(vectors, context) as scoring uses them: unit rows for cosine, raw otherwise."""
        return self._scoring_vectors, self._scoring_context

    def _pair_products(self, a: ItemIds, b: ItemIds) -> np.ndarray:
        """Scoring-vector products of each pair (a[i], b[i]), both orders with context."""
        vectors, context = self._scoring_vectors, self._scoring_context
        if isinstance(vectors, sparse.csr_matrix):
            return np.asarray(vectors[a].multiply(vectors[b]).sum(axis=1)).ravel()
        out = np.empty(a.shape[0], dtype=np.float32)
        a, b = a.astype(np.int64, copy=False), b.astype(np.int64, copy=False)
        if context is None:
            _row_dots(vectors, a, b, out)
        else:
            _row_dots_both_ways(vectors, context, a, b, out)
        return out

    def score(self, item_a: ItemIds, item_b: ItemIds, chunk_size: int = 1 << 14) -> Weights:
        """Score pairs in bulk, shape (n,). Sparse rows go ``chunk_size`` pairs at a time so
        the gathered rows stay in cache; dense rows are read in place by a compiled loop
        (4-5x numpy's gathers and einsum on 4M pairs at Electronics scale)."""
        out = np.empty(item_a.shape[0], dtype=np.float32)
        step = chunk_size if self.is_sparse else max(item_a.shape[0], 1)
        for start in range(0, item_a.shape[0], step):
            a = item_a[start : start + step]
            b = item_b[start : start + step]
            s = self._pair_products(a, b)
            if self.bias is not None:
                s = s + self.bias[a] + self.bias[b]
            if self.similarity == "dot_sigmoid":
                s = 1.0 / (1.0 + np.exp(-s))
            out[start : start + step] = s
        return out

    def score_rows(self, query: ItemIds, candidates: ItemIds | None = None) -> np.ndarray:
        """Each query's score against every candidate (default: every item), float32.

        Shape (len(query), len(candidates)); the same score as :meth:`score` up to the
        monotone sigmoid of ``dot_sigmoid`` (left out: ranks do not change). Callers
        bound ``len(query)`` so the block fits in memory; callers scoring many blocks
        build a :meth:`row_scorer` once instead.
        """
        return self.row_scorer(candidates)(query)

    def row_scorer(self, candidates: ItemIds | None = None) -> RowScorer:
        """A scorer of query blocks against fixed candidates (default: every item), whose
        candidate tables are gathered once, for callers that score many blocks."""
        vectors, context = self._scoring_vectors, self._scoring_context
        if candidates is not None:
            vectors = vectors[candidates]
            context = None if context is None else context[candidates]
        bias = self.bias if candidates is None or self.bias is None else self.bias[candidates]
        if context is not None:
            # [c_b, v_b] against [v_a, c_a] / 2: both halves of the pair score in one
            # matrix product of twice the depth (1.3x two products and a sum at Electronics
            # scale, docs/benchmarks.md).
            vectors = np.concatenate([context, vectors], axis=1)
        return RowScorer(self, vectors, bias)

    def most_similar(
        self, item_ids: ItemIds, k: int, chunk_size: int = 256
    ) -> tuple[ItemIds, Weights]:
        """Top-k known items for each query item (the query itself excluded).

        Queries are scored ``chunk_size`` at a time, so memory stays at
        (chunk_size, n_known) floats however many products are asked for.

        Returns (ids, scores), each of shape (len(item_ids), k).
        """
        item_ids = np.asarray(item_ids)
        candidates = np.flatnonzero(self.known).astype(np.int32)
        k = min(k, max(len(candidates) - 1, 0))
        ids = np.empty((len(item_ids), k), dtype=np.int32)
        top_scores = np.empty((len(item_ids), k), dtype=np.float32)
        if k == 0:
            return ids, top_scores
        # Column of each item among the candidates (-1 when it is not one): masks the query.
        column = np.full(self.n_items, -1, dtype=np.int64)
        column[candidates] = np.arange(candidates.size)
        scorer = self.row_scorer(candidates)  # tables gathered once, not per chunk
        for start in range(0, len(item_ids), chunk_size):
            query = item_ids[start : start + chunk_size]
            scores = scorer(query)  # (chunk, candidates)
            rows = np.flatnonzero(column[query] >= 0)
            scores[rows, column[query][rows]] = -np.inf
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            chunk_scores = np.take_along_axis(scores, top, axis=1)
            order = np.argsort(-chunk_scores, axis=1)
            ids[start : start + chunk_size] = candidates[np.take_along_axis(top, order, axis=1)]
            top_scores[start : start + chunk_size] = np.take_along_axis(chunk_scores, order, axis=1)
        if self.similarity == "dot_sigmoid":
            top_scores = (1.0 / (1.0 + np.exp(-top_scores))).astype(np.float32)
        return ids, top_scores


def extra_with_bias_term(model: ItemEmbeddings, term: str) -> dict[str, Any]:
    """``model.extra`` recording that ``term`` was added to its bias (:data:`BIAS_TERMS`)."""
    return {**model.extra, BIAS_TERMS: (*model.extra.get(BIAS_TERMS, ()), term)}


@dataclass(frozen=True)
class RowScorer:
    """Scores query blocks against candidate tables gathered once (see
    :meth:`ItemEmbeddings.row_scorer`): ``columns`` holds the candidates' scoring rows,
    their context and center rows side by side for a model with context vectors."""

    model: ItemEmbeddings
    columns: EmbeddingMatrix | sparse.csr_matrix  # (candidates, dim or 2 * dim)
    column_bias: Weights | None  # (candidates,)

    def __call__(self, query: ItemIds) -> np.ndarray:
        """(len(query), candidates) float32 scores."""
        vectors, context = self.model.scoring_tables()
        bias = self.model.bias
        if self.columns.shape[1] == 0:  # zero-width vectors (popularity): the biases alone,
            # one pass instead of an empty product, then a sum (a fifth of the time)
            if bias is None or self.column_bias is None:
                return np.zeros((len(query), self.columns.shape[0]), dtype=np.float32)
            return (bias[query, None] + self.column_bias[None, :]).astype(np.float32, copy=False)
        if isinstance(vectors, sparse.csr_matrix):
            scores = np.asarray((vectors[query] @ self.columns.T).todense(), dtype=np.float32)
        elif context is None:
            scores = vectors[query] @ self.columns.T  # (queries, candidates)
        else:
            rows = np.concatenate([vectors[query], context[query]], axis=1)
            rows *= 0.5  # the pair score is the mean of the two directions
            scores = rows @ self.columns.T
        if bias is not None and self.column_bias is not None:
            scores += bias[query, None] + self.column_bias[None, :]
        return scores.astype(np.float32, copy=False)


@numba.njit(parallel=True, nogil=True, fastmath=True, cache=True)
def _row_dots(
    vectors: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """out[i] = vectors[a[i]] . vectors[b[i]] (fastmath: the sum in SIMD lanes)."""
    for i in prange(a.size):
        left, right = vectors[a[i]], vectors[b[i]]
        total = np.float32(0.0)
        for k in range(left.size):
            total += left[k] * right[k]
        out[i] = total


@numba.njit(parallel=True, nogil=True, fastmath=True, cache=True)
def _row_dots_both_ways(
    vectors: np.ndarray, context: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """out[i] = (vectors[a[i]] . context[b[i]] + context[a[i]] . vectors[b[i]]) / 2."""
    for i in prange(a.size):
        center_a, context_b = vectors[a[i]], context[b[i]]
        context_a, center_b = context[a[i]], vectors[b[i]]
        total = np.float32(0.0)
        for k in range(center_a.size):
            total += center_a[k] * context_b[k] + context_a[k] * center_b[k]
        out[i] = np.float32(0.5) * total


def _unit_rows(matrix: EmbeddingMatrix | sparse.csr_matrix) -> EmbeddingMatrix | sparse.csr_matrix:
    """Rows scaled to length 1 (all-zero rows stay zero), float32; sparse stays sparse."""
    if isinstance(matrix, sparse.csr_matrix):
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        scale = sparse.diags((1.0 / np.maximum(norms, 1e-12)).astype(np.float32))
        return sparse.csr_matrix(scale @ matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
