"""A delimited pairs file: two product-id columns, optional weight and relation columns.

CSV, TSV or whitespace-separated (SNAP edge lists such as ``Music0601.txt``), header
optional, ``#`` comments skipped, an Excel ``sep=X`` first line honoured, gzip or plain
(:mod:`recsys.data.formats.delimited`).

Columns: with a header, the id columns are found by name, the first of these pairs that
is present: ``item_a,item_b``, ``product_a,product_b``, ``source,target``, ``src,dst``,
``asin_a,asin_b``, ``from,to``; else the first two columns that are not ``weight``,
``relation`` or an unnamed first column (the row numbers pandas and R write). ``weight``
(a number >= 0) and ``relation`` (any text) are optional. Without a header, columns 1 and
2 are the ids and a third one, if any, the weight (the relation when its sampled values are
not all numbers). ``--columns a,b[,w[,r]]`` names them instead: header names, or 1-based
positions. The first line is a header when it holds one of the documented names (or a
``--columns`` name), when it is not numeric where the following lines are, or when its
names look unlike the ids below (:mod:`recsys.data.formats.pairs_layout`); names may be
quoted. ``--header`` / ``--no-header`` (``-P header=true|false``) decide it instead.

Ids that are all integral numbers are int64 ids, ``12.0`` read as ``12`` (counted, so the
report says so); zero-padded ids (``007``) stay text. Every row is an entry; both
directions and repeats merge into one undirected pair (:mod:`recsys.data.assemble`):
weights summed when there is a weight column, else 1.0 per distinct relation. Rows with
the wrong number of fields and rows with an empty id are skipped and counted with their
first line numbers (more such lines than rows read is an error), and so are rows of weight
0 (no pair); a non-numeric or negative weight, or a line written with another delimiter
than the sampled lines, is an error naming file, line and column.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from recsys.data.assemble import assemble_pairs
from recsys.data.dataset import RELATION_BITS, RELATION_CO_PURCHASE
from recsys.data.errors import DataError
from recsys.data.formats.delimited import (
    DELIMITER_NAMES,
    INTEGER_TEXT,
    CleanText,
    InvalidRows,
    clean,
    data_lines,
    excel_separator,
    has_padded_integer,
    invalid_lines,
    line_text,
    other_delimiter,
    read_columns,
    row_lines,
    split_fields,
)
from recsys.data.formats.pairs_layout import PairsLayout, layout
from recsys.data.formats.products_file import read_products_file
from recsys.data.formats.stream import (
    StreamStatus,
    head_text,
    open_stream,
    read_all,
    utf8_problem,
)
from recsys.data.parse import ParsedMetadata, ParseReport, stream_fields, table_fields

NAME = "pairs"
FREE_RELATION_BITS = (32, 64, 128)  # for relation names not in RELATION_BITS
MAX_LINE_NUMBERS = 10
SNIFF_LINES = 200
_INTEGRAL = rf"^({INTEGER_TEXT}(\.0*)?)?$"  # an integer, maybe as 12.0; or empty
_INTEGER = re.compile(rf"^{INTEGER_TEXT}$")


def sniff(head: str) -> bool:
    """Whether the start of a file is text that is not JSON: the pairs reader then either
    reads it or names the line that is not a pair (one column, mixed delimiters)."""
    lines = data_lines(head)
    return bool(lines) and not lines[0][1].lstrip().startswith(("{", "["))


def relation_names(names: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Relation names as they are matched: trimmed and lowercased, so ``Bought`` and
    ``bought`` are one relation (a pair listed under both is not heavier); a blank name is
    ``co_purchase``, the relation of a file without a relation column."""
    folded = pc.utf8_lower(pc.utf8_trim_whitespace(names))
    default = pa.scalar("co_purchase", folded.type)
    return pc.fill_null(pc.if_else(pc.equal(folded, ""), default, folded), default)


