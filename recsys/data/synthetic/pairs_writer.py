"""A twin of a file without side information is a pairs file, as its source was.

A pairs file (a SNAP edge list, an order export) says only which products go together,
and its twin says the same and no more. Written in the 2014 format instead, the twin's
records would carry titles, categories and prices the source never had: its products
would count as having metadata, and validation pairs between them as a cold-start slice
the real file does not have. The related lists are drawn as for a metadata twin
(:func:`recsys.data.synthetic.generate.draw_lists`); each list entry is one ``a,b`` row,
and reading the file merges both directions and repeats into one pair, as for the source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from recsys.data.synthetic.generate import PROGRESS_MIN_RECORDS, draw_lists
from recsys.data.synthetic.presets import SyntheticPreset, resolve_sizes
from recsys.data.synthetic.writer import encode_asins, progress_bar, write_gzip_atomically

logger = logging.getLogger(__name__)

CHUNK_ROWS = 1_000_000
HEADER = "item_a,item_b\n"


def write_synthetic_pairs(
    path: Path,
    spec: SyntheticPreset,
    scale: float | None,
    seed: int,
    *,
    progress: bool | None = None,
) -> Path:
    """Write ``spec``'s lists at ``scale`` as a gzip CSV of product-id pairs.

    Byte-identical for the same (preset, scale, seed). Only the records that pass the
    study filters are drawn: the ones a metadata twin adds to fail them have no pairs
    that survive, and a pairs file has no filters to fail. ``progress`` ``None`` shows a
    bar only for 100k records or more.
    """
    scale, sizes = resolve_sizes(spec, scale)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    show = sizes.n_kept >= PROGRESS_MIN_RECORDS if progress is None else progress
    _, _, lists = draw_lists(spec, sizes, rng, progress=show)
    asins = encode_asins(sizes.n_products, spec.asin_style, rng)
    comment = f"# synthetic twin: {spec.root}, scale {scale:g}, seed {seed}\n"
    bar = progress_bar(lists.src.shape[0], f"writing {Path(path).name}", show)
    written = write_gzip_atomically(
        Path(path), _rows(comment, asins, lists.src, lists.dst, bar.update)
    )
    bar.close()
    logger.info(
        "wrote %s (%d rows) in %.1f s", path, lists.src.shape[0], time.perf_counter() - started
    )
    return written


def _rows(
    comment: str,
    asins: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    advance: Callable[[int], object],
) -> Iterator[str]:
    """The file's text: the comment, the header, then ``a,b`` rows a chunk at a time.

    Every asin has the same width, so a chunk of rows is one (rows, 2 * width + 2) byte
    array, not a Python string per row.
    """
    yield comment + HEADER
    width = asins.dtype.itemsize
    for begin in range(0, src.shape[0], CHUNK_ROWS):
        end = min(src.shape[0], begin + CHUNK_ROWS)
        line = np.empty((end - begin, 2 * width + 2), dtype=np.uint8)
        line[:, :width] = asins[src[begin:end]].view(np.uint8).reshape(-1, width)
        line[:, width] = ord(",")
        line[:, width + 1 : -1] = asins[dst[begin:end]].view(np.uint8).reshape(-1, width)
        line[:, -1] = ord("\n")
        yield line.tobytes().decode("ascii")
        advance(end - begin)
