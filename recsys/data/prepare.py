"""Prepare a dataset once: resolve it, parse it, split it, cache it keyed by its inputs.

The cache folder is ``<data_dir>/prepared/<name>-<key>/`` where ``key`` hashes the input
file's content (sha256, streamed), the filters, the relation weights, a pairs file's
``columns`` and products file (by content), the split settings (fraction, seed) and
:data:`FORMAT_VERSION`. The input's format is detected by
:mod:`recsys.data.formats.registry`. A second call with the
same inputs loads the folder without parsing; a changed file or setting lands in a new
folder. A folder whose tables cannot be read, or differ from the sha256 its manifest
recorded for them, is rebuilt with a warning. Every later stage (walks, training,
tracking) starts from the :class:`PreparedDataset` returned here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recsys.config import DataConfig
from recsys.data.checksum import file_sha256
from recsys.data.dataset import PROTOCOLS, PreparedDataset, load_prepared, save_prepared
from recsys.data.datasets import DatasetSource, resolve_dataset
from recsys.data.errors import DataError
from recsys.data.formats.products_file import open_products_file
from recsys.data.formats.registry import ReadOptions, read_input
from recsys.data.formats.stream import StreamStatus
from recsys.data.split import (
    FEW_POSITIVES_WARNING,
    MATCHED_DISTANCE_WARNING,
    TYPICAL_AUC,
    auc_half_interval,
    split_pairs,
)

logger = logging.getLogger(__name__)

# Bump whenever parsing or splitting would give different tables for the same inputs, so
# old cache folders are not reused. 2: item_id order and the negative-draw algorithm changed
# since v1 caches were written; validation_negatives joined the settings. 3: both negative
# sets (study and matched) in every dataset, validation_negatives gone. 4: pairs-file rows of
# weight 0 dropped (they were kept as zero-weight pairs training refused), and so are
# Amazon pairs only in relations weighted 0; relation names lowercased and trimmed, a blank
# one co_purchase.
FORMAT_VERSION = 4


def cache_settings(
    config: DataConfig, sha256: str, products_sha256: str | None = None
) -> dict[str, Any]:
    """Everything the prepared tables depend on (the data directory and name do not).

    A pairs file's options enter only when given, so the keys of other datasets stay as
    they were; the products file enters by its content's hash, not its path.
    """
    settings: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "sha256": sha256,
        "study_filters": config.study_filters,
        "weights": config.weights.model_dump(),
        "validation_fraction": config.validation_fraction,
        "split_seed": config.split_seed,
    }
    if config.columns is not None:
        settings["columns"] = config.columns
    if config.header is not None:
        settings["header"] = config.header
    if products_sha256 is not None:
        settings["products_sha256"] = products_sha256
    return settings


def cache_key(config: DataConfig, sha256: str, products_sha256: str | None = None) -> str:
    """Short hash of :func:`cache_settings`: names the cache folder."""
    text = json.dumps(cache_settings(config, sha256, products_sha256), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _open_products(config: DataConfig) -> StreamStatus | None:
    """The products file's stream, checked here, where its path comes in: hashing it
    needs a readable file, and the reader then trusts this check."""
    return None if config.products is None else open_products_file(config.products)


def _products_sha256(products: StreamStatus | None, progress: bool) -> str | None:
    return None if products is None else file_sha256(products.path, progress=progress)


def _build(
    config: DataConfig,
    source: DatasetSource,
    sha256: str,
    products: StreamStatus | None,
    products_sha256: str | None,
    progress: bool,
) -> PreparedDataset:
    """Parse and split the source; the dataset plus its manifest."""
    started = time.perf_counter()
    options = ReadOptions(
        weights=config.weights,
        study_filters=config.study_filters,
        columns=config.columns,
        header=config.header,
        products=products,
        progress=progress,
    )
    parsed = read_input(source.path, options)
    try:
        split = split_pairs(
            parsed.pairs,
            len(parsed.products),
            config.validation_fraction,
            np.random.default_rng(config.split_seed),
        )
    except DataError as error:  # the split knows pairs, not where they came from
        raise DataError(f"{source.path}: {error}") from None
    report = parsed.report
    validation = split.validation
    positives = int((validation.label == 1).sum())
    manifest = {
        "name": source.name,
        **cache_settings(config, sha256, products_sha256),
        "dataset": config.dataset,
        "products_file": None if config.products is None else str(config.products),
        "source": str(source.path),
        "source_kind": source.kind,
        "synthetic": (
            {"preset": source.preset, "scale": source.scale, "seed": source.seed}
            if source.kind == "synthetic"
            else None
        ),
        **report.manifest_entries(),
        "n_train": len(split.train),
        "n_validation_positives": positives,
        # Each protocol's negative set has this many pairs (as many as the positives).
        "n_validation_negatives": len(validation.protocol_rows("study")) - positives,
        "validation_protocols": list(PROTOCOLS),
        "n_seen": int(validation.seen.sum()),
        "n_seen_positives": int(validation.seen[validation.label == 1].sum()),
        "matched_negatives_distance": round(split.matched_distance, 4),
        "prepare_seconds": round(time.perf_counter() - started, 3),
        "prepared_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return PreparedDataset(
        name=source.name,
        products=parsed.products,
        train=split.train,
        validation=validation,
        manifest=manifest,
    )


def _warn_unmatched(dataset: PreparedDataset) -> None:
    """One line when the matched negatives could not follow the positives' degrees (a hub
    in every positive): that protocol's AUC then still rewards popularity."""
    distance = dataset.manifest.get("matched_negatives_distance")
    if distance is not None and distance > MATCHED_DISTANCE_WARNING:
        logger.warning(
            "%s: the matched negatives' product counts are %.3f from the positives' "
            "(total-variation distance, above %.2g): the matched protocol is unreliable on "
            "this dataset (popularity still separates positives from negatives)",
            dataset.name,
            distance,
            MATCHED_DISTANCE_WARNING,
        )