def relation_bits(
    names: pa.Array | pa.ChunkedArray | None, n_rows: int, path: object
) -> tuple[npt.NDArray[np.uint8], dict[str, int]]:
    """Each row's relation flag and the flag of each relation name.

    Names are compared trimmed and lowercased (:func:`relation_names`). Known names keep
    the flags the Amazon and SNAP formats use; other names take the free bits in sorted
    order; no relation column, or a blank name, means :data:`RELATION_CO_PURCHASE`.

    Raises:
        DataError: more distinct unknown relation names than free bits.
    """
    if names is None:
        return np.full(n_rows, RELATION_CO_PURCHASE, np.uint8), {
            "co_purchase": RELATION_CO_PURCHASE
        }
    encoded = relation_names(names).dictionary_encode().combine_chunks()
    values = encoded.dictionary.to_pylist()
    unknown = sorted(v for v in values if v not in RELATION_BITS)
    if len(unknown) > len(FREE_RELATION_BITS):
        raise DataError(
            f"{path}: the relation column has {len(values)} distinct names ({', '.join(values[:8])}"
            f"{', ...' if len(values) > 8 else ''}); at most {len(FREE_RELATION_BITS)} besides "
            f"{', '.join(RELATION_BITS)} are supported"
        )
    flag = {name: RELATION_BITS[name] for name in values if name in RELATION_BITS}
    flag.update(zip(unknown, FREE_RELATION_BITS, strict=False))
    lookup = np.array([flag[v] for v in values], dtype=np.uint8)
    return lookup[encoded.indices.to_numpy(zero_copy_only=False)], flag


def _weights(
    column: pa.ChunkedArray, rows: Any, path: Path, name: str, decimal_comma: bool
) -> npt.NDArray[np.float32]:
    """The weight column as float32; a non-number or negative weight is an error naming its
    line and column (``rows()`` gives the physical line of each row, computed on demand).
    ``decimal_comma``: a semicolon file's ``1,5`` is 1.5 (Excel's European CSV)."""
    written = pc.utf8_trim_whitespace(column)
    text = pc.replace_substring(written, ",", ".") if decimal_comma else written
    try:
        weight = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
    except pa.ArrowInvalid:
        numeric = pc.match_substring_regex(text, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        bad = np.flatnonzero(~numeric.to_numpy(zero_copy_only=False))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}, line {rows()[row]}, column {name}: {written[row].as_py()!r} is not a weight "
            f"(a number >= 0); {bad.size:,} rows have such weights"
        )
    return weight.astype(np.float32)


def _weights_meaning(has_weights: bool, decimal_comma: bool) -> str:
    if not has_weights:
        return "1.0 per distinct relation"
    return "summed weight column" + (" (decimal commas)" if decimal_comma else "")


def _integral_ids(
    id_a: pa.ChunkedArray, id_b: pa.ChunkedArray
) -> tuple[pa.ChunkedArray, pa.ChunkedArray, int]:
    """Text ids that are all integral numbers, some written as floats (``12.0``, as pandas
    writes an integer column that held a NaN), as int64 ids: else ``12`` and ``12.0`` would
    be two products. Returns the ids and how many were written as floats (reported).
    Empty ids become nulls (their rows are dropped as empty)."""
    floats = 0
    for ids in (id_a, id_b):
        if not pc.all(pc.match_substring_regex(ids, _INTEGRAL)).as_py():
            return id_a, id_b, 0
        floats += pc.sum(pc.match_substring(ids, ".")).as_py() or 0
    if floats == 0:
        return id_a, id_b, 0

    def as_int(ids: pa.ChunkedArray) -> pa.ChunkedArray:
        whole = pc.replace_substring_regex(ids, r"\.0*$", "")
        return pc.cast(pc.if_else(pc.equal(whole, ""), None, whole), pa.int64())

    return as_int(id_a), as_int(id_b), floats


def _integer_ids(shape: PairsLayout, lines: list[tuple[int, str]]) -> bool:
    """Whether the sampled ids are all integers written plainly (read as int64 then)."""
    header = shape.header_line
    rows = [split_fields(line, shape.delimiter) for number, line in lines if number != header]
    return bool(rows) and all(
        len(row) > index and _INTEGER.match(row[index]) is not None
        for row in rows
        for index in shape.id_columns
    )


