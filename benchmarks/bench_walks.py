"""Random-walk throughput and peak memory: recsys's kernels vs PecanPy, same graph, same run.

Each measurement runs in a fresh subprocess, so its peak RSS (``ru_maxrss``) is its own:
ours with this interpreter, PecanPy with the interpreter of its own venv (PecanPy 2.0.9
needs numpy<2, so it cannot share the project's venv):

    python3 -m venv /work/pecanpy-venv && /work/pecanpy-venv/bin/pip install pecanpy
    flock /tmp/recsys-heavy.lock python benchmarks/bench_walks.py --graph synthetic-random
    flock /tmp/recsys-heavy.lock python benchmarks/bench_walks.py \\
        --graph prepared --dataset-folder /work/bench-data/<prepared synthetic-electronics>

Both sides get the same CSR arrays (written once as an .npz, PecanPy's own CSR format, so
neither side pays text parsing) restricted to nodes with degree > 0, the same walks per
node, the same nodes per walk (PecanPy's ``walk_length`` counts steps, so it gets ours - 1)
and the same thread count (NUMBA_NUM_THREADS). Timed: walk generation only (graph
loading is not). "first call" is what a fresh process pays: preprocessing (our per-row
cumulative weights; PecanPy's alias tables for PreCompFirstOrder) + JIT compilation (ours is
cached on disk by numba, PecanPy compiles its closures in every process) + the walks.
"walks/s" is the throughput of a second call of the walk kernel alone, already compiled
(when PecanPy's first call takes over 2 minutes, that first call's walk time is used).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

PECANPY_SNIPPET = r"""
import json, resource, sys, time
import numpy as np
from numba_progress import ProgressBar
from pecanpy import pecanpy as pp

path, mode, walks_per_node, steps, p, q = sys.argv[1:7]
walks_per_node, steps, p, q = int(walks_per_node), int(steps), float(p), float(q)
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result = {"rss_imports_mb": rss()}
graph = getattr(pp, mode)(p=p, q=q, workers=1, random_state=42)
graph.read_npz(path, weighted=True, implicit_ids=True)
result["rss_graph_mb"] = rss()
start = time.perf_counter()
graph._preprocess_transition_probs()
preprocessed = time.perf_counter()
move_forward, has_nbrs = graph.get_move_forward(), graph.get_has_nbrs()
ends = []
for _ in range(2):
    if ends and ends[0] - start > 120:  # JIT is a few seconds: the first call is the measure
        ends.append(ends[0] + (ends[0] - preprocessed))
        break
    starts = np.concatenate([np.arange(graph.num_nodes, dtype=np.uint32)] * walks_per_node)
    np.random.seed(42)
    np.random.shuffle(starts)
    with ProgressBar(total=starts.size, disable=True) as progress:
        walks = graph._random_walks(
            starts.size, steps, 42, starts, has_nbrs, move_forward, progress
        )
    ends.append(time.perf_counter())
    n_walks, full = walks.shape[0], int((walks[:, -1] == steps + 1).sum())
    del walks
result.update(preprocess_s=preprocessed - start, cold_s=ends[0] - start, warm_s=ends[1] - ends[0],
              n_walks=n_walks, full_walks=full, rss_peak_mb=rss())
