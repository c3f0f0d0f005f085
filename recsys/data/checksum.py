"""A file's sha256, streamed: the prepared-data cache key, a prepared folder's tables and
a generated file's record of itself all name their bytes by it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tqdm.auto import tqdm

HASH_CHUNK_BYTES = 4 << 20


def file_sha256(path: Path, *, progress: bool = False) -> str:
    """Hex sha256 of the file's bytes, read in chunks (files can be gigabytes); a progress
    bar for files of 256 MiB or more when ``progress``."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    with (
        path.open("rb") as handle,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"sha256 {path.name}",
            disable=not progress or size < (256 << 20),
        ) as bar,
    ):
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()
