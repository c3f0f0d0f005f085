"""How a pairs file is laid out: delimiter, header and columns, from its first lines.

A first line is a header when it holds a documented column name (or a ``--columns`` name);
when it is not numeric where every later sampled line is; when its two first fields are
id-like column names (``asin``, ``related_asin``, ``product_id``, ``src``, ...); or when
those two fields are words whose shape (letters, digits, punctuation) no later sampled id
has and whose text no later sampled line repeats (``left,right`` above ``p197,p388``), or
when they are words on the file's only line (``a,b``: the header of a file with no pairs).

Whether line 1 is a header, and why, is reported (``recsys prepare`` prints it on its
columns line), so a user can see which reading was taken.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from recsys.data.errors import DataError
from recsys.data.formats.delimited import (
    DELIMITER_NAMES,
    is_number,
    sniff_delimiter,
    split_fields,
)

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
ID_WORDS = frozenset(
    {"asin", "item", "product", "source", "target", "src", "dst", "from", "to", "id"}
    | {"node", "sku", "related", "parent", "child", "query", "other", "neighbor"}
    | {"itemid", "productid", "asins"}
)
# A products file's columns (recsys.data.formats.products_layout): never a product id.
PRODUCT_INFO = frozenset(
    {"title", "name", "brand", "category", "categories", "category_path", "price"}
    | {"category_1", "category_2", "category_3", "sales_rank", "salesrank", "description"}
)
MIN_LINES_FOR_SHAPE = 5  # later sampled lines needed before a shape tells a header apart
_WORD = re.compile(r"^[A-Za-z][A-Za-z _.-]*$")


def _shape(value: str) -> str:
    """``p197`` -> ``a9``, ``B0052XK`` -> ``a9a``, ``related_asin`` -> ``a_a``."""
    return re.sub(r"[A-Za-z]+", "a", re.sub(r"[0-9]+", "9", value))


def _id_like(name: str) -> bool:
    """A column name made of words, one of them naming ids (``related_asin``, ``ItemID``);
    ``item-1`` holds a digit: an id itself, not a name."""
    tokens = [t for t in re.split(r"[^a-z]+", name.lower()) if t]
    return _WORD.match(name) is not None and any(t.rstrip("s") in ID_WORDS for t in tokens)


def _shaped_apart(rows: list[list[str]]) -> bool:
    """No later sampled row has a first or second field shaped like the first row's."""
    below = [row for row in rows[1:] if len(row) >= 2]
    return all(_shape(rows[0][i]) not in {_shape(row[i]) for row in below} for i in (0, 1))


def _unlike_below(rows: list[list[str]]) -> bool:
    """The first row's two first fields are words no later sampled row resembles."""
    below = [row for row in rows[1:] if len(row) >= 2]
    if len(below) < MIN_LINES_FOR_SHAPE or not all(_WORD.match(v) for v in rows[0][:2]):
        return False
    seen = {value for row in below for value in row[:2]}
    return not seen.intersection(rows[0][:2]) and _shaped_apart(rows)


def header_reason(rows: list[list[str]], documented: set[str], wanted: list[str]) -> str | None:
    """Why ``rows[0]`` (the sampled lines' fields) is a header, or None when it is a pair."""
    first = [name.lower() for name in rows[0]]
    if documented.intersection(first):
        return "documented column names"
    if any(not token.isdigit() and token.lower() in first for token in wanted):
        return "--columns names"
    for index in range(min(len(rows[0]), 3)):
        below = [row[index] for row in rows[1:] if index < len(row)]
        if below and all(map(is_number, below)) and not is_number(rows[0][index]):
            return "not numeric where the lines below are"
    if all(_id_like(name) for name in rows[0][:2]) and _shaped_apart(rows):
        return "id-like column names"
    if _unlike_below(rows):
        return "words unlike the ids below"
    if len(rows) == 1 and all(_WORD.match(v) for v in rows[0][:2]):
        # Nothing below to compare with; product ids nearly always hold a digit.
        return "words on the file's only line"
    return None


