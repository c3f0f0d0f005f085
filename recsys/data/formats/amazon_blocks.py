"""Parse one block of lines into compact, picklable columns (the unit of parallel work).

A block's result holds no parsed JSON: just the fields every later step needs, and the
asins as int64 codes (:mod:`recsys.data.asin_codes`), which cross a process boundary as one
buffer. Dense item ids are assigned once, in the parent, after the whole file is read, so
they never depend on how the file was cut into blocks or how many workers ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from recsys.data.asin_codes import encode_asins
from recsys.data.formats.amazon import MetadataFormat, parse_line
from recsys.data.formats.amazon_records import (
    N_RELATIONS,
    FieldTypeError,
    ProductFields,
    RecordError,
    passes_study_filters,
    product_fields,
    record_asin,
    record_relations,
)
from recsys.data.formats.stream import LineBlock, block_lines

MAX_LINE_NUMBERS = 10  # malformed line numbers kept per block (all are counted)
PARSE_ERRORS = (ValueError, SyntaxError, MemoryError, RecursionError, TypeError)


@dataclass
class BlockResult:
    """The records of one block, column by column.

    Token layout (of ``codes``): for each record in order, its own asin, then (kept records
    only) its bought_together, also_bought and also_viewed targets. ``relation_counts[i]`` holds the
    three list lengths of record i, kept or not; :attr:`target_counts` those in the tokens.
    """

    first_line: int
    bytes_read: int
    codes: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    irregular_positions: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )  # tokens whose code is -1: the parent numbers them
    irregular_tokens: list[str] = field(default_factory=list)
    relation_counts: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.zeros((0, N_RELATIONS), np.int32)
    )  # (records, 3)
    ignored_counts: npt.NDArray[np.int32] = field(
        default_factory=lambda: np.zeros(0, np.int32)
    )  # (records,) buy_after_viewing entries, counted for reports only
    kept: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    title: list[str | None] = field(default_factory=list)
    brand: list[str | None] = field(default_factory=list)
    category_1: list[str | None] = field(default_factory=list)
    category_2: list[str | None] = field(default_factory=list)
    category_3: list[str | None] = field(default_factory=list)
    price: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    sales_rank: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)  # the first MAX_LINE_NUMBERS
    field_type_errors: int = 0  # of the malformed: a relation field of the wrong type
    first_field_type_error: tuple[int, str] | None = None  # (line, what is wrong)

    @property
    def n_records(self) -> int:
        return len(self.title)

    @property
    def target_counts(self) -> npt.NDArray[np.int32]:
        """Targets per record and relation in the token layout, shape (records, 3)."""
        return self.relation_counts * self.kept[:, None]


def extract_block(block: LineBlock, fmt: MetadataFormat, study_filters: bool) -> BlockResult:
    """Parse every line of ``block`` and keep only the columns the pipeline needs.

    A line that does not parse, or parses to something that is not a record with an asin,
    or a record whose relation field has the wrong type, is skipped and counted with its
    line number (the wrong types also apart, with the first one's field). Blank lines are
    skipped silently.
    """
    out = BlockResult(first_line=block.first_line, bytes_read=block.bytes_read)
    tokens: list[str] = []
    counts: list[tuple[int, int, int, int]] = []  # 3 relations, then the ignored entries
    kept: list[bool] = []
    rows: list[ProductFields] = []
    for offset, line in enumerate(block_lines(block)):
        if not line.strip():
            continue
        try:
            record = parse_line(line, fmt)
            asin = record_asin(record)
            bought_together, also_bought, also_viewed, n_ignored = record_relations(record)
            fields = product_fields(record)
        except (*PARSE_ERRORS, RecordError) as error:
            out.malformed += 1
            if len(out.malformed_lines) < MAX_LINE_NUMBERS:
                out.malformed_lines.append(block.first_line + offset)
            if isinstance(error, FieldTypeError):
                out.field_type_errors += 1
                if out.first_field_type_error is None:
                    out.first_field_type_error = (block.first_line + offset, str(error))
            continue
        keep = not study_filters or passes_study_filters(fields[0], also_bought)
        tokens.append(asin)
        if keep:
            tokens += bought_together
            tokens += also_bought
            tokens += also_viewed
        counts.append((len(bought_together), len(also_bought), len(also_viewed), n_ignored))
        kept.append(keep)
        rows.append(fields)
    if rows:
        columns = list(zip(*rows, strict=True))
        out.title, out.brand = list(columns[0]), list(columns[1])
        out.category_1, out.category_2, out.category_3 = map(list, columns[2:5])
        out.price = np.array(columns[5], dtype=np.float32)
        out.sales_rank = np.array(columns[6], dtype=np.float32)
    try:
        encoded = encode_asins(tokens)
    except TypeError:  # a relation list holding a non-string: use its text
        encoded = encode_asins([str(token) for token in tokens])
    out.codes, out.irregular_positions, out.irregular_tokens = encoded
    all_counts = np.array(counts, dtype=np.int32).reshape(-1, N_RELATIONS + 1)
    out.relation_counts = all_counts[:, :N_RELATIONS].copy()
    out.ignored_counts = all_counts[:, N_RELATIONS].copy()
    out.kept = np.array(kept, dtype=bool)
    return out
