"""Related lists of every kept record, calibrated to an exact pair and product count.

Steps, all on whole arrays: draw list lengths; draw every entry's target by affinity
(``sampling.py``); make every product without a record appear in some record's
also_bought list; drop self-links and repeats; give every record >= 2 also_bought
entries; then add or remove also_viewed / bought_together entries that carry a pair of
their own until the unique undirected pairs equal the target exactly.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from tqdm import tqdm

from recsys.data.pairs import undirected_keys
from recsys.data.synthetic.catalog import Catalog
from recsys.data.synthetic.presets import Sizes, SyntheticPreset
from recsys.data.synthetic.sampling import (
    ALSO_BOUGHT,
    ALSO_VIEWED,
    BOUGHT_TOGETHER,
    Blocks,
    draw_referrers,
    draw_targets,
)

logger = logging.getLogger(__name__)

# Relation codes, in the order the file writes them.
ALSO_BOUGHT_CODE, ALSO_VIEWED_CODE, BOUGHT_TOGETHER_CODE = 0, 1, 2
RELATION_KEYS = ("also_bought", "also_viewed", "bought_together")
MAX_LIST = 100  # real also_bought / also_viewed lists stop at 100 entries
# List entries drawn per target pair. Repeats (a lists b and b lists a, one product in two
# relations of a record), the 100-entry cap and the fixed two-entry lists of obscure
# records lose part of them; ``_calibrate_pairs`` tops up what is still missing with
# also_viewed entries and trims any overshoot exactly (logged at DEBUG).
ENTRIES_PER_PAIR = 1.35
MAX_TOP_UP_ROUNDS = 8
LENGTH_SIGMA = 0.6  # spread of list lengths among records of equal popularity
ACTIVITY_SPREAD = 1.2  # spread of mean list length with popularity rank (log scale)
OBSCURE_POPULARITY = 0.02  # popularity multiplier of obscure records


@dataclass(frozen=True)
class RelationLists:
    """Entries of all related lists, sorted by (source, relation); product ids throughout."""

    src: np.ndarray  # (entries,) int32 product id of the record holding the list
    relation: np.ndarray  # (entries,) int8 *_CODE
    dst: np.ndarray  # (entries,) int32 listed product id


def _lognormal_lengths(mean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Heavy-tailed non-negative list lengths with the given per-record means (pre-cap)."""
    mu = np.log(np.maximum(mean, 1e-3)) - LENGTH_SIGMA**2 / 2
    return np.minimum(np.floor(rng.lognormal(mu, LENGTH_SIGMA) + 0.5), MAX_LIST).astype(np.int64)


def _activity(popularity: np.ndarray) -> np.ndarray:
    """Mean-one multiplier of list lengths that grows with the record's popularity rank.

    Obscure products have short lists and few references, so some records (products with
    metadata) end up in few pairs and are unseen after the split: the cold-start slice.
    Log-normal in the rank's normal score, so the spread does not depend on the tail.
    """
    quantile = (np.argsort(np.argsort(popularity, kind="stable")) + 0.5) / popularity.shape[0]
    score = ndtri(quantile)
    return np.exp(ACTIVITY_SPREAD * score - ACTIVITY_SPREAD**2 / 2)


