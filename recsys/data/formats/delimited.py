"""Delimited text shared by the pairs and products files: sniffing, cleaning, line numbers.

A delimited file here is CSV, TSV or whitespace-separated text, ``#`` comment lines and
blank lines skipped, CRLF or LF line ends, gzip-compressed or not, fields optionally in
double quotes (a quoted delimiter is part of its field). The file is read into
one buffer and parsed by pyarrow's multi-threaded CSV reader; comment lines and runs of
spaces are cleaned with byte-level regular expressions first (C speed, and only when the
sample shows any), so no Python code runs per line. Line numbers, needed only for an error
or a report, are recomputed from the buffer with numpy.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from recsys.data.errors import DataError

SNIFF_LINES = 200  # data lines looked at to tell the delimiter and the header
WHITESPACE = "whitespace"
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", WHITESPACE: "whitespace"}
_COMMENT_LINES = re.compile(rb"(?m)^#[^\n]*")
_EDGE_SPACES = re.compile(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)")
_SPACE_RUNS = re.compile(rb"[ \t]+")
_EXCEL_SEP = re.compile(r'^"?sep=([,;\t|])"?\s*$')
# An integer id as the readers take it: no zero padding ("007" stays text), within int64.
INTEGER_TEXT = r"-?(?:0|[1-9][0-9]{0,17})"
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip()))


def data_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of the non-blank, non-comment lines of a text sample."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            out.append((number, line.rstrip("\r")))
    return out


def split_fields(line: str, delimiter: str) -> list[str]:
    """A sampled line's fields, double quotes removed as pyarrow removes them (R's
    ``write.csv`` and pandas' ``QUOTE_ALL`` quote every header name)."""
    if delimiter == WHITESPACE:
        return line.split()
    return [field.strip() for field in next(csv.reader([line], delimiter=delimiter))]


def _splits_alike(lines: list[tuple[int, str]], delimiter: str) -> bool:
    """Whether ``delimiter`` splits every line into the same number (>= 2) of fields."""
    sizes = {len(split_fields(line, delimiter)) for _, line in lines}
    return len(sizes) == 1 and min(sizes) >= 2


def sniff_delimiter(path: Path | str, lines: list[tuple[int, str]]) -> str:
    """Comma or semicolon when every sampled line has it, tab when every line has one,
    else whitespace (runs of spaces and tabs, mixed freely, as SNAP's edge lists have).
    Semicolon files may hold commas (Excel's decimal comma, ``1,5``): the delimiter is the
    one every line has, and when both are, the one splitting every line alike.

    Raises:
        DataError: some lines use a comma (or semicolon) and others not, naming both lines.
    """
    in_every = [d for d in (",", ";") if all(d in line for _, line in lines)]
    if len(in_every) == 1:
        return in_every[0]
    if len(in_every) == 2:
        return ";" if _splits_alike(lines, ";") and not _splits_alike(lines, ",") else ","
    for delimiter in (",", ";"):  # in some lines only (in every line: returned above)
        having = [number for number, line in lines if delimiter in line]
        if having:
            other = next(number for number, line in lines if delimiter not in line)
            name = DELIMITER_NAMES[delimiter]
            raise DataError(
                f"{path}: mixed delimiters: line {having[0]} is separated by {name}s, line "
                f"{other} is not; use one delimiter (comma, tab or spaces) throughout"
            )
    if all("\t" in line.strip(" ") for _, line in lines):
        return "\t"
    return WHITESPACE


@dataclass(frozen=True)
class CleanText:
    """The buffer pyarrow reads, and what it takes to map its rows back to file lines."""

    data: bytes
    delimiter: str  # the single byte pyarrow splits on


def excel_separator(lines: list[tuple[int, str]]) -> str | None:
    """The delimiter Excel's ``sep=;`` first line names (a directive, not a row), if any."""
    match = _EXCEL_SEP.match(lines[0][1]) if lines else None
    return None if match is None else match.group(1)


def clean(raw: bytes, delimiter: str, blank: tuple[int, ...]) -> CleanText:
    """Blank comment lines, turn whitespace runs into tabs, blank the ``blank`` lines (a
    header, a ``sep=`` line).

    Line count and order are kept, so physical line numbers stay recoverable.
    """
    data = raw
    if data.startswith(b"#") or b"\n#" in data:
        data = _COMMENT_LINES.sub(b"", data)
    single = delimiter
    if delimiter == WHITESPACE:
        data = _SPACE_RUNS.sub(b"\t", _EDGE_SPACES.sub(b"", data))
        single = "\t"
    for number in sorted(blank, reverse=True):  # later lines first: earlier starts hold
        start = int(_line_starts(data)[number - 1])
        end = data.find(b"\n", start)
        data = data[:start] + (data[end:] if end >= 0 else b"")
    return CleanText(data=data, delimiter=single)


