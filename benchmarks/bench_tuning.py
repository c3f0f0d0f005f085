"""Benchmark: tuned against default settings, per method and dataset, and tuning's scale-out.

For each dataset and method, in one fresh tracking store: ``recsys train METHOD`` at the
defaults, then ``recsys tune METHOD --trials N`` (the sweep on an inner split of the
training pairs, then the best settings trained as a run tagged ``recsys.tuned=true``).
Both runs are scored on the same validation pairs; each metric is given with half its 95%
interval, and a difference smaller than the two intervals' overlap is a tie. The equal
budget is N trials per method; the minutes are wall time of the default run and of the
whole tune (sweep and tuned run).

With ``--workers-check METHOD``, the same study size is also run by one worker and by two
workers sharing a study (``--no-final``), in ``--storage`` (e.g. the tracking server's
PostgreSQL), and trials per minute are compared:

    flock /tmp/recsys-heavy.lock python benchmarks/bench_tuning.py \\
        --data-dir /work/bench-data --trials 8 --workers-check word2vec \\
        --storage postgresql://USER@127.0.0.1:PORT/optuna --json docs/results/bench_tuning.json \\
        --rows /work/bench-data/tuning_rows.jsonl

The whole benchmark takes hours on 2 cores; with ``--rows`` each row is appended as it is
measured and a rerun keeps the rows already there (same dataset, method, trial budget,
objective and ranking floor), so a stopped run resumes. Each row names the commit that measured it.

The datasets default to the two real Amazon samples beside the repository
(``../shared/data``: Digital Music and the Books head).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results import REPO_ROOT, RowLog, write_result

from recsys.tracking import names

SHARED = Path(os.environ.get("RECSYS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATASETS = [
    SHARED / "amazon" / "meta_Digital_Music.json.gz",
    SHARED / "amazon" / "metadata.head11053.json.gz",
]
DEFAULT_METHODS = [
    "popularity",
    "itemknn",
    "mf",
    "mf_bias",
    "node2vec",
    "word2vec",
    "skipgram",
    "side_info",
    "mf_sequences",
]
METRICS = ("auc_all", "auc_seen", "matched_auc_all", "recall_at_10")


def recsys(*args: str) -> tuple[str, float]:
    """``recsys ARGS`` in a subprocess: the last line it printed (a run id) and its minutes."""
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "recsys", *args], capture_output=True, text=True, check=False
    )
    minutes = (time.perf_counter() - started) / 60
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-5:])
        raise SystemExit(f"recsys {' '.join(args)} failed (exit {completed.returncode}):\n{tail}")
    return completed.stdout.strip().splitlines()[-1], minutes


def scores(tracking_uri: str, run_id: str) -> dict[str, Any]:
    """The run's validation metrics, each with half its 95% interval when logged."""
    from mlflow import MlflowClient

    metrics = MlflowClient(tracking_uri).get_run(run_id).data.metrics
    found: dict[str, Any] = {}
    for key in METRICS:
        found[key] = metrics.get(key)
        low = metrics.get(f"{key}{names.CI_LOW_SUFFIX}")
        high = metrics.get(f"{key}{names.CI_HIGH_SUFFIX}")
        found[f"{key}_half_interval"] = None if low is None or high is None else (high - low) / 2
    return found


