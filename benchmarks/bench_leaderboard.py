"""Benchmark: the main job on each real sample, every method at its defaults, as a result.

Runs ``recsys main`` on each dataset into a fresh tracking store and keeps
the leaderboard it ranks (both protocols, recall@10, NDCG@10, each with half its 95%
interval, ties with the leader, minutes), so the results page answers "which method is
best here" from a run anyone can repeat:

    flock /tmp/recsys-heavy.lock python benchmarks/bench_leaderboard.py \\
        --data-dir /work/bench-data --json docs/results/bench_leaderboard.json

The datasets default to the real samples beside the repository (``../shared/data``).
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

from results import REPO_ROOT, write_result

from recsys.tracking.leaderboard.query import query_leaderboard
from recsys.tracking.leaderboard.rows import DEFAULT_RANK_BY, DatasetTable, LeaderboardRow

SHARED = Path(os.environ.get("RECSYS_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
DEFAULT_DATASETS = [
    SHARED / "amazon" / "meta_Digital_Music.json.gz",
    SHARED / "amazon" / "metadata.head11053.json.gz",
    SHARED / "snap" / "Music0601.txt",
]
COLUMNS = (
    "auc_all", "auc_seen", "matched_auc_all", "matched_auc_seen", "recall_at_10", "ndcg_at_10",
)  # fmt: skip


def run_main(dataset: Path, data_dir: Path, tracking_uri: str, extra: list[str]) -> float:
    """``recsys main`` on one dataset; its wall minutes. A failed method fails the benchmark."""
    command = [
        sys.executable, "-m", "recsys", "main", "--dataset", str(dataset),
        "--data-dir", str(data_dir), "--tracking-uri", tracking_uri,
        "--no-progress", *extra,
    ]  # fmt: skip
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"recsys main on {dataset} failed (exit {completed.returncode})")
    return (time.perf_counter() - started) / 60


def half_interval(row: LeaderboardRow, metric: str) -> float | None:
    """Half the width of the metric's 95% interval, None when the run logged none."""
    interval = row.interval(metric)
    return None if interval is None else (interval[1] - interval[0]) / 2


def table_rows(table: DatasetTable) -> list[dict[str, Any]]:
    """The ranked rows of one dataset's table, references left out."""
    return [
        {
            "method": row.label,
            "baseline": row.is_baseline,
            "tied": row.tied,
            "minutes": row.minutes,
            **{key: row.value(key) for key in COLUMNS},
            **{f"{key}_half_interval": half_interval(row, key) for key in COLUMNS},
        }
        for row in table.rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="where prepared datasets go (outside the repository)")  # fmt: skip
    parser.add_argument("--rank-by", default=DEFAULT_RANK_BY,
                        help="the ranking metric (default: the leaderboard's own)")  # fmt: skip
    parser.add_argument("--main-arg", action="append", default=[],
                        help="an extra argument for recsys main (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    parser.add_argument("--tracking-uri", default=None,
                        help="keep the runs in this store (bench_twins.py reads them); "
                        "default: a fresh temporary one")  # fmt: skip
    args = parser.parse_args()

    import mlflow

    results = []
    with tempfile.TemporaryDirectory() as store:
        tracking_uri = args.tracking_uri or f"sqlite:///{store}/mlflow.db"
        for dataset in args.datasets:
            minutes = run_main(dataset, args.data_dir, tracking_uri, args.main_arg)
            board = query_leaderboard(mlflow.MlflowClient(tracking_uri), None, args.rank_by)
            table = next(t for t in board.tables if t.dataset == str(dataset))
            results.append({
                "dataset": dataset.name,
                "wall_minutes": round(minutes, 2),
                "statistics": table.statistics,
                "rows": table_rows(table),
            })  # fmt: skip
            print(f"{dataset.name}: {minutes:.1f} min, leader {results[-1]['rows'][0]['method']}")
    if args.json is not None:
        write_result(args.json, {"rank_by": args.rank_by, "results": results})


if __name__ == "__main__":
    main()
