"""How a products file is laid out: delimiter, header names and id column, from its header.

The header is the first line that is not blank or a ``#`` comment (after an Excel ``sep=X``
line, which names the delimiter). The delimiter is the one of comma, tab and semicolon that
splits the header into the most known column names; names may be quoted (R's
``write.csv``, pandas' ``QUOTE_ALL``) and are matched case-insensitively with spaces and
dashes read as ``_``. A semicolon file's numbers may take a decimal comma (Excel's European
CSV), as in a pairs file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from recsys.data.errors import DataError
from recsys.data.formats.delimited import split_fields

ID_NAMES = ("id", "item_id", "product_id", "asin", "product", "item")
ALIASES = {
    "name": "title",
    "salesrank": "sales_rank",
    "rank": "sales_rank",
    "category_path": "category",
    "categories": "category",
}
SIDE_NAMES = ("title", "brand", "category", "category_1", "category_2", "category_3")
KNOWN_NAMES = frozenset((*ID_NAMES, *SIDE_NAMES, "price", "sales_rank", *ALIASES))
DELIMITERS = (",", "\t", ";")
USAGE = (
    "pass --products / -P products=<a CSV whose header names an id column (id, item_id, "
    "product_id, asin, product or item) and any of title, brand, category, "
    "category_1..3, price, sales_rank>"
)
# The unnamed first column pandas' to_csv and R's write.csv write: row numbers, never ids.
_ROW_NUMBERS = re.compile(r"^(unnamed:_\d+)?$")


def normalise(name: str) -> str:
    """``" Sales Rank "`` -> ``sales_rank``, ``Name`` -> ``title`` (aliases resolved)."""
    name = re.sub(r"[\s-]+", "_", name.strip().lower())
    return ALIASES.get(name, name)


@dataclass(frozen=True)
class ProductsLayout:
    """A products file's delimiter and columns, as its header names them."""

    delimiter: str  # ",", "\t" or ";"
    names: tuple[str, ...]  # normalised and unique (pandas needs unique names)
    id_column: str

    @property
    def decimal_comma(self) -> bool:
        """A semicolon file's ``1,5`` is 1.5 (Excel's European CSV), as in a pairs file."""
        return self.delimiter == ";"


def _known(header: str, delimiter: str) -> int:
    return len(KNOWN_NAMES.intersection(normalise(n) for n in split_fields(header, delimiter)))


def _delimiter(header: str) -> str:
    """The delimiter splitting the header into the most known names (ties: comma first)."""
    best = max(DELIMITERS, key=lambda delimiter: _known(header, delimiter))
    if _known(header, best):
        return best
    return "\t" if "\t" in header and "," not in header else ","


def _check_known(path: Path, names: list[str], line: str) -> None:
    """A header naming no known column is most likely a first data row (a file without a
    header): reading on would drop that row and every side-information column unseen."""
    if KNOWN_NAMES.intersection(names):
        return
    if _known(line, "|"):
        raise DataError(
            f"products file {path}: its header {line.strip()[:80]!r} is separated by '|' (which "
            "separates a category path's levels); write it with commas, tabs or semicolons and "
            "pass it to --products"
        )
    raise DataError(
        f"products file {path}: its first line {line.strip()[:80]!r} names no known column "
        f"(a header line is required); {USAGE}"
    )


def _check_unique(path: Path, raw: list[str], names: list[str]) -> None:
    """Two columns read as one known column (``title`` and ``name``): pandas would keep one
    of them unseen (or fail), so the user picks."""
    for name in KNOWN_NAMES.intersection(names):
        written = [raw[i] for i, n in enumerate(names) if n == name]
        if len(written) > 1:
            raise DataError(
                f"products file {path}: its header names the {name} column "
                f"{len(written)} times ({', '.join(map(repr, written))}); keep or rename one "
                "and pass the file to --products again"
            )


def _unique(names: list[str]) -> tuple[str, ...]:
    """Names pandas can take: an empty one ``unnamed:_<i>``, a repeated unknown one
    suffixed ``.1``, ``.2`` (known names are unique, :func:`_check_unique`)."""
    out: list[str] = []
    for index, name in enumerate(names):
        name = name or f"unnamed:_{index}"
        repeat, base = 0, name
        while name in out:
            repeat += 1
            name = f"{base}.{repeat}"
        out.append(name)
    return tuple(out)


def _id_column(path: Path, names: tuple[str, ...]) -> str:
    """The first id name present, else the first column: unless that column holds row
    numbers or product information, which would make ids no pair matches."""
    named = next((name for name in ID_NAMES if name in names), None)
    if named is not None:
        return named
    first = names[0]
    if _ROW_NUMBERS.match(first) is None and first not in KNOWN_NAMES:
        return first
    what = (
        "unnamed (row numbers, as R's write.csv and pandas' to_csv write them)"
        if _ROW_NUMBERS.match(first)
        else f"{first!r}, product information"
    )
    raise DataError(
        f"products file {path}: its header names no id column and its first column is {what}; "
        f"name the id column id, item_id, product_id, asin, product or item, and pass the file "
        "to --products again"
    )


def products_layout(path: Path, header: str, delimiter: str | None) -> ProductsLayout:
    """Delimiter (``delimiter`` when an Excel ``sep=`` line named it), names and id column.

    Raises:
        DataError: a header naming no known column (or separated by ``|``), a known column
            named twice, or no id column where the first column is not one.
    """
    delimiter = delimiter or _delimiter(header)
    if delimiter not in DELIMITERS:  # sep=| : the category path separator
        raise DataError(
            f"products file {path}: its sep= line names {delimiter!r} (which separates a category "
            "path's levels); write it with commas, tabs or semicolons and pass it to --products"
        )
    raw = split_fields(header, delimiter)
    names = [normalise(name) for name in raw]
    _check_known(path, names, header)
    _check_unique(path, raw, names)
    unique = _unique(names)
    return ProductsLayout(delimiter=delimiter, names=unique, id_column=_id_column(path, unique))
