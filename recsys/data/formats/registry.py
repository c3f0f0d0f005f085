"""Every input format by name, told apart by content: the one place `prepare` asks.

Detection looks at the first 64 KiB of the decompressed file, never its name: SNAP's
``amazon-meta.txt`` by its ``Id:`` / ``ASIN:`` lines, McAuley's Amazon metadata by lines
that open with ``{`` (its three shapes are then told apart by
:func:`recsys.data.formats.amazon.detect_format`), and a pairs file by two or more
delimited columns. The Amazon metadata are what remains, so a file that is none of these
gets the Amazon reader's error naming its first bad line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from recsys.config import RelationWeights
from recsys.data.errors import DataError
from recsys.data.formats import pairs_file, snap_meta
from recsys.data.formats.stream import StreamStatus, check_readable, head_text
from recsys.data.parse import ParsedMetadata, parse_metadata

AMAZON = "amazon-metadata"


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may use; each format says which options apply to it."""

    weights: RelationWeights | None = None  # Amazon relation weights
    study_filters: bool = True  # Amazon metadata only
    columns: str | None = None  # pairs files only
    header: bool | None = None  # pairs files only: None = detected
    products: StreamStatus | None = None  # pairs files only: opened (checked) by the caller
    progress: bool = False


@dataclass(frozen=True)
class InputFormat:
    name: str
    sniff: Callable[[str], bool]  # from the start of the file's text
    read: Callable[[Path, ReadOptions], ParsedMetadata]
    pairs_options: bool  # accepts --columns / --header / --products


def _read_amazon(path: Path, options: ReadOptions) -> ParsedMetadata:
    return parse_metadata(
        path,
        weights=options.weights,
        study_filters=options.study_filters,
        progress=options.progress,
    )


def _read_pairs(path: Path, options: ReadOptions) -> ParsedMetadata:
    return pairs_file.read_pairs_file(
        path, columns=options.columns, header=options.header, products=options.products
    )


def _read_snap(path: Path, options: ReadOptions) -> ParsedMetadata:
    return snap_meta.read_snap_meta(path)


def _looks_like_json_lines(head: str) -> bool:
    first = next((line for line in head.splitlines() if line.strip()), "")
    return first.lstrip().startswith("{")


FORMATS = (
    InputFormat(snap_meta.NAME, snap_meta.sniff, _read_snap, pairs_options=False),
    InputFormat(AMAZON, _looks_like_json_lines, _read_amazon, pairs_options=False),
    InputFormat(pairs_file.NAME, pairs_file.sniff, _read_pairs, pairs_options=True),
)


def detect_input_format(path: Path) -> InputFormat:
    """The format of ``path``, from its content (Amazon metadata when nothing else fits)."""
    check_readable(path)
    head = head_text(path)
    return next((fmt for fmt in FORMATS if fmt.sniff(head)), FORMATS[1])


def read_input(path: Path, options: ReadOptions) -> ParsedMetadata:
    """Detect the format of ``path`` and read it.

    Raises:
        DataError: an option the format does not take, or anything its reader raises.
    """
    fmt = detect_input_format(path)
    pairs_only = {
        "--columns": options.columns,
        "--header / --no-header": options.header is not None,
        "--products": options.products,
    }
    given = next((option for option, value in pairs_only.items() if value), None)
    if not fmt.pairs_options and given:
        raise DataError(
            f"{given} applies to a pairs file; {path} is read as {fmt.name}, which names its "
            "columns and carries its own product fields"
        )
    return fmt.read(path, options)
