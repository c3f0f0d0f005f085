"""Skip-gram training throughput: our trainer next to gensim Word2Vec on the same walks.

Both train skip-gram with negative sampling for one epoch over the same walk matrix, same
window, dimension, negatives, subsampling threshold and thread count; the script reports
training pairs per second and seconds per epoch.

Converting gensim's words/s to pairs/s: gensim reports *effective* words (after
subsampling) and, like word2vec.c, draws for each center a reduced window w' uniform in
1..window, pairing it with up to w' kept tokens on each side within its walk. A walk that
keeps L tokens therefore yields on average pairs(L) = mean over w'=1..window of
2 * sum_{d=1..w'} max(L - d, 0) pairs (:func:`recsys.training.sequences.pairs_per_walk`).
The script draws the kept lengths with the same subsampling formula gensim uses, so
gensim's pairs/epoch = sum over walks of pairs(kept length), and
pairs/s = that / gensim's epoch time (= effective words/s x pairs per effective word).

Our trainer runs both in gensim's setting (``reduced_window=True``, the same expected pairs:
time per epoch directly comparable) and in the study's (fixed window: every token within
5, ~1.5x the pairs).

    flock /tmp/recsys-heavy.lock python benchmarks/bench_skipgram.py \\
        --data-dir /work/bench-data --threads 2
    python benchmarks/bench_skipgram.py --device cuda --batch-size 262144 \\
        --negative-chunks 1,32,128                                        # on a GPU

Input: synthetic Electronics (scale 1.0) prepared under ``--data-dir`` when it exists
(its first-order walks, cached beside it), else a uniform random walk matrix of the same
size (``--random-items`` products x 10 walks x length 10).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from results import write_result

from recsys.config import DataConfig
from recsys.graph import walks_for_dataset
from recsys.models.skipgram import SkipGram, SkipGramConfig
from recsys.training.batching import PairBatch
from recsys.training.engine import build_optimizers, resolve_device, run_epoch, torch_threads
from recsys.training.sequences import (
    keep_probability,
    pairs_per_walk,
    token_counts,
)
from recsys.training.walk_batches import WalkBatchSource
from recsys.training.window_sgns import walk_training_source
from recsys.typing import WalkMatrix


def load_walks(args: argparse.Namespace) -> tuple[WalkMatrix, int, str]:
    """(walk matrix, n_items, description of the input)."""
    prepared = args.data_dir / "prepared"
    if args.dataset and prepared.exists() and any(prepared.glob(f"{args.dataset}-*")):
        from recsys.data.prepare import prepare_dataset

        dataset = prepare_dataset(DataConfig(dataset=args.dataset, data_dir=args.data_dir))
        walk_config = SkipGramConfig(walks_per_node=10, walk_length=10)
        walk_matrix = walks_for_dataset(dataset, walk_config)
        source = f"{args.dataset} (first-order walks, 10 per product, length 10)"
        n_items = dataset.n_items
    else:
        rng = np.random.default_rng(0)
        n_items = args.random_items
        walk_matrix = rng.integers(0, n_items, (n_items * 10, 10), dtype=np.int32)
        source = f"uniform random walks over {n_items} items (no prepared {args.dataset})"
    if args.max_walks and walk_matrix.shape[0] > args.max_walks:
        rows = np.random.default_rng(1).choice(walk_matrix.shape[0], args.max_walks, replace=False)
        walk_matrix = walk_matrix[np.sort(rows)]
        source += f", random subset of {args.max_walks} walks"
    return np.ascontiguousarray(walk_matrix), n_items, source


def gensim_expected_pairs(
    walk_matrix: WalkMatrix, n_items: int, window: int, sample: float
) -> float:
    """Pairs gensim trains in one epoch, in expectation (see the module docstring)."""
    keep = keep_probability(token_counts(walk_matrix, n_items), sample)
    rng = np.random.default_rng(0)
    kept_lengths = (rng.random(walk_matrix.shape) < keep[walk_matrix]).sum(axis=1)
    lengths, counts = np.unique(kept_lengths, return_counts=True)
    pairs = [c * pairs_per_walk(int(n), window, True) for n, c in zip(lengths, counts, strict=True)]
    return float(sum(pairs))


def bench_ours(
    walk_matrix: WalkMatrix,
    n_items: int,
    args: argparse.Namespace,
    optimizer: str,
    reduced: bool,
    shared: bool = True,
    negative_chunk: int = 32,
) -> dict[str, Any]:
    """One epoch of our skip-gram (no evaluation), timed by the engine's run_epoch."""
    config = SkipGramConfig(
        dim=args.dim,
        window=args.window,
        negatives=args.negatives,
        subsample=args.sample,
        batch_size=args.batch_size,
        device=args.device,
        optimizer=optimizer,  # type: ignore[arg-type]
        lr=0.025 if optimizer == "sgd" else 0.01,
        reduced_window=reduced,
        shared_negatives=shared,
        negative_chunk=negative_chunk,
        threads=args.threads if args.device == "cpu" else 0,
        epochs=1,
        progress=args.progress,
    )
    device = resolve_device(config.device)
    with torch_threads(config.threads):
        model = SkipGram(n_items, config.dim, torch.Generator().manual_seed(0)).to(device)
        source, _ = walk_training_source(walk_matrix, n_items, config, device)
        optimizers = build_optimizers(model, config)
        if optimizer == "sgd":  # compile / warm the fused kernels outside the timing
            ids = torch.zeros(4, dtype=torch.int64, device=device)
            model.fused_sgd_step(PairBatch(ids, ids, ids.view(4, 1), None, 1.0), 0.0)
            tiny = WalkBatchSource(walk_matrix[:2], n_items, 2, 0.0, 8, 1)
            for batch in tiny.epoch(torch.Generator().manual_seed(0)):
                model.fused_walk_step(batch, 0.0)
        if device.type == "cuda":
            torch.cuda.synchronize()
        stats = run_epoch(model, source, optimizers, config, epoch=0)
        if device.type == "cuda":
            torch.cuda.synchronize()
    fused = ""
    if optimizer == "sgd" and device.type == "cpu":
        fused = ", numba, negatives shared per window" if shared else ", numba, per pair"
    elif optimizer == "sgd":
        fused = f", tensor step, negatives shared by {negative_chunk} pairs" if shared else ""
    return {
        "trainer": f"ours ({optimizer}{fused})",
        "window": "reduced (gensim's)" if reduced else "fixed (study)",
        "pairs": stats.n_pairs,
        "seconds": stats.seconds,
        "pairs_per_second": stats.n_pairs / stats.seconds,
        "loss": stats.mean_loss,
    }


