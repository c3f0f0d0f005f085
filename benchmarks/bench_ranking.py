"""Ranking metrics at Electronics scale: seconds and memory of exact whole-catalog ranking.

The budget (issue: evaluation) is 60 s on 2 CPU cores for 418,749 products, 10,000 query
products and dim 128, scored the way the skip-gram methods score by default (center vs
context vectors: two matmuls per query block). Vectors are random: the cost of exact
ranking does not depend on what the vectors learned. Each query gets 1-11 held-out
products (Electronics' validation holds ~6 per product) and 2.67M training pairs mask
its neighbours, as in a real run.

    python benchmarks/bench_ranking.py                      # Electronics scale
    python benchmarks/bench_ranking.py --items 60430 --json out.json

Prints one JSON line (also written to --json): seconds (first call, numba compilation
included, then a second timed call), peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
from results import write_result
from scipy import sparse

from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.ranking import RankingQueries, ranking_metrics_from_ranks, relevant_ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=418_749)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--train-pairs", type=int, default=2_670_175)
    parser.add_argument("--center-only", action="store_true", help="one matmul (no context)")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n = args.items
    vectors = rng.standard_normal((n, args.dim), dtype=np.float32)
    context = None if args.center_only else rng.standard_normal((n, args.dim), dtype=np.float32)
    model = ItemEmbeddings(vectors, np.ones(n, bool), context=context)
    query = np.sort(rng.choice(n, args.queries, replace=False)).astype(np.int32)
    counts = rng.integers(1, 12, args.queries)
    indptr = np.append(0, np.cumsum(counts)).astype(np.int64)
    relevant = rng.integers(0, n, int(indptr[-1])).astype(np.int32)
    queries = RankingQueries(query, indptr, relevant, args.queries)
    a, b = rng.integers(0, n, args.train_pairs), rng.integers(0, n, args.train_pairs)
    ones = np.ones(2 * a.size, np.float32)
    adjacency = sparse.csr_matrix(
        (ones, (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    )

    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        ranks = relevant_ranks(model, queries, adjacency)
        result = ranking_metrics_from_ranks(queries, ranks, np.random.default_rng(1))
        seconds.append(round(time.perf_counter() - started, 2))
    row = {
        "items": n,
        "dim": args.dim,
        "queries": args.queries,
        "held_out_per_query": round(float(counts.mean()), 2),
        "scoring": "center" if args.center_only else "center_context",
        "seconds_first": seconds[0],
        "seconds": seconds[1],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "recall_at_10": round(result.mean("recall_at_10"), 6),
    }
    print(json.dumps(row), flush=True)
    if args.json is not None:
        write_result(args.json, row)


if __name__ == "__main__":
    main()
