"""The prepared dataset: what `prepare` hands every later stage.

A prepared dataset is a folder of Parquet tables plus a JSON manifest, so a second
method on the same data neither parses nor splits again. Every table is keyed by the
dense ``item_id`` (0..n_items-1) assigned to every product that appears in any pair.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from recsys.data.checksum import file_sha256
from recsys.typing import BoolMask, ItemIds, Labels, Weights

# Relation flags stored per training pair (a bitmask: a pair can carry several).
RELATION_BOUGHT_TOGETHER = 1
RELATION_ALSO_BOUGHT = 2
RELATION_ALSO_VIEWED = 4
RELATION_SIMILAR = 8  # SNAP amazon-meta's `similar` lists
RELATION_CO_PURCHASE = 16  # a pairs file's rows when it has no relation column
# 32, 64, 128: the other names of a pairs file's relation column, in sorted order (the
# manifest's parse.relation_bits says which is which).
RELATION_BITS = {
    "bought_together": RELATION_BOUGHT_TOGETHER,
    "also_bought": RELATION_ALSO_BOUGHT,
    "also_viewed": RELATION_ALSO_VIEWED,
    "similar": RELATION_SIMILAR,
    "co_purchase": RELATION_CO_PURCHASE,
}

PRODUCT_COLUMNS = (
    "item_id",  # int32, dense
    "asin",  # str, as in the file (the study lowercased asins; we do not)
    "title",  # str or None
    "brand",  # str or None ("" in the file is stored as None)
    "category_1",  # str or None: first category level below the root
    "category_2",  # str or None
    "category_3",  # str or None
    "price",  # float32, NaN when missing
    "sales_rank",  # float32, NaN when missing
    "has_metadata",  # bool: the product has a record of its own in the file
)

MANIFEST_NAME = "manifest.json"
TABLE_NAMES = ("products.parquet", "train_pairs.parquet", "val_pairs.parquet")
# The manifest's entry holding each table's sha256 (checked on load, not part of
# ``PreparedDataset.manifest``: a loaded dataset's manifest equals the one just built).
TABLES_KEY = "tables_sha256"

# Validation protocols: the same held-out positives against two negative sets.
# study: uniform over the distinct validation products (the study's code);
# matched: degree-matched, each product as often as in the positives. See data/split.py.
Protocol = Literal["study", "matched"]
PROTOCOLS: tuple[Protocol, ...] = ("study", "matched")
NEGATIVE_SET_CODES: dict[Protocol, int] = {"study": 1, "matched": 2}  # 0 = a positive


@dataclass(frozen=True)
class PairTable:
    """Training pairs: undirected, one row per unique pair, item_a < item_b."""

    item_a: ItemIds
    item_b: ItemIds
    weight: Weights  # summed relation weights (bought_together 1.2, also_bought 1.0, ...)
    relations: np.ndarray  # uint8 bitmask of RELATION_* flags

    def __len__(self) -> int:
        return int(self.item_a.shape[0])


@dataclass(frozen=True)
class ValidationPairs:
    """Held-out positives and sampled negatives, with the slice each pair belongs to.

    ``negative_set`` says which protocol's negatives a label-0 row belongs to
    (:data:`NEGATIVE_SET_CODES`, 0 on positives); None means one negative set that serves
    every protocol (hand-made fixtures). Metrics are computed on :meth:`for_protocol`.
    """

    item_a: ItemIds
    item_b: ItemIds
    label: Labels  # 1 held-out positive, 0 sampled negative
    seen: BoolMask  # both products are in the training vocabulary
    negative_set: np.ndarray | None = None  # int8 per row, see above

    def __len__(self) -> int:
        return int(self.item_a.shape[0])

    def protocol_rows(self, protocol: Protocol) -> np.ndarray:
        """Row indices of the positives plus ``protocol``'s negatives."""
        if protocol not in NEGATIVE_SET_CODES:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if self.negative_set is None:
            return np.arange(len(self))
        keep = (self.label == 1) | (self.negative_set == NEGATIVE_SET_CODES[protocol])
        return np.flatnonzero(keep)

    def for_protocol(self, protocol: Protocol) -> ValidationPairs:
        """The positives and ``protocol``'s negatives, positives first."""
        rows = self.protocol_rows(protocol)
        return ValidationPairs(
            item_a=self.item_a[rows],
            item_b=self.item_b[rows],
            label=self.label[rows],
            seen=self.seen[rows],
        )


