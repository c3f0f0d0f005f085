"""A delimited pairs file: two product-id columns, optional weight and relation columns.

CSV, TSV or whitespace-separated (SNAP edge lists such as ``Music0601.txt``), header
optional, ``#`` comments skipped, gzip or plain (:mod:`recsys.data.formats.delimited`).

Columns: with a header, the id columns are found by name, the first of these pairs that
is present: ``item_a,item_b``, ``product_a,product_b``, ``source,target``, ``src,dst``,
``asin_a,asin_b``, ``from,to``; else the first two columns that are not ``weight`` or
``relation``. ``weight`` (a number >= 0) and ``relation`` (any text) are optional. Without
a header, columns 1 and 2 are the ids and a third one, if any, the weight. ``--columns
a,b[,w[,r]]`` names them instead: header names, or 1-based positions. The first line is
a header when it holds one of the documented names (or a ``--columns`` name), or when it
is not numeric where the following lines are (ids or weight).

Every row is an entry; both directions and repeats merge into one undirected pair
(:mod:`recsys.data.assemble`): weights summed when there is a weight column, else 1.0 per
distinct relation. Rows with the wrong number of fields and rows with an empty id are
skipped and counted with their first line numbers, and so are rows of weight 0 (no pair);
a non-numeric or negative weight is an error naming file, line and column.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
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
    InvalidRows,
    clean,
    data_lines,
    has_padded_integer,
    invalid_lines,
    is_number,
    read_columns,
    row_lines,
    sniff_delimiter,
    split_fields,
)
from recsys.data.formats.products_file import read_products_file
from recsys.data.formats.stream import head_text, open_stream, read_all
from recsys.data.parse import ParsedMetadata, ParseReport, stream_fields, table_fields

NAME = "pairs"
ID_NAME_PAIRS = (
    ("item_a", "item_b"),
    ("product_a", "product_b"),
    ("source", "target"),
    ("src", "dst"),
    ("asin_a", "asin_b"),
    ("from", "to"),
)
WEIGHT_NAME = "weight"
RELATION_NAME = "relation"
FREE_RELATION_BITS = (32, 64, 128)  # for relation names not in RELATION_BITS
MAX_LINE_NUMBERS = 10
SNIFF_LINES = 200
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")


@dataclass(frozen=True)
class PairsLayout:
    """How a pairs file is laid out, as told by its first lines (and --columns)."""

    delimiter: str  # ",", "\t", ";" or WHITESPACE
    n_columns: int
    header_line: int | None  # physical line number of the header, if any
    id_columns: tuple[int, int]  # 0-based
    weight_column: int | None
    relation_column: int | None
    names: tuple[str, ...]  # the header's names, or c1, c2, ... without one

    def describe(self) -> dict[str, object]:
        def name(index: int | None) -> str | None:
            return None if index is None else self.names[index]

        return {
            "delimiter": DELIMITER_NAMES[self.delimiter],
            "header": self.header_line is not None,
            "id_columns": [name(index) for index in self.id_columns],
            "weight_column": name(self.weight_column),
            "relation_column": name(self.relation_column),
        }


def sniff(head: str) -> bool:
    """Whether the start of a file is text that is not JSON: the pairs reader then either
    reads it or names the line that is not a pair (one column, mixed delimiters)."""
    lines = data_lines(head)
    return bool(lines) and not lines[0][1].lstrip().startswith(("{", "["))


def _column(token: str, names: list[str], path: object, what: str) -> int:
    if token.isdigit():
        index = int(token) - 1
        if not 0 <= index < len(names):
            raise DataError(f"{path}: --columns {what} {token}: the file has {len(names)} columns")
        return index
    lowered = [name.lower() for name in names]
    if token.lower() not in lowered:
        raise DataError(
            f"{path}: --columns {what} {token!r} is not a column; the header has {', '.join(names)}"
        )
    return lowered.index(token.lower())


def layout(path: Path, lines: list[tuple[int, str]], columns: str | None) -> PairsLayout:
    """Delimiter, header and columns of a pairs file from its first data lines.

    Raises:
        DataError: one column only, mixed delimiters, or --columns naming no column.
    """
    if not lines:
        raise DataError(f"{path} holds no data lines (only blank or # comment lines)")
    delimiter = sniff_delimiter(path, lines)
    rows = [split_fields(line, delimiter) for _, line in lines]
    n_columns = len(rows[0])
    if n_columns < 2:
        raise DataError(
            f"{path}, line {lines[0][0]}: one column ({rows[0][0]!r}); a pairs file needs two "
            "product-id columns separated by a comma, a tab or spaces"
        )
    first = [name.lower() for name in rows[0]]
    wanted = [token.strip() for token in columns.split(",")] if columns else []
    documented = {WEIGHT_NAME, RELATION_NAME, *(n for pair in ID_NAME_PAIRS for n in pair)}
    header = bool(documented.intersection(first)) or any(
        not token.isdigit() and token.lower() in first for token in wanted
    )
    if not header and len(rows) > 1:
        # A header of other names: not numeric where every later line is (ids or weight).
        for index in range(min(n_columns, 3)):
            below = [row[index] for row in rows[1:] if index < len(row)]
            if all(map(is_number, below)) and not is_number(rows[0][index]):
                header = True
    names = tuple(rows[0]) if header else tuple(f"c{i + 1}" for i in range(n_columns))
    if wanted:
        if not 2 <= len(wanted) <= 4:
            raise DataError(f"--columns {columns!r}: give a,b[,weight[,relation]]")
        roles = ("id", "id", "weight", "relation")
        found = [
            _column(token, list(names), path, role) if token else None
            for token, role in zip(wanted, roles, strict=False)
        ]
        found += [None] * (4 - len(found))
        id_a, id_b, weight, relation = found
        assert id_a is not None and id_b is not None
    else:
        lowered = [name.lower() for name in names]
        weight = lowered.index(WEIGHT_NAME) if header and WEIGHT_NAME in lowered else None
        relation = lowered.index(RELATION_NAME) if header and RELATION_NAME in lowered else None
        pair = next((p for p in ID_NAME_PAIRS if header and set(p) <= set(lowered)), None)
        if pair:
            id_a, id_b = lowered.index(pair[0]), lowered.index(pair[1])
        else:
            free = [i for i in range(n_columns) if i not in (weight, relation)]
            if len(free) < 2:
                raise DataError(f"{path}: no two product-id columns among {', '.join(names)}")
            id_a, id_b = free[:2]
        if not header and n_columns >= 3:
            weight = 2
    return PairsLayout(
        delimiter=delimiter,
        n_columns=n_columns,
        header_line=lines[0][0] if header else None,
        id_columns=(id_a, id_b),
        weight_column=weight,
        relation_column=relation,
        names=names,
    )


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


def _weights(column: pa.ChunkedArray, rows: Any, path: Path, name: str) -> npt.NDArray[np.float32]:
    """The weight column as float32; a non-number or negative weight is an error naming its
    line and column (``rows()`` gives the physical line of each row, computed on demand)."""
    text = pc.utf8_trim_whitespace(column)
    try:
        weight = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(~np.isfinite(weight) | (weight < 0))
    except pa.ArrowInvalid:
        numeric = pc.match_substring_regex(text, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
        bad = np.flatnonzero(~numeric.to_numpy(zero_copy_only=False))
    if bad.size:
        row = int(bad[0])
        raise DataError(
            f"{path}, line {rows()[row]}, column {name}: {text[row].as_py()!r} is not a weight "
            f"(a number >= 0); {bad.size:,} rows have such weights"
        )
    return weight.astype(np.float32)


def _integer_ids(shape: PairsLayout, lines: list[tuple[int, str]]) -> bool:
    """Whether the sampled ids are all integers written plainly (read as int64 then)."""
    header = shape.header_line
    rows = [split_fields(line, shape.delimiter) for number, line in lines if number != header]
    return bool(rows) and all(
        len(row) > index and _INTEGER.match(row[index]) is not None
        for row in rows
        for index in shape.id_columns
    )


def read_pairs_file(
    path: Path, *, columns: str | None = None, products: Path | None = None
) -> ParsedMetadata:
    """Read a pairs file (and optionally a products file) into products and unique pairs.

    Raises:
        DataError: one column, mixed delimiters, a bad weight, unknown --columns, no pair
            left, or a products file whose ids match no product in a pair.
    """
    started = time.perf_counter()
    status = open_stream(path)
    lines = data_lines(head_text(path))[:SNIFF_LINES]
    shape = layout(path, lines, columns)
    text = clean(read_all(status), shape.delimiter, shape.header_line)
    invalid = InvalidRows()
    wanted = [
        c for c in (*shape.id_columns, shape.weight_column, shape.relation_column) if c is not None
    ]
    table = None
    if _integer_ids(shape, lines) and not has_padded_integer(text):
        try:
            integers = frozenset(shape.id_columns)
            table = read_columns(text, shape.n_columns, wanted, invalid, integers)
        except pa.ArrowInvalid:  # a later id is not an integer: read them all as text
            invalid = InvalidRows()
    if table is None:
        table = read_columns(text, shape.n_columns, wanted, invalid)
    line_cache: list[npt.NDArray[np.int64]] = []

    def rows() -> npt.NDArray[np.int64]:
        if not line_cache:
            line_cache.append(row_lines(text, shape.n_columns))
        return line_cache[0]

    column = {index: table.column(f"c{index}") for index in wanted}
    id_a, id_b = column[shape.id_columns[0]], column[shape.id_columns[1]]
    if pa.types.is_integer(id_a.type):
        empty = pc.or_(pc.is_null(id_a), pc.is_null(id_b))
    else:
        id_a, id_b = pc.utf8_trim_whitespace(id_a), pc.utf8_trim_whitespace(id_b)
        empty = pc.or_(pc.equal(id_a, ""), pc.equal(id_b, ""))
    empty = np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)
    weight = None
    if shape.weight_column is not None:
        weight = _weights(column[shape.weight_column], rows, path, shape.names[shape.weight_column])
    relation = None if shape.relation_column is None else column[shape.relation_column]
    bits, flags = relation_bits(relation, table.num_rows, path)
    keep = ~empty
    empty_lines = rows()[np.flatnonzero(empty)[:MAX_LINE_NUMBERS]].tolist() if empty.any() else []
    if not keep.all():
        mask = pa.array(keep)
        id_a, id_b = id_a.filter(mask), id_b.filter(mask)
        bits = bits[keep]
        weight = None if weight is None else weight[keep]
    side = None if products is None else read_products_file(products)
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
            f"{products}: none of its {built.side_rows:,} product ids appears in a pair of "
            f"{path} (its ids look like {side.table['asin'].head(3).tolist()}, the pairs' like "
            f"{built.products['asin'].head(3).tolist()}); check its id column"
        )
    bad_lines = invalid_lines(text, shape.n_columns, MAX_LINE_NUMBERS) if invalid.count else []
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
        "weights": "summed weight column" if weight is not None else "1.0 per distinct relation",
    }
    if side is not None:
        details["products_file"] = {
            "path": str(products),
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
