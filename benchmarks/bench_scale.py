"""Benchmark: peak memory and time of every stage at several catalog sizes, and the ceilings.

Each stage runs in its own process, so its peak RSS is its own: generating the synthetic
file and preparing it (``bench_prepare.py``'s stages), then ``recsys train METHOD`` end to
end (walks, training, the whole-catalog ranking evaluation, model logging) for each method,
whose peak is the whole child process's (``RUSAGE_CHILDREN``). From two or more sizes of the
same preset, the peak of each stage is fitted as ``a + b * products`` (least squares; the
presets keep pairs per product fixed, so products stand for both) and solved for the memory
budget: the largest catalog that stage handles on this machine. The ceilings are
extrapolations from the measured sizes, and the page says so.

    flock /tmp/recsys-heavy.lock python benchmarks/bench_scale.py --preset electronics \\
        --scales 0.25 1.0 --data-dir /work/bench-data --json docs/results/bench_scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_prepare import run_stage
from results import write_result

TRAIN_SNIPPET = r"""
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)
sys.exit(code)
"""


def memory_budget_mib() -> float:
    """This machine's physical memory (MiB): the budget the ceilings are solved for."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


def train_stage(
    method: str, dataset: str, data_dir: Path, epochs: int, tracking_uri: str
) -> dict[str, Any]:
    """``recsys train`` in a child process: its wall time, peak RSS and logged metrics."""
    command = [
        sys.executable, "-c", TRAIN_SNIPPET, sys.executable, "-m", "recsys", "train", method,
        "--dataset", dataset, "--data-dir", str(data_dir), "--tracking-uri", tracking_uri,
        "-q", "-P", f"epochs={epochs}",
    ]  # fmt: skip
    if method in {"popularity", "itemknn", "adamic_adar"}:
        command = command[:-2]  # counted, not trained: no epochs
    started = time.perf_counter()
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - started
    peaks = [ln for ln in completed.stdout.splitlines() if ln.startswith("PEAK_KIB")]
    if completed.returncode != 0 or not peaks:
        raise SystemExit(f"recsys train {method} on {dataset} failed (exit {completed.returncode})")
    run_ids = re.findall(r"^[0-9a-f]{32}$", completed.stdout, flags=re.MULTILINE)
    if not run_ids:
        raise SystemExit(f"recsys train {method} on {dataset} printed no run id")
    run_id = run_ids[-1]
    return {
        "wall_seconds": round(wall, 1),
        "peak_rss_mib": round(int(peaks[-1].split()[1]) / 1024),
        **logged_metrics(tracking_uri, run_id),
    }


def logged_metrics(tracking_uri: str, run_id: str) -> dict[str, Any]:
    """The run's own figures: training minutes, its peak memory window, AUC."""
    import mlflow

    metrics = mlflow.MlflowClient(tracking_uri).get_run(run_id).data.metrics
    keep = ("train_minutes", "peak_memory_mb", "auc_all", "auc_seen")
    return {key: round(metrics[key], 4) for key in keep if key in metrics}


def measure(args: argparse.Namespace, scale: float, tracking_uri: str) -> dict[str, Any]:
    """Every stage at one size of the preset."""
    stage_args = argparse.Namespace(data_dir=args.data_dir, scale=scale, rebuild=args.rebuild)
    generated = run_stage("generate", args.preset, stage_args)
    prepared = run_stage("prepare", args.preset, stage_args)
    row: dict[str, Any] = {
        "scale": scale,
        "products": prepared["n_products"],
        "pairs": prepared["n_pairs"],
        "stages": {
            stage: {"seconds": found["seconds"], "peak_rss_mib": found["peak_rss_mib"]}
            for stage, found in (("generate", generated), ("prepare", prepared))
        },
    }
    row["load_average"] = round(os.getloadavg()[0], 1)  # wall times are upper bounds under load
    dataset = f"synthetic-{args.preset}:{scale:g}"
    for method in args.methods:
        print(f"  train {method} on {dataset} ...", flush=True)
        row["stages"][f"train {method}"] = train_stage(
            method, dataset, args.data_dir, args.epochs, tracking_uri
        )
    return row


def ceilings(rows: list[dict[str, Any]], budget_mib: float) -> dict[str, dict[str, float]]:
    """Per stage: the fitted MiB per million products and the products the budget allows."""
    import numpy as np

    fitted: dict[str, dict[str, float]] = {}
    for stage in rows[0]["stages"]:
        products = np.array([r["products"] for r in rows], dtype=float)
        peaks = np.array([r["stages"][stage]["peak_rss_mib"] for r in rows], dtype=float)
        slope, intercept = np.polyfit(products, peaks, 1)
        if slope <= 0:
            continue  # inside the noise at these sizes: no ceiling to extrapolate
        pairs_per_product = rows[-1]["pairs"] / rows[-1]["products"]
        ceiling = (budget_mib - intercept) / slope
        fitted[stage] = {
            "mib_per_million_products": round(slope * 1e6, 1),
            "fixed_mib": round(intercept, 1),
            "ceiling_products": round(ceiling),
            "ceiling_pairs": round(ceiling * pairs_per_product),
        }
    return fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="electronics", choices=["electronics", "books"])
    parser.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[0.25, 1.0],
        help="sizes to measure, as scales of the study's (two or more)",
    )
    parser.add_argument("--methods", nargs="+", default=["skipgram", "word2vec", "mf"],
                        help="methods trained end to end at every size")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the torch methods")
    parser.add_argument("--data-dir", type=Path, required=True,
                        help="where raw/ and prepared/ go (outside the repository)")  # fmt: skip
    parser.add_argument("--rebuild", action="store_true", help="drop prepared caches first")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    if len(set(args.scales)) < 2:
        parser.error("--scales needs at least two different sizes to fit a ceiling")

    budget = memory_budget_mib()
    rows = []
    with tempfile.TemporaryDirectory() as store:
        tracking_uri = f"sqlite:///{store}/mlflow.db"
        for scale in sorted(args.scales):
            print(f"synthetic-{args.preset}:{scale:g}", flush=True)
            rows.append(measure(args, scale, tracking_uri))
            print(json.dumps(rows[-1]), flush=True)
            if args.json is not None and len(rows) >= 2:  # each size kept as it comes in
                write_result(args.json, summary(args, rows, budget))
    print(json.dumps(ceilings(rows, budget), indent=1))


def summary(args: argparse.Namespace, rows: list[dict[str, Any]], budget: float) -> dict[str, Any]:
    """The result: every size measured so far and the ceilings fitted to them."""
    return {
        "preset": args.preset,
        "epochs": args.epochs,
        "budget_mib": round(budget),
        "rows": rows,
        "ceilings": ceilings(rows, budget),
    }


if __name__ == "__main__":
    main()
