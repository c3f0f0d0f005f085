"""Dataset statistics: the shape of a prepared dataset's co-purchase graph in a few numbers.

They say why AUC levels differ between datasets (a graph of degree-1 products and unseen
validation pairs is harder than a dense one) and are what a synthetic twin must match
(issue 13). Everything is whole-array numpy / scipy.sparse over the pair tables; the one
step that grows faster than the pairs, the local clustering coefficient, is exact up to
``max_clustering_nodes`` products and estimated on a uniform sample of them above that.

Two graphs are described: the dataset's whole graph (training pairs plus held-out
validation positives, i.e. what the input file says; keys ``degree_*``, ``clustering``,
``same_category_share``) and the training graph methods learn from (keys
``train_degree_*``, over the products that have at least one training pair).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data.dataset import PreparedDataset

logger = logging.getLogger(__name__)

Statistics = dict[str, float | int]

STATISTICS_FILE = "statistics.json"  # beside a prepared dataset's tables
# Bump when dataset_statistics' keys or values change, so stored statistics are recomputed.
STATISTICS_VERSION = 1

CLUSTERING_CHUNK_ROWS = 4096  # rows of A[S] @ A at a time: bounds the product's memory


def degree_summary(degree: np.ndarray, prefix: str) -> Statistics:
    """Median, 90th / 99th percentile, max, share of degree 1 and Gini of ``degree``.

    Args:
        degree: int64 (n,) degrees of the nodes described (zeros count as given).
        prefix: key prefix, e.g. ``degree`` gives ``degree_median``, ``degree1_share``.
    """
    if degree.size == 0:
        nan = math.nan
        return {
            f"{prefix}_median": nan,
            f"{prefix}_p90": nan,
            f"{prefix}_p99": nan,
            f"{prefix}_max": 0,
            f"{prefix}1_share": nan,
            f"{prefix}_gini": nan,
        }
    median, p90, p99 = np.percentile(degree, [50, 90, 99])
    return {
        f"{prefix}_median": float(median),
        f"{prefix}_p90": float(p90),
        f"{prefix}_p99": float(p99),
        f"{prefix}_max": int(degree.max()),
        f"{prefix}1_share": float(np.mean(degree == 1)),
        f"{prefix}_gini": gini(degree),
    }


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative ``values``: 0 all equal, near 1 one holds all.

    The sorted form of sum_ij |x_i - x_j| / (2 n^2 mean): (2 sum_i i x_(i)) / (n sum x)
    - (n + 1) / n, with i = 1..n over the ascending values.
    """
    x = np.sort(values.astype(np.float64))
    n, total = x.size, float(x.sum())
    if n == 0 or total == 0:
        return math.nan
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2 * np.dot(ranks, x) / (n * total) - (n + 1) / n)


def adjacency(item_a: np.ndarray, item_b: np.ndarray, n_items: int) -> sp.csr_matrix:
    """The symmetric 0/1 adjacency matrix (float32 CSR, no self-loops) of undirected pairs.

    float32 counts common neighbours exactly up to 2^24, far above any product's degree.
    """
    keep = item_a != item_b
    rows = np.concatenate([item_a[keep], item_b[keep]])
    cols = np.concatenate([item_b[keep], item_a[keep]])
    matrix = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows, cols)),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    matrix.data[:] = 1.0  # a pair listed twice (train and validation) is still one edge
    return matrix


def local_clustering(matrix: sp.csr_matrix, nodes: np.ndarray) -> np.ndarray:
    """Local clustering coefficient of ``nodes``: triangles through the node over
    d (d - 1) / 2; 0 for degree below 2 (networkx's convention).

    Triangles come from the rows of (A[S] @ A) * A[S]: entry (s, j) counts s's neighbours
    that are also j's, kept where j is s's neighbour, so each row sums to 2 * triangles.
    """
    degree = np.diff(matrix.indptr)[nodes].astype(np.float64)
    closed = np.empty(nodes.size, dtype=np.float64)
    for start in range(0, nodes.size, CLUSTERING_CHUNK_ROWS):
        rows = matrix[nodes[start : start + CLUSTERING_CHUNK_ROWS]]
        closed[start : start + rows.shape[0]] = np.asarray(
            (rows @ matrix).multiply(rows).sum(axis=1)
        ).ravel()
    possible = degree * (degree - 1)
    return np.divide(closed, possible, out=np.zeros_like(closed), where=possible > 0)


def same_category_share(products: pd.DataFrame, item_a: np.ndarray, item_b: np.ndarray) -> float:
    """Share of pairs whose two products have the same ``category_1``, over the pairs where
    both have one; NaN when no pair has a category on both ends."""
    if "category_1" not in products.columns:
        return math.nan
    codes, _ = pd.factorize(products["category_1"])  # -1 where missing
    code_a, code_b = codes[item_a], codes[item_b]
    both = (code_a >= 0) & (code_b >= 0)
    if not both.any():
        return math.nan
    return float(np.mean(code_a[both] == code_b[both]))


