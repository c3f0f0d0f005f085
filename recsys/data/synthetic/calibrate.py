"""From a shaped graph to related lists with exact counts and named relations.

The stub pairing leaves a few products without a pair, a few records with fewer than the
two also_bought entries the study filters need, and the pair count a few off the target
(dropped stubs, an odd leftover). Fixes, each a handful of vectorized rounds: a record
short of entries takes over pairs that record neighbours with more list it by (the pair
set is unchanged), a product left out is listed by a record of its leaf, surplus pairs
are removed where no product or list falls short, missing ones are added by records with
room, listing the products that lost degree to dropped stubs. Then each list's entries
are named: the closest first (neighbour pairs) as bought_together, then also_bought, the
rest also_viewed, in the preset's shares and within the real lists' limits.
"""

from __future__ import annotations

import logging

import numpy as np

from recsys.data.pairs import undirected_keys
from recsys.data.synthetic.catalog import Catalog
from recsys.data.synthetic.presets import Sizes, SyntheticPreset
from recsys.data.synthetic.relations import (
    ALSO_BOUGHT_CODE,
    ALSO_VIEWED_CODE,
    BOUGHT_TOGETHER_CODE,
    MAX_LIST,
    RelationLists,
)
from recsys.data.synthetic.sampling import ALSO_VIEWED, Blocks, draw_referrers, draw_targets
from recsys.data.synthetic.shaped import (
    MAX_BOUGHT_TOGETHER,
    MIN_ALSO_BOUGHT,
    ShapedGraph,
    max_list,
)

logger = logging.getLogger(__name__)

ROUNDS = 12
CALIBRATED = 2  # ShapedGraph.origin of entries added here


