"""Parse a metadata file into a products table and unique weighted pairs, in one pass.

The file is streamed in blocks of lines; blocks are parsed in worker processes when there
is more than one core (parsing is the bottleneck: the text-to-dict step is pure Python),
and merged here in file order: asins arrive as int64 codes, relation entries are appended
as int32/uint8 chunks, product fields as columns. At the end, one sort numbers the asins
densely, another deduplicates the pairs, and every product appearing in a pair gets a
dense ``item_id``: in asin order (irregular asins last, in first-seen order), so ids do not
depend on the order of records in the file.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from tqdm.auto import tqdm

from recsys.config import RelationWeights
from recsys.cores import available_cores
from recsys.data.asin_codes import Codes, IrregularAsins, asins_of_codes, dense_ids
from recsys.data.dataset import PRODUCT_COLUMNS
from recsys.data.errors import DataError
from recsys.data.formats.amazon import detect_format
from recsys.data.formats.amazon_blocks import MAX_LINE_NUMBERS, BlockResult
from recsys.data.formats.amazon_records import IGNORED_RELATIONS, N_RELATIONS, RELATION_NAMES
from recsys.data.formats.stream import BLOCK_BYTES, StreamStatus, iter_line_blocks, open_stream
from recsys.data.pairs import INT32_LIMIT, UniquePairs, dedupe_pair_keys, pair_keys
from recsys.data.workers import parse_blocks, parser_pool

logger = logging.getLogger(__name__)

# Worker processes only pay off past their start-up cost (~0.3 s each, measured).
PARALLEL_MIN_BYTES = 8 << 20
TEXT_COLUMNS = ("title", "brand", "category_1", "category_2", "category_3")
# Columns with few distinct values: one shared string object per value saves hundreds of MB
# on Books (every record's category levels would otherwise be separate copies).
SHARED_COLUMNS = frozenset({"brand", "category_1", "category_2", "category_3"})


@dataclass(frozen=True)
class ParseReport:
    """What the parse read, kept, skipped and built (goes into the prepared manifest)."""

    source: str
    format: str
    compressed: bool
    size_bytes: int
    lines: int
    records_read: int
    records_kept: int
    malformed: int
    malformed_lines: list[int]  # the first few, 1-based
    truncated: bool
    truncation_reason: str | None
    dropped_partial_line: int | None
    byte_order_mark: bool  # a UTF-8 BOM opened the file and was stripped
    duplicate_records: int  # records whose asin an earlier record had (first record wins)
    relation_entries: dict[str, int]  # over every record read (buy_after_viewing included)
    relation_entries_kept: dict[str, int]  # over the records that make pairs
    study_filters: bool
    n_products: int
    n_products_with_metadata: int
    n_pairs: int
    n_pairs_with_metadata: int  # both products have a record of their own
    pairs_per_relation: dict[str, int]  # unique pairs carrying each relation
    workers: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)  # what only this format has

    @property
    def records_per_second(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "records_per_second": round(self.records_per_second, 1)}

    def manifest_entries(self) -> dict[str, Any]:
        """The report as manifest entries, each count once: the headline counts at the top
        level under their manifest names, everything else under "parse"."""
        report = self.to_dict()
        report.pop("study_filters")  # a cache setting: the manifest has it from the config
        top = {name: report.pop(field) for name, field in MANIFEST_TOP_LEVEL.items()}
        return {**top, "parse": report}


# Manifest name -> ParseReport field, for the counts readers and `recsys prepare` show.
MANIFEST_TOP_LEVEL = {
    "detected_format": "format",
    "records_read": "records_read",
    "records_kept": "records_kept",
    "malformed_lines": "malformed",
    "malformed_line_numbers": "malformed_lines",
    "truncated": "truncated",
    "relation_entries": "relation_entries",
    "pairs_per_relation": "pairs_per_relation",
    "n_products": "n_products",
    "n_products_with_metadata": "n_products_with_metadata",
    "n_pairs": "n_pairs",
}


def stream_fields(status: StreamStatus) -> dict[str, Any]:
    """The report's fields that describe how the file was read."""
    return {
        "compressed": status.compressed,
        "size_bytes": status.size_bytes,
        "lines": status.lines,
        "truncated": status.truncated,
        "truncation_reason": status.truncation_reason,
        "dropped_partial_line": status.dropped_partial_line,
        "byte_order_mark": status.byte_order_mark,
    }


