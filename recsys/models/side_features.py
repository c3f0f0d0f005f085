"""Side information per product as integer feature ids, for skip-gram with side info (EGES).

EGES (Wang et al. 2018, "Billion-scale Commodity Embedding for E-commerce Recommendation in
Alibaba", section 2.3) embeds each product as a weighted sum of an id embedding and one
embedding per side-information field. This module turns the ``products`` table of a
:class:`~recsys.data.dataset.PreparedDataset` into those field ids; it is a pure transform
with no torch in it, so it is tested on hand-made tables.

Every field reserves two ids, so nothing is silently dropped:

* ``UNKNOWN_ID`` (0): the value is missing, or the product has no record of its own
  (``has_metadata`` False). The model learns one "missing" vector per field.
* ``OTHER_ID`` (1): a rare value, seen ``rare_threshold`` times or fewer (the study used 100
  on full categories; a 7k-record sample needs a far smaller threshold). A rare value's own
  vector would be trained on a handful of products, so rare values pool into one.

Category levels are keyed by their path ("CDs & Vinyl > Pop"), because the same level-2
name can sit under different level-1 categories and mean different things there.

Price bins are quantiles *within category_1*: a $20 price is cheap for a speaker and dear for
a cable, and co-purchases pair products of similar standing within their kind. A category_1
gets its own bins only when it has enough priced products for each bin to clear the rare
threshold (``n_price_bins * (rare_threshold + 1)``); the rest share global quantile bins, so
small categories still get a price signal instead of ids trained on a few products.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

UNKNOWN_ID = 0
OTHER_ID = 1
RESERVED_VALUES = ("<unknown>", "<other>")

REQUIRED_COLUMNS = ("brand", "category_1", "category_2", "category_3", "price", "has_metadata")
GLOBAL_PRICE_GROUP = "*"  # price bins shared by categories too small for their own


@dataclass(frozen=True)
class SideFeatures:
    """Integer side-information ids per product.

    Attributes:
        ids: int32 matrix (n_items, n_fields); row i is item_id i, entries in
            ``[0, vocab_sizes[j])``, 0 = unknown, 1 = other (rare).
        field_names: name of each column of ``ids`` (e.g. "brand", "category_1").
        vocab_sizes: number of distinct ids per field, reserved ids included.
        values: per field, the value each id stands for (index = id), for logging.
    """

    ids: npt.NDArray[np.int32]
    field_names: tuple[str, ...]
    vocab_sizes: tuple[int, ...]
    values: tuple[tuple[str, ...], ...]

    @property
    def n_fields(self) -> int:
        return len(self.field_names)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per field: vocabulary size and the share of products on unknown / other (for logging)."""
        out: dict[str, dict[str, float]] = {}
        n = max(self.ids.shape[0], 1)
        for j, name in enumerate(self.field_names):
            column = self.ids[:, j]
            out[name] = {
                "vocab_size": float(self.vocab_sizes[j]),
                "frac_unknown": float(np.count_nonzero(column == UNKNOWN_ID) / n),
                "frac_other": float(np.count_nonzero(column == OTHER_ID) / n),
            }
        return out


