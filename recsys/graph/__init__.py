"""The CSR product graph and random walks over it (first-order and node2vec)."""

from recsys.graph.cache import walk_config_of, walks_for_dataset
from recsys.graph.csr import build_graph, transition_matrix
from recsys.graph.walks import random_walks

__all__ = [
    "build_graph",
    "random_walks",
    "transition_matrix",
    "walk_config_of",
    "walks_for_dataset",
]