def _line_starts(data: bytes) -> npt.NDArray[np.int64]:
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    return np.concatenate([[0], newlines + 1]).astype(np.int64)


def _line_fields(text: CleanText) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """``(blank, fields)`` per physical line of the buffer, by counting delimiters."""
    array = np.frombuffer(text.data, dtype=np.uint8)
    starts = _line_starts(text.data)
    ends = np.append(starts[1:] - 1, array.size)  # exclusive: the newline or the end
    if ends.size and ends[-1] == starts[-1]:  # the buffer ends with a newline
        starts, ends = starts[:-1], ends[:-1]
    length = ends - starts
    has_cr = np.zeros(starts.size, dtype=bool)
    nonempty = length > 0
    has_cr[nonempty] = array[ends[nonempty] - 1] == ord("\r")
    delimiters = np.flatnonzero(array == ord(text.delimiter))
    line_of = np.searchsorted(starts, delimiters, side="right") - 1
    if b'"' in text.data:
        delimiters, line_of = _unquoted(array, starts, delimiters, line_of)
    return (length - has_cr) == 0, np.bincount(line_of, minlength=starts.size) + 1


def _unquoted(
    array: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    delimiters: npt.NDArray[np.int64],
    line_of: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The delimiters outside double quotes (``"p1, Inc."`` is one field, as pyarrow reads
    it): an odd number of quotes before a delimiter on its line puts it inside a quoted
    field (an escaped ``""`` counts twice, so the parity holds)."""
    quotes = np.flatnonzero(array == ord('"'))  # positions only: no per-byte counts
    before = np.searchsorted(quotes, delimiters) - np.searchsorted(quotes, starts[line_of])
    outside = before % 2 == 0
    return delimiters[outside], line_of[outside]


def row_lines(text: CleanText, n_columns: int) -> npt.NDArray[np.int64]:
    """Physical line number of every row pyarrow returns: blank lines and lines with
    another number of fields than ``n_columns`` are not rows."""
    blank, fields = _line_fields(text)
    return np.flatnonzero(~blank & (fields == n_columns)) + 1


def invalid_lines(text: CleanText, n_columns: int, limit: int) -> list[int]:
    """The first ``limit`` numbers of non-blank lines with another number of fields."""
    blank, fields = _line_fields(text)
    return (np.flatnonzero(~blank & (fields != n_columns))[:limit] + 1).tolist()


def line_text(text: CleanText, number: int) -> str:
    """Physical line ``number`` (1-based) of the buffer, for an error message."""
    start = int(_line_starts(text.data)[number - 1])
    end = text.data.find(b"\n", start)
    return text.data[start : end if end >= 0 else None].decode("utf-8", "replace").rstrip("\r")


def other_delimiter(line: str, delimiter: str, n_columns: int) -> str | None:
    """The delimiter other than ``delimiter`` that splits ``line`` into ``n_columns`` fields,
    if any: such a line is not ragged but written with another delimiter."""
    for other in (",", "\t", ";"):
        if other != delimiter and len(split_fields(line, other)) == n_columns:
            return other
    return None


@dataclass
class InvalidRows:
    """Counts the rows pyarrow skips for having the wrong number of fields."""

    count: int = 0

    def __call__(self, row: pa_csv.InvalidRow) -> str:
        self.count += 1
        return "skip"


def read_columns(
    text: CleanText,
    n_columns: int,
    wanted: list[int],
    invalid: InvalidRows,
    integer_columns: frozenset[int] = frozenset(),
) -> pa.Table:
    """The ``wanted`` columns (0-based) of every row, named ``c<index>``: strings, or int64
    for ``integer_columns`` (empty cells null).

    Raises:
        pyarrow.ArrowInvalid: an integer column holds something else.
    """
    names = [f"c{index}" for index in range(n_columns)]
    types = {names[i]: pa.int64() if i in integer_columns else pa.string() for i in wanted}
    return pa_csv.read_csv(
        io.BytesIO(text.data),
        read_options=pa_csv.ReadOptions(column_names=names, block_size=16 << 20),
        parse_options=pa_csv.ParseOptions(
            delimiter=text.delimiter, invalid_row_handler=invalid, newlines_in_values=False
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, include_columns=list(types), strings_can_be_null=False
        ),
    )


def has_padded_integer(text: CleanText) -> bool:
    """Whether some field starts with ``0`` and a digit (``007``): as an integer it would
    lose its text and meet ``7``, so such ids stay text."""
    array = np.frombuffer(text.data, dtype=np.uint8)
    if array.size < 2:
        return False
    field_start = np.ones(array.size, dtype=bool)
    field_start[1:] = (array[:-1] == ord("\n")) | (array[:-1] == ord(text.delimiter))
    zero = field_start[:-1] & (array[:-1] == ord("0"))
    return bool(np.any(zero & (array[1:] >= ord("0")) & (array[1:] <= ord("9"))))
