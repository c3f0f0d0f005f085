"""The method registry: every method by name, imported only when asked for.

Lazy imports keep `recsys --help` and the gensim methods from paying torch's import time.
Each target module defines a module-level ``METHOD`` (a :class:`recsys.models.base.Method`).
"""

from __future__ import annotations

import importlib

from recsys.models.base import Method

# name -> module holding METHOD. The study's method numbers are in the comments.
METHOD_MODULES: dict[str, str] = {
    "popularity": "recsys.models.popularity",  # baseline: what degree alone earns
    "itemknn": "recsys.models.itemknn",  # baseline: cosine of training-adjacency rows
    "adamic_adar": "recsys.models.adamic_adar",  # baseline: common neighbours / log degree
    "mf": "recsys.models.mf",  # 1: MF pair by pair (labels=binary|continuous)
    "mf_bias": "recsys.models.mf_bias",  # 2: MF with per-product bias
    "node2vec": "recsys.models.node2vec",  # 3: node2vec walks + skip-gram
    "word2vec": "recsys.models.word2vec",  # 4: gensim Word2Vec on first-order walks
    "skipgram": "recsys.models.skipgram",  # 5: PyTorch skip-gram, negative sampling
    "side_info": "recsys.models.side_info",  # 6: skip-gram + side info (weighting=equal|learned)
    "mf_sequences": "recsys.models.mf_sequences",  # 7: MF with bias on walk (center, context)
}

# Baselines that count rather than learn (no training loop, no loss curve): the
# leaderboard shows them as reference rows for the learned methods to beat.
BASELINE_METHODS: tuple[str, ...] = ("popularity", "itemknn", "adamic_adar")


def method_names() -> list[str]:
    """All registered method names, in the study's order."""
    return list(METHOD_MODULES)


def get_method(name: str) -> Method:
    """Look a method up by name; an unknown name lists the known ones."""
    if name not in METHOD_MODULES:
        known = ", ".join(METHOD_MODULES)
        raise KeyError(f"unknown method {name!r}; choose one of: {known}")
    module = importlib.import_module(METHOD_MODULES[name])
    method: Method = module.METHOD
    return method
