"""Ranking metrics over the whole catalog: do the right products come up in the top k?

For held-out positive pairs (a, b) whose ``a`` was seen in training (both ends of a pair
can be queries), every product is ranked by the method's own pair score against ``a``,
leaving out ``a`` itself, ``a``'s training neighbours (they are known already) and
products without an embedding (a method cannot recommend them). Per query product:
recall@k (share of its held-out products in the top k), NDCG@10 (binary gains) and the
reciprocal rank of its best-placed held-out product; the metrics are means over queries,
on a seeded sample of at most ``ranking_queries`` query products.

Ties are ranked at their midpoint (a held-out product tied with 9 others at the top sits
at rank 5.5), so a constant score earns nothing and popularity's many equal degrees are not
counted as wins. Scoring is exact: query blocks times the table of the products the
method can score (one BLAS matmul per block, of twice the depth with context vectors),
ranks counted by a numba kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np
from numba import prange
from scipy import sparse

from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings, RowScorer
from recsys.evaluation.intervals import Interval, bootstrap_mean_interval
from recsys.graph.csr import build_graph
from recsys.typing import ItemIds

RANKING_KS = (10, 100)  # recall@k logged for these k
NDCG_K = 10
CURVE_MAX_K = 100  # recall@k curve for k = 1..CURVE_MAX_K (the leaderboard overlays them)
DEFAULT_MAX_QUERIES = 10_000
BLOCK_FLOATS = 1 << 26  # scores held per query block (256 MiB of float32; 1.2x 128 MiB's speed)


@dataclass(frozen=True)
class RankingQueries:
    """Query products and their held-out products, grouped (CSR-like)."""

    query: ItemIds  # (q,) sorted
    indptr: np.ndarray  # (q + 1,) int64: relevant[indptr[i]:indptr[i+1]] belong to query i
    relevant: ItemIds  # held-out positives of each query
    n_available: int  # query products before sampling

    def __len__(self) -> int:
        return int(self.query.size)


def ranking_queries(dataset: PreparedDataset, max_queries: int, seed: int) -> RankingQueries:
    """The seeded query sample: products seen in training that have a held-out positive.

    Args:
        dataset: the prepared dataset (its positives are the same under both protocols).
        max_queries: at most this many query products; all of them when fewer exist.
        seed: sample seed (the split's, so every method ranks the same queries).
    """
    validation = dataset.validation
    positive = validation.label == 1
    a, b = validation.item_a[positive], validation.item_b[positive]
    in_train = dataset.train_vocabulary()
    query = np.concatenate([a[in_train[a]], b[in_train[b]]])
    relevant = np.concatenate([b[in_train[a]], a[in_train[b]]])
    available = np.unique(query)
    chosen = available
    if available.size > max_queries:
        rng = np.random.default_rng(seed)
        chosen = np.sort(rng.choice(available, size=max_queries, replace=False))
    keep = np.isin(query, chosen)
    query, relevant = query[keep], relevant[keep]
    order = np.lexsort((relevant, query))
    query, relevant = query[order], relevant[order]
    starts = np.searchsorted(query, chosen)
    indptr = np.append(starts, query.size).astype(np.int64)
    return RankingQueries(
        query=chosen.astype(np.int32),
        indptr=indptr,
        relevant=relevant.astype(np.int32),
        n_available=int(available.size),
    )


@numba.njit(parallel=True, nogil=True, cache=True)
def _midpoint_ranks(
    scores: np.ndarray, rows: np.ndarray, columns: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """out[j] = 1-based rank of scores[rows[j], columns[j]] in its row, ties at the midpoint.

    A -inf score (excluded) or a negative column (a product the method cannot score) gets
    rank +inf: never a hit.
    """
    for j in prange(rows.size):
        if columns[j] < 0:
            out[j] = np.inf
            continue
        row = scores[rows[j]]
        target = row[columns[j]]
        if target == -np.inf:
            out[j] = np.inf
            continue
        greater = 0
        equal = 0
        for column in range(row.size):  # branch-free: numba vectorizes it (30x the if/elif)
            greater += row[column] > target
            equal += row[column] == target
        out[j] = 1.0 + greater + 0.5 * (equal - 1)


def _torch_block_ranks(
    model: ItemEmbeddings,
    query: np.ndarray,
    excluded_rows: np.ndarray,
    excluded_columns: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
    device: str,
) -> np.ndarray:
    """The same block computed with torch on ``device`` (a GPU: one matmul per block).

    Dense vectors only.
    """
    import torch  # only when asked for: evaluation itself needs no torch

    def table(matrix: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(matrix, device=device)

    dense_vectors, dense_context = model.scoring_tables()
    vectors = table(np.asarray(dense_vectors))
    query_t = torch.as_tensor(query.astype(np.int64), device=device)
    if dense_context is None:
        block = vectors[query_t] @ vectors.T
    else:
        context = table(dense_context)
        block = 0.5 * (vectors[query_t] @ context.T + context[query_t] @ vectors.T)
    if model.bias is not None:
        bias = table(model.bias)
        block += bias[query_t, None] + bias[None, :]
    block[:, torch.as_tensor(np.flatnonzero(~model.known), device=device)] = -torch.inf
    block[
        torch.as_tensor(excluded_rows, device=device),
        torch.as_tensor(excluded_columns, device=device),
    ] = -torch.inf
    rows_t = torch.as_tensor(rows, device=device)
    target = block[rows_t, torch.as_tensor(columns, device=device)]
    candidates = block[rows_t]  # (held-out products in the block, n_items)
    greater = (candidates > target[:, None]).sum(dim=1)
    equal = (candidates == target[:, None]).sum(dim=1)
    ranks = 1.0 + greater.double() + 0.5 * (equal.double() - 1.0)
    ranks[torch.isneginf(target)] = torch.inf
    return ranks.cpu().numpy()


def _scorable_columns(model: ItemEmbeddings) -> tuple[RowScorer, np.ndarray]:
    """The CPU path's scorer over the products the method can score (gathered once), and
    each product's column among them (-1: none). The others could only ever hold -inf,
    never above or tied with a target (11% of Electronics' matmul)."""
    candidates = np.flatnonzero(model.known).astype(np.int32)
    column_of = np.full(model.n_items, -1, dtype=np.int64)
    column_of[candidates] = np.arange(candidates.size)
    return model.row_scorer(candidates), column_of


def relevant_ranks(
    model: ItemEmbeddings,
    queries: RankingQueries,
    train_adjacency: sparse.csr_matrix,
    block_rows: int | None = None,
    device: str | None = None,
) -> np.ndarray:
    """Midpoint rank of every (query, held-out product) among the allowed candidates.

    Args:
        model: scores rows with its :meth:`ItemEmbeddings.row_scorer`.
        queries: from :func:`ranking_queries`.
        train_adjacency: (n_items, n_items) training pairs, both directions: the query's
            neighbours are left out of its candidates.
        block_rows: queries scored at once; default keeps a block near 256 MiB.
        device: a torch device (``"cuda"``) to score and count on; None = numpy and the
            numba kernel on the CPU. Sparse models always use the CPU path.

    Returns:
        (len(queries.relevant),) float64 ranks, +inf for held-out products the method
        cannot score.
    """
    n_items = model.n_items
    block = block_rows or max(1, BLOCK_FLOATS // max(n_items, 1))
    ranks = np.empty(queries.relevant.size, dtype=np.float64)
    on_device = device is not None and not model.is_sparse
    cpu = None if on_device else _scorable_columns(model)
    for start in range(0, len(queries), block):
        query = queries.query[start : start + block]
        neighbours = train_adjacency[query]
        row_of_entry = np.repeat(np.arange(query.size), np.diff(neighbours.indptr))
        # The query itself is left out with its training neighbours.
        excluded_rows = np.concatenate([row_of_entry, np.arange(query.size)])
        excluded_columns = np.concatenate([neighbours.indices, query]).astype(np.int64)
        lo, hi = queries.indptr[start], queries.indptr[start + query.size]
        counts = np.diff(queries.indptr[start : start + query.size + 1])
        rows = np.repeat(np.arange(query.size), counts)
        columns = queries.relevant[lo:hi].astype(np.int64)
        if cpu is None:
            ranks[lo:hi] = _torch_block_ranks(
                model, query, excluded_rows, excluded_columns, rows, columns, str(device)
            )
            continue
        score_rows, column_of = cpu
        scores = score_rows(query)  # (block, candidates)
        excluded_columns = column_of[excluded_columns]
        scorable = excluded_columns >= 0
        scores[excluded_rows[scorable], excluded_columns[scorable]] = -np.inf
        _midpoint_ranks(scores, rows, column_of[columns], ranks[lo:hi])
    return ranks


@dataclass(frozen=True)
class RankingResult:
    """Per-query ranking metrics, their means and 95% bootstrap intervals."""

    query: ItemIds  # (q,)
    per_query: dict[str, np.ndarray]  # metric -> (q,) values
    recall_curve: np.ndarray  # (CURVE_MAX_K,): mean recall@k for k = 1..CURVE_MAX_K
    n_available: int
    intervals: dict[str, Interval] = field(default_factory=dict)

    @property
    def n_queries(self) -> int:
        return int(self.query.size)

    def mean(self, metric: str) -> float:
        values = self.per_query[metric]
        return float(values.mean()) if values.size else float("nan")

    def metrics(self) -> dict[str, float]:
        """Means, intervals, how many queries they came from and how many there were to
        sample (counts as metrics: measured, unlike the ``ranking_queries`` asked for)."""
        flat = {name: self.mean(name) for name in self.per_query}
        for name, (low, high) in self.intervals.items():
            flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = low, high
        flat["ranking_queries_used"] = float(self.n_queries)
        flat["ranking_query_pool"] = float(self.n_available)
        return flat


def ranking_metrics_from_ranks(
    queries: RankingQueries, ranks: np.ndarray, rng: np.random.Generator | None = None
) -> RankingResult:
    """recall@10, recall@100, NDCG@10 and MRR per query (means and intervals over queries)."""
    starts = queries.indptr[:-1]
    n_relevant = np.diff(queries.indptr)
    per_query: dict[str, np.ndarray] = {}
    if len(queries) == 0:
        empty = np.zeros(0)
        per_query = {f"recall_at_{k}": empty for k in RANKING_KS}
        per_query.update(ndcg_at_10=empty, mrr=empty)
        return RankingResult(queries.query, per_query, np.full(CURVE_MAX_K, np.nan), 0)
    for k in RANKING_KS:
        hits = np.add.reduceat((ranks <= k).astype(np.float64), starts)
        per_query[f"recall_at_{k}"] = hits / n_relevant
    gains = np.where(ranks <= NDCG_K, 1.0 / np.log2(1.0 + ranks), 0.0)
    ideal_discounts = np.cumsum(1.0 / np.log2(np.arange(2, NDCG_K + 2)))
    ideal = ideal_discounts[np.minimum(n_relevant, NDCG_K) - 1]
    per_query[f"ndcg_at_{NDCG_K}"] = np.add.reduceat(gains, starts) / ideal
    per_query["mrr"] = 1.0 / np.minimum.reduceat(ranks, starts)  # 1 / inf = 0
    ks = np.arange(1, CURVE_MAX_K + 1)
    curve_hits = np.add.reduceat((ranks[:, None] <= ks[None, :]).astype(np.float64), starts)
    recall_curve = (curve_hits / n_relevant[:, None]).mean(axis=0)
    intervals = {}
    if rng is not None:
        intervals = {name: bootstrap_mean_interval(v, rng) for name, v in per_query.items()}
    return RankingResult(queries.query, per_query, recall_curve, queries.n_available, intervals)


def training_adjacency(dataset: PreparedDataset) -> sparse.csr_matrix:
    """Symmetric CSR matrix of the training pairs: each query's neighbours (sorted rows)."""
    return build_graph(dataset.train, dataset.n_items)


def ranking_device() -> str | None:
    """``"cuda"`` when torch sees a GPU (exact ranking then runs there), else None (CPU)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return "cuda" if torch.cuda.is_available() else None


def evaluate_ranking(
    model: ItemEmbeddings,
    dataset: PreparedDataset,
    queries: RankingQueries,
    *,
    intervals: bool = True,
    seed: int = 0,
    device: str | None = None,
) -> RankingResult:
    """Ranking metrics of ``model`` on ``queries`` (see the module docstring).

    ``device``: a torch device to score on (``ranking_device()`` picks a GPU when there is
    one); None = the CPU path.
    """
    ranks = relevant_ranks(model, queries, training_adjacency(dataset), device=device)
    rng = np.random.default_rng(seed) if intervals else None
    return ranking_metrics_from_ranks(queries, ranks, rng)