def bench_gensim(walk_matrix: WalkMatrix, n_items: int, args: argparse.Namespace) -> dict[str, Any]:
    """One epoch of gensim Word2Vec sg=1 via corpus_file (its fast, GIL-free path)."""
    from gensim.models import Word2Vec

    from recsys.models.gensim_common import write_corpus_file

    with tempfile.TemporaryDirectory() as folder:
        corpus = Path(folder) / "walks.txt"
        write_corpus_file(walk_matrix, corpus)
        model = Word2Vec(
            sg=1,
            vector_size=args.dim,
            window=args.window,
            negative=args.negatives,
            sample=args.sample,
            min_count=1,
            workers=args.threads,
            seed=0,
        )
        model.build_vocab(corpus_file=str(corpus))
        started = time.perf_counter()
        effective_words, raw_words = model.train(
            corpus_file=str(corpus),
            total_examples=model.corpus_count,
            total_words=model.corpus_total_words,
            epochs=1,
            report_delay=1e9,
        )
        seconds = time.perf_counter() - started
    pairs = gensim_expected_pairs(walk_matrix, n_items, args.window, args.sample)
    return {
        "trainer": "gensim Word2Vec sg=1 (corpus_file)",
        "window": "reduced (gensim's)",
        "pairs": pairs,
        "seconds": seconds,
        "pairs_per_second": pairs / seconds,
        "effective_words_per_second": effective_words / seconds,
        "pairs_per_effective_word": pairs / max(effective_words, 1),
        "raw_words": raw_words,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--dataset", default="synthetic-electronics")
    parser.add_argument("--random-items", type=int, default=418_749)
    parser.add_argument("--max-walks", type=int, default=0, help="train on a subset (0 = all)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=65536)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negatives", type=int, default=5)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--optimizers", default="sgd,adam")
    parser.add_argument("--no-fixed-window", action="store_true")
    parser.add_argument("--no-gensim", action="store_true")
    parser.add_argument(
        "--no-pair-kernel", action="store_true", help="CPU SGD: skip the per-pair kernel"
    )
    parser.add_argument(
        "--negative-chunks",
        default="32",
        help="GPU SGD: negative_chunk values to run (pairs sharing one draw of negatives)",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    args = parser.parse_args()

    walk_matrix, n_items, source = load_walks(args)
    print(f"input: {source}; walks {walk_matrix.shape}, {n_items} items")
    results: list[dict[str, Any]] = []
    if not args.no_gensim and args.device == "cpu":
        results.append(bench_gensim(walk_matrix, n_items, args))
        print(results[-1], flush=True)
    for optimizer in args.optimizers.split(","):
        for reduced in [True] if args.no_fixed_window else [True, False]:
            kernels = [True, False] if optimizer == "sgd" and args.device == "cpu" else [True]
            chunks = [int(c) for c in args.negative_chunks.split(",")]
            if optimizer != "sgd" or args.device == "cpu":
                chunks = chunks[:1]  # only the GPU SGD step shares by chunks
            for shared in kernels[:1] if args.no_pair_kernel else kernels:
                for chunk in chunks:
                    results.append(
                        bench_ours(walk_matrix, n_items, args, optimizer, reduced, shared, chunk)
                    )
                    print(results[-1], flush=True)

    machine = (
        torch.cuda.get_device_name(0)
        if args.device == "cuda"
        else f"{platform.processor() or platform.machine()}, {os.cpu_count()} vCPUs"
    )
    print(
        f"\n{source}; dim {args.dim}, window {args.window}, {args.negatives} negatives, "
        f"sample {args.sample:g}, batch {args.batch_size}, {args.threads} threads, {machine}\n"
    )
    print("| trainer | window | pairs/epoch | s/epoch | pairs/s |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['trainer']} | {r['window']} | {r['pairs'] / 1e6:.1f}M | {r['seconds']:.1f} | "
            f"{r['pairs_per_second'] / 1e6:.3f}M |"
        )
    if args.json is not None:
        write_result(args.json, {"source": source, "results": results})


if __name__ == "__main__":
    main()
