"""SNAP's ``amazon-meta.txt`` (Amazon co-purchasing metadata, 2006): multi-line text records.

One record looks like this (a ``discontinued product`` record has only its first two lines)::

    Id:   1
    ASIN: 0827229534
      title: Patterns of Preaching: A Sermon Sampler
      group: Book
      salesrank: 396585
      similar: 5  0804215715  156101074X  0687023955  0687074231  082721619X
      categories: 2
       |Books[283155]|Subjects[1000]|Religion & Spirituality[22]|Christianity[12290]|...
       |Books[283155]|Subjects[1000]|Religion & Spirituality[22]|Christianity[12290]|...
      reviews: total: 2  downloaded: 2  avg rating: 5
        2000-7-28  cutomer: A2JW67OY8U6HHK  rating: 5  votes:  10  helpful:   9

The file is streamed in blocks cut at record starts; each field is found in a whole block
by one regular expression and assigned to its record by position (``np.searchsorted``), so
the dozens of review lines per record cost no Python at all. ``similar`` lists give the
pairs (relation ``similar``, weight 1.0 per pair, :mod:`recsys.data.assemble`). Side
information: category_1 is the ``group`` (Book, Music, DVD, Video), category_2 and
category_3 are the first category path's levels below its store and facet levels
(``Books`` / ``Subjects``: ``Religion & Spirituality``, ``Christianity``), sales_rank the
``salesrank``; there is no brand or price.

A record is malformed (counted, with its ``Id:`` line number) when it has no ``ASIN:``
line, its ``similar`` count disagrees with the asins listed, or it is neither discontinued
nor complete up to its ``reviews:`` line; the file's last record must also hold the review
lines it announces (``downloaded: N``), or it was cut off at the end of the file.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from recsys.data.assemble import assemble_pairs
from recsys.data.dataset import RELATION_SIMILAR
from recsys.data.errors import DataError
from recsys.data.formats.stream import StreamStatus, iter_line_blocks, open_stream
from recsys.data.parse import ParsedMetadata, ParseReport, stream_fields, table_fields

NAME = "snap-amazon-meta"
MAX_LINE_NUMBERS = 10
_START = re.compile(r"^Id:[ \t]*\d+", re.M)
_ASIN = re.compile(r"^ASIN:[ \t]*(\S+)", re.M)
_TITLE = re.compile(r"^[ \t]+title:[ \t]?([^\r\n]*)", re.M)
_GROUP = re.compile(r"^[ \t]+group:[ \t]*([^\r\n]*)", re.M)
_RANK = re.compile(r"^[ \t]+salesrank:[ \t]*(-?\d+)", re.M)
_SIMILAR = re.compile(r"^[ \t]+similar:[ \t]*(\d+)([^\r\n]*)", re.M)
_CATEGORY_PATH = re.compile(r"^[ \t]+categories:[ \t]*[1-9]\d*\r?\n[ \t]*(\|[^\r\n]*)", re.M)
_DISCONTINUED = re.compile(r"^[ \t]+discontinued product", re.M)
_REVIEWS = re.compile(r"^[ \t]+reviews:[ \t]*total:[ \t]*\d+[ \t]+downloaded:[ \t]*(\d+)", re.M)
_REVIEW_LINE = re.compile(r"^[ \t]+\d{4}-\d{1,2}-\d{1,2}[ \t]", re.M)
_LEVEL_ID = re.compile(r"\[\d*\]$")


def sniff(head: str) -> bool:
    """Whether the start of a file holds an ``Id:`` line followed by an ``ASIN:`` line."""
    return re.search(r"^Id:[ \t]*\d+\r?\nASIN:", head, re.M) is not None


@dataclass
class _Records:
    """Fields of every well-formed record read so far, and the similar entries."""

    asin: list[str] = field(default_factory=list)
    title: list[str | None] = field(default_factory=list)
    group: list[str | None] = field(default_factory=list)
    category_2: list[str | None] = field(default_factory=list)
    category_3: list[str | None] = field(default_factory=list)
    sales_rank: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    records: int = 0
    discontinued: int = 0
    with_similar: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)

    def bad(self, line: int) -> None:
        self.malformed += 1
        if len(self.malformed_lines) < MAX_LINE_NUMBERS:
            self.malformed_lines.append(line)


def _per_record(pattern: re.Pattern[str], text: str, starts: npt.NDArray[np.int64]) -> list[Any]:
    """The first match of ``pattern`` inside each record (None where there is none)."""
    found: list[Any] = [None] * starts.size
    matches = list(pattern.finditer(text))
    if matches:
        owner = np.searchsorted(starts, [m.start() for m in matches], side="right") - 1
        for index, match in zip(owner.tolist(), matches, strict=True):
            if index >= 0 and found[index] is None:
                found[index] = match
    return found


def _levels(path: str) -> tuple[str | None, str | None]:
    names = [_LEVEL_ID.sub("", level).strip() for level in path.strip().split("|")]
    names = [name for name in names if name]
    return (names[2] if len(names) > 2 else None, names[3] if len(names) > 3 else None)


def _text(match: re.Match[str] | None) -> str | None:
    return (match.group(1).strip() or None) if match is not None else None


def _read_block(text: str, first_line: int, out: _Records, last: bool) -> None:
    """Every record of ``text`` (which starts at a record start or before the first one)."""
    starts = np.array([m.start() for m in _START.finditer(text)], dtype=np.int64)
    if starts.size == 0:
        return
    fields = {
        name: _per_record(pattern, text, starts)
        for name, pattern in (
            ("asin", _ASIN),
            ("title", _TITLE),
            ("group", _GROUP),
            ("rank", _RANK),
            ("similar", _SIMILAR),
            ("path", _CATEGORY_PATH),
            ("discontinued", _DISCONTINUED),
            ("reviews", _REVIEWS),
        )
    }
    out.records += starts.size

    def bad(index: int) -> None:
        out.bad(first_line + text.count("\n", 0, int(starts[index])))

    for index in range(starts.size):
        asin = fields["asin"][index]
        if asin is None:
            bad(index)
            continue
        if fields["discontinued"][index] is not None:
            out.discontinued += 1
            continue
        reviews = fields["reviews"][index]
        if reviews is None:
            bad(index)
            continue
        if last and index == starts.size - 1:
            announced = int(reviews.group(1))
            if len(_REVIEW_LINE.findall(text, reviews.end())) < announced:
                bad(index)
                continue
        similar = fields["similar"][index]
        listed = similar.group(2).split() if similar is not None else []
        if similar is not None and int(similar.group(1)) != len(listed):
            bad(index)
            continue
        asin_text = asin.group(1)
        out.asin.append(asin_text)
        out.title.append(_text(fields["title"][index]))
        out.group.append(_text(fields["group"][index]))
        path = fields["path"][index]
        level_2, level_3 = _levels(path.group(1)) if path is not None else (None, None)
        out.category_2.append(level_2)
        out.category_3.append(level_3)
        rank = fields["rank"][index]
        out.sales_rank.append(float(rank.group(1)) if rank is not None else np.nan)
        if listed:
            out.with_similar += 1
            out.sources += [asin_text] * len(listed)
            out.targets += listed


def _record_blocks(status: StreamStatus) -> Iterator[tuple[str, int, bool]]:
    """``(text, first line number, is last)`` of consecutive runs of whole records."""
    pending = ""
    pending_line = 1
    for block in iter_line_blocks(status):
        text = pending + block.data.decode("utf-8", errors="replace")
        cut = text.rfind("\nId:") + 1
        if cut <= 0:
            pending = text
            continue
        yield text[:cut], pending_line, False
        pending_line += text.count("\n", 0, cut)
        pending = text[cut:]
    yield pending, pending_line, True


def read_snap_meta(path: Path) -> ParsedMetadata:
    """Read SNAP's amazon-meta text into products and unique ``similar`` pairs.

    Raises:
        DataError: no record in the file, or no pair.
    """
    started = time.perf_counter()
    status = open_stream(path)
    out = _Records()
    for text, first_line, last in _record_blocks(status):
        _read_block(text, first_line, out, last or status.truncated)
    if out.records == 0:
        raise DataError(f"{path}: no `Id:` record in its {status.lines:,} lines")
    side = pd.DataFrame(
        {
            "asin": out.asin,
            "title": out.title,
            "category_1": out.group,
            "category_2": out.category_2,
            "category_3": out.category_3,
            "sales_rank": np.array(out.sales_rank, dtype=np.float32),
        }
    )
    duplicated = side["asin"].duplicated()
    side = side[~duplicated].reset_index(drop=True)
    bits = np.full(len(out.sources), RELATION_SIMILAR, dtype=np.uint8)
    built = assemble_pairs(out.sources, out.targets, bits, None, side)
    if len(built.pairs) == 0:
        raise DataError(f"{path}: no product pairs (no record lists `similar` products)")
    pairs, products = built.pairs, built.products
    report = ParseReport(
        **stream_fields(status),
        **table_fields(products, pairs),
        source=str(path),
        format=NAME,
        records_read=out.records,
        records_kept=len(out.asin),
        malformed=out.malformed,
        malformed_lines=out.malformed_lines,
        duplicate_records=int(duplicated.sum()),
        relation_entries={"similar": len(out.sources)},
        relation_entries_kept={"similar": len(out.sources)},
        study_filters=False,
        pairs_per_relation={"similar": len(pairs)},
        workers=1,
        seconds=round(time.perf_counter() - started, 3),
        details={
            "discontinued": out.discontinued,
            "records_with_similar": out.with_similar,
            "self_pairs": built.self_pairs,
            "weights": "1.0 per distinct relation",
        },
    )
    return ParsedMetadata(products=products, pairs=pairs, report=report)
