"""Facts about a run's context that become tags and params: source, checksum, device, commit.

Small pure functions, each saying where its answer comes from, so a tag never silently
claims more than was measured (a checksum of the prepared tables is not one of the file).
"""

from __future__ import annotations

import hashlib
import resource
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.tracking.names import SOURCE_REAL, SOURCE_SYNTHETIC, VARIANT_FIELDS
from recsys.tracking.params import flat_fields, param_text

CHECKSUM_KEYS = ("sha256", "checksum", "source_sha256", "input_sha256")
SYNTHETIC_SOURCES = ("synthetic", "planted")


def variant_of(method_name: str, config: BaseModel) -> str:
    """The run's variant ("binary", "learned", ...), or "" for methods without variants.

    Runs scored the study's way (``pair_score=center``) add "center", runs with the fitted
    degree prior "prior", so the leaderboard keeps them apart from the method's default.
    """
    parts = []
    field = VARIANT_FIELDS.get(method_name)
    if field is not None and hasattr(config, field):
        parts.append(str(getattr(config, field)))
    if getattr(config, "pair_score", None) == "center":
        parts.append("center")
    if getattr(config, "degree_prior", False):
        parts.append("prior")
    return "-".join(parts)


def settings_in_variant(method_name: str, variant: str) -> set[str]:
    """The settings, as :func:`settings_of` writes them, that a variant from
    :func:`variant_of` says already (``learned-center``: ``weighting=learned``,
    ``pair_score=center``), so a label showing the variant need not repeat them."""
    parts = variant.split("-") if variant else []
    said = set()
    field = VARIANT_FIELDS.get(method_name)
    if field is not None and parts:
        said.add(f"{field}={parts[0]}")
    if "center" in parts:
        said.add("pair_score=center")
    if "prior" in parts:
        said.add("degree_prior=true")
    return said


# Settings that change how a run is carried out, observed or seeded, not what it learns.
OPERATIONAL_SETTINGS = frozenset(
    {
        "device",
        "progress",
        "threads",
        "workers",
        "checkpoint_dir",
        "eval_every",
        "eval_sample",
        "loss_every",
        "seed",
        "walk_seed",
    }
)


def _setting_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def settings_of(config: BaseModel) -> str:
    """The run's settings away from its method's defaults, ``name=value`` comma-separated
    ("" for the defaults): ``preset=NAME`` first when one is named, then what differs from
    that preset. A leaderboard row is its method's best run over any settings, so the row
    says which ones; operational settings (threads, seeds, ...) and those the run does not
    use are left out."""
    preset = getattr(config, "preset", None)
    named = preset not in (None, "default")
    baseline = type(config)(preset=preset) if named else type(config)()
    unused: frozenset[str] = getattr(config, "unused_settings", frozenset)()
    changed = [f"preset={preset}"] if named else []
    for name, flat in flat_fields(type(config)).items():
        if name in OPERATIONAL_SETTINGS or name in unused or name == "preset":
            continue
        value, default = config, baseline
        for step in flat.path:
            value, default = getattr(value, step), getattr(default, step)
        if value != default:
            changed.append(f"{name}={_setting_text(value)}")
    return ", ".join(changed)


# DataConfig's settings of the evaluation alone: the prepared data (its key) is the same
# whatever they are, so a run away from their defaults says so in its settings.
EVALUATION_SETTINGS = ("ranking_queries",)


def run_settings(config: BaseModel, data_config: DataConfig) -> str:
    """:func:`settings_of` the method's config, then the evaluation's settings away from
    their defaults (``ranking_queries=50``: its ranking metrics come from 50 queries, not
    up to 10,000), which the data key does not tell apart."""
    method_settings = settings_of(config)
    changed = [method_settings] if method_settings else []
    for name in EVALUATION_SETTINGS:
        value = getattr(data_config, name)
        if value != DataConfig.model_fields[name].default:
            changed.append(f"{name}={_setting_text(value)}")
    return ", ".join(changed)