def table_fields(products: pd.DataFrame, pairs: UniquePairs) -> dict[str, Any]:
    """The report's sizes of the products table and the pairs."""
    has_meta = products["has_metadata"].to_numpy(dtype=bool)
    return {
        "n_products": len(products),
        "n_products_with_metadata": int(has_meta.sum()),
        "n_pairs": len(pairs),
        "n_pairs_with_metadata": int((has_meta[pairs.item_a] & has_meta[pairs.item_b]).sum()),
    }


@dataclass(frozen=True)
class ParsedMetadata:
    """Every product in a pair (row i is item_id i) and the unique pairs between them."""

    products: pd.DataFrame
    pairs: UniquePairs
    report: ParseReport


@dataclass
class _Merger:
    """Folds block results, in file order, into numpy chunks and text columns."""

    irregular: IrregularAsins = field(default_factory=IrregularAsins)
    codes: list[npt.NDArray[np.int64]] = field(default_factory=list)  # token layout
    record_positions: list[npt.NDArray[np.int64]] = field(default_factory=list)
    target_owner: list[npt.NDArray[np.int32]] = field(default_factory=list)  # record index
    target_relation: list[npt.NDArray[np.uint8]] = field(default_factory=list)  # code
    n_tokens: int = 0
    text: dict[str, list[str | None]] = field(
        default_factory=lambda: {name: [] for name in TEXT_COLUMNS}
    )
    price: list[npt.NDArray[np.float32]] = field(default_factory=list)
    sales_rank: list[npt.NDArray[np.float32]] = field(default_factory=list)
    relation_entries: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(N_RELATIONS + 1, np.int64)
    )  # RELATION_NAMES, then the ignored relations
    relation_entries_kept: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(N_RELATIONS + 1, np.int64)
    )
    shared: dict[str | None, str | None] = field(default_factory=dict)
    records_kept: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)
    field_type_errors: int = 0
    first_field_type_error: tuple[int, str] | None = None

    def add(self, block: BlockResult) -> None:
        self.malformed += block.malformed
        room = MAX_LINE_NUMBERS - len(self.malformed_lines)
        self.malformed_lines.extend(block.malformed_lines[:room])
        self.field_type_errors += block.field_type_errors
        if self.first_field_type_error is None:
            self.first_field_type_error = block.first_field_type_error
        if block.n_records == 0:
            return
        entries = np.column_stack([block.relation_counts, block.ignored_counts])
        self.relation_entries += entries.sum(axis=0)
        self.relation_entries_kept += entries[block.kept].sum(axis=0)
        self.records_kept += int(block.kept.sum())
        codes = block.codes
        if block.irregular_tokens:
            codes[block.irregular_positions] = self.irregular.codes(block.irregular_tokens)
        targets = block.target_counts
        per_record = targets.sum(axis=1)
        record_start = np.zeros(block.n_records, dtype=np.int64)
        np.cumsum(per_record[:-1] + 1, out=record_start[1:])
        first_record = self.records_read
        self.codes.append(codes)
        self.record_positions.append(record_start + self.n_tokens)
        self.target_owner.append(
            np.repeat(
                np.arange(first_record, first_record + block.n_records, dtype=np.int32), per_record
            )
        )
        relations = np.tile(np.arange(N_RELATIONS, dtype=np.uint8), block.n_records)
        self.target_relation.append(np.repeat(relations, targets.ravel()))
        self.n_tokens += codes.size
        for name in TEXT_COLUMNS:
            values = getattr(block, name)
            if name in SHARED_COLUMNS:
                values = map(self.shared.setdefault, values, values)
            self.text[name].extend(values)
        self.price.append(block.price)
        self.sales_rank.append(block.sales_rank)

    def pair_keys(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.int64]]:
        """``(unique asin codes, dense id of each record, pair key of each entry)``.

        Dense ids number every asin seen (index into the unique codes); pair keys are
        :func:`recsys.data.pairs.pair_keys` of the entries, self-pairs dropped. Frees the
        chunks as it goes: this is the peak of the parse's memory.
        """
        if self.n_tokens > INT32_LIMIT:
            raise DataError(f"more than {INT32_LIMIT:,} asins listed: too many for int32 ids")
        unique, ids = dense_ids(_concat(self.codes, np.int64))
        record_positions = _concat(self.record_positions, np.int64)
        record_ids = ids[record_positions]
        is_target = np.ones(ids.size, dtype=bool)
        is_target[record_positions] = False
        del record_positions
        target = ids[is_target]
        del ids, is_target
        source = record_ids[_concat(self.target_owner, np.int32)]
        relation = _concat(self.target_relation, np.uint8)
        distinct = source != target
        keys = pair_keys(source[distinct], target[distinct], relation[distinct], unique.size)
        return unique, record_ids, keys

    @property
    def records_read(self) -> int:
        return len(self.text["title"])


