"""Walks of a prepared dataset, cached on disk beside it.

Walking Books at scale 1.0 takes minutes; every walk-based method (word2vec, node2vec,
skip-gram, MF on sequences) on the same dataset and walk settings reuses one ``.npy`` under
``<dataset folder>/walks/<key>.npy``. The key holds every setting that changes the walks
(kind, walks per node, length, p, q, seed) and a format version; not ``workers``, because
the walks do not depend on the thread count (see :mod:`recsys.graph.rng`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from recsys.config import WalkConfig
from recsys.data.dataset import PreparedDataset
from recsys.graph.csr import build_graph
from recsys.graph.walks import WalkGraph, random_walks
from recsys.typing import WalkMatrix

logger = logging.getLogger(__name__)

WALKS_FOLDER = "walks"
# Bump when the kernels' output for the same settings changes, so stale caches are ignored.
WALKS_FORMAT_VERSION = 1


def walk_config_of(config: BaseModel) -> WalkConfig:
    """The WalkConfig fields of a flat method config (extra fields are ignored).

    Method configs inherit WalkConfig's fields; this picks them out so the walk cache key
    depends only on settings that change the walks.
    """
    values = config.model_dump()
    fields = {name: values[name] for name in WalkConfig.model_fields if name in values}
    return WalkConfig(**fields)


def walk_cache_key(config: WalkConfig) -> str:
    """File stem naming every setting that changes the walks, e.g. ``first-order-n10-l10-...``."""
    kind = "first-order" if config.p == 1.0 and config.q == 1.0 else "node2vec"
    return (
        f"{kind}-n{config.walks_per_node}-l{config.walk_length}-p{config.p:g}-q{config.q:g}"
        f"-seed{config.walk_seed}-v{WALKS_FORMAT_VERSION}"
    )


def walk_cache_path(dataset: PreparedDataset, config: WalkConfig) -> Path | None:
    """Where the walks of ``dataset`` under ``config`` are cached; None when it has no folder."""
    if dataset.folder is None:
        return None
    return Path(dataset.folder) / WALKS_FOLDER / f"{walk_cache_key(config)}.npy"


def walks_for_dataset(
    dataset: PreparedDataset, config: WalkConfig, *, progress: bool = True
) -> WalkMatrix:
    """Walks over the dataset's training graph, shape (n_walks, walk_length), int32.

    Loaded from the cache when present, else computed and (when the dataset has a folder)
    saved; the write goes to a temporary file first, so an interrupted run leaves no
    half-written cache behind.
    """
    path = walk_cache_path(dataset, config)
    if path is not None and path.exists():
        walk_matrix = np.load(path)
        if walk_matrix.dtype == np.int32 and walk_matrix.ndim == 2:
            logger.info("walks loaded from cache %s, shape %s", path, walk_matrix.shape)
            return walk_matrix
        logger.warning("ignoring malformed walk cache %s; recomputing", path)
    # Only the walk arrays outlive this line: the weights are dropped once the alias
    # tables are built (35M directed edges on Books: 140 MB less at the walk peak).
    graph = WalkGraph.from_adjacency(build_graph(dataset.train, dataset.n_items))
    walk_matrix = random_walks(
        graph,
        walks_per_node=config.walks_per_node,
        walk_length=config.walk_length,
        p=config.p,
        q=config.q,
        seed=config.walk_seed,
        workers=config.workers,
        progress=progress,
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, walk_matrix)
        tmp.replace(path)
        logger.info("walks cached at %s", path)
    return walk_matrix
