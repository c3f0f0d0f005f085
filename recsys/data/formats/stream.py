"""Stream a data file in blocks of whole lines, gzip-compressed or not (told by its bytes).

Other containers (zip, tar, bzip2, xz, zstd, 7-Zip) are told by their first bytes and
refused with one line that says how to make a file recsys reads; so is UTF-16 text (a
byte-order mark, or NUL in every other byte), which Windows tools write: read on, it gave
ids full of NUL bytes, a mixed-delimiter error or the advice meant for Latin-1.

Every text format in this package reads through here. Reading is streamed in blocks of
whole lines, so a file of any size passes through a bounded buffer. A gzip stream that is
cut off (``EOFError`` / ``zlib.error`` mid-stream, as in the real
``meta_Digital_Music.truncated.json.gz``) ends the stream cleanly: every complete line
before the cut is kept, the partial last line is dropped and ``StreamStatus.truncated`` is
set.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.data.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
READ_BYTES = 1 << 20  # compressed bytes per read
BLOCK_BYTES = 1 << 20  # decompressed bytes of whole lines handed to a parser at once


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
    cr_line_ends: bool = False  # lines ended by CR alone (read as LF lines)


UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class LineBlock:
    """Consecutive whole lines of a file (each ends in ``\\n`` except possibly the last)."""

    first_line: int  # 1-based number of the block's first line
    data: bytes
    bytes_read: int  # on-disk bytes consumed when the block was cut (drives progress bars)


# Containers this package does not read, by their first bytes, and how to make a file it reads.
UNSUPPORTED_MAGIC = (
    (rb"PK\x03\x04", "a zip archive", "unzip it (`unzip FILE`) and pass the file inside"),
    (rb"BZh[1-9]1AY&SY", "bzip2-compressed", "recompress it: `bunzip2 -c FILE | gzip > FILE.gz`"),
    (rb"\xfd7zXZ\x00", "xz-compressed", "recompress it: `xz -dc FILE | gzip > FILE.gz`"),
    (rb"\x28\xb5\x2f\xfd", "zstd-compressed", "recompress it: `zstd -dc FILE | gzip > FILE.gz`"),
    (
        rb"7z\xbc\xaf\x27\x1c",
        "a 7-Zip archive",
        "extract it (`7z x FILE`) and pass the file inside",
    ),
)
TAR_MAGIC_OFFSET = 257  # "ustar" in a tar header, gzip-compressed or not
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little- and big-endian byte-order marks
UTF16_SNIFF_BYTES = 32  # NUL in every other one of these: ASCII text written as UTF-16


DATA_FILE_HINT = (
    "pass a dataset name (see `recsys prepare --help`) or the path of a data file (Amazon or "
    "SNAP metadata, or a pairs file)."
)


@dataclass(frozen=True)
class Unreadable:
    """Why a file cannot be read. ``advice`` says what to do when that does not depend on
    what the file was given as (a container to unpack); else None, and the caller names
    the file it expects (a dataset, a products file)."""

    reason: str  # "no such file", "empty (0 bytes)", "a zip archive, which recsys ..."
    advice: str | None = None


def _container(kind: str, advice: str) -> Unreadable:
    return Unreadable(f"{kind}, which recsys does not read (it reads plain text or gzip)", advice)


def _plain_start(start: bytes, compressed: bool) -> bytes:
    """The file's first (up to 512) bytes after gzip, or ``start`` itself when it is not
    gzip; empty when the gzip data is corrupt (the reader reports that)."""
    if not compressed:
        return start
    try:
        return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(start, 512)
    except zlib.error:
        return b""


def _tar_kind(plain: bytes, compressed: bool) -> str | None:
    """``a tar archive`` when the (gzip-decompressed) start is a tar header, else None."""
    if plain[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] != b"ustar":
        return None
    return "a gzip-compressed tar archive" if compressed else "a tar archive"


def _is_utf16(plain: bytes) -> bool:
    """A UTF-16 byte-order mark, or NUL in every other byte of the start (UTF-16 without a
    mark); neither occurs in UTF-8 text."""
    if plain.startswith(UTF16_BOMS):
        return True
    head = plain[: min(len(plain), UTF16_SNIFF_BYTES) // 2 * 2]
    return len(head) >= 4 and (not any(head[0::2]) or not any(head[1::2]))


def _utf16(path: Path, compressed: bool) -> Unreadable:
    name = path.name
    convert = (
        f"gunzip -c {name} | iconv -f utf-16 -t utf-8 | gzip > utf8_{name}"
        if compressed
        else f"iconv -f utf-16 -t utf-8 {name} > utf8_{name}"
    )
    return Unreadable(
        "UTF-16 text, which recsys does not read (it reads UTF-8)", f"convert it with `{convert}`"
    )


def unreadable(path: Path) -> Unreadable | None:
    """Why ``path`` cannot be read as a text data file (missing, not a file, empty, no read
    permission, a container recsys does not read, UTF-16 text), or None when it can be."""
    if not path.exists():
        return Unreadable("no such file")
    if not path.is_file():
        return Unreadable("not a file")
    if path.stat().st_size == 0:
        return Unreadable(
            "empty (0 bytes)",
            "an interrupted download or copy? Delete it and fetch the file again.",
        )
    try:
        with path.open("rb") as handle:
            start = handle.read(1 << 14)
    except OSError as error:
        why = error.strerror or error
        return Unreadable(
            f"unreadable ({why})", "check its permissions, or pass a copy you can read"
        )
    for magic, kind, advice in UNSUPPORTED_MAGIC:
        if re.match(magic, start, re.DOTALL):
            return _container(kind, advice)
    compressed = start[:2] == GZIP_MAGIC
    plain = _plain_start(start, compressed)
    tar = _tar_kind(plain, compressed)
    if tar is not None:
        return _container(tar, "extract it (`tar -xf FILE`) and pass the file inside")
    if _is_utf16(plain):
        return _utf16(path, compressed)
    return None


def check_readable(path: Path) -> int:
    """The file's size in bytes; a clear :class:`DataError` when it cannot be read."""
    problem = unreadable(path)
    if problem is None:
        return path.stat().st_size
    if problem.advice is None:  # what to pass instead: a dataset or a data file
        raise DataError(f"{path}: {problem.reason}; {DATA_FILE_HINT}")
    raise DataError(f"{path} is {problem.reason}: {problem.advice}")


