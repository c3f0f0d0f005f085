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

from recsys.data.dataset import PreparedDataset
from recsys.tracking.names import SOURCE_REAL, SOURCE_SYNTHETIC, VARIANT_FIELDS

CHECKSUM_KEYS = ("sha256", "checksum", "source_sha256", "input_sha256")
SYNTHETIC_SOURCES = ("synthetic", "planted")


def variant_of(method_name: str, config: BaseModel) -> str:
    """The run's variant ("binary", "learned", ...), or "" for methods without variants."""
    field = VARIANT_FIELDS.get(method_name)
    if field is None or not hasattr(config, field):
        return ""
    return str(getattr(config, field))


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
    """ "synthetic" when the manifest or the dataset name says so, else "real"."""
    if manifest.get("synthetic") is True or dataset.startswith("synthetic"):
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


def peak_memory_mb() -> float:
    """Peak resident set size of this process so far, MiB (``resource.ru_maxrss``).

    It covers everything the process allocated, numpy, torch and gensim's C code alike,
    which tracemalloc would miss; it includes dataset loading done in the same process.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
