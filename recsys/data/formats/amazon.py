"""McAuley's Amazon metadata: three line formats, told apart by their content.

McAuley's metadata comes in three shapes and the user never says which: the 2014
per-category files (one Python dict literal per line), the 2014 all-category
``metadata.json`` (strict JSON lines) and the 2018 files (strict JSON, relations as
top-level ``also_buy`` / ``also_view``). Any of them may be gzip-compressed or not; we look
at the bytes, not the file name. A record's fields and relation lists are read by
:mod:`recsys.data.formats.amazon_records`, a block of lines by
:mod:`recsys.data.formats.amazon_blocks`, the whole file by
:func:`recsys.data.parse.parse_metadata`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from recsys.data.errors import DataError
from recsys.data.formats.stream import block_lines, iter_line_blocks, open_stream
from recsys.data.pyliteral import parse_python_literal

DETECT_LINES = 50  # records looked at to tell the format

# Top-level keys that only the 2018 files carry (they have no `related`).
KEYS_2018 = frozenset({"also_buy", "also_view", "main_cat", "category", "rank"})
# Keys of the Amazon reviews files (one review per line, with an asin too), and of metadata:
# a sample with the first and none of the second is a reviews file given for metadata.
REVIEW_KEYS = frozenset({"reviewerID", "reviewText", "overall", "unixReviewTime"})
METADATA_KEYS = KEYS_2018 | {"related", "title", "categories", "salesRank", "brand", "price"}


class MetadataFormat(StrEnum):
    """The three shapes of McAuley's Amazon metadata."""

    PYTHON_2014 = "2014-python-literal"  # meta_<Category>.json.gz, 2014
    JSON_2014 = "2014-json"  # the all-category metadata.json, 2014
    JSON_2018 = "2018-json"  # meta_<Category>.json.gz, 2018


def parse_line(line: str, fmt: MetadataFormat) -> Any:
    """One line's value (a dict for a good record).

    Raises:
        ValueError or SyntaxError: the line is not valid in the file's format.
    """
    if fmt is MetadataFormat.PYTHON_2014:
        return parse_python_literal(line)
    return json.loads(line)


def detect_format(path: Path, sample: int = DETECT_LINES) -> MetadataFormat:
    """Tell the file's shape from its first records (the user never says).

    JSON lines parse with ``json.loads``; the 2014 category files do not (single quotes) but
    are Python literals. Among JSON files, a ``related`` dict marks 2014, top-level
    ``also_buy`` / ``also_view`` / ``main_cat`` / ``category`` mark 2018.

    Raises:
        DataError: none of the first non-empty lines is a metadata record in either syntax.
    """
    status = open_stream(path)
    json_records: list[dict[str, Any]] = []
    is_python = False
    looked = 0
    first_bad: int | None = None
    for block in iter_line_blocks(status, block_bytes=1 << 16, read_bytes=1 << 14):
        for offset, line in enumerate(block_lines(block)):
            if not line.strip():
                continue
            looked += 1
            try:
                record = json.loads(line)
            except ValueError:
                try:
                    record = parse_python_literal(line)
                    is_python = isinstance(record, dict) and "asin" in record
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    record = None
            if isinstance(record, dict) and "asin" in record:
                if is_python:
                    return MetadataFormat.PYTHON_2014
                json_records.append(record)
            elif first_bad is None:
                first_bad = block.first_line + offset
            if looked >= sample:
                break
        if looked >= sample:
            break
    if not json_records:
        if looked == 0:
            raise DataError(
                f"{path} holds no records (no non-empty line"
                f"{', and its gzip stream is cut off' if status.truncated else ''}); fetch the "
                "file again."
            )
        raise DataError(
            f"{path} does not look like Amazon product metadata: line {first_bad} is neither a "
            "JSON object nor a Python dict literal with an 'asin'. Pass a metadata "
            "(meta_*.json[.gz]) file, not a reviews file."
        )
    if not any(METADATA_KEYS.intersection(r) for r in json_records) and any(
        REVIEW_KEYS.intersection(r) for r in json_records
    ):
        raise DataError(
            f"{path} is an Amazon reviews file (reviewerID, overall, reviewText), not product "
            "metadata: co-purchase relations are in the category's metadata file "
            "(meta_<Category>.json.gz)."
        )
    if any("related" in record for record in json_records):
        return MetadataFormat.JSON_2014
    if any(KEYS_2018.intersection(record) for record in json_records):
        return MetadataFormat.JSON_2018
    return MetadataFormat.JSON_2014


def iter_records(
    path: Path, fmt: MetadataFormat | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, record)`` for every well-formed record, for inspection and tests.

    The pipeline itself uses :func:`iter_line_blocks` and parses whole blocks (possibly in
    worker processes); this is the simple one-record-at-a-time view of the same stream.
    """
    fmt = fmt or detect_format(path)
    status = open_stream(path)
    for block in iter_line_blocks(status):
        for offset, line in enumerate(block_lines(block)):
            if not line.strip():
                continue
            try:
                record = parse_line(line, fmt)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            if isinstance(record, dict):
                yield block.first_line + offset, record