def _once_each(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mask of rows whose two products occur in no earlier row (so per-product counts
    checked before a batch of changes stay valid after it)."""
    values = np.stack([a, b], axis=1).ravel()
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    first_row = (first // 2)[inverse].reshape(-1, 2)
    return (first_row == np.arange(a.shape[0])[:, None]).all(axis=1)


def _give_entries(
    graph: ShapedGraph, is_record: np.ndarray, n: int, rng: np.random.Generator
) -> ShapedGraph:
    """Records listing fewer than two take over pairs listed by records with more."""
    src, dst = graph.src.copy(), graph.dst.copy()
    for _ in range(ROUNDS):
        out = np.bincount(src, minlength=n)
        short = is_record & (out < MIN_ALSO_BOUGHT)
        movable = np.flatnonzero(short[dst] & is_record[src] & (out[src] > MIN_ALSO_BOUGHT))
        if movable.size == 0:
            break
        movable = rng.permutation(movable)
        movable = movable[_once_each(src[movable], dst[movable])]
        src[movable], dst[movable] = dst[movable], src[movable]
    return ShapedGraph(src=src, dst=dst, origin=graph.origin)


def _add(graph: ShapedGraph, new_src: np.ndarray, new_dst: np.ndarray, n: int) -> ShapedGraph:
    """Append pairs that are new, distinct and not self-pairs."""
    keys = undirected_keys(new_src, np.maximum(new_dst, 0), n)
    have = np.sort(undirected_keys(graph.src, graph.dst, n))
    ok = (new_src != new_dst) & (new_src >= 0) & (new_dst >= 0)
    if have.size:
        ok &= have[np.minimum(np.searchsorted(have, keys), have.size - 1)] != keys
    first = np.zeros(keys.size, dtype=bool)
    first[np.unique(np.where(ok, keys, -1), return_index=True)[1]] = True
    ok &= first
    return ShapedGraph(
        src=np.concatenate([graph.src, new_src[ok]]),
        dst=np.concatenate([graph.dst, new_dst[ok]]),
        origin=np.concatenate([graph.origin, np.full(int(ok.sum()), CALIBRATED, np.int8)]),
    )


def _remove(graph: ShapedGraph, count: int, n: int, rng: np.random.Generator) -> ShapedGraph:
    """Drop up to ``count`` pairs whose ends keep a pair and whose record keeps a list."""
    out = np.bincount(graph.src, minlength=n)
    degree = out + np.bincount(graph.dst, minlength=n)
    free = np.flatnonzero(
        (out[graph.src] > MIN_ALSO_BOUGHT) & (degree[graph.src] > 1) & (degree[graph.dst] > 1)
    )
    free = rng.permutation(free)
    free = free[_once_each(graph.src[free], graph.dst[free])][:count]
    keep = np.ones(graph.src.size, dtype=bool)
    keep[free] = False
    return ShapedGraph(src=graph.src[keep], dst=graph.dst[keep], origin=graph.origin[keep])


def _restore(
    degree: np.ndarray, target: np.ndarray, has_room: np.ndarray, count: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``count`` new (record, listed) pairs giving back degree where it was lost (dropped
    stubs: mostly the hubs'), records short of theirs listing first."""
    short = np.maximum(target - degree, 0)
    listed = rng.permutation(np.repeat(np.arange(target.shape[0]), short))[:count]
    if listed.size < count:  # nobody short: any product, by its degree
        extra = rng.choice(target.shape[0], size=count - listed.size, p=target / target.sum())
        listed = np.concatenate([listed, extra])
    room = np.flatnonzero(has_room)
    weight = short[room] + 1.0
    lister = rng.choice(room, size=count, p=weight / weight.sum())
    return lister, listed


def calibrate(
    graph: ShapedGraph,
    catalog: Catalog,
    spec: SyntheticPreset,
    sizes: Sizes,
    records: np.ndarray,
    target: np.ndarray,
    rng: np.random.Generator,
) -> ShapedGraph:
    """Every product in a pair, every record listing >= 2, exactly ``sizes.n_pairs`` pairs
    (``target``: the degree each product was drawn, restored where stubs were dropped).

    Raises:
        RuntimeError: the counts cannot be met (a preset with far too few pairs for its
            products); the message says by how much.
    """
    n = sizes.n_products
    is_record = np.zeros(n, dtype=bool)
    is_record[records] = True
    cap = max_list(spec)
    blocks = Blocks.of(catalog)
    graph = _give_entries(graph, is_record, n, rng)
    for _ in range(ROUNDS):
        out = np.bincount(graph.src, minlength=n)
        degree = out + np.bincount(graph.dst, minlength=n)
        alone = np.flatnonzero(degree == 0).astype(np.int32)
        short_by = np.where(is_record, np.maximum(MIN_ALSO_BOUGHT - out, 0), 0)
        surplus = graph.src.size + alone.size - sizes.n_pairs
        logger.debug(
            "calibration: %d alone, %d short, %+d pairs", alone.size, int(short_by.sum()), surplus
        )
        if alone.size == 0 and not short_by.any() and surplus == 0:
            return graph
        if alone.size:  # listed by a record of the nearest block
            graph = _add(graph, draw_referrers(catalog, records, alone, rng).astype(np.int64),
                         alone.astype(np.int64), n)  # fmt: skip
            continue
        if short_by.any():
            lister = np.repeat(np.arange(n), short_by)
            graph = _add(graph, lister, draw_targets(catalog, blocks, lister, ALSO_VIEWED, rng), n)
            continue
        if surplus > 0:
            graph = _remove(graph, surplus, n, rng)
        else:  # products short of their degree are listed by records with room
            graph = _add(
                graph, *_restore(degree, target, is_record & (out < cap), -surplus, rng), n
            )
    raise RuntimeError(
        f"synthetic {spec.root}: calibration left {graph.src.size - sizes.n_pairs:+d} pairs "
        f"against the target of {sizes.n_pairs}"
    )


def name_relations(
    graph: ShapedGraph, spec: SyntheticPreset, n: int, rng: np.random.Generator
) -> RelationLists:
    """Relation of every entry, lists sorted by (record, relation).

    Per record of list length ``L``: ``min(3, Binomial(L, share_bt))`` bought_together
    entries (the closest: neighbour pairs come first), then also_bought and also_viewed in
    the preset's ratio, also_bought between 2 and 100 entries and also_viewed at most 100.
    """
    share_bt, share_ab, share_av = spec.relation_shares
    order = np.lexsort((rng.random(graph.src.size), graph.origin, graph.src))
    src, dst = graph.src[order], graph.dst[order]
    length = np.bincount(src, minlength=n)
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    rank = np.arange(src.size) - start[src]
    bought_together = np.minimum(rng.binomial(length, share_bt), MAX_BOUGHT_TOGETHER)
    rest = length - bought_together
    viewed_ratio = share_av / (share_av + share_ab) if share_av + share_ab > 0 else 0.0
    viewed = rng.binomial(rest, viewed_ratio)
    viewed = np.clip(viewed, rest - MAX_LIST, np.minimum(MAX_LIST, rest - MIN_ALSO_BOUGHT))
    viewed = np.maximum(viewed, 0)
    bought_together = np.minimum(bought_together, np.maximum(length - MIN_ALSO_BOUGHT, 0))
    bought = length - bought_together - viewed
    code = np.where(
        rank < bought_together[src],
        BOUGHT_TOGETHER_CODE,
        np.where(rank < (bought_together + bought)[src], ALSO_BOUGHT_CODE, ALSO_VIEWED_CODE),
    ).astype(np.int8)
    final = np.lexsort((code, src))  # stable: keeps the closeness order within a list
    return RelationLists(
        src=src[final].astype(np.int32), relation=code[final], dst=dst[final].astype(np.int32)
    )
