"""Turn parsed metadata records into product fields and relation lists.

One record looks like this in the 2014 files::

    {'asin': 'B000...', 'title': ..., 'brand': ..., 'price': 9.49,
     'salesRank': {'Music': 939190}, 'categories': [['CDs & Vinyl', 'Pop'], ...],
     'related': {'also_bought': [...], 'also_viewed': [...], 'bought_together': [...],
                 'buy_after_viewing': [...]}}

and the 2018 files move the relations to the top level (``also_buy``, ``also_view``; the
2014 names are read there too), spell categories as one flat ``category`` list, prices as
text (``"$9.49"``) and ranks as text (``"1,234 in Books ("``). Every function here accepts
both, record by record.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Relation codes: the position of the relation's bit in recsys.data.dataset.RELATION_*
# (1 << code), and the order in which a record's targets are listed.
CODE_BOUGHT_TOGETHER = 0
CODE_ALSO_BOUGHT = 1
CODE_ALSO_VIEWED = 2
N_RELATIONS = 3
RELATION_NAMES = ("bought_together", "also_bought", "also_viewed")
IGNORED_RELATIONS = ("buy_after_viewing",)  # a record's entries are counted, never paired

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")

ProductFields = tuple[str | None, str | None, str | None, str | None, str | None, float, float]


class RecordError(ValueError):
    """A parsed line that is not a usable metadata record (counted as malformed)."""


class FieldTypeError(RecordError):
    """A relation field of the wrong type (``"also_buy": "B00X,B00Y"``, ``related`` a list).

    Unlike a garbled line, this is how a whole file was written, so the parse names the
    field and its first line rather than only counting it.
    """

    def __init__(self, field: str, expected: str, value: Any) -> None:
        shown = repr(value)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        super().__init__(f"{field} is a {type(value).__name__} ({shown}), expected {expected}")
        self.field = field


def record_asin(record: Any) -> str:
    """The record's asin, exactly as written (asins are not lowercased).

    Raises:
        RecordError: the value is not a dict with a non-empty string asin.
    """
    if not isinstance(record, dict):
        raise RecordError(f"a {type(record).__name__}, not a record")
    asin = record.get("asin")
    if not isinstance(asin, str) or not asin or "\n" in asin:
        raise RecordError(f"no usable asin: {asin!r}")
    return asin


def _as_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if value.__class__ is not list:
        raise FieldTypeError(name, "a list of asins", value)
    return value


def _top_level(record: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """The first of ``names`` present at the record's top level: the 2018 name, then the
    2014 one (a file written by hand with the 2014 names but no ``related`` around them
    would otherwise pair nothing without a word)."""
    for name in names:
        value = record.get(name)
        if value is not None:
            return _as_list(value, name)
    return []


def record_relations(record: dict[str, Any]) -> tuple[list[str], list[str], list[str], int]:
    """``(bought_together, also_bought, also_viewed, n_ignored)`` of a 2014 or 2018 record.

    ``n_ignored`` counts the entries of relations we never pair (buy_after_viewing), for
    reports.

    Raises:
        FieldTypeError: a relation is present but not a list, or ``related`` not a dict.
    """
    related = record.get("related")
    if related is None:  # 2018: top-level lists; 2014 records without relations
        return (
            _top_level(record, ("bought_together",)),
            _top_level(record, ("also_buy", "also_bought")),
            _top_level(record, ("also_view", "also_viewed")),
            0,
        )
    if related.__class__ is not dict:
        raise FieldTypeError("related", "a dict of relation lists", related)
    get = related.get
    ignored = 0
    for name in IGNORED_RELATIONS:
        entries = get(name)
        if entries.__class__ is list:
            ignored += len(entries)
    return (
        _as_list(get("bought_together"), "related.bought_together"),
        _as_list(get("also_bought"), "related.also_bought"),
        _as_list(get("also_viewed"), "related.also_viewed"),
        ignored,
    )


def text_field(value: Any) -> str | None:
    """A non-empty string, stripped; anything else (``""``, missing, a number) is None."""
    if value.__class__ is str:
        return value.strip() or None
    return None


def number_field(value: Any) -> float:
    """A number from a number or a text such as ``"$1,299.00"`` / ``"#1,234 in Books"``.

    Ranges (``"$5.99 - $9.99"``) and anything unreadable give NaN rather than a guess.
    """
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        found = _NUMBER.findall(value)
        if len(found) == 1:
            return float(found[0].replace(",", ""))
        if len(found) > 1 and "-" not in value:
            return float(found[0].replace(",", ""))  # "1,234 in Books (See Top 100 in Books)"
    return math.nan


def sales_rank(record: dict[str, Any]) -> float:
    """2014 ``salesRank`` ({category: rank}, first entry) or 2018 ``rank`` text; else NaN."""
    rank = record.get("salesRank")
    if isinstance(rank, dict):
        for value in rank.values():
            return number_field(value)
        return math.nan
    rank = record.get("rank")
    if isinstance(rank, list):
        rank = rank[0] if rank else None
    return number_field(rank)


def product_fields(record: dict[str, Any]) -> ProductFields:
    """``(title, brand, category_1, category_2, category_3, price, sales_rank)``.

    One function, with fast paths for the usual types, because it runs once per record:
    on small records (synthetic Electronics) a profile showed field extraction costing more
    than the parse itself.
    """
    get = record.get
    title = text_field(get("title"))
    brand = text_field(get("brand"))
    path = get("categories")
    if path.__class__ is list and path and path[0].__class__ is list:
        path = path[0]  # 2014: a list of paths; the first one counts
    else:
        path = get("category")  # 2018: one flat path
    if path.__class__ is list and len(path) > 1:
        levels = [text_field(level) for level in path[1:4]]
        levels += [None] * (3 - len(levels))
    else:
        levels = [None, None, None]
    price = get("price")
    if price.__class__ is not float:
        price = math.nan if price is None else number_field(price)
    rank = get("salesRank")
    if rank.__class__ is dict:
        rank = number_field(next(iter(rank.values()))) if rank else math.nan
    elif rank is None and "rank" not in record:
        rank = math.nan
    else:
        rank = sales_rank(record)
    return title, brand, levels[0], levels[1], levels[2], price, rank


def passes_study_filters(title: str | None, also_bought: list[str]) -> bool:
    """The study's record filter: has ``related``, a title and >= 2 also_bought entries.

    Two also_bought entries imply relations (2014 ``related``, 2018 ``also_buy``).
    """
    return title is not None and len(also_bought) >= 2