def _read_table(
    path: Path,
    text: CleanText,
    shape: PairsLayout,
    lines: list[tuple[int, str]],
    wanted: list[int],
    padded: bool,
) -> tuple[pa.Table, InvalidRows]:
    """The wanted columns (ids as int64 when the sample's are plain integers and none is
    zero-padded anywhere) and the count of rows skipped for another number of fields.

    Raises:
        DataError: the file is not UTF-8, naming the first line that is not.
    """
    try:
        if _integer_ids(shape, lines) and not padded:
            invalid = InvalidRows()
            try:
                integers = frozenset(shape.id_columns)
                return read_columns(text, shape.n_columns, wanted, invalid, integers), invalid
            except pa.ArrowInvalid:  # a later id is not an integer: read them all as text
                pass
        invalid = InvalidRows()
        return read_columns(text, shape.n_columns, wanted, invalid), invalid
    except pa.ArrowInvalid as error:
        if "UTF8" not in str(error):
            raise
        raise DataError(f"{path}{utf8_problem(path, text.data)}") from None


def _check_one_delimiter(
    path: Path, text: CleanText, shape: PairsLayout, line: int, skipped: int, rows: int
) -> None:
    """Stop when the first line with another number of fields is a clean row with another
    delimiter (the delimiter changed after the sampled lines), or when such lines outnumber
    the rows read: skipping them as malformed would silently drop most of the file.

    Raises:
        DataError: naming the file, the first such line and what to check.
    """
    written = line_text(text, line)
    other = other_delimiter(written, shape.delimiter, shape.n_columns)
    if other is not None:
        raise DataError(
            f"{path}, line {line}: mixed delimiters: separated by {DELIMITER_NAMES[other]}s, "
            f"the file's first lines by {DELIMITER_NAMES[shape.delimiter]}s; use one delimiter "
            "(comma, tab or spaces) throughout"
        )
    if skipped > rows:
        raise DataError(
            f"{path}, line {line}: {skipped:,} lines do not have the {shape.n_columns} "
            f"{DELIMITER_NAMES[shape.delimiter]}-separated fields of the file's first lines, "
            f"more than the {rows:,} that do (this one: {written[:60]!r}); check the file's "
            "delimiter and columns"
        )


def _only_a_header(path: Path, shape: PairsLayout, lines: list[tuple[int, str]]) -> DataError:
    """A file whose only row is its header: said so, not "no product pairs (0 rows)"."""
    header = next(line for number, line in lines if number == shape.header_line)
    return DataError(
        f"{path} holds no pairs, only a header line ({header.strip()!r}, {shape.header_reason}); "
        "write one pair of product ids per line below it"
    )


