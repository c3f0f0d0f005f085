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

import numpy as np
import pandas as pd

from recsys.data.assemble import assemble_pairs
from recsys.data.dataset import RELATION_SIMILAR
from recsys.data.errors import DataError
from recsys.data.formats.stream import StreamStatus, iter_line_blocks, open_stream
from recsys.data.parse import ParsedMetadata, ParseReport, stream_fields, table_fields

NAME = "snap-amazon-meta"
MAX_LINE_NUMBERS = 10
# A record, after its "Id:": one anchored match captures every field up to the first
# category path (about 3x faster than one search per field over a block, measured); the
# review lines after it are never looked at, except in the file's last record.
_RECORD = re.compile(
    r"[ \t]*\d+[ \t]*\r?\nASIN:[ \t]*(?P<asin>\S+)[^\n]*\n"
    r"(?P<discontinued>[ \t]+discontinued product)?"
    r"(?:[ \t]+title:[ \t]?(?P<title>[^\r\n]*)\r?\n)?"
    r"(?:[ \t]+group:[ \t]*(?P<group>[^\r\n]*)\r?\n)?"
    r"(?:[ \t]+salesrank:[ \t]*(?P<rank>-?\d+)[^\n]*\n)?"
    r"(?:[ \t]+similar:[ \t]*(?P<n_similar>\d+)(?P<similar>[^\r\n]*)\r?\n)?"
    r"(?:[ \t]+categories:[ \t]*[1-9]\d*[^\n]*\n[ \t]*(?P<path>\|[^\r\n]*))?"
)
_REVIEWS = re.compile(r"\n[ \t]+reviews:[ \t]*total:[ \t]*\d+[ \t]+downloaded:[ \t]*(\d+)")
_REVIEW_LINE = re.compile(r"\n[ \t]+\d{4}-\d{1,2}-\d{1,2}[ \t]")
_LEVEL_NAME = re.compile(r"\|([^|\[]*)\[")


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

    def wants_lines(self) -> bool:
        return len(self.malformed_lines) < MAX_LINE_NUMBERS

    def bad(self, line: int) -> None:
        self.malformed += 1
        if self.wants_lines():
            self.malformed_lines.append(line)


def _levels(path: str) -> tuple[str | None, str | None]:
    """The path's third and fourth non-empty level names (below store and facet)."""
    names = [name for name in _LEVEL_NAME.findall(path) if name.strip()]
    return (
        names[2].strip() if len(names) > 2 else None,
        names[3].strip() if len(names) > 3 else None,
    )


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


def _read_block(text: str, first_line: int, out: _Records, last: bool) -> None:
    """Every record of ``text`` (which starts at a record start or before the first one)."""
    text = "\n" + text
    chunks = text.split("\nId:")  # chunks[0] is a header or empty: not a record
    out.records += len(chunks) - 1
    offset = len(chunks[0])  # of the record's "\nId:" in text

    def bad() -> None:  # line numbers are counted only for the few that are reported
        out.bad(first_line + text.count("\n", 1, offset + 1) if out.wants_lines() else 0)

    for number, chunk in enumerate(chunks[1:], start=1):
        if number > 1:
            offset += len(chunks[number - 1]) + 4
        fields = _RECORD.match(chunk)
        if fields is None:
            bad()
            continue
        if fields["discontinued"] is not None:
            out.discontinued += 1
            continue
        reviews = _REVIEWS.search(chunk, fields.end() - 1)
        if reviews is None or (
            last
            and number == len(chunks) - 1
            and len(_REVIEW_LINE.findall(chunk, reviews.end())) < int(reviews.group(1))
        ):
            bad()  # incomplete: cut off before its reviews end
            continue
        listed = fields["similar"].split() if fields["similar"] is not None else []
        if fields["n_similar"] is not None and int(fields["n_similar"]) != len(listed):
            bad()
            continue
        asin = fields["asin"]
        out.asin.append(asin)
        out.title.append(_text(fields["title"]))
        out.group.append(_text(fields["group"]))
        path = fields["path"]
        level_2, level_3 = _levels(path) if path is not None else (None, None)
        out.category_2.append(level_2)
        out.category_3.append(level_3)
        rank = fields["rank"]
        out.sales_rank.append(float(rank) if rank is not None else np.nan)
        if listed:
            out.with_similar += 1
            out.sources += [asin] * len(listed)
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