def _concat(chunks: list[Any], dtype: type) -> Any:
    """Concatenate and empty a chunk list (so the pieces are freed as soon as possible)."""
    out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    chunks.clear()
    return out.astype(dtype, copy=False)


def _code_weights(weights: RelationWeights) -> npt.NDArray[np.float32]:
    """Weights in relation-code order (see recsys.data.formats.amazon_records.CODE_*)."""
    return np.array([getattr(weights, name) for name in RELATION_NAMES], dtype=np.float32)


def _without_zero_weight(pairs: UniquePairs) -> tuple[UniquePairs, int]:
    """The pairs of positive weight and how many were dropped: a pair only in relations
    weighted 0 (``also_viewed=0``) is no pair, and training refuses zero-weight edges."""
    keep = pairs.weight > 0
    if keep.all():
        return pairs, 0
    kept = UniquePairs(
        pairs.item_a[keep], pairs.item_b[keep], pairs.weight[keep], pairs.relations[keep]
    )
    return kept, int(keep.size - keep.sum())


# What to do about a relation field of the wrong type, in every message that names one.
FIELD_TYPE_FIX = (
    'write each relation as a list of asins ("also_buy": ["B00X", "B00Y"]) and '
    "'related' as a dict of such lists, as McAuley's files do"
)


def _field_type_report(path: Path, merger: _Merger) -> dict[str, Any]:
    """Records skipped for a relation field of the wrong type: raised when they are every
    record (the file was written another way), else warned about and counted, with the
    first one's line and field, so they are never dropped without a word.

    Raises:
        DataError: no record was read and some had a relation field of the wrong type.
    """
    if merger.first_field_type_error is None:
        return {}
    line, reason = merger.first_field_type_error
    count = merger.field_type_errors
    if merger.records_read == 0:
        raise DataError(
            f"{path}: no record is usable: line {line}: {reason} ({count:,} of "
            f"{merger.malformed:,} malformed lines have a relation field of the wrong type); "
            f"{FIELD_TYPE_FIX}."
        )
    logger.warning(
        "%s: %d records skipped (counted as malformed lines) for a relation field of the "
        "wrong type, the first at line %d: %s; to read them, %s",
        path,
        count,
        line,
        reason,
        FIELD_TYPE_FIX,
    )
    return {"field_type_errors": count, "first_field_type_error": f"line {line}: {reason}"}


def _entry_names(counts: npt.NDArray[np.int64]) -> dict[str, int]:
    """Entry counts by relation name (the paired ones, then buy_after_viewing)."""
    return dict(zip((*RELATION_NAMES, *IGNORED_RELATIONS), map(int, counts), strict=True))


def _products_table(
    merger: _Merger,
    record_ids: npt.NDArray[np.int32],
    unique_codes: Codes,
    used: npt.NDArray[np.int64],
) -> pd.DataFrame:
    """Product rows for the dense ids in ``used`` (sorted), their records' first fields."""
    n_asins = unique_codes.size
    # Row of each product's first record; -1 (no record) picks the None/NaN appended below.
    record_row = np.full(n_asins, -1, dtype=np.int64)
    rows = np.arange(record_ids.size, dtype=np.int64)
    record_row[record_ids[::-1]] = rows[::-1]  # the last write wins: the first record
    row = record_row[used]
    columns: dict[str, Any] = {
        "item_id": np.arange(used.size, dtype=np.int32),
        "asin": asins_of_codes(unique_codes[used], merger.irregular),
    }
    for name in TEXT_COLUMNS:
        values = np.empty(len(merger.text[name]) + 1, dtype=object)
        values[:-1] = merger.text[name]
        values[-1] = None
        columns[name] = values[row]
    for name, chunks in (("price", merger.price), ("sales_rank", merger.sales_rank)):
        values = np.concatenate([*chunks, np.array([np.nan], np.float32)])
        columns[name] = values[row]
    columns["has_metadata"] = row >= 0
    return pd.DataFrame(columns)[list(PRODUCT_COLUMNS)]


