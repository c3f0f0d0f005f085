"""Stream Amazon metadata files line by line and tell their format from their content.

McAuley's metadata comes in three shapes and the user never says which: the 2014
per-category files (one Python dict literal per line), the 2014 all-category
``metadata.json`` (strict JSON lines) and the 2018 files (strict JSON, relations as
top-level ``also_buy`` / ``also_view``). Any of them may be gzip-compressed or not; we look
at the bytes, not the file name.

Reading is streamed in blocks of whole lines, so a file of any size passes through a bounded
buffer. A gzip stream that is cut off (``EOFError`` / ``zlib.error`` mid-stream, as in the
real ``meta_Digital_Music.truncated.json.gz``) ends the stream cleanly: every complete line
before the cut is kept, the partial last line is dropped and ``StreamStatus.truncated`` is set.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from recsys.data.errors import DataError
from recsys.data.pyliteral import parse_python_literal

GZIP_MAGIC = b"\x1f\x8b"
READ_BYTES = 1 << 20  # compressed bytes per read
BLOCK_BYTES = 1 << 20  # decompressed bytes of whole lines handed to a parser at once
DETECT_LINES = 50  # records looked at to tell the format

# Top-level keys that only the 2018 files carry (they have no `related`).
KEYS_2018 = frozenset({"also_buy", "also_view", "main_cat", "category", "rank"})


class MetadataFormat(StrEnum):
    """The three shapes of McAuley's Amazon metadata."""

    PYTHON_2014 = "2014-python-literal"  # meta_<Category>.json.gz, 2014
    JSON_2014 = "2014-json"  # the all-category metadata.json, 2014
    JSON_2018 = "2018-json"  # meta_<Category>.json.gz, 2018


@dataclass
class StreamStatus:
    """What a stream learned while being read (filled in as it goes)."""

    path: Path
    compressed: bool
    size_bytes: int
    bytes_read: int = 0  # on-disk (compressed) bytes consumed so far
    lines: int = 0  # complete lines handed out
    truncated: bool = False
    truncation_reason: str | None = None
    dropped_partial_line: int | None = None  # number of the cut-off last line, if any
    byte_order_mark: bool = False  # a UTF-8 BOM opened the file (stripped, not a record)


UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LineBlock:
    """Consecutive whole lines of a file (each ends in ``\\n`` except possibly the last)."""

    first_line: int  # 1-based number of the block's first line
    data: bytes
    bytes_read: int  # on-disk bytes consumed when the block was cut (drives progress bars)


def check_readable(path: Path) -> int:
    """The file's size in bytes; a clear :class:`DataError` when it cannot be read."""
    if not path.exists():
        raise DataError(
            f"{path}: no such file. Pass a dataset name (see `recsys prepare --help`) or the "
            "path of an Amazon metadata .json / .json.gz file."
        )
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass the path of a metadata .json(.gz) file.")
    size = path.stat().st_size
    if size == 0:
        raise DataError(
            f"{path} is empty (0 bytes): an interrupted download or copy? Delete it and fetch "
            "the file again."
        )
    return size


def open_stream(path: Path) -> StreamStatus:
    """Check the file and sniff whether it is gzip-compressed (by its magic bytes)."""
    size = check_readable(path)
    with path.open("rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    return StreamStatus(path=path, compressed=compressed, size_bytes=size)


def _decompressed_chunks(status: StreamStatus, read_bytes: int) -> Iterator[bytes]:
    """Decompressed bytes of the file, stopping cleanly (and saying so) at a cut-off stream."""
    with status.path.open("rb") as handle:
        if not status.compressed:
            while chunk := handle.read(read_bytes):
                status.bytes_read += len(chunk)
                yield chunk
            return
        decoder: Any = None  # zlib.Decompress of the current gzip member
        while raw := handle.read(read_bytes):
            status.bytes_read += len(raw)
            while raw:
                if decoder is None:
                    decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
                try:
                    out = decoder.decompress(raw)
                except zlib.error as error:
                    status.truncated = True
                    status.truncation_reason = f"corrupt gzip data: {error}"
                    return
                if out:
                    yield out
                if not decoder.eof:
                    break
                # A gzip file may hold several members back to back (and zero padding, which
                # gzip itself skips): go on with the next member.
                raw = decoder.unused_data.lstrip(b"\x00")
                decoder = None
        if decoder is not None and not decoder.eof:
            tail = decoder.flush()
            if tail:
                yield tail
            status.truncated = True
            status.truncation_reason = "the gzip stream ends before its end-of-stream marker"


def iter_line_blocks(
    status: StreamStatus, block_bytes: int = BLOCK_BYTES, read_bytes: int = READ_BYTES
) -> Iterator[LineBlock]:
    """Blocks of whole lines, about ``block_bytes`` each, numbered from line 1."""
    pending = bytearray()
    next_line = 1
    at_start = True
    for chunk in _decompressed_chunks(status, read_bytes):
        pending += chunk
        if at_start and len(pending) >= len(UTF8_BOM):
            # Editors on Windows write a UTF-8 byte-order mark: it is not part of record 1.
            at_start = False
            if pending.startswith(UTF8_BOM):
                del pending[: len(UTF8_BOM)]
                status.byte_order_mark = True
        if len(pending) < block_bytes:
            continue
        cut = pending.rfind(b"\n") + 1
        if cut == 0:
            continue  # one very long line: keep reading until it ends
        data = bytes(pending[:cut])
        del pending[:cut]
        block = LineBlock(first_line=next_line, data=data, bytes_read=status.bytes_read)
        n_lines = data.count(b"\n")
        next_line += n_lines
        status.lines += n_lines
        yield block
    if status.truncated:
        # The last line was cut off mid-record: it is not a record, and not "malformed" either.
        cut = pending.rfind(b"\n") + 1
        if cut < len(pending) and pending[cut:].strip():
            status.dropped_partial_line = next_line + pending[:cut].count(b"\n")
        del pending[cut:]
    if pending:
        data = bytes(pending)
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        status.lines += n_lines
        yield LineBlock(first_line=next_line, data=data, bytes_read=status.bytes_read)


def block_lines(block: LineBlock) -> list[str]:
    """The block's lines as text (invalid UTF-8 bytes become U+FFFD rather than failing)."""
    lines = block.data.decode("utf-8", errors="replace").split("\n")
    if block.data.endswith(b"\n"):
        lines.pop()
    return lines


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
