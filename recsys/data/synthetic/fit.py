"""Fit a synthetic preset to a prepared real dataset: the knobs of its twin.

Closed form where the statistic has one: the degree laws of products with and without a
record (``degrees.py``: the degree-1 share, the quantiles and the maximum come out as
measured, and the share of validation pairs seen follows, since it is set by the degrees:
``P(seen) = E[(1 - f^(d_a - 1)) (1 - f^(d_b - 1))]`` over the pairs, ``f`` the
validation fraction, which predicts the measured shares of the three real samples within
0.5 points); the record share, relation shares and side-information shares are counted.
By search where it is not: clustering and the share of pairs within one top category
depend on how pairs are made, so ``neighbour_share`` and ``cross_share`` (and
``jitter``, for a graph clustered above its target without neighbour pairs) are set by a
few rounds of bisection, each step generating the lists in memory (no file) at no more
than ``FIT_PRODUCTS`` products and measuring them as ``statistics.py`` does.

A pairs file without side information has no records: the products of degree >= 2
become records (each lists two or more, as the study filters require), the rest are
only listed; when that asks for more list entries than there are pairs, the records are
the products of highest degree that the pairs can give two entries each.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.dataset import (
    RELATION_ALSO_BOUGHT,
    RELATION_ALSO_VIEWED,
    RELATION_BOUGHT_TOGETHER,
    PreparedDataset,
)
from recsys.data.statistics import adjacency, local_clustering
from recsys.data.synthetic.degrees import DegreeLaw
from recsys.data.synthetic.presets import SyntheticPreset, resolve_sizes
from recsys.data.synthetic.shape import GraphShape
from recsys.data.synthetic.shaped import MIN_ALSO_BOUGHT

logger = logging.getLogger(__name__)

FIT_PRODUCTS = 100_000  # the search generates at most this many products per step
FIT_SEED = 0
CLUSTERING_SAMPLE = 20_000  # as statistics.dataset_statistics
# Below this many pairs with a top category on both ends, the same-category share is too
# noisy to fit (the Books head: 62 such pairs): cross_share then stays 0.
MIN_CATEGORY_PAIRS = 1_000
RECORD_PAIR_BUDGET = 0.45  # pairs-only files: records <= 0.45 * pairs (two entries each)
BISECTION_STEPS = 5
CROSS_STEPS = 4  # secant steps on cross_share per round
JITTER_RANGE = (2.0, 512.0)
TOO_CLUSTERED = 0.05  # clustering this far above its target: search a knob that lowers it
ROUNDS = 1  # (cross share, neighbour share) rounds after the first neighbour search


@dataclasses.dataclass(frozen=True)
class Profile:
    """What is counted on the real dataset (everything but the searched knobs)."""

    products: int
    pairs: int
    records_read: int  # lines of the file (records failing the filters included)
    is_record: np.ndarray  # (n,) bool: has a record (metadata), or chosen as one
    degree: np.ndarray  # (n,) int64 over all pairs
    side_info: bool  # the file has side information at all
    relation_shares: tuple[float, float, float]
    brand_empty_share: float
    price_missing_share: float
    sales_rank_missing_share: float
    category_shares: tuple[float, float, float]
    level1_count: int | None
    category_pairs: int  # pairs whose two products name a top category


def all_pairs(dataset: PreparedDataset) -> tuple[np.ndarray, np.ndarray]:
    """Training pairs plus validation positives: the file's whole graph."""
    positive = dataset.validation.label == 1
    return (
        np.concatenate([dataset.train.item_a, dataset.validation.item_a[positive]]),
        np.concatenate([dataset.train.item_b, dataset.validation.item_b[positive]]),
    )


def _records_without_metadata(degree: np.ndarray, pairs: int) -> np.ndarray:
    """Records for a file without any: degree >= 2, the highest first, within budget."""
    candidates = np.flatnonzero(degree >= MIN_ALSO_BOUGHT)
    budget = int(RECORD_PAIR_BUDGET * pairs)
    if candidates.size > budget:
        candidates = candidates[np.argsort(-degree[candidates], kind="stable")[:budget]]
    mask = np.zeros(degree.shape[0], dtype=bool)
    mask[candidates] = True
    return mask