def utf8_problem(path: Path, data: bytes) -> str:
    """Where ``data`` (the file's text) stops being UTF-8, and how to convert the file: the
    tail of an error message after the file's name. Python's decoder runs at C speed and
    only on this error path."""
    try:
        data.decode("utf-8")
        where = ""
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        where = f", line {line}: byte 0x{data[error.start]:02x} is not UTF-8"
    return (
        f"{where}: the file must be UTF-8 text; convert it, e.g. "
        f"`iconv -f latin1 -t utf-8 {path.name} > utf8_{path.name}` for Latin-1 (Windows-1252: "
        "-f cp1252)"
    )


def checked_stream(path: Path, size_bytes: int) -> StreamStatus:
    """A stream over a file its caller has already checked (:func:`unreadable`), so that
    each reader names the file as it knows it: gzip or not told by the magic bytes."""
    with path.open("rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC
    return StreamStatus(path=path, compressed=compressed, size_bytes=size_bytes)


def open_stream(path: Path) -> StreamStatus:
    """Check the file and sniff whether it is gzip-compressed (by its magic bytes)."""
    return checked_stream(path, check_readable(path))


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


def read_all(status: StreamStatus) -> bytes:
    """The whole decompressed file in memory (a cut-off gzip stream: what came before the
    cut, with ``status.truncated`` set), for readers that hand one buffer to a C parser.
    Lines ended by CR alone (classic Mac OS, Excel for Mac's "CSV (Macintosh)") become LF
    lines, which those parsers need; ``status.cr_line_ends`` says so."""
    data = b"".join(_decompressed_chunks(status, READ_BYTES))
    if data.startswith(UTF8_BOM):
        status.byte_order_mark = True
        data = data[len(UTF8_BOM) :]
    if status.truncated:  # the last line was cut off mid-record: not a record
        cut = data.rfind(b"\n") + 1
        if data[cut:].strip():
            status.dropped_partial_line = data.count(b"\n", 0, cut) + 1
        data = data[:cut]
    if b"\r" in data and b"\n" not in data:  # classic Mac OS line ends: CR alone
        data = data.replace(b"\r", b"\n")
        status.cr_line_ends = True
    status.lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    return data


def head_text(path: Path, n_bytes: int = 1 << 16) -> str:
    """The file's first ``n_bytes`` decompressed bytes as text (BOM stripped), for sniffing
    its format; ends at the last whole line when the file is longer."""
    status = open_stream(path)
    data = bytearray()
    for chunk in _decompressed_chunks(status, 1 << 14):
        data += chunk
        if len(data) >= n_bytes:
            cut = data.rfind(b"\n", 0, n_bytes) + 1
            del data[cut or n_bytes :]
            break
    return bytes(data).removeprefix(UTF8_BOM).decode("utf-8", errors="replace")