def parse_metadata(
    path: Path,
    *,
    weights: RelationWeights | None = None,
    study_filters: bool = True,
    workers: int | None = None,
    progress: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> ParsedMetadata:
    """Read an Amazon metadata file into products and unique weighted pairs.

    Args:
        path: a 2014 (Python-literal or JSON) or 2018 metadata file, gzip-compressed or not.
        weights: weight each relation adds to a pair; summed per unique pair.
        study_filters: keep only records with ``related``, a title and >= 2 also_bought
            entries (the study's filter); pairs then come only from kept records.
        workers: parsing processes; None = every core this process may use. Results do not
            depend on it.
        progress: show a tqdm bar over the file's bytes.
        block_bytes: decompressed bytes parsed per unit of work.

    Raises:
        DataError: missing, empty or unreadable file, no record in it (every record's
            relation field of the wrong type is named as such), or no pair left.
    """
    started = time.perf_counter()
    weights = weights or RelationWeights.model_validate({})  # the study's defaults
    fmt = detect_format(path)
    status = open_stream(path)
    if workers is None:
        workers = available_cores()
    if status.size_bytes < PARALLEL_MIN_BYTES:
        workers = 1
    merger = _Merger()
    with (
        parser_pool(workers) as pool,
        tqdm(
            total=status.size_bytes,
            unit="B",
            unit_scale=True,
            desc=f"parse {path.name}",
            disable=not progress,
        ) as bar,
    ):
        blocks = iter_line_blocks(status, block_bytes)
        for result in parse_blocks(blocks, fmt, study_filters, pool, window=2 * workers):
            merger.add(result)
            bar.update(result.bytes_read - bar.n)
        bar.update(status.bytes_read - bar.n)
    details = _field_type_report(path, merger)
    if merger.records_read == 0:
        raise DataError(
            f"{path}: none of its {status.lines:,} lines is a metadata record "
            f"({merger.malformed:,} malformed, first at lines {merger.malformed_lines}); "
            "check that this is an Amazon product metadata file."
        )
    unique_codes, record_ids, keys = merger.pair_keys()
    n_asins = unique_codes.size
    # A second record of an asin adds its pairs; its fields are not used (the first wins).
    duplicate_records = int(record_ids.size - np.unique(record_ids).size)
    if duplicate_records:
        logger.warning(
            "%s: %d records repeat an earlier record's asin; their pairs count, their fields "
            "(title, brand, ...) are ignored: the first record of each asin wins",
            path,
            duplicate_records,
        )
    pairs, zero_weight = _without_zero_weight(
        dedupe_pair_keys(keys, n_asins, _code_weights(weights))
    )
    del keys
    if len(pairs) == 0:
        hint = (
            f"{details['field_type_errors']:,} records skipped for a relation field of the "
            f"wrong type, the first at {details['first_field_type_error']}; {FIELD_TYPE_FIX}"
            if details
            else f"every pair is only in relations of weight 0 ({zero_weight:,} pairs): give "
            "bought_together / also_bought / also_viewed a weight > 0 (-P also_viewed=0.5)"
            if zero_weight
            else f"with the study's filters only {merger.records_kept:,} of "
            f"{merger.records_read:,} records qualify; turn the filters off (recsys prepare "
            "--no-study-filters, recsys train -P study_filters=false)"
            if study_filters
            else "its records list no also_bought / also_viewed / bought_together products"
        )
        raise DataError(f"{path}: no product pairs ({hint}).")
    in_pair = np.zeros(n_asins, dtype=bool)
    in_pair[pairs.item_a] = True
    in_pair[pairs.item_b] = True
    used = np.flatnonzero(in_pair)
    dense = np.cumsum(in_pair, dtype=np.int64) - 1  # monotone: item_a < item_b still holds
    pairs = UniquePairs(
        item_a=dense[pairs.item_a].astype(np.int32),
        item_b=dense[pairs.item_b].astype(np.int32),
        weight=pairs.weight,
        relations=pairs.relations,
    )
    products = _products_table(merger, record_ids, unique_codes, used)
    report = ParseReport(
        **stream_fields(status),
        **table_fields(products, pairs),
        source=str(path),
        format=str(fmt),
        records_read=merger.records_read,
        records_kept=merger.records_kept,
        malformed=merger.malformed,
        malformed_lines=merger.malformed_lines,
        duplicate_records=duplicate_records,
        relation_entries=_entry_names(merger.relation_entries),
        relation_entries_kept=_entry_names(merger.relation_entries_kept),
        study_filters=study_filters,
        pairs_per_relation={
            name: int(((pairs.relations >> code) & 1).sum())
            for code, name in enumerate(RELATION_NAMES)
        },
        workers=workers,
        seconds=round(time.perf_counter() - started, 3),
        details={**details, "zero_weight_pairs": zero_weight} if zero_weight else details,
    )
    return ParsedMetadata(products=products, pairs=pairs, report=report)
