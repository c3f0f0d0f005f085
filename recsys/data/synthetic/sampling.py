"""Vectorized draws of co-purchase targets by latent affinity within category blocks.

One draw per list entry: pick a block (the source's leaf, level-2 or level-1 category, or
the whole catalog), draw ``candidates`` products from it in proportion to popularity, and
keep the candidate with the highest ``affinity / temperature + Gumbel noise`` (a softmax
choice among the candidates). Tighter relations use more candidates, a lower temperature
and more same-leaf blocks, so bought_together is tighter than also_bought, which is
tighter than also_viewed. All entries are drawn as arrays, chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from recsys.data.synthetic.catalog import Catalog

CHUNK_ENTRIES = 1 << 17  # bounds the (chunk, candidates, dim) gather to ~100 MB


@dataclass(frozen=True)
class RelationShape:
    """How tightly one relation follows affinity.

    Attributes:
        block_probs: probability of drawing from the source's leaf, level-2, level-1
            category or the whole catalog.
        candidates: popularity-drawn candidates per entry; the best by affinity wins.
        temperature: softmax temperature over the candidates' affinities.
    """

    block_probs: tuple[float, float, float, float]
    candidates: int
    temperature: float


BOUGHT_TOGETHER = RelationShape((0.60, 0.25, 0.10, 0.05), candidates=12, temperature=0.25)
ALSO_BOUGHT = RelationShape((0.45, 0.30, 0.15, 0.10), candidates=6, temperature=0.5)
ALSO_VIEWED = RelationShape((0.30, 0.30, 0.20, 0.20), candidates=3, temperature=1.0)


@dataclass(frozen=True)
class Blocks:
    """Product-id ranges of every category node, and cumulative popularity over ids."""

    # One entry per level (leaf, level 2, level 1):
    node_of: tuple[np.ndarray, ...]  # (n,) node of each product
    start: tuple[np.ndarray, ...]  # (n_nodes,) first product id of each node
    end: tuple[np.ndarray, ...]  # (n_nodes,) one past the last
    cum_popularity: np.ndarray  # (n,) float64 inclusive cumulative sum

    @classmethod
    def of(cls, catalog: Catalog) -> Blocks:
        levels = (catalog.leaf, catalog.level2, catalog.level1)
        nodes = [np.arange(int(level.max()) + 1) for level in levels]
        return cls(
            node_of=levels,
            start=tuple(
                np.searchsorted(lv, nd, "left") for lv, nd in zip(levels, nodes, strict=True)
            ),
            end=tuple(
                np.searchsorted(lv, nd, "right") for lv, nd in zip(levels, nodes, strict=True)
            ),
            cum_popularity=np.cumsum(catalog.popularity),
        )


def _block_ranges(
    blocks: Blocks, src: np.ndarray, block_level: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) product-id range of each entry's block; level 3 means the whole catalog."""
    lo = np.zeros(src.shape[0], dtype=np.int64)
    hi = np.full(src.shape[0], blocks.cum_popularity.shape[0], dtype=np.int64)
    for level in range(3):
        mask = block_level == level
        node = blocks.node_of[level][src[mask]]
        lo[mask] = blocks.start[level][node]
        hi[mask] = blocks.end[level][node]
    return lo, hi


def _best_by_affinity(
    latent: np.ndarray,
    src: np.ndarray,
    candidates: np.ndarray,
    temperature: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Softmax choice of one candidate per row; -1 where every candidate is the source."""
    affinity = np.einsum("ekd,ed->ek", latent[candidates], latent[src])  # (entries, candidates)
    score = affinity / temperature + rng.gumbel(size=affinity.shape)
    score[candidates == src[:, None]] = -np.inf
    best = np.argmax(score, axis=1)
    chosen = candidates[np.arange(candidates.shape[0]), best]
    return np.where(np.isfinite(score.max(axis=1)), chosen, -1)


def draw_targets(
    catalog: Catalog,
    blocks: Blocks,
    src: np.ndarray,
    shape: RelationShape,
    rng: np.random.Generator,
    bar: tqdm | None = None,
) -> np.ndarray:
    """One co-purchase target per source product (int32, -1 where none could be drawn).

    ``bar``, when given, advances by the entries drawn.
    """
    out = np.empty(src.shape[0], dtype=np.int32)
    cum = blocks.cum_popularity
    for begin in range(0, src.shape[0], CHUNK_ENTRIES):
        chunk = src[begin : begin + CHUNK_ENTRIES].astype(np.int64)
        level = rng.choice(4, size=int(chunk.shape[0]), p=shape.block_probs)
        lo, hi = _block_ranges(blocks, chunk, level)
        cum_lo = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        span = cum[hi - 1] - cum_lo
        draws = cum_lo[:, None] + rng.random((chunk.shape[0], shape.candidates)) * span[:, None]
        picked = np.searchsorted(cum, draws, side="right")
        picked = np.clip(picked, lo[:, None], hi[:, None] - 1)
        out[begin : begin + chunk.shape[0]] = _best_by_affinity(
            catalog.latent, chunk, picked, shape.temperature, rng
        )
        if bar is not None:
            bar.update(chunk.shape[0])
    return out


def draw_referrers(
    catalog: Catalog,
    records: np.ndarray,
    targets: np.ndarray,
    rng: np.random.Generator,
    candidates: int = 4,
) -> np.ndarray:
    """A record (product id) to list each target, chosen by affinity in the nearest block.

    Used so that every product without a record of its own is referenced at least once:
    the referrer comes from the target's leaf, else its level-2 or level-1 category, else
    anywhere, among ``candidates`` records drawn by popularity (popular products have the
    long lists that reach obscure ones).

    Args:
        records: sorted product ids that have a record.
        targets: product ids that need a referrer.
    """
    lo = np.zeros(targets.shape[0], dtype=np.int64)
    hi = np.full(targets.shape[0], records.shape[0], dtype=np.int64)
    settled = np.zeros(targets.shape[0], dtype=bool)
    for level in (catalog.leaf, catalog.level2, catalog.level1):
        record_node = level[records]
        node = level[targets]
        node_lo = np.searchsorted(record_node, node, "left")
        node_hi = np.searchsorted(record_node, node, "right")
        use = ~settled & (node_hi > node_lo)
        lo[use], hi[use] = node_lo[use], node_hi[use]
        settled |= use
    cum = np.cumsum(catalog.popularity[records])
    cum_lo = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
    draws = (
        cum_lo[:, None]
        + rng.random((targets.shape[0], candidates)) * (cum[hi - 1] - cum_lo)[:, None]
    )
    pos = np.clip(np.searchsorted(cum, draws, side="right"), lo[:, None], hi[:, None] - 1)
    chosen = _best_by_affinity(catalog.latent, targets.astype(np.int64), records[pos], 0.5, rng)
    return chosen.astype(np.int32)
