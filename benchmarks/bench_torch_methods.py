"""One torch method on one dataset: full-validation AUC (all / seen / cold-start) and minutes.

Produces the rows of docs/benchmarks.md's torch-methods table, one run per call, appended
as a JSON line to ``--out``:

    flock /tmp/recsys-heavy.lock python benchmarks/bench_torch_methods.py \\
        --dataset /work/shared/data/amazon/meta_Digital_Music.json.gz --data-dir /tmp/data \\
        --method mf_bias --set '{"epochs": 5}' --out results.jsonl

``--set`` overrides method settings (JSON); ``train_fraction`` in it keeps a seeded random
share of the training pairs (a Books-sized table on fewer pairs). Runs use one torch thread
(``threads=1``) unless ``--set`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.data.prepare import prepare_dataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method


class EpochPrinter(TrainingCallback):
    """Prints and keeps each epoch's metrics."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        self.rows.append({"epoch": epoch, **metrics})
        print(f"  epoch {epoch}", {k: round(v, 4) for k, v in metrics.items()}, flush=True)


def subsample_train(data: PreparedDataset, fraction: float, seed: int = 0) -> PreparedDataset:
    """The dataset with a seeded random ``fraction`` of its training pairs."""
    keep = np.random.default_rng(seed).random(len(data.train)) < fraction
    t = data.train
    train = replace(
        t,
        item_a=t.item_a[keep],
        item_b=t.item_b[keep],
        weight=t.weight[keep],
        relations=t.relations[keep],
    )
    return replace(data, train=train)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset name or metadata file")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--set", default="{}", help="JSON method settings")
    parser.add_argument("--out", type=Path, required=True, help="JSON lines file to append to")
    args = parser.parse_args()

    settings: dict[str, Any] = {"progress": False, "threads": 1, **json.loads(args.set)}
    fraction = settings.pop("train_fraction", None)
    data = prepare_dataset(DataConfig(dataset=args.dataset, data_dir=args.data_dir))
    if fraction:
        data = subsample_train(data, float(fraction))
    method = get_method(args.method)
    config = method.config_class(**settings)
    printer = EpochPrinter()
    started = time.perf_counter()
    embeddings = method.train(data, config, [printer])
    minutes = (time.perf_counter() - started) / 60
    # The engine evaluated the final embeddings after the last epoch already.
    last = printer.rows[-1] if printer.rows else evaluate(embeddings, data).metrics()
    row = {
        "dataset": data.name,
        "method": args.method,
        "overrides": json.loads(args.set),
        "minutes": minutes,
        "auc_all": last.get("auc_all"),
        "auc_seen": last.get("auc_seen"),
        "auc_cold_start": last.get("auc_cold_start"),
        "pr_auc": last.get("pr_auc"),
        "n_items": data.n_items,
        "n_train": len(data.train),
        "epochs": printer.rows,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(row)[:400], flush=True)
    with args.out.open("a") as handle:
        handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