def settings_changed(tracking_uri: str, default_run: str, tuned_run: str) -> dict[str, str]:
    """The params the tuned run logged with other values than the default run's: what
    tuning chose (the benchmark's tracking store is temporary, so the row keeps them)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    default = client.get_run(default_run).data.params
    tuned = client.get_run(tuned_run).data.params
    return {key: value for key, value in sorted(tuned.items()) if default.get(key) != value}


def floor_option(floor: bool) -> str:
    return "--ranking-floor" if floor else "--no-ranking-floor"


def tuned_against_default(
    dataset: Path,
    method: str,
    data_dir: Path,
    tracking_uri: str,
    trials: int,
    objective: str,
    floor: bool,
) -> dict[str, Any]:
    common = ["--dataset", str(dataset), "--data-dir", str(data_dir),
              "--tracking-uri", tracking_uri, "--quiet"]  # fmt: skip
    default_run, default_minutes = recsys("train", method, *common)
    tuned_run, tune_minutes = recsys(
        "tune", method, *common, "--trials", str(trials), "--metric", objective,
        floor_option(floor),
    )  # fmt: skip
    row = {
        "dataset": dataset.name,
        "method": method,
        "trials": trials,
        "default": {"minutes": round(default_minutes, 2), **scores(tracking_uri, default_run)},
        "tuned": {"minutes": round(tune_minutes, 2), **scores(tracking_uri, tuned_run)},
        "tuned_settings": settings_changed(tracking_uri, default_run, tuned_run),
    }
    print(
        f"{dataset.name} {method}: default {objective} {row['default'][objective]} "
        f"({default_minutes:.1f} min), tuned {row['tuned'][objective]} ({tune_minutes:.1f} min)"
    )
    return row


def trials_per_minute(
    dataset: Path,
    method: str,
    data_dir: Path,
    trials: int,
    workers: int,
    storage: str | None,
    objective: str,
    floor: bool,
) -> dict[str, Any]:
    """``workers`` processes sharing one fresh study of ``trials`` trials (no tuned run),
    in ``storage`` (an Optuna URL; None = the file beside the tracking store)."""
    with tempfile.TemporaryDirectory() as store:
        uri = f"sqlite:///{store}/mlflow.db"
        base = ["tune", method, "--dataset", str(dataset), "--data-dir", str(data_dir),
                "--tracking-uri", uri, "--no-final", "--quiet", "--metric", objective,
                floor_option(floor)]  # fmt: skip
        if storage is not None:
            base += ["--storage", storage]
        fresh = f"{workers}-{os.getpid()}-{int(time.time())}"  # a new study in a kept database
        recsys(*base, "--trials", "1", "--study", f"warm-up-{fresh}")  # prepared, compiled
        args = [*base, "--trials", str(trials), "--study", f"workers-{fresh}"]
        started = time.perf_counter()
        processes = [
            subprocess.Popen([sys.executable, "-m", "recsys", *args], stdout=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        codes = [process.wait() for process in processes]
        minutes = (time.perf_counter() - started) / 60
    if any(codes):
        raise SystemExit(f"a tune worker failed: exit codes {codes}")
    print(f"{workers} worker(s): {trials} trials in {minutes:.2f} min")
    return {"workers": workers, "trials": trials, "minutes": round(minutes, 2),
            "trials_per_minute": round(trials / minutes, 2)}  # fmt: skip


def _storage_kind(storage: str | None) -> str:
    """What the workers shared, without credentials: the URL's scheme."""
    return "file beside the tracking store" if storage is None else storage.split(":", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="where prepared datasets go (outside the repository)")  # fmt: skip
    parser.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    parser.add_argument("--trials", type=int, default=8, help="the trial budget per method")
    parser.add_argument("--metric", default=names.DEFAULT_TUNE_OBJECTIVE,
                        help="what trials maximise (recsys tune --metric); also the metric "
                        "the results page judges tuned against default by")  # fmt: skip
    parser.add_argument("--no-ranking-floor", dest="ranking_floor", action="store_false",
                        help="tune without the ranking floor (recsys tune "
                        "--no-ranking-floor)")  # fmt: skip
    parser.add_argument("--workers-check", metavar="METHOD", default=None,
                        help="also time one against two workers on METHOD's study")  # fmt: skip
    parser.add_argument("--storage", default=None,
                        help="Optuna storage URL for the workers check, e.g. postgresql://...; "
                        "default: the file beside the tracking store")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument("--rows", type=Path, default=None,
                        help="JSON lines: each row is appended as it is measured, and rows "
                        "already there are kept, not measured again, so a stopped run "
                        "resumes")  # fmt: skip
    args = parser.parse_args()

    kept = RowLog(
        args.rows, key=("kind", "dataset", "method", "trials", "objective", "ranking_floor")
    )
    budget = {"trials": args.trials, "objective": args.metric, "ranking_floor": args.ranking_floor}
    rows = []
    for dataset in args.datasets:
        with tempfile.TemporaryDirectory() as store:
            uri = f"sqlite:///{store}/mlflow.db"
            for method in args.methods.split(","):
                key = {"kind": "tuned", "dataset": dataset.name, "method": method, **budget}
                row = kept.get(**key) or kept.add({**key, **tuned_against_default(
                    dataset, method, args.data_dir, uri, args.trials, args.metric,
                    args.ranking_floor,
                )})  # fmt: skip
                rows.append(row)
    workers = []
    if args.workers_check:
        for count in (1, 2):
            key = {"kind": f"{count} worker(s)", "dataset": args.datasets[0].name,
                   "method": args.workers_check, **budget}  # fmt: skip
            workers.append(kept.get(**key) or kept.add({**key, **trials_per_minute(
                args.datasets[0], args.workers_check, args.data_dir, args.trials, count,
                args.storage, args.metric, args.ranking_floor,
            )}))  # fmt: skip
    if args.json is not None:
        write_result(args.json, {
            "metrics": list(METRICS), "objective": args.metric,
            "ranking_floor": args.ranking_floor, "results": rows,
            "workers": {"method": args.workers_check, "dataset": args.datasets[0].name,
                        "storage": _storage_kind(args.storage),
                        "runs": workers} if workers else None,
        })  # fmt: skip


if __name__ == "__main__":
    main()