print(json.dumps(result))
"""


def power_law_graph(n_nodes: int, n_pairs: int, seed: int) -> sp.csr_matrix:
    """Chung-Lu random graph with power-law expected degrees and co-purchase-like weights."""
    from recsys.data.dataset import PairTable
    from recsys.graph.csr import build_graph

    rng = np.random.default_rng(seed)
    # Expected degree ~ rank^(-0.5): a heavy tail (max degree in the thousands, as in
    # Amazon co-purchase graphs), mean about 2 * n_pairs / n_nodes.
    propensity = np.arange(1, n_nodes + 1, dtype=np.float64) ** -0.5
    propensity = rng.permutation(propensity / propensity.sum())
    cdf = np.cumsum(propensity)
    draws = int(n_pairs * 1.15)
    a = np.searchsorted(cdf, rng.random(draws) * cdf[-1]).astype(np.int64)
    b = np.searchsorted(cdf, rng.random(draws) * cdf[-1]).astype(np.int64)
    keep = a != b
    low, high = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    key = np.unique(low * n_nodes + high)[:n_pairs]
    key = rng.permutation(key)[:n_pairs]
    weight = rng.choice(np.array([0.5, 1.0, 1.5, 2.2], dtype=np.float32), key.size)
    pairs = PairTable(
        item_a=(key // n_nodes).astype(np.int32),
        item_b=(key % n_nodes).astype(np.int32),
        weight=weight,
        relations=np.zeros(key.size, dtype=np.uint8),
    )
    return build_graph(pairs, n_nodes)


def prepared_graph(folder: Path) -> sp.csr_matrix:
    from recsys.data.dataset import load_prepared
    from recsys.graph.csr import build_graph

    dataset = load_prepared(folder)
    return build_graph(dataset.train, dataset.n_items)


def compact(adjacency: sp.csr_matrix) -> sp.csr_matrix:
    """Drop degree-0 nodes (PecanPy would start length-1 walks from them; we start none)."""
    keep = np.flatnonzero(np.diff(adjacency.indptr) > 0)
    return adjacency[keep][:, keep].tocsr()


def run_ours(path: str, kind: str, walks_per_node: int, length: int, p: float, q: float) -> None:
    """Subprocess body: our kernels on the .npz graph; prints one JSON line."""
    from recsys.graph.walks import WalkGraph, random_walks

    def rss() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    result: dict[str, float] = {"rss_imports_mb": rss()}
    raw = np.load(path)
    n = raw["indptr"].size - 1
    adjacency = sp.csr_matrix((raw["data"], raw["indices"], raw["indptr"]), shape=(n, n))
    result["rss_graph_mb"] = rss()
    start = time.perf_counter()
    graph = WalkGraph.from_adjacency(adjacency)
    preprocessed = time.perf_counter()
    ends = []
    for _ in range(2):
        walks = random_walks(
            graph,
            walks_per_node=walks_per_node,
            walk_length=length,
            p=1.0 if kind == "first-order" else p,
            q=1.0 if kind == "first-order" else q,
            workers=0,
        )
        ends.append(time.perf_counter())
        n_walks = walks.shape[0]
        del walks
    result.update(
        preprocess_s=preprocessed - start,
        cold_s=ends[0] - start,
        warm_s=ends[1] - ends[0],
        n_walks=n_walks,
        full_walks=n_walks,
        rss_peak_mb=rss(),
    )
    print(json.dumps(result))


def measure(command: list[str], threads: int) -> dict[str, float]:
    env = {**os.environ, "NUMBA_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--graph", choices=["synthetic-random", "prepared"], default="synthetic-random"
    )
    parser.add_argument("--dataset-folder", type=Path, help="prepared dataset (--graph prepared)")
    parser.add_argument("--n-nodes", type=int, default=418_749, help="synthetic-random nodes")
    parser.add_argument("--n-pairs", type=int, default=4_005_262, help="synthetic-random pairs")
    parser.add_argument("--walks-per-node", type=int, default=10)
    parser.add_argument(
        "--walk-length", type=int, default=10, help="nodes per walk, start included"
    )
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--q", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pecanpy-python", default="/work/pecanpy-venv/bin/python")
    parser.add_argument("--pecanpy-precomp", action="store_true", help="also run PreComp")
    parser.add_argument("--only", choices=["ours", "pecanpy"], help="run one side only")
    parser.add_argument("--run-ours", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_ours:
        path, kind, wpn, length, p, q = args.run_ours
        run_ours(path, kind, int(wpn), int(length), float(p), float(q))
        return

    if args.graph == "prepared":
        if args.dataset_folder is None:
            parser.error("--graph prepared needs --dataset-folder")
        adjacency = compact(prepared_graph(args.dataset_folder))
    else:
        adjacency = compact(power_law_graph(args.n_nodes, args.n_pairs, seed=0))
    degrees = np.diff(adjacency.indptr)
    print(
        f"graph {args.graph}: {adjacency.shape[0]:,} nodes, {adjacency.nnz // 2:,} pairs, "
        f"max degree {degrees.max():,}, threads {args.threads}, "
        f"{args.walks_per_node} walks x {args.walk_length} nodes"
    )
    runs = [("ours", "first-order"), ("PreCompFirstOrder", "first-order")]
    runs += [("ours", "node2vec"), ("SparseOTF", "node2vec")]
    if args.pecanpy_precomp:
        runs.append(("PreComp", "node2vec"))
    if args.only:
        runs = [run for run in runs if (run[0] == "ours") == (args.only == "ours")]
    with tempfile.TemporaryDirectory(prefix="bench-walks-") as folder:
        path = str(Path(folder) / "graph.npz")
        np.savez(path, data=adjacency.data, indptr=adjacency.indptr, indices=adjacency.indices)
        header = f"{'implementation':<28}{'walks':<12}{'prep s':>7}{'first call s':>13}"
        header += f"{'walk s':>8}{'walks/s':>11}{'RSS graph MB':>13}{'peak RSS MB':>12}"
        print(header)
        for implementation, kind in runs:
            p, q = (1.0, 1.0) if kind == "first-order" else (args.p, args.q)
            common = [str(args.walks_per_node)]
            if implementation == "ours":
                command = [sys.executable, __file__, "--run-ours", path, kind, *common]
                command += [str(args.walk_length), str(p), str(q)]
            else:
                command = [args.pecanpy_python, "-c", PECANPY_SNIPPET, path, implementation]
                command += [*common, str(args.walk_length - 1), str(p), str(q)]
            result = measure(command, args.threads)
            label = implementation if implementation == "ours" else f"PecanPy {implementation}"
            print(
                f"{label:<28}{kind:<12}{result['preprocess_s']:>7.1f}{result['cold_s']:>13.1f}"
                f"{result['warm_s']:>8.1f}{result['n_walks'] / result['warm_s']:>11,.0f}"
                f"{result['rss_graph_mb']:>13,.0f}{result['rss_peak_mb']:>12,.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