def read_pairs_file(
    path: Path,
    *,
    columns: str | None = None,
    header: bool | None = None,
    products: Path | StreamStatus | None = None,
) -> ParsedMetadata:
    """Read a pairs file (and optionally a products file) into products and unique pairs;
    ``header`` says whether line 1 is a header (None: detected, :mod:`pairs_layout`).

    Raises:
        DataError: one column, mixed delimiters, a bad weight, unknown --columns, no pair
            left, or a products file whose ids match no product in a pair.
    """
    started = time.perf_counter()
    status = open_stream(path)
    lines = data_lines(head_text(path))[: SNIFF_LINES + 1]
    separator = excel_separator(lines)
    blank = (lines[0][0],) if separator else ()
    lines = lines[1:] if separator else lines[:SNIFF_LINES]
    shape = layout(path, lines, columns, separator, header)
    header_lines = () if shape.header_line is None else (shape.header_line,)
    text = clean(read_all(status), shape.delimiter, (*blank, *header_lines))
    wanted = [
        c for c in (*shape.id_columns, shape.weight_column, shape.relation_column) if c is not None
    ]
    padded = has_padded_integer(text)  # 007 would meet 7 as an integer: such ids stay text
    table, invalid = _read_table(path, text, shape, lines, wanted, padded)
    bad_lines = invalid_lines(text, shape.n_columns, MAX_LINE_NUMBERS) if invalid.count else []
    if bad_lines:
        _check_one_delimiter(path, text, shape, bad_lines[0], invalid.count, table.num_rows)
    if table.num_rows == 0 and shape.header_line is not None:
        raise _only_a_header(path, shape, lines)
    line_cache: list[npt.NDArray[np.int64]] = []

    def rows() -> npt.NDArray[np.int64]:
        if not line_cache:
            line_cache.append(row_lines(text, shape.n_columns))
        return line_cache[0]

    column = {index: table.column(f"c{index}") for index in wanted}
    float_ids = 0
    id_a, id_b = column[shape.id_columns[0]], column[shape.id_columns[1]]
    if pa.types.is_integer(id_a.type):
        empty = pc.or_(pc.is_null(id_a), pc.is_null(id_b))
    else:
        id_a, id_b = pc.utf8_trim_whitespace(id_a), pc.utf8_trim_whitespace(id_b)
        empty = pc.or_(pc.equal(id_a, ""), pc.equal(id_b, ""))
        if not padded:
            id_a, id_b, float_ids = _integral_ids(id_a, id_b)
    empty = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    weight = None
    if shape.weight_column is not None:
        name = shape.names[shape.weight_column]
        weight = _weights(column[shape.weight_column], rows, path, name, shape.decimal_comma)
    relation = None if shape.relation_column is None else column[shape.relation_column]
    bits, flags = relation_bits(relation, table.num_rows, path)
    keep = ~empty
    empty_lines = rows()[np.flatnonzero(empty)[:MAX_LINE_NUMBERS]].tolist() if empty.any() else []
    if not keep.all():
        mask = pa.array(keep)
        id_a, id_b = id_a.filter(mask), id_b.filter(mask)
        bits = bits[keep]
        weight = None if weight is None else weight[keep]
    integer_ids = pa.types.is_integer(id_a.type)  # a products id 12.0 is the pairs' 12
    side = None if products is None else read_products_file(products, integer_ids)
    built = assemble_pairs(id_a, id_b, bits, weight, None if side is None else side.table)
    if len(built.pairs) == 0:
        zero = (
            f", {built.zero_weight:,} of weight 0: give related products a weight > 0"
            if built.zero_weight
            else ""
        )
        raise DataError(
            f"{path}: no product pairs ({table.num_rows:,} rows, {built.self_pairs:,} "
            f"self-pairs{zero})"
        )
    if side is not None and built.side_rows_matched == 0:
        raise DataError(
            f"{side.path}: none of its {built.side_rows:,} product ids appears in a pair of "
            f"{path} (its ids look like {side.table['asin'].head(3).tolist()}, the pairs' like "
            f"{built.products['asin'].head(3).tolist()}); check its id column"
        )
    malformed_lines = sorted([*bad_lines, *empty_lines])[:MAX_LINE_NUMBERS]
    pairs, products_table = built.pairs, built.products
    names_of_bits = {bit: name for name, bit in flags.items()}
    entries = {name: int((bits == bit).sum()) for bit, name in names_of_bits.items()}
    details: dict[str, Any] = {
        **shape.describe(),
        "invalid_rows": invalid.count,
        "empty_ids": int(empty.sum()),
        "self_pairs": built.self_pairs,
        "zero_weight": built.zero_weight,
        "relation_bits": flags,
        "weights": _weights_meaning(weight is not None, shape.decimal_comma),
    }
    if float_ids:
        details["integral_float_ids"] = float_ids
    if status.cr_line_ends:
        details["cr_line_ends"] = True
    if side is not None:
        details["products_file"] = {
            "path": str(side.path),
            **side.report,
            "rows_matched": built.side_rows_matched,
            "rows_unmatched": built.side_rows - built.side_rows_matched,
        }
    report = ParseReport(
        **stream_fields(status),
        **table_fields(products_table, pairs),
        source=str(path),
        format=NAME,
        records_read=table.num_rows,
        records_kept=int(keep.sum()),
        malformed=invalid.count + int(empty.sum()),
        malformed_lines=malformed_lines,
        duplicate_records=0,
        relation_entries=entries,
        relation_entries_kept={
            name: int((bits == bit).sum()) for bit, name in names_of_bits.items()
        },
        study_filters=False,
        pairs_per_relation={
            name: int(((pairs.relations & bit) > 0).sum()) for bit, name in names_of_bits.items()
        },
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
        details=details,
    )
    return ParsedMetadata(products=products_table, pairs=pairs, report=report)