def _manifest_value(manifest: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """The first of ``keys`` found at the top level or one level down (e.g. source.sha256)."""
    for key in keys:
        if manifest.get(key) not in (None, ""):
            return manifest[key]
    for value in manifest.values():
        if isinstance(value, Mapping):
            found = _manifest_value(value, keys)
            if found is not None:
                return found
    return None


def dataset_source(dataset: str, manifest: Mapping[str, Any]) -> str:
    """The manifest's ``source_kind`` ("real" | "synthetic") when it has one; else
    "synthetic" when the dataset name or the manifest's ``source`` says so; else "real"."""
    kind = manifest.get("source_kind")
    if kind in (SOURCE_REAL, SOURCE_SYNTHETIC):
        return str(kind)
    if dataset.startswith("synthetic"):
        return SOURCE_SYNTHETIC
    source = manifest.get("source")
    if isinstance(source, str) and source.lower() in SYNTHETIC_SOURCES:
        return SOURCE_SYNTHETIC
    return SOURCE_REAL


def prepared_checksum(dataset: PreparedDataset) -> str:
    """sha256 over the prepared pair tables and asins (for data with no input file)."""
    digest = hashlib.sha256()
    for array in (
        dataset.train.item_a,
        dataset.train.item_b,
        dataset.train.weight,
        dataset.validation.item_a,
        dataset.validation.item_b,
        dataset.validation.label,
    ):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\n".join(dataset.products["asin"].astype(str)).encode())
    return digest.hexdigest()


def dataset_checksum(dataset: PreparedDataset) -> str:
    """The input file's sha256 from the manifest, else ``prepared:<sha256 of the tables>``."""
    value = _manifest_value(dataset.manifest, CHECKSUM_KEYS)
    if isinstance(value, str) and value:
        return value
    return f"prepared:{prepared_checksum(dataset)}"


def data_key(dataset: PreparedDataset) -> str:
    """The prepared data's key: its cache key (a hash of the input's content and of every
    setting the tables depend on: split seed and fraction, filters, weights, columns,
    products file), as the manifest records it or, for folders prepared before it did, as
    the folder's name ends; else the input's checksum (a dataset not read from a prepared
    folder)."""
    recorded = dataset.manifest.get("cache_key")
    if isinstance(recorded, str) and recorded:
        return recorded
    if dataset.folder is not None:
        key = dataset.folder.name.rpartition("-")[2]
        if key:
            return key
    return dataset_checksum(dataset)


def n_positive_pairs(dataset: PreparedDataset) -> int:
    """Unique positive pairs: the manifest's count, else train pairs + held-out positives."""
    value = dataset.manifest.get("n_pairs")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return len(dataset.train) + int(np.count_nonzero(dataset.validation.label))


def manifest_params(manifest: Mapping[str, Any], prefix: str = "data.") -> dict[str, Any]:
    """Scalar manifest entries (counts, malformed lines, truncated flag) as flat params.

    Nested mappings are flattened with dots; lists and long strings are left to the
    manifest artifact.
    """
    flat: dict[str, Any] = {}
    for key, value in manifest.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(manifest_params(value, f"{name}."))
        elif isinstance(value, bool | int | float) or (isinstance(value, str) and len(value) < 250):
            flat[name] = value
    return flat


def manifest_params_beside(
    manifest: Mapping[str, Any], config: Mapping[str, Any]
) -> dict[str, Any]:
    """:func:`manifest_params` less what the run's config params say already.

    The manifest records the settings it was prepared with (``split_seed``, the relation
    weights, the dataset's path as ``dataset``, ``source``, ``parse.source``): as params they
    repeated ``split_seed``, ``also_bought``, ``dataset``, ... value for value. An entry is
    left out when a config param of its last name has the same text, or when it is the
    dataset's path again; the manifest artifact keeps every entry.
    """
    texts = {key: param_text(value) for key, value in config.items()}
    dataset = texts.get("dataset")
    kept: dict[str, Any] = {}
    for name, value in manifest_params(manifest).items():
        text = param_text(value)
        if texts.get(name.rpartition(".")[2]) == text or (dataset and text == dataset):
            continue
        kept[name] = value
    return kept


def resolve_device(config: BaseModel) -> str:
    """Where training runs: the config's device with "auto" resolved; "cpu" when none."""
    device = getattr(config, "device", None)
    if device is None:
        return "cpu"
    if device == "auto":
        import torch  # only methods with a device setting pay torch's import

        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


def git_commit(folder: Path | None = None) -> str:
    """HEAD of the git checkout the package runs from, or "unknown" outside one."""
    folder = folder or Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _vm_hwm_mb() -> float | None:
    """VmHWM (peak resident set) from /proc/self/status, MiB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _ru_maxrss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


class PeakMemory:
    """Peak resident memory of this process over a window (training), in MiB.

    On Linux, writing 5 to /proc/self/clear_refs resets the kernel's high-water mark
    (VmHWM) to the current RSS, so the peak covers only the window: a job that trains
    several methods in one process gets each method's own peak. Elsewhere it falls back
    to ``resource.ru_maxrss``, the peak since the process started. RSS covers numpy,
    torch and gensim's C allocations alike, which tracemalloc would miss; it includes
    the dataset already in memory. ``source`` says which was measured.
    """

    def __init__(self) -> None:
        self.source = "ru_maxrss"

    def start(self) -> None:
        """Begin the window (resets VmHWM where the kernel allows)."""
        try:
            with open("/proc/self/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
            self.source = "vmhwm"
        except OSError:
            self.source = "ru_maxrss"

    def peak_mb(self) -> float:
        """The peak since :meth:`start` (vmhwm) or since the process began (ru_maxrss)."""
        if self.source == "vmhwm":
            value = _vm_hwm_mb()
            if value is not None:
                return value
        return _ru_maxrss_mb()


def peak_gpu_memory_mb(device: str) -> float | None:
    """torch's peak allocated CUDA memory, MiB, when training ran on CUDA; else None."""
    if not device.startswith("cuda"):
        return None
    import torch

    return float(torch.cuda.max_memory_allocated()) / (1024 * 1024)


def reset_peak_gpu_memory(device: str) -> None:
    """Start a CUDA peak-memory window (no-op on CPU)."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
