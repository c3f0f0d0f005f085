"""Format records as the 2014 per-category files do and write them atomically.

Each line is ``repr`` of a Python dict (single-quoted strings), exactly what
``ast.literal_eval`` reads back, as in ``meta_<Category>.json.gz``. Everything but the
final per-record dict and ``repr`` is computed on arrays, one chunk of records at a time.
The gzip header carries no name or time, so a seed gives byte-identical files.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from recsys.data.synthetic.relations import RELATION_KEYS

CHUNK_RECORDS = 20_000
IMAGE_PREFIX = "http://ecx.images-amazon.com/images/I/"
_ALNUM = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_ASIN_MULTIPLIER = 1_000_003  # coprime with 10 and 36: id -> asin is a bijection


def encode_asins(n: int, style: str, rng: np.random.Generator) -> np.ndarray:
    """Distinct 10-character ASINs for ids 0..n-1, as an ``S10`` array.

    ``style="b"``: "B00" + 7 base-36 characters (Amazon's own ids); ``"isbn"``: 10 digits
    (books use their ISBN-10). Ids are shuffled, then spread by an affine bijection, so
    file order (sorted by asin, as in the real files) does not reveal the category tree.
    """
    base, width, prefix = (10, 10, b"") if style == "isbn" else (36, 7, b"B00")
    offset = int(rng.integers(0, base**width))
    code = (rng.permutation(n).astype(np.int64) * _ASIN_MULTIPLIER + offset) % base**width
    if n > base**width:
        raise ValueError(f"{n} products exceed the {base**width} distinct asins of style {style}")
    digits = np.empty((n, width), dtype=np.uint8)
    for col in range(width - 1, -1, -1):
        code, digits[:, col] = np.divmod(code, base)
    prefix_cols = np.broadcast_to(np.frombuffer(prefix, np.uint8), (n, len(prefix)))
    chars = np.concatenate([prefix_cols, _ALNUM[digits]], axis=1)
    return np.ascontiguousarray(chars).view(f"S{len(prefix) + width}").ravel()


def random_image_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """11 random alphanumerics per record, like the real image ids (``S11``)."""
    chars = _ALNUM[rng.integers(0, _ALNUM.shape[0], size=(n, 11))]
    return np.ascontiguousarray(chars).view("S11").ravel()


@dataclass(frozen=True)
class RecordColumns:
    """One row per record line, in file order; ``None`` / NaN / "" where a field is absent."""

    asin: list[str]
    title: list[str | None]  # None: the record has no title key
    price: np.ndarray  # float64, NaN: no price key
    image: list[str]
    sales_rank: np.ndarray  # int64, 0: no salesRank key
    category_path: list[list[str]]  # root first
    brand: list[str]


def format_line(
    row: int, cols: RecordColumns, related: dict[str, list[str]] | None, root: str
) -> str:
    """One record as the real files spell it (keys in the order most real lines use)."""
    record: dict[str, object] = {"asin": cols.asin[row]}
    title = cols.title[row]
    if title is not None:
        record["title"] = title
    price = float(cols.price[row])
    if price == price:  # not NaN
        record["price"] = price
    record["imUrl"] = IMAGE_PREFIX + cols.image[row] + ".jpg"
    if related is not None:
        record["related"] = related
    if cols.sales_rank[row] > 0:
        record["salesRank"] = {root: int(cols.sales_rank[row])}
    record["categories"] = [cols.category_path[row]]
    record["brand"] = cols.brand[row]
    return repr(record) + "\n"


def iter_related(
    list_ptr: np.ndarray, dst_asins: list[str], has_related: np.ndarray
) -> Iterator[dict[str, list[str]] | None]:
    """The ``related`` dict of each record of a chunk from CSR pointers.

    Args:
        list_ptr: (rows, 4) int64: entries of row r, relation k are
            ``dst_asins[list_ptr[r, k] : list_ptr[r, k + 1]]`` (relations in RELATION_KEYS
            order).
        dst_asins: the chunk's listed asins, flattened.
        has_related: (rows,) bool; False writes no ``related`` key at all.
    """
    for ptr, present in zip(list_ptr.tolist(), has_related.tolist(), strict=True):
        if not present:
            yield None
            continue
        related = {}
        for k, key in enumerate(RELATION_KEYS):
            if ptr[k + 1] > ptr[k]:
                related[key] = dst_asins[ptr[k] : ptr[k + 1]]
        yield related


def write_gzip_atomically(path: Path, chunks: Iterator[str], compresslevel: int = 6) -> Path:
    """Stream text chunks into ``path`` via a temporary file renamed at the end.

    A crash or Ctrl-C leaves no half-written file under the final name.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=compresslevel
            ) as out,
        ):
            for text in chunks:
                out.write(text.encode("utf-8"))
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def progress_bar(total: int, desc: str, enabled: bool) -> tqdm:
    """A records progress bar (to stderr), or a silent one when disabled."""
    return tqdm(total=total, desc=desc, unit="rec", unit_scale=True, disable=not enabled)