def dataset_statistics(
    dataset: PreparedDataset, *, seed: int = 0, max_clustering_nodes: int = 20_000
) -> Statistics:
    """The dataset's statistics, keyed by short stable names (logged as ``data.<key>``).

    Keys: ``products``, ``train_pairs``, ``validation_positives``, ``pairs`` (both),
    ``train_products`` (products with a training pair); ``degree_median`` / ``_p90`` /
    ``_p99`` / ``_max``, ``degree1_share``, ``degree_gini`` over the whole graph and the
    same with ``train_`` over the training graph; ``metadata_share`` (products with a
    record of their own); ``seen_share`` and ``cold_start_share`` of the validation
    positives (both products in training; unseen but both with metadata);
    ``clustering`` (average local clustering coefficient of the whole graph, degree < 2
    counting 0), ``clustering_sampled_nodes`` (0 when exact, else the size of the uniform
    sample it was averaged over); ``same_category_share`` (NaN without categories).

    Args:
        dataset: a prepared dataset.
        seed: seeds the clustering sample (used only above ``max_clustering_nodes``).
        max_clustering_nodes: the clustering coefficient is exact up to this many products.
    """
    n_items = dataset.n_items
    validation = dataset.validation
    positive = validation.label == 1
    val_a, val_b = validation.item_a[positive], validation.item_b[positive]
    all_a = np.concatenate([dataset.train.item_a, val_a])
    all_b = np.concatenate([dataset.train.item_b, val_b])

    matrix = adjacency(all_a, all_b, n_items)
    degree = np.diff(matrix.indptr).astype(np.int64)
    train_degree = dataset.train_degree()
    in_training = train_degree > 0

    if n_items <= max_clustering_nodes:
        nodes, sampled = np.arange(n_items), 0
    else:
        rng = np.random.default_rng(seed)
        nodes = np.sort(rng.choice(n_items, size=max_clustering_nodes, replace=False))
        sampled = int(nodes.size)
    clustering = local_clustering(matrix, nodes)

    has_metadata = dataset.products["has_metadata"].to_numpy(dtype=bool)
    n_positive = int(positive.sum())
    cold_start = dataset.cold_start_mask()[positive]
    return {
        "products": int(n_items),
        "train_products": int(in_training.sum()),
        "train_pairs": len(dataset.train),
        "validation_positives": n_positive,
        "pairs": int(matrix.nnz // 2),
        **degree_summary(degree, "degree"),
        **degree_summary(train_degree[in_training], "train_degree"),
        "metadata_share": float(has_metadata.mean()) if n_items else math.nan,
        "seen_share": float(validation.seen[positive].mean()) if n_positive else math.nan,
        "cold_start_share": float(cold_start.mean()) if n_positive else math.nan,
        "clustering": float(clustering.mean()) if clustering.size else math.nan,
        "clustering_sampled_nodes": sampled,
        "same_category_share": same_category_share(dataset.products, all_a, all_b),
    }


def statistics_key(dataset: PreparedDataset) -> dict[str, object]:
    """What stored statistics must match to stand for ``dataset``: the statistics' version,
    when its folder was prepared (a rebuilt folder has a new time) and its table sizes."""
    return {
        "version": STATISTICS_VERSION,
        "prepared_at": dataset.manifest.get("prepared_at"),
        "products": dataset.n_items,
        "train_pairs": len(dataset.train),
        "validation_rows": len(dataset.validation.label),
    }


def stored_statistics(dataset: PreparedDataset) -> Statistics:
    """:func:`dataset_statistics` with its defaults, kept in the prepared folder.

    Every tracked run logs them, and at Electronics scale they take 2.5-4 s, so the ten runs
    of a main job computed them ten times. A stored file whose key (:func:`statistics_key`)
    does not match the dataset, or that cannot be read, is recomputed and replaced; a folder
    that cannot be written (a read-only data folder) only goes without the file.
    """
    key = statistics_key(dataset)
    path = None if dataset.folder is None else dataset.folder / STATISTICS_FILE
    if path is not None and path.exists():
        try:
            stored = json.loads(path.read_text())
            if stored["key"] == key:
                return dict(stored["statistics"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("stored statistics %s cannot be read (%s); recomputing", path, error)
    statistics = dataset_statistics(dataset)
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only folder goes without the file
            _save(json.dumps({"key": key, "statistics": statistics}), path)
    return statistics


def _save(text: str, path: Path) -> None:
    """Write beside ``path``, then rename: a reader never sees half a file.

    Raises:
        OSError: the folder cannot be written (nothing is left behind).
    """
    staging = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        staging.write_text(text)
        staging.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            staging.unlink(missing_ok=True)
        raise


# key -> what the two-column table calls it, in the table's order.
LABELS: dict[str, str] = {
    "products": "products",
    "train_products": "products with a training pair",
    "pairs": "pairs (train + validation positives)",
    "train_pairs": "training pairs",
    "validation_positives": "validation positives",
    "degree_median": "degree median (all pairs)",
    "degree_p90": "degree p90 (all pairs)",
    "degree_p99": "degree p99 (all pairs)",
    "degree_max": "degree max (all pairs)",
    "degree1_share": "degree-1 products (all pairs)",
    "degree_gini": "degree Gini (all pairs)",
    "train_degree_median": "degree median (training graph)",
    "train_degree_p90": "degree p90 (training graph)",
    "train_degree_p99": "degree p99 (training graph)",
    "train_degree_max": "degree max (training graph)",
    "train_degree1_share": "degree-1 products (training graph)",
    "train_degree_gini": "degree Gini (training graph)",
    "metadata_share": "products with metadata",
    "seen_share": "validation positives seen",
    "cold_start_share": "validation positives cold-start",
    "clustering": "average local clustering",
    "clustering_sampled_nodes": "clustering sample (0 = exact)",
    "same_category_share": "pairs within one top category",
}


def format_value(key: str, value: float | int) -> str:
    """Shares as percentages, counts with thousands separators, the rest to 4 digits."""
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    if key.endswith("_share"):
        return f"{100 * value:.1f}%"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4f}"


def format_statistics(statistics: Statistics) -> str:
    """A two-column table, one statistic a line (keys without a label come last)."""
    keys = [k for k in LABELS if k in statistics] + [k for k in statistics if k not in LABELS]
    width = max(len(LABELS.get(k, k)) for k in keys)
    return "\n".join(
        f"{LABELS.get(k, k).ljust(width)}  {format_value(k, statistics[k])}" for k in keys
    )
