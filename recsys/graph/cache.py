"""Walks of a prepared dataset, cached on disk beside it.

Walking Books at scale 1.0 takes minutes; every walk-based method (word2vec, node2vec,
skip-gram, MF on sequences) on the same dataset and walk settings reuses one ``.npy`` under
``<dataset folder>/walks/<key>.npy``. The key holds every setting that changes the walks
(kind, walks per node, length, p, q, seed) and a format version; not ``workers``, because
the walks do not depend on the thread count (see :mod:`recsys.graph.rng`).

A prepared dataset in a read-only folder (a team's shared data) keeps its walks in the
user's cache instead (``$RECSYS_CACHE_DIR``, else ``$XDG_CACHE_HOME/recsys``, else
``~/.cache/recsys``). A cache file that cannot be read or does not fit the dataset (junk,
truncated, another shape) is recomputed with a warning, never used.
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
CACHE_DIR_ENV = "RECSYS_CACHE_DIR"
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


def user_cache_dir() -> Path:
    """``$RECSYS_CACHE_DIR``, else ``$XDG_CACHE_HOME/recsys``, else ``~/.cache/recsys``."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recsys"


def walk_cache_path(dataset: PreparedDataset, config: WalkConfig) -> Path | None:
    """Where the walks of ``dataset`` under ``config`` are cached; None when it has no folder."""
    if dataset.folder is None:
        return None
    return Path(dataset.folder) / WALKS_FOLDER / f"{walk_cache_key(config)}.npy"


def fallback_cache_path(dataset: PreparedDataset, config: WalkConfig) -> Path | None:
    """The user-cache twin of :func:`walk_cache_path`, for read-only dataset folders.

    The prepared folder's name holds the key of its inputs, so the twin is as specific."""
    if dataset.folder is None:
        return None
    name = Path(dataset.folder).name
    return user_cache_dir() / WALKS_FOLDER / name / f"{walk_cache_key(config)}.npy"


def _n_walk_starts(dataset: PreparedDataset) -> int:
    """Products a round of walks starts from: those with a training pair (every prepared
    pair weighs > 0, so they are the graph's ``walk_start_nodes``). A walks file of another
    dataset with the same walk length (copied by hand into this folder) has another count,
    and was used without a word."""
    return int(dataset.train_vocabulary().sum())


def _load_valid(path: Path, dataset: PreparedDataset, config: WalkConfig) -> WalkMatrix | None:
    """The cached walks at ``path`` when they exist and fit; None (with a warning) otherwise."""
    if not path.exists():
        return None
    try:
        walk_matrix = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        logger.warning("ignoring unreadable walk cache %s (%s); recomputing", path, error)
        return None
    fits = (
        walk_matrix.dtype == np.int32
        and walk_matrix.ndim == 2
        and walk_matrix.shape[1] == config.walk_length
        and walk_matrix.shape[0] == config.walks_per_node * _n_walk_starts(dataset)
        and (walk_matrix.size == 0 or int(walk_matrix.max()) < dataset.n_items)
    )
    if not fits:
        logger.warning(
            "ignoring a walk cache that does not fit this dataset: %s; recomputing", path
        )
        return None
    return walk_matrix


def _save(walk_matrix: WalkMatrix, path: Path) -> None:
    """Write to a temporary name first: an interrupted run leaves no half-written cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, walk_matrix)
    tmp.replace(path)
    logger.info("walks cached at %s", path)


def walks_for_dataset(
    dataset: PreparedDataset, config: WalkConfig, *, progress: bool = True
) -> WalkMatrix:
    """Walks over the dataset's training graph, shape (n_walks, walk_length), int32.

    Loaded from the cache when present and valid, else computed and (when the dataset has a
    folder) saved beside it, or in the user's cache when that folder is read-only.
    """
    paths = [
        p for p in (walk_cache_path(dataset, config), fallback_cache_path(dataset, config)) if p
    ]
    for path in paths:
        cached = _load_valid(path, dataset, config)
        if cached is not None:
            logger.info("walks loaded from cache %s, shape %s", path, cached.shape)
            return cached
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
    for path in paths:
        try:
            _save(walk_matrix, path)
            break
        except OSError as error:  # a read-only data folder: try the user's cache
            logger.warning("cannot cache walks at %s (%s)", path, error)
    return walk_matrix
