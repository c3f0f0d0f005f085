"""Related lists with a fitted shape: exact degrees, neighbour pairs, local stub pairing.

Used by presets with a :class:`~recsys.data.synthetic.shape.GraphShape` (the twins of real
files and the re-calibrated electronics / books presets). Steps, all on arrays:

1. every product gets a degree from its law (records >= 2), the records' law stretched so
   the degrees sum to twice the pair target;
2. pairs of near neighbours spend ``neighbour_share`` of each degree (clustering,
   ``neighbours.py``);
3. what is left becomes stubs: products without a record are listed (in-stubs), records
   split theirs between listing (out) and being listed (in) so both sides balance, never
   listing more than the lists hold;
4. stubs are paired nearest first in the category tree (``stubs.py``);
5. the counts are calibrated exactly and relation names given per list
   (``calibrate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.pairs import undirected_keys
from recsys.data.synthetic.catalog import Catalog
from recsys.data.synthetic.neighbours import neighbour_pairs
from recsys.data.synthetic.presets import Sizes, SyntheticPreset
from recsys.data.synthetic.relations import MAX_LIST
from recsys.data.synthetic.shape import GraphShape
from recsys.data.synthetic.stubs import Layout, match_stubs

MAX_BOUGHT_TOGETHER = 3
MIN_ALSO_BOUGHT = 2  # the study filters keep records with at least two


@dataclass(frozen=True)
class ShapedGraph:
    """The pairs of a shaped graph before relation names: record -> listed product."""

    src: np.ndarray  # (pairs,) int64 record
    dst: np.ndarray  # (pairs,) int64 listed product
    origin: np.ndarray  # (pairs,) int8: 0 neighbours, 1 paired stubs, 2 calibration


def max_list(spec: SyntheticPreset) -> int:
    """Most entries one record can list: also_bought, also_viewed if used, bought_together."""
    viewed = MAX_LIST if spec.relation_shares[2] > 0 else 0
    return MAX_LIST + viewed + MAX_BOUGHT_TOGETHER


def draw_degrees(
    shape: GraphShape, sizes: Sizes, records: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n,) int64 target degree of every product, summing to twice ``sizes.n_pairs``.

    Degrees are the laws' stratified quantiles, shuffled over the products; the records'
    law is stretched so the sum comes out (a preset with the study's pair count keeps the
    sample's shape; a twin at any scale stretches by a hair).
    """
    n, k = sizes.n_products, records.shape[0]
    is_record = np.zeros(n, dtype=bool)
    is_record[records] = True
    listed = shape.listed_degree.sequence(n - k)
    needed = 2 * sizes.n_pairs - int(listed.sum())
    record_law = shape.record_degree
    if k and needed > 2 * k:
        record_law = record_law.with_mean(needed / k, k)
    of_records = np.maximum(record_law.sequence(k), MIN_ALSO_BOUGHT)
    degree = np.zeros(n, dtype=np.int64)
    degree[records] = rng.permutation(of_records)
    degree[~is_record] = rng.permutation(listed)
    return degree


def layout_of(catalog: Catalog, rng: np.random.Generator) -> tuple[Layout, np.ndarray]:
    """Tree nodes and positions (tree order, affinity order inside a leaf); the order."""
    direction = np.asarray(rng.standard_normal(catalog.latent.shape[1]), dtype=np.float32)
    projection = catalog.latent @ direction
    order = np.lexsort((projection, catalog.leaf))
    position = np.empty(order.shape[0], dtype=np.float64)
    position[order] = np.arange(order.shape[0])
    nodes = tuple(
        level.astype(np.int64) for level in (catalog.leaf, catalog.level2, catalog.level1)
    )
    return Layout(nodes=nodes, position=position), order


def _split_leftover(
    left: np.ndarray, is_record: np.ndarray, listing: np.ndarray, cap: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per product, (out-stubs, in-stubs) of the degree left so both sides sum equal.

    Products without a record only take in-stubs. Records first get the out-stubs that
    bring their list to two, then the rest in proportion to what they have left, never
    more than ``cap - listing`` (their list is full).
    """
    n_listed = int(left[~is_record].sum())
    record_left = np.where(is_record, left, 0)
    want = (int(record_left.sum()) + n_listed) // 2
    room = np.minimum(np.clip(cap - listing, 0, None) * is_record, record_left)
    out = np.minimum(np.maximum(MIN_ALSO_BOUGHT - listing, 0) * is_record, room)
    rest = want - int(out.sum())
    if rest > 0:
        spare = room - out
        share = spare * (rest / max(int(spare.sum()), 1))
        out += np.minimum(np.floor(share + rng.random(left.shape[0])).astype(np.int64), spare)
    return out, left - out


def build_shaped_graph(
    catalog: Catalog,
    spec: SyntheticPreset,
    sizes: Sizes,
    records: np.ndarray,
    degree: np.ndarray,
    rng: np.random.Generator,
) -> ShapedGraph:
    """Pairs with the given degrees (before calibration), listed by records."""
    if spec.shape is None:
        raise ValueError(f"preset {spec.root!r} has no graph shape")
    shape = spec.shape
    n = sizes.n_products
    is_record = np.zeros(n, dtype=bool)
    is_record[records] = True
    layout, order = layout_of(catalog, rng)
    # A share of every product's degree goes to its neighbours; the rest is paired by
    # stubs, so popular products still find partners among the niche ones.
    budget = np.floor(shape.neighbour_share * degree + rng.random(n)).astype(np.int64)
    left = budget.copy()
    s_src, s_dst = neighbour_pairs(order, layout.nodes[0], is_record, left, rng)
    left += degree - budget
    listing = np.bincount(s_src, minlength=n)
    out, into = _split_leftover(left, is_record, listing, max_list(spec), rng)
    # An odd leftover or full lists leave one side longer: drop its excess at random.
    excess = int(out.sum()) - int(into.sum())
    longer = out if excess > 0 else into
    if excess:
        owner = np.repeat(np.arange(n), longer)
        np.subtract.at(longer, owner[rng.choice(owner.size, abs(excess), replace=False)], 1)
    m_src, m_dst = match_stubs(
        out, into, layout, shape.block_probs(), shape.jitter, rng,
        existing=np.sort(undirected_keys(s_src, s_dst, n)),
    )  # fmt: skip
    return ShapedGraph(
        src=np.concatenate([s_src, m_src]),
        dst=np.concatenate([s_dst, m_dst]),
        origin=np.concatenate([np.zeros(s_src.size, np.int8), np.ones(m_src.size, np.int8)]),
    )