def _share(products: pd.DataFrame, column: str) -> float:
    return float(products[column].notna().mean()) if len(products) else 0.0


def profile(dataset: PreparedDataset) -> Profile:
    """Count the real dataset's sizes, degrees, relations and side-information shares."""
    item_a, item_b = all_pairs(dataset)
    n = dataset.n_items
    degree = np.bincount(np.concatenate([item_a, item_b]), minlength=n).astype(np.int64)
    products = dataset.products
    has_metadata = products["has_metadata"].to_numpy(dtype=bool)
    side_info = bool(has_metadata.any())
    is_record = has_metadata if side_info else _records_without_metadata(degree, item_a.size)
    relations = dataset.train.relations
    counts = np.array(
        [np.count_nonzero(relations & bit) for bit in
         (RELATION_BOUGHT_TOGETHER, RELATION_ALSO_BOUGHT, RELATION_ALSO_VIEWED)],
        dtype=np.float64,
    )  # fmt: skip
    relation_shares = (
        tuple(float(c) for c in counts / counts.sum()) if counts.sum() else (0.0, 1.0, 0.0)
    )
    described = products[has_metadata]
    level1 = int(described["category_1"].nunique()) if side_info else 0
    records_read = int(dataset.manifest.get("records_read") or 0)
    named = products["category_1"].notna().to_numpy()
    return Profile(
        products=n,
        pairs=int(item_a.size),
        records_read=max(records_read, int(is_record.sum())),
        is_record=is_record,
        degree=degree,
        side_info=side_info,
        relation_shares=relation_shares,  # type: ignore[arg-type]
        brand_empty_share=1.0 - _share(described, "brand") if side_info else 1.0,
        price_missing_share=1.0 - _share(described, "price") if side_info else 1.0,
        sales_rank_missing_share=1.0 - _share(described, "sales_rank") if side_info else 1.0,
        category_shares=tuple(  # type: ignore[arg-type]
            _share(described, f"category_{k}") if side_info else 0.0 for k in (1, 2, 3)
        ),
        level1_count=max(level1, 2) if level1 else None,
        category_pairs=int(np.count_nonzero(named[item_a] & named[item_b])),
    )


def degree_laws(found: Profile) -> tuple[DegreeLaw, DegreeLaw]:
    """Degree laws of records (>= 2 entries each) and of products without a record."""
    record_degree = np.maximum(found.degree[found.is_record], MIN_ALSO_BOUGHT)
    listed_degree = found.degree[~found.is_record]
    if listed_degree.size == 0:
        listed_degree = np.ones(1, dtype=np.int64)
    return DegreeLaw.fit(record_degree), DegreeLaw.fit(listed_degree)


def measure(spec: SyntheticPreset, scale: float, seed: int = FIT_SEED) -> dict[str, float]:
    """Generate ``spec`` at ``scale`` in memory; its clustering and same-category share.

    Clustering is the average local coefficient (over a uniform sample above
    CLUSTERING_SAMPLE products), the same-category share is over pairs of two records,
    the pairs that carry categories in the written file.
    """
    from recsys.data.synthetic.generate import draw_lists  # generation imports this module

    _, sizes = resolve_sizes(spec, scale)
    rng = np.random.default_rng(seed)
    catalog, records, lists = draw_lists(spec, sizes, rng)
    n = sizes.n_products
    matrix = adjacency(lists.src, lists.dst, n)
    nodes = np.arange(n)
    if n > CLUSTERING_SAMPLE:
        nodes = np.sort(rng.choice(n, CLUSTERING_SAMPLE, replace=False))
    is_record = np.zeros(n, dtype=bool)
    is_record[records] = True
    both = is_record[lists.src] & is_record[lists.dst]
    same = catalog.level1[lists.src[both]] == catalog.level1[lists.dst[both]]
    return {
        "clustering": float(local_clustering(matrix, nodes).mean()),
        "same_category_share": float(same.mean()) if same.size else math.nan,
    }


