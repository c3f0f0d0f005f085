"""Tiny graphs whose walk probabilities can be checked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data.dataset import PairTable
from recsys.graph.csr import build_graph


@pytest.fixture()
def small_graph() -> sp.csr_matrix:
    """Six weighted nodes: a triangle 0-1-2, a tail 2-3-4, a chord 1-3 and a leaf 5 on 4.

    Every node2vec case occurs: returning, moving to a common neighbour (0->1->2 where
    2 is also 0's neighbour) and moving outwards (1->3->4).
    """
    a = [0, 0, 1, 2, 3, 1, 4]
    b = [1, 2, 2, 3, 4, 3, 5]
    w = [1.0, 2.0, 0.5, 1.0, 3.0, 1.5, 1.0]
    pairs = PairTable(
        item_a=np.array(a, dtype=np.int32),
        item_b=np.array(b, dtype=np.int32),
        weight=np.array(w, dtype=np.float32),
        relations=np.zeros(len(a), dtype=np.uint8),
    )
    return build_graph(pairs, n_items=6)
