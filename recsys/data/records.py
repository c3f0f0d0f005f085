"""Turn parsed metadata records into product fields and relation lists.

One record looks like this in the 2014 files::

    {'asin': 'B000...', 'title': ..., 'brand': ..., 'price': 9.49,
     'salesRank': {'Music': 939190}, 'categories': [['CDs & Vinyl', 'Pop'], ...],
     'related': {'also_bought': [...], 'also_viewed': [...], 'bought_together': [...],
                 'buy_after_viewing': [...]}}

and the 2018 files move the relations to the top level (``also_buy``, ``also_view``), spell
categories as one flat ``category`` list, prices as text (``"$9.49"``) and ranks as text
(``"1,234 in Books ("``). Every function here accepts both, record by record.
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

RelationLists = tuple[list[str], list[str], list[str]]  # in code order


class RecordError(ValueError):
    """A parsed line that is not a usable metadata record (counted as malformed)."""


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
    if not isinstance(value, list):
        raise RecordError(f"{name} is a {type(value).__name__}, not a list")
    return value


def relation_lists(record: dict[str, Any]) -> RelationLists:
    """``(bought_together, also_bought, also_viewed)`` lists of asins (2014 or 2018 record).

    Raises:
        RecordError: a relation is present but not a list.
    """
    related = record.get("related")
    if related is not None:
        if not isinstance(related, dict):
            raise RecordError(f"related is a {type(related).__name__}, not a dict")
        return (
            _as_list(related.get("bought_together"), "bought_together"),
            _as_list(related.get("also_bought"), "also_bought"),
            _as_list(related.get("also_viewed"), "also_viewed"),
        )
    return (
        [],
        _as_list(record.get("also_buy"), "also_buy"),
        _as_list(record.get("also_view"), "also_view"),
    )


def has_related(record: dict[str, Any]) -> bool:
    """Whether the record carries relations at all (2014 ``related``, 2018 top-level lists)."""
    return "related" in record or bool(record.get("also_buy")) or bool(record.get("also_view"))


def ignored_entries(record: dict[str, Any]) -> int:
    """Entries of the relations we never pair (buy_after_viewing), for reports."""
    related = record.get("related")
    if not isinstance(related, dict):
        return 0
    return sum(
        len(entries) for name in IGNORED_RELATIONS if isinstance(entries := related.get(name), list)
    )


def text_field(value: Any) -> str | None:
    """A non-empty string, stripped; anything else (``""``, missing, a number) is None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def category_levels(record: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The three levels below the root of the record's first category path.

    2014: ``categories`` is a list of paths, e.g. ``[['CDs & Vinyl', 'Pop', 'Dance Pop']]``
    gives ``('Pop', 'Dance Pop', None)``. 2018: ``category`` is one flat path.
    """
    path: Any = None
    categories = record.get("categories")
    if isinstance(categories, list) and categories and isinstance(categories[0], list):
        path = categories[0]
    elif isinstance(record.get("category"), list):
        path = record["category"]
    if not path:
        return None, None, None
    levels = [text_field(level) for level in path[1:4]]
    levels += [None] * (3 - len(levels))
    return levels[0], levels[1], levels[2]


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


def passes_study_filters(record: dict[str, Any], title: str | None, also_bought: list[str]) -> bool:
    """The study's record filter: has ``related``, a title and >= 2 also_bought entries."""
    return title is not None and len(also_bought) >= 2 and has_related(record)
