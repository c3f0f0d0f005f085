"""Tiny metadata files in each of the three Amazon shapes, written to a test's tmp_path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write lines as a .json or (by suffix) .json.gz file."""
    text = "".join(line + "\n" for line in lines)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def python_lines(records: list[dict[str, Any]]) -> list[str]:
    """2014 category-file lines: ``str(dict)``, single quotes."""
    return [str(record) for record in records]


def json_lines(records: list[dict[str, Any]]) -> list[str]:
    """Strict JSON lines (2014 all-category or 2018 files)."""
    return [json.dumps(record) for record in records]


def records_2014() -> list[dict[str, Any]]:
    """Four records: A-B-C bought together, D without relations, E only referenced."""
    return [
        {
            "asin": "A",
            "title": 'Alpha\'s "best" album',
            "brand": "",
            "price": 9.5,
            "salesRank": {"Music": 120},
            "categories": [["CDs & Vinyl", "Pop", "Dance Pop", "Euro"], ["CDs & Vinyl", "Rock"]],
            "related": {
                "also_bought": ["B", "C", "E"],
                "bought_together": ["B"],
                "buy_after_viewing": ["D"],
            },
        },
        {
            "asin": "B",
            "title": "Beta",
            "brand": "Acme",
            "related": {"also_bought": ["A", "B"], "also_viewed": ["C"]},
        },
        {"asin": "C", "title": "Gamma", "related": {"also_viewed": ["A", "D"]}},
        {"asin": "D", "title": "Delta"},
    ]


def records_2018() -> list[dict[str, Any]]:
    """The same graph in the 2018 shape (no bought_together there)."""
    return [
        {
            "asin": "A",
            "title": "Alpha",
            "brand": "",
            "price": "$9.50",
            "rank": "120 in Music (",
            "main_cat": "Music",
            "category": ["CDs & Vinyl", "Pop", "Dance Pop"],
            "also_buy": ["B", "C", "E"],
        },
        {"asin": "B", "title": "Beta", "brand": "Acme", "also_buy": ["A", "B"], "also_view": ["C"]},
        {"asin": "C", "title": "Gamma", "also_view": ["A", "D"]},
        {"asin": "D", "title": "Delta", "price": "$5.99 - $9.99"},
    ]
