"""Whether a pairs file's first line is a header, and why: the reason is reported, so a
user can see which reading was taken (``recsys prepare`` prints it on its columns line).

A first line is a header when it holds a documented column name (or a ``--columns`` name);
when it is not numeric where every later sampled line is; when its two first fields are
id-like column names (``asin``, ``related_asin``, ``product_id``, ``src``, ...); or when
those two fields are words whose shape (letters, digits, punctuation) no later sampled id
has and whose text no later sampled line repeats (``left,right`` above ``p197,p388``).
"""

from __future__ import annotations

import re

from recsys.data.formats.delimited import is_number

ID_WORDS = frozenset(
    {"asin", "item", "product", "source", "target", "src", "dst", "from", "to", "id"}
    | {"node", "sku", "related", "parent", "child", "query", "other", "neighbor"}
    | {"itemid", "productid", "asins"}
)
# A products file's columns (recsys.data.formats.products_file): never a product id.
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
    return None


def product_info_column(names: tuple[str, ...], columns: tuple[int, int]) -> str | None:
    """The first of ``columns`` whose header name is product information (``title``): the
    file is a products file given where a pairs file belongs."""
    return next((names[i] for i in columns if names[i].strip().lower() in PRODUCT_INFO), None)
