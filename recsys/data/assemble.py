"""Relation entries between product ids given as text -> products table and unique pairs.

The shared back half of the formats that name products by arbitrary text ids (a pairs
file's id columns, SNAP's asins): ids are numbered with pyarrow's dictionary encoding (no
Python object per entry), self-pairs are dropped and counted, entries collapse into unique
undirected pairs (:func:`recsys.data.pairs.dedupe_entries`), and every product in a pair
gets a dense ``item_id`` in the sorted order of its id text, so ids never depend on the
order of the file's lines. Side information (a products file, a SNAP record's fields) is
joined by id; a product without a row has ``has_metadata`` False.

Pair weights: with weights given (a pairs file's weight column) they are summed over every
entry of the pair, both directions and repeats included; an entry of weight 0 says the two
products are not related (a count of zero co-purchases), so it is dropped and counted like
a self-pair, never kept as a pair no walk or training step can use. Without, each pair
weighs 1.0 per distinct relation it carries (the popcount of its relation bitmask): a file
that lists an edge in both directions, or twice, says the pair exists, not that it is twice
as strong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from recsys.data.dataset import PRODUCT_COLUMNS
from recsys.data.errors import DataError
from recsys.data.pairs import MAX_DENSE_ITEMS, UniquePairs, dedupe_entries

# Side-information columns a format may supply, beyond the id (named as in PRODUCT_COLUMNS).
SIDE_COLUMNS = ("title", "brand", "category_1", "category_2", "category_3", "price", "sales_rank")


@dataclass(frozen=True)
class AssembledPairs:
    """Products in any pair (row i is item_id i) and their unique pairs, with counts."""

    products: pd.DataFrame
    pairs: UniquePairs
    self_pairs: int  # entries whose two ids are equal, dropped
    zero_weight: int  # entries of two distinct ids and weight 0, dropped
    side_rows: int  # rows of side information offered
    side_rows_matched: int  # of them, rows whose id is a product in a pair


def _as_arrow(ids: Any) -> pa.Array:
    array = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array


class IdTable(Protocol):
    """The distinct ids of some entries, indexed by code."""

    def __len__(self) -> int: ...

    def order(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The positions of ``codes`` sorted by their ids (numbers numerically, text as text)."""
        ...

    def text(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        """The ids of ``codes`` as text."""
        ...


def number_ids(
    source_ids: Any, target_ids: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], IdTable]:
    """``(codes of the sources, codes of the targets, the distinct ids)``.

    Integer ids (a pairs file whose ids are all written as integers) are offsets from the
    smallest when they span a range a few times the entries, else hashed by
    ``pandas.factorize``, and ordered numerically; text ids are dictionary-encoded by
    pyarrow and ordered as text (integer columns take a quarter of the time, measured).
    """
    source, target = _as_arrow(source_ids), _as_arrow(target_ids)
    if pa.types.is_integer(source.type) and pa.types.is_integer(target.type):
        values = np.concatenate([source.to_numpy(), target.to_numpy()]).astype(np.int64)
        low = int(values.min()) if values.size else 0
        span = int(values.max()) - low + 1 if values.size else 0
        if span <= max(4 * values.size, 1 << 20):
            # Ids within a few times the entry count (SNAP node ids): the code is the id
            # minus the smallest, no hashing or sorting at all.
            codes = values - low
            ids: IdTable = _IntegerIds(np.arange(low, low + span, dtype=np.int64))
        else:
            codes, uniques = pd.factorize(values)
            ids = _IntegerIds(np.asarray(uniques, dtype=np.int64))
    else:
        both = pa.concat_arrays([source.cast(pa.string()), target.cast(pa.string())])
        encoded = both.dictionary_encode()
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        ids = _TextIds(encoded.dictionary)
    codes = codes.astype(np.int64, copy=False)
    return codes[: len(source)], codes[len(source) :], ids


