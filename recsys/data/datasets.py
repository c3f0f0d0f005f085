"""Dataset names -> metadata files: real category files (found or downloaded) or synthetic.

Names:
    ``electronics``, ``books``: UCSD's 2014 category files ``meta_Electronics.json.gz`` /
        ``meta_Books.json.gz``, looked for in ``<data_dir>/raw/`` and downloaded there when
        absent (from ``$RECSYS_DOWNLOAD_URL`` if set, else UCSD's published address).
    ``synthetic-small`` (the default), ``synthetic-electronics``, ``synthetic-books``:
        generated once by :mod:`recsys.data.synthetic` into ``<data_dir>/raw/`` and reused;
        an optional ``:SCALE`` suffix (``synthetic-electronics:0.05``) scales them.
    anything else: the path of a data file, its format told by its content
        (:mod:`recsys.data.formats.registry`): Amazon metadata, SNAP's amazon-meta.txt or
        a delimited pairs file.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm.auto import tqdm

from recsys.data.errors import DataError

DOWNLOAD_URL_ENV = "RECSYS_DOWNLOAD_URL"
DEFAULT_DOWNLOAD_URL = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/"
REAL_FILES = {"electronics": "meta_Electronics.json.gz", "books": "meta_Books.json.gz"}
SYNTHETIC_PRESETS = {
    "synthetic-small": "small",
    "synthetic-electronics": "electronics",
    "synthetic-books": "books",
}
SYNTHETIC_SEED = 0  # one fixed synthetic world per (preset, scale); splits vary by split_seed
DOWNLOAD_TIMEOUT_S = 60
SourceKind = Literal["real", "synthetic"]


@dataclass(frozen=True)
class DatasetSource:
    """Where a dataset's metadata file is and what it is."""

    name: str  # readable, file-name-safe: names the prepared folder
    path: Path
    kind: SourceKind
    preset: str | None = None  # synthetic only
    scale: float | None = None  # synthetic only
    seed: int | None = None  # synthetic only


def dataset_names() -> list[str]:
    """Every dataset name (a file path is accepted too)."""
    return [*REAL_FILES, *SYNTHETIC_PRESETS]


def download_url(file_name: str) -> str:
    """Where ``file_name`` is fetched from: ``$RECSYS_DOWNLOAD_URL`` or UCSD's address."""
    base = os.environ.get(DOWNLOAD_URL_ENV) or DEFAULT_DOWNLOAD_URL
    return base.rstrip("/") + "/" + file_name


def download(url: str, destination: Path, *, progress: bool = True) -> Path:
    """Fetch ``url`` to ``destination`` through a ``.part`` file, renamed only when complete.

    Raises:
        DataError: the download failed (offline, not found, cut off); nothing is left at
            ``destination`` and the message says where to put the file by hand.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with (
                partial.open("wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc=f"download {destination.name}",
                    disable=not progress,
                ) as bar,
            ):
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
        written = partial.stat().st_size
        if total is not None and written != total:
            raise DataError(f"download of {url} stopped after {written:,} of {total:,} bytes")
        if written == 0:
            raise DataError(f"download of {url} returned no data")
        partial.replace(destination)
    except (OSError, urllib.error.URLError, ValueError, DataError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", None) or error
        raise DataError(
            f"could not download {url}: {reason}. Without internet access, fetch "
            f"{destination.name} elsewhere and put it at {destination} (or set "
            f"{DOWNLOAD_URL_ENV} to a mirror)."
        ) from error
    return destination


def _real_source(name: str, raw_dir: Path, progress: bool) -> DatasetSource:
    file_name = REAL_FILES[name]
    path = raw_dir / file_name
    if not path.exists():
        download(download_url(file_name), path, progress=progress)
    return DatasetSource(name=name, path=path, kind="real")


def _synthetic_source(name: str, raw_dir: Path, progress: bool) -> DatasetSource:
    base, _, scale_text = name.partition(":")
    preset = SYNTHETIC_PRESETS[base]
    scale: float | None = None
    if scale_text:
        try:
            scale = float(scale_text)
        except ValueError:
            raise DataError(
                f"dataset {name!r}: {scale_text!r} is not a scale; write e.g. {base}:0.05"
            ) from None
    # Imported on use: generation code is not needed to read real files.
    from recsys.data.synthetic import PRESETS, default_file_name, resolve_sizes
    from recsys.data.synthetic import write_synthetic_metadata as write

    try:
        scale, _ = resolve_sizes(PRESETS[preset], scale)
    except ValueError as error:
        raise DataError(f"dataset {name!r}: {error}") from error
    path = raw_dir / default_file_name(preset, scale, SYNTHETIC_SEED)
    if not path.exists():
        raw_dir.mkdir(parents=True, exist_ok=True)
        path = write(path, preset, scale, SYNTHETIC_SEED, progress=progress)
    suffix = "" if scale == PRESETS[preset].default_scale else f"-x{scale:g}"
    return DatasetSource(
        name=f"{base}{suffix}",
        path=path,
        kind="synthetic",
        preset=preset,
        scale=scale,
        seed=SYNTHETIC_SEED,
    )


def _file_source(dataset: str) -> DatasetSource:
    path = Path(dataset).expanduser()
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.name.endswith((".json", ".json.gz")))
        hint = f" (it holds {', '.join(found[:3])}{', ...' if len(found) > 3 else ''})"
        raise DataError(
            f"{dataset!r} is a directory; pass one metadata .json / .json.gz file in it"
            + (hint if found else "")
        )
    if not path.is_file():
        raise DataError(
            f"{dataset!r} is neither a dataset name ({', '.join(dataset_names())}, optionally "
            "synthetic-...:SCALE) nor an existing data file (Amazon metadata .json / .json.gz, "
            "SNAP amazon-meta.txt, or a pairs file)."
        )
    stem = path.name.removesuffix(".gz")
    for suffix in (".json", ".jsonl", ".txt", ".csv", ".tsv"):
        stem = stem.removesuffix(suffix)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "dataset"
    kind: SourceKind = "synthetic" if stem.startswith("meta_synthetic-") else "real"
    return DatasetSource(name=name, path=path.resolve(), kind=kind)


def resolve_dataset(dataset: str, data_dir: Path, *, progress: bool = True) -> DatasetSource:
    """The metadata file behind a dataset name, fetching or generating it when needed.

    Raises:
        DataError: unknown name and no such file, a failed download, or a bad scale.
    """
    raw_dir = data_dir / "raw"
    key = dataset.strip().lower()
    if key in REAL_FILES:
        return _real_source(key, raw_dir, progress)
    if key.partition(":")[0] in SYNTHETIC_PRESETS:
        return _synthetic_source(key, raw_dir, progress)
    return _file_source(dataset)