def _list_lengths(
    spec: SyntheticPreset, sizes: Sizes, popularity: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(also_bought, also_viewed, bought_together) length per kept record."""
    n = sizes.n_kept
    guaranteed = (sizes.n_products - sizes.n_kept) / n  # references to record-less products
    budget = max(3.0, sizes.n_pairs / n * ENTRIES_PER_PAIR - guaranteed)
    share_bt, share_ab, share_av = spec.relation_shares
    activity = _activity(popularity)
    also_bought = 2 + np.minimum(
        _lognormal_lengths((share_ab * budget - 2) * activity, rng), MAX_LIST - 2
    )
    viewed_any = rng.random(n) < 0.7
    also_viewed = np.where(
        viewed_any, _lognormal_lengths(share_av * budget / 0.7 * activity, rng), 0
    )
    bought_together = np.minimum(rng.poisson(share_bt * budget * activity), 3)
    obscure = obscure_records(activity, spec.obscure_share)
    also_bought = np.where(obscure, 2, also_bought)
    also_viewed = np.where(obscure, 0, also_viewed)
    bought_together = np.where(obscure, 0, bought_together)
    return also_bought, also_viewed, bought_together


def obscure_records(record_popularity: np.ndarray, share: float) -> np.ndarray:
    """Mask of the least popular ``share`` of records: they list only two also_bought
    products and are rarely listed themselves (see ``SyntheticPreset.obscure_share``)."""
    if share <= 0:
        return np.zeros(record_popularity.shape[0], dtype=bool)
    return record_popularity <= np.quantile(record_popularity, share)


def _dedupe(
    src: np.ndarray, rel: np.ndarray, dst: np.ndarray, protected: np.ndarray, n: int
) -> tuple[np.ndarray, ...]:
    """Drop failed draws and repeats of (source, relation, target), keeping the first."""
    ok = dst >= 0
    src, rel, dst, protected = src[ok], rel[ok], dst[ok], protected[ok]
    key = (src.astype(np.int64) * 3 + rel) * n + dst
    first = np.sort(np.unique(key, return_index=True)[1])
    return src[first], rel[first], dst[first], protected[first]


def build_relations(
    catalog: Catalog,
    spec: SyntheticPreset,
    sizes: Sizes,
    records: np.ndarray,
    rng: np.random.Generator,
    progress: bool = False,
) -> RelationLists:
    """Draw all related lists of the kept records (sorted product ids in ``records``).

    The result has exactly ``sizes.n_pairs`` unique undirected pairs, and every product id
    in ``[0, sizes.n_products)`` occurs in at least one of them.

    Raises:
        RuntimeError: the pair target cannot be met (a preset with far too few pairs per
            product); the message says by how much.
    """
    n = catalog.n_products
    lengths = _list_lengths(spec, sizes, catalog.popularity[records], rng)
    # Obscure records are rarely listed by others either, so their degree stays ~2.
    popularity = catalog.popularity.copy()
    popularity[records[obscure_records(popularity[records], spec.obscure_share)]] *= (
        OBSCURE_POPULARITY
    )
    catalog = dataclasses.replace(catalog, popularity=popularity)
    blocks = Blocks.of(catalog)
    shapes = (ALSO_BOUGHT, ALSO_VIEWED, BOUGHT_TOGETHER)
    parts_src, parts_rel, parts_dst = [], [], []
    total = int(sum(length.sum() for length in lengths))
    with tqdm(total=total, desc="drawing related lists", unit="entry", unit_scale=True,
              disable=not progress) as bar:  # fmt: skip
        for code, (shape, length) in enumerate(zip(shapes, lengths, strict=True)):
            src = np.repeat(records, length)
            parts_src.append(src)
            parts_rel.append(np.full(src.shape[0], code, dtype=np.int8))
            parts_dst.append(draw_targets(catalog, blocks, src, shape, rng, bar))
    # Every product without a record needs one reference, or it would not be a product.
    without_record = np.setdiff1d(np.arange(n, dtype=np.int32), records, assume_unique=True)
    parts_src.append(draw_referrers(catalog, records, without_record, rng))
    parts_rel.append(np.full(without_record.shape[0], ALSO_BOUGHT_CODE, dtype=np.int8))
    parts_dst.append(without_record)
    protected = np.zeros(sum(p.shape[0] for p in parts_src), dtype=bool)
    protected[-without_record.shape[0] :] = True
    src, rel, dst, protected = _dedupe(
        np.concatenate(parts_src).astype(np.int32),
        np.concatenate(parts_rel),
        np.concatenate(parts_dst),
        protected,
        n,
    )
    src, rel, dst, protected = _ensure_two_also_bought(src, rel, dst, protected, records, n)
    busy = np.ones(n, dtype=bool)  # records that may take extra entries: not the obscure
    busy[records[obscure_records(catalog.popularity[records], spec.obscure_share)]] = False
    src, rel, dst = _calibrate_pairs(
        catalog, blocks, (src, rel, dst, protected), busy, sizes.n_pairs, rng
    )
    order = np.lexsort((rel, src))  # stable: keeps draw order within each list
    return RelationLists(src=src[order], relation=rel[order], dst=dst[order])


def _ensure_two_also_bought(
    src: np.ndarray,
    rel: np.ndarray,
    dst: np.ndarray,
    protected: np.ndarray,
    records: np.ndarray,
    n: int,
) -> tuple[np.ndarray, ...]:
    """Top up records whose also_bought list lost entries to dedupe with tree neighbours.

    Neighbouring ids share the leaf (tree order), so the top-up stays affine. Rare.
    """
    for offset in range(1, 64):
        counts = np.bincount(src[rel == ALSO_BOUGHT_CODE], minlength=n)[records]
        short = records[counts < 2]
        if short.size == 0:
            return src, rel, dst, protected
        extra = np.concatenate([short + offset, short - offset])
        extra_src = np.concatenate([short, short])
        ok = (extra >= 0) & (extra < n)
        src, rel, dst, protected = _dedupe(
            np.concatenate([src, extra_src[ok].astype(np.int32)]),
            np.concatenate([rel, np.full(int(ok.sum()), ALSO_BOUGHT_CODE, dtype=np.int8)]),
            np.concatenate([dst, extra[ok].astype(np.int32)]),
            np.concatenate([protected, np.ones(int(ok.sum()), dtype=bool)]),
            n,
        )
    raise RuntimeError("could not give every record two also_bought entries")


def _calibrate_pairs(
    catalog: Catalog,
    blocks: Blocks,
    entries: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    busy: np.ndarray,
    n_pairs: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add also_viewed entries while short of ``n_pairs``, then trim the excess exactly.

    Extra entries go to ``busy`` records (a mask over product ids), in proportion to the
    entries they already have.

    Only also_viewed / bought_together entries whose pair no other entry carries are
    removed, one pair each, and never the protected ones (the only reference of a product
    or a record's second also_bought), so the product count and the filters are unchanged.
    """
    src, rel, dst, protected = entries
    n = catalog.n_products
    for attempt in range(MAX_TOP_UP_ROUNDS):
        unique_keys, inverse, counts = np.unique(
            undirected_keys(src, dst, n), return_inverse=True, return_counts=True
        )
        missing = n_pairs - unique_keys.shape[0]
        if missing <= 0:
            break
        # Sources in proportion to their lists so far: busy records get the extra entries.
        # Dense tiny graphs repeat many draws: ask for more each round.
        n_extra = int(missing * 1.3 * 2**attempt) + 16
        sources = src[busy[src]]
        extra_src = np.sort(sources[rng.integers(0, sources.shape[0], size=n_extra)])
        extra_dst = draw_targets(catalog, blocks, extra_src, ALSO_VIEWED, rng)
        src, rel, dst, protected = _dedupe(
            np.concatenate([src, extra_src.astype(np.int32)]),
            np.concatenate([rel, np.full(extra_src.shape[0], ALSO_VIEWED_CODE, dtype=np.int8)]),
            np.concatenate([dst, extra_dst]),
            np.concatenate([protected, np.zeros(extra_src.shape[0], dtype=bool)]),
            n,
        )
    else:
        raise RuntimeError(f"still {missing} pairs short of {n_pairs} after top-up rounds")
    excess = -missing
    logger.debug("pair calibration: %d top-up rounds, trimming %d of %d entries",
                 attempt, excess, src.shape[0])  # fmt: skip
    removable = np.flatnonzero((rel != ALSO_BOUGHT_CODE) & ~protected & (counts[inverse] == 1))
    if removable.shape[0] < excess:
        raise RuntimeError(
            f"{excess} pairs over the target of {n_pairs} but only {removable.shape[0]} "
            "removable entries; lower ENTRIES_PER_PAIR"
        )
    keep = np.ones(src.shape[0], dtype=bool)
    keep[rng.choice(removable, size=excess, replace=False)] = False
    return src[keep], rel[keep], dst[keep]
