"""A products file: side information for the products of a pairs file.

CSV or TSV (the delimiter told from the header line), header required, gzip or plain,
``#`` comment lines skipped. Columns, matched by name case-insensitively (spaces and
dashes read as ``_``):

- the id: ``id``, ``item_id``, ``product_id``, ``asin``, ``product`` or ``item``; else
  the first column. It must match the pairs file's id text exactly.
- ``title`` (or ``name``), ``brand``;
- categories: ``category_1`` .. ``category_3``, or one path column (``category``,
  ``category_path``, ``categories``) whose levels are separated by ``|`` or ``>``; its
  first three levels become category_1..3;
- ``price`` (text such as ``$1,299.00`` is read as 1299.0), ``sales_rank`` (or
  ``salesrank``, ``rank``).

A product listed twice keeps its first row (the rest are counted and reported). Any of the
columns but the id may be missing, but the header must name at least one of these columns:
a first line naming none is taken for a data row of a file without a header, an error.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recsys.data.errors import DataError
from recsys.data.formats.stream import head_text, open_stream, unreadable

ID_NAMES = ("id", "item_id", "product_id", "asin", "product", "item")
ALIASES = {
    "name": "title",
    "salesrank": "sales_rank",
    "rank": "sales_rank",
    "category_path": "category",
    "categories": "category",
}
PATH_SEPARATOR = re.compile(r"\s*[|>]\s*")
SIDE_NAMES = ("title", "brand", "category", "category_1", "category_2", "category_3")
KNOWN_NAMES = frozenset((*ID_NAMES, *SIDE_NAMES, "price", "sales_rank", *ALIASES))
USAGE = (
    "pass --products / -P products=<a CSV whose header names an id column (id, item_id, "
    "product_id, asin, product or item) and any of title, brand, category, "
    "category_1..3, price, sales_rank>"
)


@dataclass(frozen=True)
class ProductsFile:
    """Side information, one row per product id (column ``asin``), and what was read."""

    table: pd.DataFrame
    report: dict[str, Any]


def _normalise(name: str) -> str:
    name = re.sub(r"[\s-]+", "_", name.strip().lower())
    return ALIASES.get(name, name)


def _number(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.replace(r"[$,\s]", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype(np.float32)


def _path_levels(paths: pd.Series) -> pd.DataFrame:
    levels = paths.astype("string").str.strip("|> ").str.split(PATH_SEPARATOR, n=3, expand=True)
    levels = levels.reindex(columns=range(3))
    levels.columns = ["category_1", "category_2", "category_3"]
    return levels.replace("", np.nan)


def check_products_path(path: Path) -> None:
    """One error naming the products option when the file cannot be read (the data file's
    own errors suggest a dataset name, which a products file never is)."""
    problem = unreadable(path)
    if problem is None:
        return
    if problem.advice is None:  # missing, not a file: what to pass
        raise DataError(f"products file {path}: {problem.reason}; {USAGE}")
    raise DataError(
        f"products file {path}: {problem.reason}; {problem.advice.rstrip('.')} (--products)"
    )


def _check_header(path: Path, names: list[str], line: str) -> None:
    """A header naming no known column is most likely a first data row (a file without a
    header): reading on would drop that row and every side-information column unseen."""
    if not KNOWN_NAMES.intersection(names):
        for other in (";", "|"):
            if KNOWN_NAMES.intersection(_normalise(n) for n in line.split(other)):
                raise DataError(
                    f"products file {path}: its header {line.strip()[:80]!r} is separated by "
                    f"{other!r}; write it with commas or tabs (a decimal comma in a price "
                    "would be misread)"
                )
        raise DataError(
            f"products file {path}: its first line {line.strip()[:80]!r} names no known column "
            f"(a header line is required); {USAGE}"
        )


def read_products_file(path: Path) -> ProductsFile:
    """The products file's side information, keyed by id.

    Raises:
        DataError: missing, unreadable or empty file, a first line naming no known column
            (no header), or no id values.
    """
    check_products_path(path)
    compressed = open_stream(path).compressed
    header = next(
        (ln for ln in head_text(path).splitlines() if ln.strip() and not ln.startswith("#")), ""
    )
    separator = "\t" if "\t" in header and "," not in header else ","
    try:
        with gzip.open(path, "rb") if compressed else path.open("rb") as handle:
            frame = pd.read_csv(
                handle,
                sep=separator,
                dtype=str,
                comment="#",
                keep_default_na=False,
                skip_blank_lines=True,
            )
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(
            f"{path}: not a readable products CSV ({str(error).splitlines()[0]})"
        ) from None
    frame.columns = [_normalise(str(name)) for name in frame.columns]
    _check_header(path, list(frame.columns), header)
    id_column = next((name for name in ID_NAMES if name in frame.columns), frame.columns[0])
    table = pd.DataFrame({"asin": frame[id_column].str.strip()})
    for name in ("title", "brand"):
        if name in frame:
            table[name] = frame[name].str.strip().replace("", np.nan)
    if "category" in frame and not {"category_1", "category_2", "category_3"} & set(frame.columns):
        table = table.join(_path_levels(frame["category"]))
    for name in ("category_1", "category_2", "category_3"):
        if name in frame:
            table[name] = frame[name].str.strip().replace("", np.nan)
    for name in ("price", "sales_rank"):
        if name in frame:
            table[name] = _number(frame[name])
    empty = table["asin"].eq("")
    duplicated = table["asin"].duplicated() & ~empty
    table = table[~empty & ~duplicated].reset_index(drop=True)
    if table.empty:
        raise DataError(f"{path}: no product ids in its column {id_column!r}")
    report = {
        "rows": len(frame),
        "id_column": id_column,
        "columns": [name for name in table.columns if name != "asin"],
        "empty_ids": int(empty.sum()),
        "duplicate_ids": int(duplicated.sum()),
    }
    return ProductsFile(table=table, report=report)
