"""Dataset names -> metadata files: real category files (found or downloaded) or synthetic.

Names:
    ``electronics``, ``books``: UCSD's 2014 category files ``meta_Electronics.json.gz`` /
        ``meta_Books.json.gz``, looked for in ``<data_dir>/raw/`` and downloaded there when
        absent (from ``$RECSYS_DOWNLOAD_URL`` if set, else UCSD's published address).
    ``synthetic-small`` (the default), ``synthetic-electronics``, ``synthetic-books``:
        generated once by :mod:`recsys.data.synthetic` into ``<data_dir>/raw/`` and reused;
        an optional ``:SCALE`` suffix (``synthetic-electronics:0.05``) scales them.
    ``synthetic-like:FILE[:SCALE]``: a twin of the data file FILE, generated with knobs
        fitted to it (:mod:`recsys.data.synthetic.twin`); SCALE 1.0 is FILE's size.
    anything else: the path of a data file, its format told by its content
        (:mod:`recsys.data.formats.registry`): Amazon metadata, SNAP's amazon-meta.txt or
        a delimited pairs file.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tqdm.auto import tqdm

from recsys.data.checksum import file_sha256
from recsys.data.errors import DataError

logger = logging.getLogger(__name__)

DOWNLOAD_URL_ENV = "RECSYS_DOWNLOAD_URL"
DEFAULT_DOWNLOAD_URL = "http://snap.stanford.edu/data/amazon/productGraph/categoryFiles/"
REAL_FILES = {"electronics": "meta_Electronics.json.gz", "books": "meta_Books.json.gz"}
SYNTHETIC_PRESETS = {
    "synthetic-small": "small",
    "synthetic-electronics": "electronics",
    "synthetic-books": "books",
    "synthetic-electronics-v1": "electronics-v1",  # the first generator, for old figures
    "synthetic-books-v1": "books-v1",
}
SYNTHETIC_SEED = 0  # one fixed synthetic world per (preset, scale); splits vary by split_seed
TWIN_PREFIX = "synthetic-like:"
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
    sha256: str | None = None  # the file's, when resolving it hashed it already (generated)


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
    scale = _parse_scale(name, scale_text, f"{base}:0.05")
    # Imported on use: generation code is not needed to read real files.
    from recsys.data.synthetic import PRESETS, default_file_name, resolve_sizes
    from recsys.data.synthetic import write_synthetic_metadata as write

    try:
        scale, _ = resolve_sizes(PRESETS[preset], scale)
    except ValueError as error:
        raise DataError(f"dataset {name!r}: {error}") from error
    path, sha256 = _generated(
        raw_dir / default_file_name(preset, scale, SYNTHETIC_SEED),
        lambda target: write(target, preset, scale, SYNTHETIC_SEED, progress=progress),
    )
    suffix = "" if scale == PRESETS[preset].default_scale else f"-x{scale:g}"
    return DatasetSource(
        name=f"{base}{suffix}",
        path=path,
        kind="synthetic",
        preset=preset,
        scale=scale,
        seed=SYNTHETIC_SEED,
        sha256=sha256,
    )


def _generated(path: Path, write: Callable[[Path], Path]) -> tuple[Path, str | None]:
    """A generated file (a synthetic preset, a twin) in ``raw/``, written once and reused
    while its bytes are those written: their sha256 is kept beside it (``<file>.sha256``),
    and a file that no longer matches (truncated, edited) is generated again with a
    warning. It was reused as it was: a cut-off file read as a smaller dataset under the
    same name (``file truncated`` among the skipped lines). A file generated before the
    digests were kept is not checked.

    Returns:
        (path, its sha256), the sha256 None when it was not computed (an unchecked file),
        so preparing does not hash the file a second time.
    """
    digest = path.with_name(path.name + ".sha256")
    if path.exists() and digest.exists():
        sha256 = file_sha256(path)
        if sha256 == digest.read_text().strip():
            return path, sha256
        logger.warning(
            "generated file %s is not the one written (its sha256 changed); generating it again",
            path,
        )
        path.unlink()
    elif path.exists():
        return path, None
    path.parent.mkdir(parents=True, exist_ok=True)
    path = write(path)
    sha256 = file_sha256(path)
    digest = path.with_name(path.name + ".sha256")
    staging = digest.with_name(f".{digest.name}.{os.getpid()}.tmp")
    try:  # written whole or not at all: a missing digest only leaves the file unchecked
        staging.write_text(sha256 + "\n")
        staging.replace(digest)
    except OSError as error:  # a full disk: the file itself was written
        staging.unlink(missing_ok=True)
        logger.warning("cannot keep the sha256 of %s (%s)", path, error.strerror or error)
    return path, sha256


def _parse_scale(dataset: str, text: str, example: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise DataError(
            f"dataset {dataset!r}: {text!r} is not a scale; write e.g. {example}"
        ) from None


def _twin_source(dataset: str, data_dir: Path, progress: bool) -> DatasetSource:
    """``synthetic-like:FILE[:SCALE]``: fit (or load the fit of) FILE, generate its twin."""
    spec = dataset.strip()[len(TWIN_PREFIX) :]
    head, colon, tail = spec.rpartition(":")
    file_text, scale_text = (
        (head, tail) if colon and Path(head).expanduser().is_file() else (spec, "")
    )
    path = Path(file_text).expanduser()
    if not file_text or not path.is_file():
        raise DataError(
            f"dataset {dataset!r}: {file_text!r} is not a file. Write "
            f"{TWIN_PREFIX}FILE[:SCALE], FILE a data file the project reads (Amazon "
            "metadata, SNAP amazon-meta.txt or a pairs file), e.g. "
            f"{TWIN_PREFIX}meta_Digital_Music.json.gz:10"
        )
    scale = _parse_scale(dataset, scale_text, f"{TWIN_PREFIX}{file_text}:10")
    # Imported on use: generation code is not needed to read real files.
    from recsys.data.synthetic.presets import resolve_sizes
    from recsys.data.synthetic.twin import TWIN_SEED, load_or_fit, twin_file_name, write_twin

    name = file_stem(path)

    @contextlib.contextmanager
    def twinning() -> Iterator[None]:
        """A fit or generator error is a graph it cannot imitate: one line naming the file."""
        try:
            yield
        except DataError:
            raise
        except (ValueError, RuntimeError) as error:
            raise DataError(
                f"dataset {dataset!r}: no synthetic twin of {file_text} ({error}); train on "
                "the file itself, or twin a larger or less concentrated sample"
            ) from error

    with twinning():
        fit = load_or_fit(path.resolve(), name, data_dir, progress=progress)
    try:
        scale, _ = resolve_sizes(fit.preset, scale)
    except ValueError as error:
        raise DataError(f"dataset {dataset!r}: {error}") from error

    def write_it(path: Path) -> Path:
        with twinning():
            return write_twin(fit, path, scale, TWIN_SEED, progress=progress)

    target, sha256 = _generated(data_dir / "raw" / twin_file_name(fit, scale, TWIN_SEED), write_it)
    suffix = "" if scale == 1.0 else f"-x{scale:g}"
    return DatasetSource(
        name=f"synthetic-like-{name}{suffix}",
        path=target,
        kind="synthetic",
        preset=f"like:{name}",
        scale=scale,
        seed=TWIN_SEED,
        sha256=sha256,
    )


# File names a data file usually has, plain or gzip-compressed (a directory's hint lists them).
DATA_SUFFIXES = tuple(
    f"{suffix}{gz}" for suffix in (".json", ".jsonl", ".txt", ".csv", ".tsv") for gz in ("", ".gz")
)


def file_stem(path: Path) -> str:
    """A file-name-safe name for a data file: its name without data suffixes."""
    stem = path.name.removesuffix(".gz")
    for suffix in (".json", ".jsonl", ".txt", ".csv", ".tsv"):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem) or "dataset"


def _file_source(dataset: str) -> DatasetSource:
    path = Path(dataset).expanduser()
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.name.endswith(DATA_SUFFIXES))
        hint = f" (it holds {', '.join(found[:3])}{', ...' if len(found) > 3 else ''})"
        raise DataError(
            f"{dataset!r} is a directory; pass one data file in it (Amazon metadata, SNAP "
            "amazon-meta.txt or a pairs file)" + (hint if found else "")
        )
    if not path.is_file():
        raise DataError(
            f"{dataset!r} is neither a dataset name ({', '.join(dataset_names())}, optionally "
            f"synthetic-...:SCALE, or {TWIN_PREFIX}FILE[:SCALE]) nor an existing data file "
            "(Amazon metadata .json / .json.gz, SNAP amazon-meta.txt, or a pairs file)."
            + _likely_name(dataset)
        )
    name = file_stem(path)
    kind: SourceKind = "synthetic" if name.startswith("meta_synthetic-") else "real"
    return DatasetSource(name=name, path=path.resolve(), kind=kind)


def _likely_name(dataset: str) -> str:
    """`` Did you mean 'synthetic-small'?`` for a near miss of a dataset name (its
    ``:SCALE`` kept), else ""."""
    name, colon, scale = dataset.strip().partition(":")
    close = difflib.get_close_matches(name.lower(), dataset_names(), n=1, cutoff=0.8)
    return f" Did you mean {close[0] + colon + scale!r}?" if close else ""


def _named_kind(dataset: str) -> Literal["twin", "real", "synthetic"] | None:
    """What a dataset name refers to, or None for the path of a data file."""
    key = dataset.strip().lower()
    if key.startswith(TWIN_PREFIX):
        return "twin"
    if key in REAL_FILES:
        return "real"
    if key.partition(":")[0] in SYNTHETIC_PRESETS:
        return "synthetic"
    return None


def check_dataset(dataset: str) -> None:
    """Raise the error :func:`resolve_dataset` would for a name that is neither a dataset
    nor a file, without fetching, generating or fitting anything: a command reports a typo
    before it opens the tracking store or starts work.

    Raises:
        DataError: as :func:`resolve_dataset` for an unknown name or a missing file.
    """
    if _named_kind(dataset) is None:
        _file_source(dataset)


def resolve_dataset(dataset: str, data_dir: Path, *, progress: bool = True) -> DatasetSource:
    """The metadata file behind a dataset name, fetching or generating it when needed.

    Raises:
        DataError: unknown name and no such file, a failed download, or a bad scale.
    """
    raw_dir = data_dir / "raw"
    key = dataset.strip().lower()
    kind = _named_kind(dataset)
    if kind == "twin":
        return _twin_source(dataset, data_dir, progress)
    if kind == "real":
        return _real_source(key, raw_dir, progress)
    if kind == "synthetic":
        return _synthetic_source(key, raw_dir, progress)
    return _file_source(dataset)
