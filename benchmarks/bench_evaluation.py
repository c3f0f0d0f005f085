"""What a run's evaluation costs beside ranking: pair scores, an epoch's metrics, CSLS.

Every epoch of a torch or walk method scores all validation pairs and takes its AUCs
(:func:`recsys.evaluation.metrics.epoch_metrics`); side_info's hubness correction adds
CSLS's ``r`` (:func:`recsys.models.hubness.neighbourhood_similarity`) once. Timed here at
Electronics scale on random tables (the cost does not depend on what the vectors
learned): pair scores of 4,005,262 random pairs with one table (mf) and with center and
context tables (the skip-gram methods), CSLS's ``r`` over a 5,000-product sample, and,
given a prepared dataset, one epoch's metrics on its validation table and a final
evaluation's pair metrics (both protocols' curves, AUCs and DeLong intervals). Ranking
over the whole catalog is ``bench_ranking.py``'s.

    flock /tmp/recsys-heavy.lock python benchmarks/bench_evaluation.py \\
        --dataset-folder /work/bench-data/prepared/<prepared synthetic-electronics> --json out.json

Prints one JSON line (also written to --json): seconds of each part, best of --repeats
calls after one untimed call (numba compilation), and the peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from results import write_result

from recsys.data.prepare import load_prepared
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import epoch_metrics, evaluate_scored, score_protocols
from recsys.models.hubness import neighbourhood_similarity


def best_seconds(call: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls, after one untimed call."""
    call()
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return round(min(timings), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=418_749)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--pairs", type=int, default=4_005_262, help="pairs to score")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--dataset-folder",
        type=Path,
        default=None,
        help="a prepared dataset's folder (under DATA_DIR/prepared/): also time one epoch's "
        "metrics and the final pair metrics on its validation table, with tables of its size",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()

    dataset = load_prepared(args.dataset_folder) if args.dataset_folder else None
    n = dataset.n_items if dataset is not None else args.items
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, args.dim), dtype=np.float32)
    context = rng.standard_normal((n, args.dim), dtype=np.float32)
    known = np.ones(n, dtype=bool)
    plain = ItemEmbeddings(vectors, known, similarity="dot_sigmoid")
    both = ItemEmbeddings(vectors, known, context=context)
    a, b = rng.integers(0, n, args.pairs), rng.integers(0, n, args.pairs)

    row: dict[str, object] = {"items": n, "dim": args.dim, "pairs": args.pairs}
    row["pair_scores_one_table_s"] = best_seconds(lambda: plain.score(a, b), args.repeats)
    row["pair_scores_center_context_s"] = best_seconds(lambda: both.score(a, b), args.repeats)
    row["csls_r_s"] = best_seconds(lambda: neighbourhood_similarity(both), args.repeats)
    if dataset is not None:
        row["validation_rows"] = len(dataset.validation)
        row["epoch_metrics_center_context_s"] = best_seconds(
            lambda: epoch_metrics(both, dataset), args.repeats
        )
        row["final_pair_metrics_center_context_s"] = best_seconds(
            lambda: evaluate_scored(dataset, score_protocols(both, dataset), intervals=True),
            args.repeats,
        )
    else:
        print("epoch and final pair metrics not timed: they need --dataset-folder", flush=True)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(row), flush=True)
    if args.json is not None:
        write_result(args.json, row)


if __name__ == "__main__":
    main()
