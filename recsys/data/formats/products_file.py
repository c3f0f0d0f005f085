"""A products file: side information for the products of a pairs file.

CSV, TSV or semicolon-separated (the delimiter told from the header line,
:mod:`recsys.data.formats.products_layout`), header required, gzip or plain, UTF-8 (a
byte-order mark is stripped; UTF-16 is refused, saying how to convert it), LF, CRLF or CR
line ends, ``#`` comment lines skipped, an Excel ``sep=X`` first line honoured. Columns,
matched by name case-insensitively (spaces and dashes read as ``_``, quotes removed):

- the id: ``id``, ``item_id``, ``product_id``, ``asin``, ``product`` or ``item``; else
  the first column (unless it is unnamed row numbers or product information: an error).
  It must match the pairs file's id text exactly; integer pair ids also match ``12.0``
  (as pandas writes an id column that held a NaN). ``012`` and ``+12`` stay text, as the
  pairs reader keeps them (``007`` is no integer there).
- ``title`` (or ``name``), ``brand``;
- categories: ``category_1`` .. ``category_3``, or one path column (``category``,
  ``category_path``, ``categories``) whose levels are separated by ``|`` or ``>``; its
  first three levels become category_1..3;
- ``price`` (text such as ``$1,299.00`` is read as 1299.0, ``12,99`` and ``1.299,00`` as
  decimal commas; a semicolon file's ``1,299`` is 1.299), ``sales_rank`` (or
  ``salesrank``, ``rank``).

A product listed twice keeps its first row; the other rows, and number cells that hold no
number (left empty), are counted and reported. Any of the columns but the id may be
missing, but the header must name at least one of these columns: a first line naming none
is taken for a data row of a file without a header, an error. A row with more fields than
the header (an unquoted comma in a title) is an error naming its line; a cut-off gzip
stream keeps its complete lines and is reported.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.errors import DataError
from recsys.data.formats.delimited import (
    DELIMITER_NAMES,
    INTEGER_TEXT,
    clean,
    data_lines,
    excel_separator,
    split_fields,
)
from recsys.data.formats.products_layout import USAGE, ProductsLayout, products_layout
from recsys.data.formats.stream import (
    StreamStatus,
    checked_stream,
    read_all,
    unreadable,
    utf8_problem,
)

PATH_SEPARATOR = re.compile(r"\s*[|>]\s*")
HEAD_BYTES = 1 << 16  # decoded to find the header line
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
# An integer id as the pairs reader takes it, maybe written as a float: 12, 12.0, -3.00.
_INTEGRAL_ID = rf"^({INTEGER_TEXT})(?:\.0*)?$"
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+$")  # 1,299: a thousands comma in a CSV
_THOUSANDS_MANY = re.compile(r"^[-+]?\d{1,3}(,\d{3}){2,}$")  # 1,234,567 whatever the file


@dataclass(frozen=True)
class ProductsFile:
    """Side information, one row per product id (column ``asin``), what was read, and the
    file's path as given (for messages and the manifest)."""

    table: pd.DataFrame
    report: dict[str, Any]
    path: Path


def _number(values: pd.Series, decimal_comma: bool) -> pd.Series:
    """Numbers written as people write prices: currency signs and codes dropped (``$``,
    ``€``, ``EUR``); the mark written last of ``,`` and ``.`` is the decimal one, except
    that ``1,299`` is 1299 in a comma or tab file (1.299 in a semicolon file)."""
    text = values.astype("string").str.replace(r"[^\d.,+-]", "", regex=True)
    comma_decimal = (text.str.rfind(",") > text.str.rfind(".")) & ~text.str.match(
        _THOUSANDS_MANY.pattern
    )
    if not decimal_comma:
        comma_decimal &= ~text.str.match(_THOUSANDS.pattern)
    european = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    plain = text.where(~comma_decimal, european).str.replace(",", "", regex=False)
    grouped = plain.str.count(r"\.") > 1  # 1.234.567: dots group thousands
    plain = plain.where(~grouped, plain.str.replace(".", "", regex=False))
    return pd.to_numeric(plain, errors="coerce").astype(np.float32)


def _path_levels(paths: pd.Series) -> pd.DataFrame:
    levels = paths.astype("string").str.strip("|> ").str.split(PATH_SEPARATOR, n=3, expand=True)
    levels = levels.reindex(columns=range(3))
    levels.columns = ["category_1", "category_2", "category_3"]
    return levels.replace("", np.nan)


def open_products_file(path: Path) -> StreamStatus:
    """The products file's stream, checked once where its path comes in (the reader trusts
    it); one error naming the products option when the file cannot be read (the data
    file's own errors suggest a dataset name, which a products file never is)."""
    problem = unreadable(path)
    if problem is None:
        return checked_stream(path, path.stat().st_size)
    if problem.advice is None:  # missing, not a file, no permission: what to pass
        raise DataError(f"products file {path}: {problem.reason}; {USAGE}")
    raise DataError(
        f"products file {path}: {problem.reason}; {problem.advice.rstrip('.')} (--products)"
    )


def _not_utf8(path: Path, data: bytes) -> DataError:
    return DataError(
        f"products file {path}{utf8_problem(path, data)}; pass the converted file to --products"
    )