@dataclass(frozen=True)
class _IntegerIds:
    uniques: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.uniques.size)

    def order(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.argsort(self.uniques[codes], kind="stable")

    def text(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        return pa.array(self.uniques[codes]).cast(pa.string()).to_numpy(zero_copy_only=False)


@dataclass(frozen=True)
class _TextIds:
    dictionary: pa.Array

    def __len__(self) -> int:
        return len(self.dictionary)

    def order(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return pc.array_sort_indices(self.dictionary.take(pa.array(codes))).to_numpy()

    def text(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
        return self.dictionary.take(pa.array(codes)).to_numpy(zero_copy_only=False)


def _side_table(side: pd.DataFrame | None, asins: npt.NDArray[np.object_]) -> dict[str, Any]:
    """Side-information columns aligned with ``asins`` (None / NaN where a product has no row)."""
    n = asins.size
    if side is None or len(side) == 0:
        row = np.full(n, -1, dtype=np.int64)
    else:
        row = pd.Index(side["asin"]).get_indexer(asins)
    has_row = row >= 0
    columns: dict[str, Any] = {}
    for name in SIDE_COLUMNS:
        if name in ("price", "sales_rank"):
            values = np.full(n, np.nan, dtype=np.float32)
            if side is not None and name in side:
                values[has_row] = side[name].to_numpy(np.float32)[row[has_row]]
        else:
            values = np.full(n, None, dtype=object)
            if side is not None and name in side:
                values[has_row] = side[name].to_numpy(object)[row[has_row]]
                values[pd.isna(values)] = None  # text columns hold None, never NaN
        columns[name] = values
    columns["has_metadata"] = has_row
    return columns


def assemble_pairs(
    source_ids: Any,
    target_ids: Any,
    relation_bits: npt.NDArray[np.uint8],
    weight: npt.NDArray[np.float32] | None = None,
    side: pd.DataFrame | None = None,
) -> AssembledPairs:
    """Unique undirected pairs and the products table of text-id relation entries.

    Args:
        source_ids, target_ids: one id per entry (pyarrow string arrays or sequences of str).
        relation_bits: the entry's relation flag (one bit set), shape (entries,).
        weight: the entry's weight (>= 0), summed per pair; entries of weight 0 are
            dropped; None = 1.0 per distinct relation.
        side: side information, one row per product id (column ``asin``, first row wins),
            any of :data:`SIDE_COLUMNS`.

    Raises:
        DataError: more products than int32 ids allow.
    """
    a, b, ids = number_ids(source_ids, target_ids)
    n_entries = a.size
    distinct = a != b
    self_pairs = int(n_entries - distinct.sum())
    zero_weight = 0
    if weight is not None:
        weighted = distinct & (weight > 0)
        zero_weight = int(distinct.sum() - weighted.sum())
        distinct = weighted
    n_ids = len(ids)
    if n_ids > MAX_DENSE_ITEMS:
        raise DataError(f"{n_ids:,} products: more than the {MAX_DENSE_ITEMS:,} supported")
    a, b, bits = a[distinct], b[distinct], relation_bits[distinct]
    # Dense ids in id order, over the ids that remain in some pair.
    used = np.zeros(n_ids, dtype=bool)
    used[a] = True
    used[b] = True
    used_ids = np.flatnonzero(used)
    order = ids.order(used_ids)
    dense = np.full(n_ids, -1, dtype=np.int64)
    dense[used_ids[order]] = np.arange(used_ids.size)
    entry_weight = None if weight is None else weight[distinct]
    pairs = dedupe_entries(dense[a], dense[b], bits, used_ids.size, entry_weight)
    asins = ids.text(used_ids[order])
    columns = {"item_id": np.arange(asins.size, dtype=np.int32), "asin": asins}
    columns.update(_side_table(side, asins))
    products = pd.DataFrame(columns)[list(PRODUCT_COLUMNS)]
    return AssembledPairs(
        products=products,
        pairs=pairs,
        self_pairs=self_pairs,
        zero_weight=zero_weight,
        side_rows=0 if side is None else len(side),
        side_rows_matched=int(products["has_metadata"].sum()),
    )
