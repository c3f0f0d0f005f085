"""What every method returns and how methods are found by name.

Every method, from the popularity baseline to skip-gram with side information, hands
back an :class:`ItemEmbeddings`: one float32 row per product plus what scoring needs.
Evaluation, the MLflow pyfunc model and the leaderboard depend only on this class, so
every number is computed the same way for every method.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel

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
    """

    vectors: EmbeddingMatrix  # (n_items, dim), float32
    known: BoolMask  # (n_items,)
    similarity: Similarity = "cosine"
    bias: Weights | None = None  # (n_items,), added to the pair score when present
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. learned side-info weights
    context: EmbeddingMatrix | None = None  # (n_items, dim): output vectors, see above

    def __post_init__(self) -> None:
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
            if self.context.shape != self.vectors.shape:
                raise ValueError(
                    f"context has shape {self.context.shape}, expected {self.vectors.shape}"
                )
            if self.similarity != "cosine" or self.bias is not None:
                raise ValueError("context vectors are scored by cosine only, without a bias")

    @property
    def n_items(self) -> int:
        return int(self.vectors.shape[0])

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @cached_property
    def _scoring_vectors(self) -> EmbeddingMatrix:
        """Unit rows for cosine, the raw rows otherwise; computed once per instance.

        Cached because a served model scores many small requests: re-normalizing a
        1.95M x 128 table per request would dominate their latency.
        """
        if self.similarity != "cosine":
            return self.vectors
        return _unit_rows(self.vectors)

    @cached_property
    def _scoring_context(self) -> EmbeddingMatrix | None:
        """Unit context rows (None without context vectors); cached like the vectors."""
        return None if self.context is None else _unit_rows(self.context)

    def _pair_products(self, a: ItemIds, b: ItemIds) -> np.ndarray:
        """Row-wise products of a's and b's scoring vectors (both orders with context)."""
        vectors, context = self._scoring_vectors, self._scoring_context
        if context is None:
            return np.einsum("ij,ij->i", vectors[a], vectors[b])
        forward = np.einsum("ij,ij->i", vectors[a], context[b])
        return 0.5 * (forward + np.einsum("ij,ij->i", context[a], vectors[b]))

    def score(self, item_a: ItemIds, item_b: ItemIds, chunk_size: int = 1 << 20) -> Weights:
        """Score pairs in bulk, shape (n,). Chunked so memory stays bounded on millions of pairs."""
        out = np.empty(item_a.shape[0], dtype=np.float32)
        for start in range(0, item_a.shape[0], chunk_size):
            a = item_a[start : start + chunk_size]
            b = item_b[start : start + chunk_size]
            s = self._pair_products(a, b)
            if self.bias is not None:
                s = s + self.bias[a] + self.bias[b]
            if self.similarity == "dot_sigmoid":
                s = 1.0 / (1.0 + np.exp(-s))
            out[start : start + chunk_size] = s
        return out

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
        vectors, context = self._scoring_vectors, self._scoring_context
        candidate_vectors = vectors[candidates]
        candidate_context = None if context is None else context[candidates]
        # Column of each item among the candidates (-1 when it is not one): masks the query.
        column = np.full(self.n_items, -1, dtype=np.int64)
        column[candidates] = np.arange(candidates.size)
        for start in range(0, len(item_ids), chunk_size):
            query = item_ids[start : start + chunk_size]
            if context is None or candidate_context is None:
                scores = vectors[query] @ candidate_vectors.T  # (chunk, candidates)
            else:
                forward = vectors[query] @ candidate_context.T
                scores = 0.5 * (forward + context[query] @ candidate_vectors.T)
            if self.bias is not None:
                scores = scores + self.bias[query, None] + self.bias[None, candidates]
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


def _unit_rows(matrix: EmbeddingMatrix) -> EmbeddingMatrix:
    """Rows scaled to length 1 (all-zero rows stay zero), float32."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class TrainingCallback:
    """Hooks a trainer calls; tracking (MLflow) and progress bars plug in here.

    Models never call MLflow themselves (STYLE.md): they call these hooks.
    """

    def on_train_begin(self, params: dict[str, Any]) -> None:
        """Called once with the effective configuration."""

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        """Called after batch ``step`` (global, 0-based) with e.g. loss and sampled AUC."""

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        """Called after each epoch with full-validation metrics and the current embeddings."""

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        """Called once with the final embeddings and metrics."""


class MetricsForwarder(TrainingCallback):
    """Passes every hook on to ``callbacks``, letting a subclass add metrics on the way.

    A method that knows more than the engine (EGES: its learned field weights) wraps the
    run's callbacks in one of these and overrides :meth:`extra_metrics`; the tracking
    callbacks then log the extra values like any other epoch metric.
    """

    def __init__(self, callbacks: Sequence[TrainingCallback]) -> None:
        self.callbacks = tuple(callbacks)

    def extra_metrics(self, model: ItemEmbeddings) -> dict[str, float]:
        """Metrics added to each epoch's and the final metrics (none by default)."""
        return {}

    def on_train_begin(self, params: dict[str, Any]) -> None:
        for callback in self.callbacks:
            callback.on_train_begin(params)

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        for callback in self.callbacks:
            callback.on_batch_end(step, metrics)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        metrics = {**metrics, **self.extra_metrics(model)}
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, metrics, model)

    def on_train_end(self, model: ItemEmbeddings, metrics: dict[str, float]) -> None:
        metrics = {**metrics, **self.extra_metrics(model)}
        for callback in self.callbacks:
            callback.on_train_end(model, metrics)


TrainFunction = Callable[[Any, BaseModel, Sequence[TrainingCallback]], ItemEmbeddings]


@dataclass(frozen=True)
class Method:
    """A registered method: its name, config schema and train function.

    ``train(data, config, callbacks)`` takes a PreparedDataset (and whatever the method
    derives from it, such as walks, through config) and returns ItemEmbeddings.
    """

    name: str
    config_class: type[BaseModel]
    train: TrainFunction
    description: str
    needs_walks: bool = False