def _ragged(path: Path, line: int, fields: int, shape: ProductsLayout) -> DataError:
    """A row with more fields than the header: pandas would take its first field for a row
    label and shift every id, or fail naming no file."""
    name = DELIMITER_NAMES[shape.delimiter]
    return DataError(
        f"products file {path}, line {line}: {fields} fields, the header has "
        f"{len(shape.names)}; put a field holding a {name} in double quotes (or remove the "
        "extra fields) and pass the file to --products again"
    )


def _header_line(path: Path, data: bytes) -> tuple[list[tuple[int, str]], str | None, int | None]:
    """The data lines of the file's head from its header on, and the delimiter an Excel
    ``sep=`` line named with that line's number (it is then not among the lines)."""
    head = data[:HEAD_BYTES]
    if len(data) > HEAD_BYTES:
        head = head[: head.rfind(b"\n") + 1] or head
    lines = data_lines(head.decode("utf-8", errors="replace"))
    separator = excel_separator(lines)
    separator_line = lines[0][0] if separator else None
    lines = lines[1:] if separator else lines
    if not lines:
        raise DataError(
            f"products file {path}: no header line (only blank or # comment lines); {USAGE}"
        )
    if "\ufffd" in lines[0][1]:
        raise _not_utf8(path, data)
    return lines, separator, separator_line


def _read_frame(path: Path, data: bytes) -> tuple[pd.DataFrame, ProductsLayout]:
    """Every row as text (empty cells ""), columns named by the layout.

    Raises:
        DataError: no header, not UTF-8, a row with more fields than the header, or a
            header :func:`products_layout` refuses.
    """
    lines, separator, separator_line = _header_line(path, data)
    shape = products_layout(path, lines[0][1], separator)
    blank = (lines[0][0], *(() if separator_line is None else (separator_line,)))
    text = clean(data, shape.delimiter, blank).data  # line numbers kept: errors name lines
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(text),
                sep=shape.delimiter,
                header=None,
                names=list(shape.names),
                index_col=False,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=True,
            )
    except UnicodeDecodeError:
        raise _not_utf8(path, data) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(shape.names), dtype=str)
        caught = []
    except (ValueError, pd.errors.ParserError) as error:
        ragged = _RAGGED.search(str(error))
        if ragged:
            raise _ragged(path, int(ragged[2]), int(ragged[3]), shape) from None
        raise DataError(
            f"products file {path}: not a readable CSV ({str(error).splitlines()[0]}); {USAGE}"
        ) from None
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught) and len(lines) > 1:
        # The first row is longer than the header: pandas dropped its extra fields unseen.
        line, first = lines[1]
        raise _ragged(path, line, len(split_fields(first, shape.delimiter)), shape)
    return frame.fillna(""), shape


def _integer_text(ids: pd.Series) -> pd.Series:
    """Ids written as integers or integral floats (``12``, ``12.0``) as the pairs' integer
    ids read (``12``); other ids unchanged: ``012`` and ``+12`` are text to the pairs
    reader, so they must not meet its ``12``."""
    whole = ids.str.extract(_INTEGRAL_ID, expand=False)
    whole = whole.where(whole != "-0", "0")  # -0.0 is the pairs' int64 0
    return ids.where(whole.isna(), whole)


def read_products_file(products: Path | StreamStatus, integer_ids: bool = False) -> ProductsFile:
    """The products file's side information, keyed by id. With ``integer_ids`` (the pairs'
    ids are integers) an id written ``12.0`` matches the pairs' ``12``. ``products`` is
    the file's path, or its stream from :func:`open_products_file` (checked then, so not
    again).

    Raises:
        DataError: missing, unreadable, empty or archived file, not UTF-8, a first line
            naming no known column (no header), a column named twice, a row with more
            fields than the header, or no id values.
    """
    status = products if isinstance(products, StreamStatus) else open_products_file(products)
    path = status.path
    frame, shape = _read_frame(path, read_all(status))
    id_column = shape.id_column
    ids = frame[id_column].str.strip()
    table = pd.DataFrame({"asin": _integer_text(ids) if integer_ids else ids})
    for name in ("title", "brand"):
        if name in frame:
            table[name] = frame[name].str.strip().replace("", np.nan)
    if "category" in frame and not {"category_1", "category_2", "category_3"} & set(frame.columns):
        table = table.join(_path_levels(frame["category"]))
    for name in ("category_1", "category_2", "category_3"):
        if name in frame:
            table[name] = frame[name].str.strip().replace("", np.nan)
    empty = table["asin"].eq("")
    duplicated = table["asin"].duplicated() & ~empty
    kept = ~empty & ~duplicated
    not_numbers = {}
    for name in ("price", "sales_rank"):
        if name in frame:
            table[name] = _number(frame[name], shape.decimal_comma)
            written = frame[name].str.contains(r"\d", regex=True)  # a digit: meant as a number
            not_numbers[name] = int((written & table[name].isna() & kept).sum())
    table = table[kept].reset_index(drop=True)
    if table.empty:
        raise DataError(
            f"products file {path}: no product ids in its column {id_column!r} "
            f"({len(frame):,} rows); give one product per line and pass it to --products again"
        )
    report = {
        "rows": len(frame),
        "id_column": id_column,
        "delimiter": DELIMITER_NAMES[shape.delimiter],
        "columns": [name for name in table.columns if name != "asin"],
        "empty_ids": int(empty.sum()),
        "duplicate_ids": int(duplicated.sum()),
        "not_numbers": {name: n for name, n in not_numbers.items() if n},
    }
    if status.truncated:
        report["truncated"] = status.truncation_reason
    return ProductsFile(table=table, report=report, path=path)
