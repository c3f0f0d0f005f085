"""Benchmark: synthetic twins against the real samples they copy, and their generation.

For each real sample (Digital Music, the Books head, SNAP Music0601): the statistics of
the file and of its twin at scale 1.0 (``synthetic-like:FILE``), the relative error on
the four the twin must match within 20% (degree-1 share, share of validation positives
seen, clustering, largest degree over pairs) and how long the fit took. The re-calibrated
presets are described beside them at small scales. With ``--tracking-uri``, each sample's
and its twin's AUC seen per method is read from their ``recsys main`` runs (best finished
run per method, as the leaderboard ranks them) and their Spearman rank correlation given.
With ``--time DATASET ...``, each dataset is generated in a subprocess, timed, with its
peak memory. ``--samples`` measures some samples again and keeps the other rows of the
``--json`` file, each row naming the commit that measured it. Everything runs in
``--data-dir`` (fits and files are cached there):

    for d in FILE synthetic-like:FILE; do        # each sample FILE, then its twin
        flock /tmp/recsys-heavy.lock recsys main --dataset $d \\
            --data-dir /tmp/twins --tracking-uri sqlite:////tmp/twins/mlflow.db
    done
    flock /tmp/recsys-heavy.lock python benchmarks/bench_twins.py --data-dir /tmp/twins \\
        --tracking-uri sqlite:////tmp/twins/mlflow.db \\
        --time synthetic-like:FILE:33 synthetic-books --json docs/results/bench_twins.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from results import git_commit, write_result
from scipy.stats import spearmanr

from recsys.config import DataConfig, default_data_dir
from recsys.data.datasets import file_stem
from recsys.data.prepare import prepare_dataset
from recsys.data.statistics import dataset_statistics
from recsys.data.synthetic.twin import load_or_fit

REPO = Path(__file__).resolve().parents[1]
SAMPLES = {
    "Digital Music": "amazon/meta_Digital_Music.json.gz",
    "Books head": "amazon/metadata.head11053.json.gz",
    "Music0601": "snap/Music0601.txt",
}
PRESETS = {"synthetic-electronics:0.05": "Digital Music", "synthetic-books:0.02": "Books head"}
MATCHED = ("degree1_share", "seen_share", "clustering", "max_degree_share")
TOLERANCE = 0.2
SHOWN = (
    "products", "pairs", "degree_median", "degree_p99", "degree_max", "max_degree_share",
    "degree1_share", "degree_gini", "metadata_share", "seen_share", "cold_start_share",
    "clustering", "same_category_share",
)  # fmt: skip


def shared_data() -> Path:
    return Path(os.environ.get("RECSYS_SHARED_DATA", REPO.parent / "shared" / "data"))


def describe(dataset: str, data_dir: Path) -> dict[str, float]:
    """The prepared dataset's statistics, plus the largest degree over the pairs."""
    prepared = prepare_dataset(DataConfig(dataset=dataset, data_dir=data_dir), progress=False)
    found = {k: float(v) for k, v in dataset_statistics(prepared).items()}
    found["max_degree_share"] = found["degree_max"] / found["pairs"]
    return {k: found[k] for k in SHOWN}


def auc_seen_by_method(tracking_uri: str, dataset: str) -> dict[str, float]:
    """Best finished run's AUC seen per method (the leaderboard's rows) for ``dataset``."""
    from mlflow.tracking import MlflowClient

    from recsys.tracking.leaderboard.query import query_leaderboard

    board = query_leaderboard(MlflowClient(tracking_uri), dataset, rank_by="auc_seen")
    rows = board.tables[0].rows if board.tables else []
    return {row.method: row.auc_seen for row in rows if row.auc_seen is not None}


def ranking(tracking_uri: str, real: str, twin: str) -> dict[str, Any] | None:
    """AUC seen per method on both datasets and their Spearman rank correlation."""
    on_real, on_twin = (auc_seen_by_method(tracking_uri, d) for d in (real, twin))
    methods = sorted(set(on_real) & set(on_twin), key=lambda m: -on_real[m])
    if len(methods) < 3:
        return None
    rho = spearmanr([on_real[m] for m in methods], [on_twin[m] for m in methods]).statistic
    return {
        "methods": methods,
        "real_auc_seen": [round(on_real[m], 4) for m in methods],
        "twin_auc_seen": [round(on_twin[m], 4) for m in methods],
        "spearman": round(float(rho), 4),
    }


