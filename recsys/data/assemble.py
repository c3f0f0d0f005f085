"""Relation entries between product ids given as text -> products table and unique pairs.

The shared back half of the formats that name products by arbitrary text ids (a pairs
file's id columns, SNAP's asins): ids are numbered with pyarrow's dictionary encoding (no
Python object per entry), self-pairs are dropped and counted, entries collapse into unique
undirected pairs (:func:`recsys.data.pairs.dedupe_entries`), and every product in a pair
gets a dense ``item_id`` in the sorted order of its id text, so ids never depend on the
order of the file's lines. Side information (a products file, a SNAP record's fields) is
joined by id; a product without a row has ``has_metadata`` False.

Pair weights: with weights given (a pairs file's weight column) they are summed over every
entry of the pair, both directions and repeats included. Without, each pair weighs 1.0 per
distinct relation it carries (the popcount of its relation bitmask): a file that lists an
edge in both directions, or twice, says the pair exists, not that it is twice as strong.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    side_rows: int  # rows of side information offered
    side_rows_matched: int  # of them, rows whose id is a product in a pair


def _as_text(ids: Any) -> pa.Array:
    array = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(ids, pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string()) if array.type != pa.string() else array


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
        weight: the entry's weight, summed per pair; None = 1.0 per distinct relation.
        side: side information, one row per product id (column ``asin``, first row wins),
            any of :data:`SIDE_COLUMNS`.

    Raises:
        DataError: more products than int32 ids allow.
    """
    source = _as_text(source_ids)
    n_entries = len(source)
    both = pa.concat_arrays([source, _as_text(target_ids)]).dictionary_encode()
    codes = both.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    a, b = codes[:n_entries], codes[n_entries:]
    distinct = a != b
    self_pairs = int(n_entries - distinct.sum())
    n_ids = len(both.dictionary)
    if n_ids > MAX_DENSE_ITEMS:
        raise DataError(f"{n_ids:,} products: more than the {MAX_DENSE_ITEMS:,} supported")
    a, b, bits = a[distinct], b[distinct], relation_bits[distinct]
    # Dense ids in id-text order, over the ids that remain in some pair.
    used = np.zeros(n_ids, dtype=bool)
    used[a] = True
    used[b] = True
    used_ids = np.flatnonzero(used)
    order = pc.array_sort_indices(both.dictionary.take(pa.array(used_ids))).to_numpy()
    dense = np.full(n_ids, -1, dtype=np.int64)
    dense[used_ids[order]] = np.arange(used_ids.size)
    entry_weight = None if weight is None else weight[distinct]
    pairs = dedupe_entries(dense[a], dense[b], bits, used_ids.size, entry_weight)
    asins = np.asarray(both.dictionary.take(pa.array(used_ids[order])).to_pylist(), dtype=object)
    columns = {"item_id": np.arange(asins.size, dtype=np.int32), "asin": asins}
    columns.update(_side_table(side, asins))
    products = pd.DataFrame(columns)[list(PRODUCT_COLUMNS)]
    return AssembledPairs(
        products=products,
        pairs=pairs,
        self_pairs=self_pairs,
        side_rows=0 if side is None else len(side),
        side_rows_matched=int(products["has_metadata"].sum()),
    )