def describable_products(
    ids: npt.NDArray[np.int32], has_metadata: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """(n_items,) products with a record of their own and at least one known side value:
    the only ones whose id term EGES ever drops, or that it embeds from side info alone."""
    return np.asarray(has_metadata, dtype=bool) & (ids != UNKNOWN_ID).any(axis=1)


def encode_values(values: pd.Series, rare_threshold: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map a column of strings (None / NaN = missing) to ids with unknown and rare pooled.

    Values seen ``rare_threshold`` times or fewer map to ``OTHER_ID``; the rest get ids from 2
    up, most frequent first (ties by value, so the mapping is deterministic).

    Returns:
        (ids int32 of shape (n,), value table indexed by id).
    """
    if rare_threshold < 0:
        raise ValueError(f"rare_threshold must be >= 0, got {rare_threshold}")
    present = values.notna().to_numpy()
    counts = values[present].astype(str).value_counts()
    kept = counts[counts > rare_threshold]
    # Sort by count descending, then value ascending: value_counts' tie order is unspecified.
    kept = kept.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    table = pd.Series(np.arange(len(kept), dtype=np.int32) + 2, index=kept.index)
    ids = np.full(len(values), UNKNOWN_ID, dtype=np.int32)
    mapped = values[present].astype(str).map(table)
    ids[present] = mapped.fillna(OTHER_ID).to_numpy(dtype=np.int32)
    return ids, RESERVED_VALUES + tuple(str(v) for v in kept.index)


def category_paths(products: pd.DataFrame, levels: int) -> list[pd.Series]:
    """Path keys per category level: level k is "c1 > ... > ck", missing when ck is missing."""
    paths: list[pd.Series] = []
    path: pd.Series | None = None
    for level in range(1, levels + 1):
        column = products[f"category_{level}"]
        present = column.notna()
        as_text = column.astype(object).where(present, None)
        if path is None:
            path = as_text
        else:
            path = (path.fillna("").astype(str) + " > " + column.astype(str)).where(present, None)
        paths.append(path)
    return paths


def price_bin_keys(
    price: npt.NDArray[np.float32],
    group: npt.NDArray[np.int32],
    group_names: tuple[str, ...],
    n_bins: int,
    min_group_size: int,
) -> pd.Series:
    """Quantile price bin per product, within its group when the group is big enough.

    Args:
        price: (n,) prices, NaN when missing.
        group: (n,) group id per product (the encoded category_1).
        group_names: name of each group id, used in the keys.
        n_bins: quantile bins per group.
        min_group_size: priced products a group needs for bins of its own; smaller groups
            (and the unknown / other groups) share global bins.

    Returns:
        Keys like "Electronics: price q2/4 [9.99, 19.99)" (None where the price is missing).
    """
    if n_bins < 1:
        raise ValueError(f"n_price_bins must be >= 1, got {n_bins}")
    priced = ~np.isnan(price)
    group_counts = np.bincount(group[priced], minlength=len(group_names))
    own = group_counts >= min_group_size
    own[[UNKNOWN_ID, OTHER_ID]] = False
    bin_group = np.where(own[group], group, -1)  # -1: global bins
    keys = np.full(price.shape[0], None, dtype=object)
    for g in np.unique(bin_group[priced]):
        members = np.flatnonzero(priced & (bin_group == g))
        values = price[members].astype(np.float64)
        inner = np.linspace(0, 1, n_bins + 1)[1:-1]
        edges: np.ndarray = np.unique(np.quantile(values, inner)) if n_bins > 1 else np.empty(0)
        bins = np.searchsorted(edges, values, side="right")
        bounds = np.concatenate([[values.min()], edges, [values.max()]])
        name = GLOBAL_PRICE_GROUP if g < 0 else group_names[g]
        labels = np.array(
            [
                f"{name}: price q{b + 1}/{len(edges) + 1} [{bounds[b]:.2f}, {bounds[b + 1]:.2f}]"
                for b in range(len(edges) + 1)
            ],
            dtype=object,
        )
        keys[members] = labels[bins]
    return pd.Series(keys, dtype=object)


def build_side_features(
    products: pd.DataFrame,
    rare_threshold: int = 100,
    n_price_bins: int = 5,
    category_levels: int = 2,
) -> SideFeatures:
    """Integer side-information ids per product: brand, category levels, price bin.

    Args:
        products: the PreparedDataset.products table (needs brand, category_1..3, price,
            has_metadata; row i is item_id i).
        rare_threshold: values seen this many times or fewer map to ``OTHER_ID``
            (the study: 100).
        n_price_bins: quantile bins per category_1 (0 leaves price out).
        category_levels: category levels used, 1 to 3.

    Returns:
        SideFeatures with fields brand, category_1 .. category_<levels>, price_bin.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in products.columns]
    if missing:
        raise ValueError(
            f"products table lacks column(s) {missing}; it must come from "
            "recsys.data.prepare (columns listed in recsys.data.dataset.PRODUCT_COLUMNS)"
        )
    if not 1 <= category_levels <= 3:
        raise ValueError(f"category_levels must be 1, 2 or 3, got {category_levels}")
    if n_price_bins < 0:
        raise ValueError(f"n_price_bins must be >= 0, got {n_price_bins}")
    products = products.reset_index(drop=True)
    has_meta = products["has_metadata"].to_numpy(dtype=bool)
    # A product without a record of its own has no trustworthy side info, whatever the row holds.
    no_meta = pd.Series(~has_meta)

    columns: list[np.ndarray] = []
    names: list[str] = []
    tables: list[tuple[str, ...]] = []

    def add(name: str, keys: pd.Series) -> None:
        ids, table = encode_values(keys.mask(no_meta), rare_threshold)
        columns.append(ids)
        names.append(name)
        tables.append(table)

    add("brand", products["brand"].astype(object).where(products["brand"].notna(), None))
    for level, path in enumerate(category_paths(products, category_levels), start=1):
        add(f"category_{level}", path)
    if n_price_bins > 0:
        price = products["price"].to_numpy(dtype=np.float32).copy()
        price[~has_meta | (price < 0)] = np.nan  # a negative price is a parse artefact
        cat1 = columns[names.index("category_1")]
        add(
            "price_bin",
            price_bin_keys(
                price,
                cat1,
                tables[names.index("category_1")],
                n_price_bins,
                min_group_size=n_price_bins * (rare_threshold + 1),
            ),
        )
    ids = np.stack(columns, axis=1).astype(np.int32) if columns else np.empty((len(products), 0))
    return SideFeatures(
        ids=np.ascontiguousarray(ids, dtype=np.int32),
        field_names=tuple(names),
        vocab_sizes=tuple(len(t) for t in tables),
        values=tuple(tables),
    )
