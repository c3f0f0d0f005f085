"""Synthetic twins: a generated file shaped like a real data file.

``synthetic-like:FILE[:SCALE]`` prepares FILE (any format the project reads), fits a
preset to it (``fit.py``) and writes a file of ``SCALE`` times its products and pairs
(1.0 = the real file's size; up to ``TWIN_MAX_SCALE``): 2014-format metadata when FILE
describes its products, a pairs file when it does not (``pairs_writer.py``). The fitted
knobs are cached as JSON in ``<data_dir>/twins/``, keyed by FILE's sha256: a cache
written for other bytes (or by another fit version) is refitted, never reused, and the
generated file's name carries a digest of the knobs, so it is rebuilt with them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any

from recsys.data.synthetic.fit import (
    FIT_PRODUCTS,
    MIN_CATEGORY_PAIRS,
    Profile,
    degree_laws,
    fit_knobs,
    profile,
)
from recsys.data.synthetic.generate import write_synthetic_metadata
from recsys.data.synthetic.names import ELECTRONICS_NOUNS, ELECTRONICS_QUALIFIERS
from recsys.data.synthetic.pairs_writer import write_synthetic_pairs
from recsys.data.synthetic.presets import SyntheticPreset
from recsys.data.synthetic.shape import GraphShape

logger = logging.getLogger(__name__)

FIT_VERSION = 2  # bump when the fit or the generator changes what a knob means
TWIN_MAX_SCALE = 1000.0
TWIN_SEED = 0
START_DENSITY = 0.5
START_CROSS_SHARE = 0.2  # a start for the search; 0 (and kept) without categories
# Statistics of the real file kept beside the knobs (what the twin is checked against).
TARGET_KEYS = (
    "products", "pairs", "degree_median", "degree_p99", "degree_max", "degree1_share",
    "degree_gini", "metadata_share", "seen_share", "cold_start_share", "clustering",
    "same_category_share",
)  # fmt: skip
PRESET_FIELDS = (
    "root", "n_products", "n_pairs", "n_records", "metadata_share", "brand_empty_share",
    "relation_shares", "level1_count", "price_missing_share", "sales_rank_missing_share",
    "category_shares",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class TwinFit:
    """A real file's fitted preset, the statistics it was fitted to and the search trace."""

    source: str
    sha256: str
    name: str
    preset: SyntheticPreset
    targets: dict[str, float]
    trace: list[dict[str, Any]]
    seconds: float = 0.0  # how long the fit took (preparing the real file included)

    @property
    def side_info(self) -> bool:
        """Whether the real file describes any product; without, the twin is a pairs file."""
        return float(self.targets.get("metadata_share", 0.0)) > 0.0

    def digest(self) -> str:
        """Short hash of the knobs: names the files generated from them."""
        text = json.dumps(preset_to_json(self.preset), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def to_json(self) -> dict[str, Any]:
        return {
            "fit_version": FIT_VERSION,
            "source": self.source,
            "sha256": self.sha256,
            "name": self.name,
            "preset": preset_to_json(self.preset),
            "targets": {k: None if _nan(v) else v for k, v in self.targets.items()},
            "trace": self.trace,
            "seconds": round(self.seconds, 1),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TwinFit:
        return cls(
            source=data["source"],
            sha256=data["sha256"],
            name=data["name"],
            preset=preset_from_json(data["preset"]),
            targets={k: math.nan if v is None else v for k, v in data["targets"].items()},
            trace=data["trace"],
            seconds=float(data.get("seconds", 0.0)),
        )


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def level1_names(count: int) -> tuple[str, ...]:
    """Distinct made-up level-1 category names ("Bluetooth Adapters", ...)."""
    combos = [f"{q} {n}" for n in ELECTRONICS_NOUNS for q in ELECTRONICS_QUALIFIERS]
    return tuple(combos[:count])


def twin_preset(root: str, **fields: Any) -> SyntheticPreset:
    """A twin's preset from its fitted fields (names and limits filled in; the shape, when
    not given, is a placeholder for :func:`fit_shape` to replace)."""
    count = fields.get("level1_count") or 12
    return SyntheticPreset(
        default_scale=1.0,
        level1_names=level1_names(max(count, 2)),
        asin_style="b",
        brand_suffixes=("",),
        obscure_share=0.0,
        max_scale=TWIN_MAX_SCALE,
        root=root,
        **{k: v for k, v in fields.items() if k != "root"},
    )


def preset_to_json(spec: SyntheticPreset) -> dict[str, Any]:
    data = {key: getattr(spec, key) for key in PRESET_FIELDS}
    data["relation_shares"] = list(spec.relation_shares)
    data["category_shares"] = list(spec.category_shares)
    data["shape"] = spec.shape.to_json() if spec.shape is not None else None
    return data


def preset_from_json(data: dict[str, Any]) -> SyntheticPreset:
    fields = {key: data[key] for key in PRESET_FIELDS}
    fields["relation_shares"] = tuple(data["relation_shares"])
    fields["category_shares"] = tuple(data["category_shares"])
    return twin_preset(shape=GraphShape.from_json(data["shape"]), **fields)


def root_name(stem: str) -> str:
    """The twin's root category: the file's name, readable ("meta_Digital_Music" ->
    "Digital Music")."""
    return re.sub(r"^meta_", "", stem).replace("_", " ").strip() or "Products"


def _prepared(path: Path, data_dir: Path, progress: bool) -> tuple[Any, dict[str, Any]]:
    """The real file prepared with the default settings (cached) and its statistics."""
    from recsys.config import DataConfig  # imported on use: preparation imports datasets
    from recsys.data.prepare import prepare_dataset
    from recsys.data.statistics import dataset_statistics

    dataset = prepare_dataset(DataConfig(dataset=str(path), data_dir=data_dir), progress=progress)
    return dataset, dataset_statistics(dataset)


def fit_shape(
    start: SyntheticPreset, found: Profile, statistics: dict[str, Any]
) -> tuple[SyntheticPreset, list[dict[str, Any]]]:
    """Give ``start`` the real file's degree laws, then search the two structure knobs."""
    record_law, listed_law = degree_laws(found)
    fits_categories = found.category_pairs >= MIN_CATEGORY_PAIRS
    start = dataclasses.replace(
        start,
        shape=GraphShape(
            record_degree=record_law,
            listed_degree=listed_law,
            neighbour_share=START_DENSITY,
            cross_share=START_CROSS_SHARE if fits_categories else 0.0,
        ),
    )
    same = float(statistics["same_category_share"]) if fits_categories else math.nan
    return fit_knobs(
        start, {"clustering": float(statistics["clustering"]), "same_category_share": same}
    )


def fit_twin(path: Path, sha256: str, name: str, data_dir: Path, progress: bool) -> TwinFit:
    """Prepare the real file (default settings, cached), count, fit, return the knobs."""
    dataset, statistics = _prepared(path, data_dir, progress)
    found = profile(dataset)
    start = twin_preset(
        root=root_name(name),
        n_products=found.products,
        n_pairs=found.pairs,
        n_records=found.records_read,
        metadata_share=float(found.is_record.mean()),
        brand_empty_share=found.brand_empty_share,
        relation_shares=found.relation_shares,
        level1_count=found.level1_count,
        price_missing_share=found.price_missing_share,
        sales_rank_missing_share=found.sales_rank_missing_share,
        category_shares=found.category_shares,
    )
    logger.info("fitting a twin of %s (%d products) at <= %d products", path, found.products,
                FIT_PRODUCTS)  # fmt: skip
    spec, trace = fit_shape(start, found, statistics)
    return TwinFit(str(path), sha256, name, spec, _targets(statistics, found), trace)


def fit_preset(
    base: SyntheticPreset, path: Path, data_dir: Path, *, progress: bool = False
) -> TwinFit:
    """Re-calibrate a built-in preset to a real sample: the sample's degree laws (stretched
    at generation to the preset's pair count), clustering and same-category share; the
    preset keeps its own sizes, record share and side information."""
    from recsys.data.checksum import file_sha256

    dataset, statistics = _prepared(path, data_dir, progress)
    found = profile(dataset)
    spec, trace = fit_shape(base, found, statistics)
    name = dataset.name
    return TwinFit(str(path), file_sha256(path), name, spec, _targets(statistics, found), trace)


def _targets(statistics: dict[str, Any], found: Profile) -> dict[str, float]:
    targets = {key: float(statistics[key]) for key in TARGET_KEYS}
    targets["category_pairs"] = float(found.category_pairs)
    return targets


def load_or_fit(path: Path, name: str, data_dir: Path, *, progress: bool = True) -> TwinFit:
    """The cached fit of ``path`` when it was made for these bytes, else a new one.

    A cache for another sha256 or fit version, or one that cannot be read, is refitted
    and replaced (logged as a warning), never used.
    """
    from recsys.data.checksum import file_sha256

    sha256 = file_sha256(path, progress=progress)
    cache = data_dir / "twins" / f"{name}.json"
    if cache.exists():
        try:
            data = json.loads(cache.read_text())
            cached = TwinFit.from_json(data)
            if data.get("fit_version") == FIT_VERSION and cached.sha256 == sha256:
                return cached
            logger.warning(
                "%s was fitted to a file with sha256 %s (fit version %s); %s has %s: refitting",
                cache, cached.sha256[:12], data.get("fit_version"), path, sha256[:12],
            )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("cannot read %s (%s): refitting", cache, error)
    started = time.perf_counter()
    fit = dataclasses.replace(
        fit_twin(path, sha256, name, data_dir, progress),
        seconds=time.perf_counter() - started,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = cache.with_name(f".{cache.name}.{os.getpid()}.tmp")
    staging.write_text(json.dumps(fit.to_json(), indent=2) + "\n")
    os.replace(staging, cache)
    return fit


def twin_file_name(fit: TwinFit, scale: float, seed: int) -> str:
    """``meta_synthetic-like-<name>-<knobs digest>_scale<s>_seed<k>.json.gz``, or
    ``pairs_...csv.gz`` for a twin of a file without side information."""
    stem = f"synthetic-like-{fit.name}-{fit.digest()}_scale{scale:g}_seed{seed}"
    return f"meta_{stem}.json.gz" if fit.side_info else f"pairs_{stem}.csv.gz"


def write_twin(fit: TwinFit, path: Path, scale: float, seed: int, *, progress: bool) -> Path:
    """Generate the twin in its source's kind of file: Amazon 2014 metadata when the real
    file has side information, else a pairs file (``pairs_writer.py``)."""
    write = write_synthetic_metadata if fit.side_info else write_synthetic_pairs
    return write(path, fit.preset, scale, seed, progress=progress)
