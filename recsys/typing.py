"""Named array aliases, so signatures say what an array holds."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ItemIds = npt.NDArray[np.int32]
"""Dense product ids, 0..n_items-1, shape (n,)."""

Weights = npt.NDArray[np.float32]
"""Per-pair weights or scores, shape (n,)."""

Labels = npt.NDArray[np.int8]
"""Binary labels (1 positive, 0 negative), shape (n,)."""

BoolMask = npt.NDArray[np.bool_]
"""Boolean mask, shape (n,)."""

EmbeddingMatrix = npt.NDArray[np.float32]
"""Item embeddings, shape (n_items, dim), row i is item_id i."""

WalkMatrix = npt.NDArray[np.int32]
"""Random walks, shape (n_walks, walk_length), entries are item ids."""