@dataclass(frozen=True)
class PreparedDataset:
    """Products, train pairs and validation pairs of one dataset and split."""

    name: str
    products: pd.DataFrame  # PRODUCT_COLUMNS, row i has item_id i
    train: PairTable
    validation: ValidationPairs
    manifest: dict[str, Any] = field(default_factory=dict)
    folder: Path | None = None  # where it is cached; derived data (walks) is cached beside it

    @property
    def n_items(self) -> int:
        return len(self.products)

    def train_vocabulary(self) -> BoolMask:
        """Items that appear in at least one training pair."""
        mask = np.zeros(self.n_items, dtype=bool)
        mask[self.train.item_a] = True
        mask[self.train.item_b] = True
        return mask

    def train_degree(self, weighted: bool = False) -> np.ndarray:
        """Training pairs each item takes part in, shape (n_items,): int64 counts, or with
        ``weighted`` float64 sums of the pairs' relation weights."""
        ends = np.concatenate([self.train.item_a, self.train.item_b])
        if weighted:
            weights = np.concatenate([self.train.weight, self.train.weight])
            return np.bincount(ends, weights=weights, minlength=self.n_items)
        return np.bincount(ends, minlength=self.n_items).astype(np.int64)

    def validation_for(self, protocol: Protocol) -> ValidationPairs:
        """The validation pairs of one protocol (positives plus its negatives)."""
        return self.validation.for_protocol(protocol)

    def cold_start_mask(self, validation: ValidationPairs | None = None) -> BoolMask:
        """Validation pairs that are unseen but whose two products both have metadata.

        Side-information methods can embed such products without having trained on
        them; this is the slice where they must beat plain id embeddings.

        Args:
            validation: the pairs to mask (a protocol's view); default every row.
        """
        pairs = self.validation if validation is None else validation
        has_meta = self.products["has_metadata"].to_numpy(dtype=bool)
        both_meta = has_meta[pairs.item_a] & has_meta[pairs.item_b]
        return both_meta & ~pairs.seen


def _check_tables(folder: Path, recorded: Any) -> None:
    """The tables are those the manifest was written with (their sha256, recorded by
    :func:`save_prepared`): a table truncated, edited or copied from another prepared
    folder (another dataset or split) is valid Parquet and read without a word otherwise.
    A folder written before the checksums were recorded is not checked.

    Raises:
        ValueError: naming the first table that differs (the caller rebuilds the folder).
    """
    if recorded is None:
        return
    for name in TABLE_NAMES:
        path = folder / name
        if not path.exists():
            raise ValueError(f"{name} is missing")
        if file_sha256(path) != recorded.get(name):
            raise ValueError(f"{name} is not the table its manifest was written with")


def save_prepared(dataset: PreparedDataset, folder: Path) -> None:
    """Write the dataset as Parquet tables plus a manifest (the manifest last, as a commit mark)."""
    folder.mkdir(parents=True, exist_ok=True)
    dataset.products.to_parquet(folder / "products.parquet", index=False)
    pd.DataFrame(
        {
            "item_a": dataset.train.item_a,
            "item_b": dataset.train.item_b,
            "weight": dataset.train.weight,
            "relations": dataset.train.relations,
        }
    ).to_parquet(folder / "train_pairs.parquet", index=False)
    pd.DataFrame(
        {
            "item_a": dataset.validation.item_a,
            "item_b": dataset.validation.item_b,
            "label": dataset.validation.label,
            "seen": dataset.validation.seen,
            **(
                {}
                if dataset.validation.negative_set is None
                else {"negative_set": dataset.validation.negative_set}
            ),
        }
    ).to_parquet(folder / "val_pairs.parquet", index=False)
    manifest = {
        "name": dataset.name,
        **dataset.manifest,
        TABLES_KEY: {name: file_sha256(folder / name) for name in TABLE_NAMES},
    }
    tmp = folder / (MANIFEST_NAME + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    tmp.replace(folder / MANIFEST_NAME)


def load_prepared(folder: Path) -> PreparedDataset:
    """Read a dataset written by :func:`save_prepared`."""
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.exists():
        raise FileNotFoundError(
            f"{folder} holds no prepared dataset ({MANIFEST_NAME} missing); "
            "run `recsys prepare` for it first."
        )
    manifest = json.loads(manifest_path.read_text())
    _check_tables(folder, manifest.pop(TABLES_KEY, None))
    products = pd.read_parquet(folder / "products.parquet")
    train = pd.read_parquet(folder / "train_pairs.parquet")
    val = pd.read_parquet(folder / "val_pairs.parquet")
    return PreparedDataset(
        name=str(manifest.get("name", folder.name)),
        products=products,
        train=PairTable(
            item_a=train["item_a"].to_numpy(np.int32),
            item_b=train["item_b"].to_numpy(np.int32),
            weight=train["weight"].to_numpy(np.float32),
            relations=train["relations"].to_numpy(np.uint8),
        ),
        validation=ValidationPairs(
            item_a=val["item_a"].to_numpy(np.int32),
            item_b=val["item_b"].to_numpy(np.int32),
            label=val["label"].to_numpy(np.int8),
            seen=val["seen"].to_numpy(bool),
            negative_set=(
                val["negative_set"].to_numpy(np.int8) if "negative_set" in val.columns else None
            ),
        ),
        manifest=manifest,
        folder=folder,
    )