def _warn_few_positives(dataset: PreparedDataset) -> None:
    """One line when the validation positives are too few for AUCs to tell methods apart
    (each run still reports its interval; this says so before any run, with the width)."""
    positives = dataset.manifest.get("n_validation_positives")
    if positives is None or positives >= FEW_POSITIVES_WARNING:
        return
    negatives = dataset.manifest.get("n_validation_negatives") or positives
    logger.warning(
        "%s: only %d validation positives (fewer than %d): an AUC's 95%% interval is about "
        "±%.2f at AUC %.1f, so methods closer than that cannot be told apart; use a dataset "
        "with more pairs or a larger --validation-fraction / -P validation_fraction",
        dataset.name,
        positives,
        FEW_POSITIVES_WARNING,
        auc_half_interval(TYPICAL_AUC, positives, negatives),
        TYPICAL_AUC,
    )


def _warn_about(dataset: PreparedDataset) -> None:
    """Every warning a prepared dataset calls for, said the same whether it was built or
    loaded from the cache (a cached dataset is as unreliable as when it was built)."""
    _warn_unmatched(dataset)
    _warn_few_positives(dataset)


def _load_cached(folder: Path) -> PreparedDataset | None:
    """The cached dataset, or None after removing a folder whose tables cannot be read
    (a truncated Parquet file, a table missing): it is rebuilt, never half-used.

    Raises:
        DataError: the broken folder cannot be removed (a read-only data folder).
    """
    try:
        return load_prepared(folder)
    except Exception as error:  # pyarrow, JSON and key errors alike: the folder is unusable
        logger.warning("prepared cache %s cannot be read (%s); rebuilding it", folder, error)
        try:
            shutil.rmtree(folder)
        except OSError as removal:
            raise DataError(
                f"the prepared cache {folder} cannot be read ({error}) nor removed "
                f"({removal}); remove it (rm -r {folder}) or use another --data-dir"
            ) from None
        return None


def _check_data_dir(data_dir: Path) -> None:
    """The data folder exists or can be made; else one error naming it (an existing
    read-only folder is fine: prepared data is read from it, walks go to the user cache)."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"data_dir {data_dir} is a file; pass --data-dir / -P data_dir=<a folder>.")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"data_dir {data_dir} cannot be created ({error.strerror or error}); pass "
            "--data-dir / -P data_dir=<a folder you can write to>."
        ) from error


def prepare_dataset(config: DataConfig, *, progress: bool = True) -> PreparedDataset:
    """The prepared dataset for ``config``, from the cache when its inputs are unchanged.

    Args:
        config: which dataset and how to filter and split it.
        progress: show progress bars (download, hashing large files, parsing).

    Returns:
        The dataset, with ``folder`` set to its cache folder and ``manifest`` describing
        the source, what was read, kept and skipped, and the split;
        ``manifest["cache_hit"]`` says whether it was loaded rather than built.

    Raises:
        DataError: the dataset cannot be found, fetched or parsed, or yields no pairs.
    """
    _check_data_dir(config.data_dir)
    source = resolve_dataset(config.dataset, config.data_dir, progress=progress)
    sha256 = source.sha256 or file_sha256(source.path, progress=progress)
    products = _open_products(config)
    products_sha256 = _products_sha256(products, progress)
    key = cache_key(config, sha256, products_sha256)
    folder = config.data_dir / "prepared" / f"{source.name}-{key}"
    if (folder / "manifest.json").exists():
        cached = _load_cached(folder)
        if cached is not None:
            logger.info("loaded prepared %s from %s", source.name, folder)
            _warn_about(cached)
            return dataclasses.replace(cached, manifest={**cached.manifest, "cache_hit": True})
    dataset = _build(config, source, sha256, products, products_sha256, progress)
    dataset = dataclasses.replace(dataset, manifest={**dataset.manifest, "cache_key": key})
    _warn_about(dataset)
    # Write beside the final folder, then rename: a crash never leaves a half folder that
    # looks prepared, and two processes preparing the same data do not mix their files.
    staging = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        save_prepared(dataset, staging)
    except OSError as error:  # a read-only or full data folder
        shutil.rmtree(staging, ignore_errors=True)
        raise DataError(
            f"the prepared {source.name} cannot be written under {config.data_dir} "
            f"({error.strerror or error}); pass --data-dir / -P data_dir=<a folder you can "
            "write to>."
        ) from error
    if folder.exists() and not (folder / "manifest.json").exists():
        shutil.rmtree(folder)  # an unfinished folder from an older, interrupted run
    try:
        staging.rename(folder)
    except OSError:  # another process finished first: keep its folder
        shutil.rmtree(staging, ignore_errors=True)
        if not (folder / "manifest.json").exists():
            raise
    logger.info("prepared %s into %s", source.name, folder)
    return dataclasses.replace(
        dataset, folder=folder, manifest={**dataset.manifest, "cache_hit": False}
    )