def product_info_column(names: tuple[str, ...], columns: tuple[int, int]) -> str | None:
    """The first of ``columns`` whose header name is product information (``title``): the
    file is a products file given where a pairs file belongs."""
    return next((names[i] for i in columns if names[i].strip().lower() in PRODUCT_INFO), None)


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
    header_reason: str | None = None  # why line 1 was taken as a header (reported)

    @property
    def decimal_comma(self) -> bool:
        """A semicolon file's numbers may take a decimal comma (``1,5``, Excel's European CSV)."""
        return self.delimiter == ";"

    def describe(self) -> dict[str, object]:
        def name(index: int | None) -> str | None:
            return None if index is None else self.names[index]

        return {
            "delimiter": DELIMITER_NAMES[self.delimiter],
            "header": self.header_line is not None,
            "header_reason": self.header_reason,
            "id_columns": [name(index) for index in self.id_columns],
            "weight_column": name(self.weight_column),
            "relation_column": name(self.relation_column),
            "ignored_columns": [
                self.names[i] for i in range(self.n_columns) if i not in self.used_columns()
            ],
        }

    def used_columns(self) -> set[int]:
        """The columns read: the two ids, the weight and the relation when present."""
        used = {*self.id_columns, self.weight_column, self.relation_column}
        return {i for i in used if i is not None}


def _column(token: str, names: list[str], path: object, what: str, header: bool) -> int:
    """The 0-based column a ``--columns`` token names: a 1-based position or a header name."""
    if token.isdigit():
        index = int(token) - 1
        if not 0 <= index < len(names):
            raise DataError(f"{path}: --columns {what} {token}: the file has {len(names)} columns")
        return index
    lowered = [name.lower() for name in names]
    if token.lower() not in lowered:
        known = (
            f"the header has {', '.join(names)}"
            if header
            else f"the file has no header line: give positions 1 to {len(names)}"
        )
        raise DataError(f"{path}: --columns {what} {token!r} is not a column; {known}")
    return lowered.index(token.lower())


def _index_column(names: tuple[str, ...]) -> int | None:
    """Column 0 when its header name is empty: the row numbers pandas' ``to_csv`` and R's
    ``write.csv`` write by default, never a product id."""
    return 0 if names and names[0] == "" else None


def layout(
    path: Path,
    lines: list[tuple[int, str]],
    columns: str | None,
    delimiter: str | None = None,
    header: bool | None = None,
) -> PairsLayout:
    """Delimiter (sniffed unless given), header (detected unless given) and columns of a
    pairs file from its first data lines.

    Raises:
        DataError: one column only, mixed delimiters, or --columns naming no column.
    """
    if not lines:
        raise DataError(f"{path} holds no data lines (only blank or # comment lines)")
    delimiter = delimiter or sniff_delimiter(path, lines)
    rows = [split_fields(line, delimiter) for _, line in lines]
    n_columns = len(rows[0])
    if n_columns < 2:
        raise DataError(
            f"{path}, line {lines[0][0]}: one column ({rows[0][0]!r}); a pairs file needs two "
            "product-id columns separated by a comma, a tab or spaces"
        )
    wanted = [token.strip() for token in columns.split(",")] if columns else []
    documented = {WEIGHT_NAME, RELATION_NAME, *(n for pair in ID_NAME_PAIRS for n in pair)}
    if header is None:
        reason = header_reason(rows, documented, wanted)
    else:
        reason = "--header" if header else None
    header = reason is not None
    names = tuple(rows[0]) if header else tuple(f"c{i + 1}" for i in range(n_columns))
    if wanted:
        if not 2 <= len(wanted) <= 4:
            raise DataError(f"--columns {columns!r}: give a,b[,weight[,relation]]")
        roles = ("id", "id", "weight", "relation")
        found = [
            _column(token, list(names), path, role, header) if token else None
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
            row_numbers = _index_column(names) if header else None
            free = [i for i in range(n_columns) if i not in (weight, relation, row_numbers)]
            if len(free) < 2:
                raise DataError(f"{path}: no two product-id columns among {', '.join(names)}")
            id_a, id_b = free[:2]
            info = product_info_column(names, (id_a, id_b)) if header else None
            if info is not None:
                raise DataError(
                    f"{path}: column {info!r} is product information, not a product id: a "
                    "products file goes with --products beside a pairs file; for a pairs file, "
                    "name its id columns with --columns A,B"
                )
        if not header and n_columns >= 3:  # a third column: a weight if numeric, else a relation
            third = [row[2] for row in rows if len(row) > 2]
            if all(map(is_number, third)):
                weight = 2
            else:
                relation = 2
    return PairsLayout(
        delimiter=delimiter,
        n_columns=n_columns,
        header_line=lines[0][0] if header else None,
        id_columns=(id_a, id_b),
        weight_column=weight,
        relation_column=relation,
        names=names,
        header_reason=reason,
    )