def _bisect(
    spec: SyntheticPreset,
    scale: float,
    target: float,
    trace: list[dict[str, Any]],
    knob: str,
    bounds: tuple[float, float],
    rising: bool,
    log: bool = False,
) -> SyntheticPreset:
    """The value of shape knob ``knob`` within ``bounds`` whose clustering is nearest
    ``target``, by bisection (clustering ``rising`` or falling with the knob; on a log
    scale if ``log``); an end of the range when the target is out of reach."""
    low, high = (math.log(b) for b in bounds) if log else bounds
    best: tuple[float, SyntheticPreset] | None = None
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        value = math.exp(middle) if log else middle
        trial = _with(spec, **{knob: value})
        got = measure(trial, scale)
        shape = _shape(trial)
        trace.append({"neighbour_share": shape.neighbour_share,
                      "cross_share": shape.cross_share, "jitter": shape.jitter, **got})  # fmt: skip
        error = abs(got["clustering"] - target)
        if best is None or error < best[0]:
            best = (error, trial)
        if (got["clustering"] < target) == rising:
            low = middle
        else:
            high = middle
    assert best is not None
    return best[1]


def _secant_cross(
    spec: SyntheticPreset, scale: float, target: float, trace: list[dict[str, Any]]
) -> SyntheticPreset:
    """cross_share in [0, 0.9] whose same-category share is nearest ``target`` (it falls
    as more pairs cross categories)."""
    x0, y0 = _shape(spec).cross_share, measure(spec, scale)["same_category_share"]
    best = (abs(y0 - target), spec)
    x1 = min(0.9, max(0.0, x0 + (0.1 if y0 > target else -0.1)))
    for _ in range(CROSS_STEPS):
        trial = _with(spec, cross_share=x1)
        got = measure(trial, scale)
        trace.append({"neighbour_share": _shape(trial).neighbour_share, "cross_share": x1, **got})
        y1 = got["same_category_share"]
        if abs(y1 - target) < best[0]:
            best = (abs(y1 - target), trial)
        slope = (y1 - y0) / (x1 - x0) if x1 != x0 else -1.0
        step = (target - y1) / slope if slope < -1e-3 else (0.05 if y1 > target else -0.05)
        x0, y0, x1 = x1, y1, float(np.clip(x1 + step, 0.0, 0.9))
        if abs(x1 - x0) < 1e-3:
            break
    return best[1]


def _shape(spec: SyntheticPreset) -> GraphShape:
    if spec.shape is None:
        raise ValueError(f"preset {spec.root!r} has no graph shape to fit")
    return spec.shape


def _with(spec: SyntheticPreset, **changes: Any) -> SyntheticPreset:
    return dataclasses.replace(spec, shape=dataclasses.replace(_shape(spec), **changes))


def fit_knobs(
    spec: SyntheticPreset, targets: dict[str, float]
) -> tuple[SyntheticPreset, list[dict[str, Any]]]:
    """Search ``neighbour_share`` (clustering) and ``cross_share`` (same-category share).

    ``spec`` carries the counted knobs and a starting shape; the search generates at a
    scale of at most FIT_PRODUCTS products. Without a same-category target (no
    categories), ``cross_share`` stays as given.

    Returns:
        The fitted preset and the trace of every step (knobs and what was measured).
    """
    scale = min(1.0, FIT_PRODUCTS / spec.n_products)
    trace: list[dict[str, Any]] = []
    same_target = targets.get("same_category_share", math.nan)
    clustering = targets["clustering"]
    spec = _bisect(spec, scale, clustering, trace, "neighbour_share", (0.0, 1.0), rising=True)
    for _ in range(ROUNDS if not math.isnan(same_target) else 0):
        spec = _secant_cross(spec, scale, same_target, trace)
        spec = _bisect(spec, scale, clustering, trace, "neighbour_share", (0.0, 1.0), True)
    if measure(spec, scale)["clustering"] > clustering * (1 + TOO_CLUSTERED):
        # Clustered above the target at any neighbour share (many pairs per product): pair
        # less locally, by wider windows, or across categories when no share of pairs
        # within one category is there to keep.
        if math.isnan(same_target):
            spec = _bisect(spec, scale, clustering, trace, "cross_share", (0.0, 0.9), False)
        else:
            spec = _bisect(spec, scale, clustering, trace, "jitter", JITTER_RANGE, False, True)
    logger.info("fitted %s: %s", spec.root, _shape(spec).to_json())
    return spec, trace
