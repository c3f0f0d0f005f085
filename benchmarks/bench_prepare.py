"""Benchmark: generate synthetic Electronics / Books and run the default prepare on them.

Each stage runs in its own Python process, which reports its wall time and its own peak
resident memory (``getrusage(RUSAGE_SELF).ru_maxrss``), so the figures of one stage are not
mixed with another's. The generated file goes to ``<data-dir>/raw/`` under the name the
dataset registry uses, and the prepared cache to ``<data-dir>/prepared/``, so later
benchmarks (walks, training) reuse both.

Run heavy sizes under the shared lock, e.g.::

    flock /tmp/recsys-heavy.lock python benchmarks/bench_prepare.py \
        --preset electronics books --scale 1.0 --data-dir /work/bench-data
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _dataset_name(preset: str, scale: float | None) -> str:
    return f"synthetic-{preset}" + ("" if scale is None else f":{scale:g}")


def stage_generate(preset: str, scale: float | None, data_dir: Path) -> dict[str, Any]:
    """Write the file where ``recsys.data.datasets`` looks for it (replacing it)."""
    from recsys.data.datasets import SYNTHETIC_SEED
    from recsys.data.synthetic import (
        PRESETS,
        default_file_name,
        resolve_sizes,
        write_synthetic_metadata,
    )

    scale, sizes = resolve_sizes(PRESETS[preset], scale)
    path = data_dir / "raw" / default_file_name(preset, scale, SYNTHETIC_SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_synthetic_metadata(path, preset, scale, SYNTHETIC_SEED, progress=True)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "file": str(path),
        "file_mib": round(path.stat().st_size / 2**20, 1),
        "records": sizes.n_kept + sizes.n_failing,
        "planned_products": sizes.n_products,
        "planned_pairs": sizes.n_pairs,
    }


def stage_prepare(
    preset: str, scale: float | None, data_dir: Path, rebuild: bool
) -> dict[str, Any]:
    """``prepare_dataset`` with the default settings; ``rebuild`` drops its cache first."""
    from recsys.config import DataConfig
    from recsys.data.checksum import file_sha256
    from recsys.data.datasets import resolve_dataset
    from recsys.data.prepare import cache_key, prepare_dataset

    config = DataConfig(dataset=_dataset_name(preset, scale), data_dir=data_dir)
    if rebuild:
        source = resolve_dataset(config.dataset, data_dir, progress=False)
        folder = (
            data_dir / "prepared" / f"{source.name}-{cache_key(config, file_sha256(source.path))}"
        )
        if folder.exists():
            aside = folder.with_name(f".{folder.name}.{os.getpid()}.old")
            folder.rename(aside)
            shutil.rmtree(aside)
    started = time.perf_counter()
    dataset = prepare_dataset(config, progress=True)
    seconds = time.perf_counter() - started
    m = dataset.manifest
    return {
        "seconds": round(seconds, 1),
        "cache_hit": m.get("cache_hit"),
        "folder": str(dataset.folder),
        **{
            key: m.get(key)
            for key in (
                "records_read",
                "records_kept",
                "n_products",
                "n_products_with_metadata",
                "n_pairs",
                "pairs_per_relation",
                "n_train",
                "n_validation_positives",
                "n_validation_negatives",
                "prepare_seconds",
            )
        },
    }


def run_stage(stage: str, preset: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its JSON result plus its peak memory."""
    command = [
        sys.executable, __file__, "--stage", stage, "--preset", preset,
        "--data-dir", str(args.data_dir),
    ]  # fmt: skip
    if args.scale is not None:
        command += ["--scale", str(args.scale)]
    if args.rebuild:
        command.append("--rebuild")
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = [ln for ln in completed.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if completed.returncode != 0 or not lines:
        raise SystemExit(f"stage {stage} of {preset} failed (exit {completed.returncode})")
    return json.loads(lines[-1][len(RESULT_PREFIX) :])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", nargs="+", default=["electronics", "books"],
                        choices=["small", "electronics", "books"])  # fmt: skip
    parser.add_argument("--scale", type=float, default=None,
                        help="scale of the study's sizes (default: the preset's, 1.0)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="where raw/ and prepared/ go (outside the repository)")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true",
                        help="drop the prepared cache first, so prepare is measured")  # fmt: skip
    parser.add_argument("--stages", nargs="+", default=["generate", "prepare"],
                        choices=["generate", "prepare"])  # fmt: skip
    parser.add_argument("--stage", help=argparse.SUPPRESS)  # internal: run one stage here
    args = parser.parse_args()

    if args.stage is not None:
        (preset,) = args.preset
        if args.stage == "generate":
            result = stage_generate(preset, args.scale, args.data_dir)
        else:
            result = stage_prepare(preset, args.scale, args.data_dir, args.rebuild)
        result["peak_rss_mib"] = round(_peak_rss_mib())
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return

    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
          f"{os.cpu_count()} cores, python {platform.python_version()}")  # fmt: skip
    for preset in args.preset:
        for stage in args.stages:
            result = run_stage(stage, preset, args)
            print(f"{preset} {stage}: {json.dumps(result)}", flush=True)


if __name__ == "__main__":
    main()
