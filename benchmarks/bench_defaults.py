"""Method defaults against their gensim peers on the real samples: AUC and minutes.

Trains each (dataset, method, params) in one process on the same cached walks and split:
gensim's skip-gram (``word2vec -P sg=1``, the same model family as ``skipgram``) and CBOW
(the study's word2vec), both at gensim's own defaults (``preset=study``), then ``word2vec``,
``skipgram``, ``side_info`` and ``mf_sequences`` at their defaults (and any ``--extra``
variants), and reports AUC all / seen under the study's
negatives and the degree-matched ones, the cold-start AUC, each training's minutes (walks
cached before timing; the minutes include the per-epoch evaluation the torch engine runs)
and, for the torch methods, the median training pairs/s of their epochs (evaluation
excluded).

    flock /tmp/recsys-heavy.lock python benchmarks/bench_defaults.py --data-dir /work/bench-data \\
        --json defaults.json

Datasets default to the real samples beside the project (``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from render_results import render_defaults
from results import RowLog, write_result

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig
from recsys.data.prepare import prepare_dataset
from recsys.evaluation.report import evaluate_final
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.methods import get_method

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_SAMPLES = [
    SHARED / "amazon" / "meta_Digital_Music.json.gz",
    SHARED / "amazon" / "metadata.head11053.json.gz",
    SHARED / "snap" / "Music0601.txt",
]
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    # the peers at gensim's own defaults (five epochs at alpha 0.025: word2vec's study preset)
    ("gensim skip-gram (word2vec sg=1, preset=study)", "word2vec", {"sg": 1, "preset": "study"}),
    ("gensim CBOW (word2vec preset=study)", "word2vec", {"preset": "study"}),
    ("word2vec (default: CBOW, three epochs)", "word2vec", {}),
    ("skipgram (default)", "skipgram", {}),
    ("side_info (default)", "side_info", {}),
    ("mf_sequences (default)", "mf_sequences", {}),
]


class EpochRates(TrainingCallback):
    """Collects the training pairs/s each epoch reports (torch methods only)."""

    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: Any) -> None:
        if "pairs_per_second" in metrics:
            self.rates.append(metrics["pairs_per_second"])


def run_one(dataset: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Train once (walks already cached) and evaluate under both protocols."""
    spec = get_method(method)
    config = spec.config_class(progress=False, **params)
    if spec.needs_walks:
        walks_for_dataset(dataset, walk_config_of(config), progress=False)
    rates = EpochRates()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embeddings = spec.train(dataset, config, [rates])
    minutes = (time.perf_counter() - started) / 60
    # A run's own final evaluation: the same ranking queries (split seed) as recsys train.
    seed = int(dataset.manifest["split_seed"])
    metrics = evaluate_final(embeddings, dataset, DataConfig().ranking_queries, seed).metrics()
    keys = ("auc_all", "auc_seen", "matched_auc_all", "matched_auc_seen", "auc_cold_start",
            "recall_at_10")  # fmt: skip
    pairs_per_second = statistics.median(rates.rates) if rates.rates else None
    return {
        **{k: metrics.get(k) for k in keys},  # no cold-start AUC without metadata
        "minutes": minutes,
        "pairs_per_second": pairs_per_second,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--datasets", nargs="*", default=[str(p) for p in REAL_SAMPLES])
    parser.add_argument(
        "--extra",
        action="append",
        default=[],
        metavar="LABEL=METHOD:JSON",
        help='another variant, e.g. \'study=skipgram:{"preset": "study"}\'',
    )
    parser.add_argument("--only-extra", action="store_true", help="skip the standard variants")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--rows",
        type=Path,
        default=None,
        help="JSON lines: each row is appended as it is measured, and rows already there "
        "(same dataset and variant) are kept, not measured again, so a stopped run resumes",
    )
    args = parser.parse_args()
    variants = [] if args.only_extra else list(VARIANTS)
    for extra in args.extra:
        match = re.fullmatch(r"(.+?)=(\w+):(.*)", extra)
        if match is None:
            parser.error(f"--extra {extra!r}: expected LABEL=METHOD:JSON")
        label, method, params = match.groups()
        variants.append((label, method, json.loads(params or "{}")))

    kept = RowLog(args.rows, key=("dataset", "variant"))
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        dataset = None  # prepared when a variant on it is measured
        for label, method, params in variants:
            row = kept.get(dataset=Path(name).name, variant=label)
            if row is None:
                if dataset is None:
                    dataset = prepare_dataset(DataConfig(dataset=name, data_dir=args.data_dir))
                measured = run_one(dataset, method, params)
                row = kept.add({"dataset": Path(name).name, "variant": label, **measured})
            rows.append(row)
            print(json.dumps(row), flush=True)

    print("\n" + "\n".join(render_defaults({"results": rows})))
    if args.json is not None:
        write_result(args.json, {"results": rows})


if __name__ == "__main__":
    main()