def time_generation(dataset: str, data_dir: Path) -> dict[str, Any]:
    """Generate ``dataset``'s file in a fresh subprocess: seconds and peak RSS (MiB).

    A twin's fit is made (or loaded) first, outside the timing; the file is written to a
    scratch folder so a cached copy is not reused.
    """
    code = (
        "import sys, time; from pathlib import Path\n"
        "from recsys.data.datasets import resolve_dataset\n"
        "scratch = Path(sys.argv[2]); started = time.perf_counter()\n"
        "source = resolve_dataset(sys.argv[1], scratch, progress=False)\n"
        "print(time.perf_counter() - started, source.path)\n"
    )
    scratch = data_dir / "timing"
    if dataset.startswith("synthetic-like:"):  # the fit (made or loaded) outside the timing
        file = Path(dataset.removeprefix("synthetic-like:").rsplit(":", 1)[0]).resolve()
        load_or_fit(file, file_stem(file), data_dir, progress=False)
        (scratch / "twins").mkdir(parents=True, exist_ok=True)
        shutil.copy2(data_dir / "twins" / f"{file_stem(file)}.json", scratch / "twins")
    for old in (scratch / "raw").glob("*_synthetic-*"):
        old.unlink()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-c", code, dataset, str(scratch)],
        check=True, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    seconds, path = out.stdout.split()
    file_path = Path(path)
    prepared = prepare_dataset(DataConfig(dataset=str(file_path), data_dir=scratch), progress=False)
    row = {
        "dataset": dataset,
        "products": prepared.n_items,
        "pairs": int(prepared.manifest["n_pairs"]),
        "seconds": round(float(seconds), 1),
        "peak_rss_mb": round(max(peak, before) / 1024),
        "file_mb": round(file_path.stat().st_size / 2**20, 1),
    }
    file_path.unlink()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--tracking-uri", default=None, help="where the main jobs ran")
    parser.add_argument("--time", nargs="*", default=[], metavar="DATASET")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--samples", default=",".join(SAMPLES), metavar="NAMES",
        help="comma-separated samples to measure; with --json, the other samples' rows and "
        "the generation rows of datasets not in --time are kept from that file, each marked "
        "with the commit that measured it",
    )  # fmt: skip
    args = parser.parse_args()
    chosen = [name.strip() for name in args.samples.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SAMPLES))
    if unknown:
        parser.error(f"--samples: unknown {', '.join(unknown)}; choose from {', '.join(SAMPLES)}")
    kept_samples, kept_generation = kept_rows(args.json, chosen, args.time)
    commit = git_commit()[0]
    samples = []
    for name, relative in SAMPLES.items():
        if name not in chosen:
            if name in kept_samples:
                samples.append(kept_samples[name])
            continue
        path = shared_data() / relative
        fit = load_or_fit(path.resolve(), file_stem(path), args.data_dir, progress=False)
        twin_name = f"synthetic-like:{path}"
        real, twin = describe(str(path), args.data_dir), describe(twin_name, args.data_dir)
        relative_error = {k: round(twin[k] / real[k] - 1, 4) for k in MATCHED}
        row: dict[str, Any] = {
            "sample": name,
            "file": relative,
            "real": real,
            "twin": twin,
            "relative_error": relative_error,
            "within_tolerance": all(abs(v) <= TOLERANCE for v in relative_error.values()),
            "fit_seconds": fit.seconds,
            "fit_steps": len(fit.trace),
            "git_commit": commit,
        }
        if args.tracking_uri:
            row["ranking"] = ranking(args.tracking_uri, str(path), twin_name)
        samples.append(row)
        print(name, relative_error, row.get("ranking"), flush=True)
    presets = [
        {"dataset": d, "sample": s, "statistics": describe(d, args.data_dir)}
        for d, s in PRESETS.items()
    ]
    generation = [{**time_generation(d, args.data_dir), "git_commit": commit} for d in args.time]
    for line in generation:
        print(line, flush=True)
    generation = kept_generation + generation
    if args.json:
        payload = {"tolerance": TOLERANCE, "matched": list(MATCHED), "samples": samples,
                   "presets": presets, "generation": generation}  # fmt: skip
        write_result(args.json, _finite(payload))


def kept_rows(
    path: Path | None, chosen: list[str], timed: list[str]
) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """Rows of an earlier result at ``path`` not measured again, each with its commit:
    sample rows not in ``chosen``, generation rows for datasets not in ``timed``."""
    if path is None or not path.exists():
        return {}, []
    document = json.loads(path.read_text())
    commit = document.get("provenance", {}).get("git_commit")
    samples = {
        row["sample"]: {"git_commit": commit, **row}
        for row in document.get("samples", [])
        if row["sample"] not in chosen
    }
    generation = [
        {"git_commit": commit, **row}
        for row in document.get("generation", [])
        if row["dataset"] not in timed
    ]
    return samples, generation


def _finite(value: Any) -> Any:
    """NaN (no categories) as None, so the JSON is standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - started:.0f} s")
