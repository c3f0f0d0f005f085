"""gensim methods end to end on a prepared dataset: walk time, training time, peak RSS, AUC.

AUC is reported as the method scores (``pair_score``, center vs context by default) and,
from the same training, with center vectors only (the study's scoring).

Measures the word2vec method (first-order walks + gensim, CBOW as the study ran it) or the
node2vec method's gensim trainer (second-order walks + gensim skip-gram, ``trainer=gensim``),
and compares gensim's two input paths on the same walks: ``corpus_file`` (walks written as
text, read by gensim's Cython workers without the GIL) and an iterable of str-token lists.
Each input path runs in its own subprocess, so its peak RSS is its own.

    flock /tmp/recsys-heavy.lock python benchmarks/bench_word2vec.py \\
        --dataset synthetic-electronics --data-dir /work/bench-data
    flock /tmp/recsys-heavy.lock python benchmarks/bench_word2vec.py --method node2vec \\
        --dataset synthetic-books --data-dir /work/bench-data --corpus file

Walks are computed afresh (not read from the walk cache) so their time is measured.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset, load_prepared


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_dataset(args: argparse.Namespace) -> PreparedDataset:
    """A prepared dataset: from its folder, or prepared (and cached) from a name or path."""
    if args.dataset_folder is not None:
        return load_prepared(args.dataset_folder)
    from recsys.data.prepare import prepare_dataset  # issue 2's module

    return prepare_dataset(DataConfig(dataset=args.dataset, data_dir=args.data_dir))


def run_one(args: argparse.Namespace, corpus: str) -> dict[str, float | str]:
    """Subprocess body: walks, then gensim training, then full validation metrics."""
    from recsys.evaluation.metrics import evaluate
    from recsys.graph import walk_config_of, walks_for_dataset
    from recsys.methods import get_method
    from recsys.models.gensim_common import train_word2vec_on_walks

    start = time.perf_counter()
    dataset = load_dataset(args)
    loaded = time.perf_counter()
    rss_loaded = peak_rss_mb()
    if args.method == "node2vec":  # node2vec's gensim trainer (the study's)
        from recsys.models.node2vec import Node2VecConfig, gensim_config

        chosen = Node2VecConfig(trainer="gensim", workers=args.workers, epochs=args.epochs)
        config = gensim_config(chosen).model_copy(update={"corpus": corpus})
    else:
        config = get_method(args.method).config_class(
            corpus=corpus, workers=args.workers, epochs=args.epochs
        )
    # folder=None: walk afresh, so the walk time is measured rather than read from the cache.
    walk_matrix = walks_for_dataset(replace(dataset, folder=None), walk_config_of(config))
    walked = time.perf_counter()
    rss_walks = peak_rss_mb()
    embeddings = train_word2vec_on_walks(dataset, walk_matrix, config, callbacks=())
    trained = time.perf_counter()
    result = evaluate(embeddings, dataset)
    # The study's scoring (center vectors only) from the same training, for comparison.
    center = evaluate(replace(embeddings, context=None), dataset)
    return {
        "corpus": corpus,
        "n_items": dataset.n_items,
        "n_train_pairs": len(dataset.train),
        "n_walks": int(walk_matrix.shape[0]),
        "load_s": loaded - start,
        "walk_s": walked - loaded,
        "train_s": trained - walked,
        "rss_loaded_mb": rss_loaded,
        "rss_walks_mb": rss_walks,
        "rss_peak_mb": peak_rss_mb(),
        "auc_all": result.auc_all,
        "auc_seen": result.auc_seen if result.auc_seen is not None else float("nan"),
        "center_auc_all": center.auc_all,
        "center_auc_seen": center.auc_seen if center.auc_seen is not None else float("nan"),
        "frac_median_filled": result.n_median_filled / result.n_pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=["word2vec", "node2vec"], default="word2vec")
    parser.add_argument("--dataset", default="synthetic-electronics", help="name or file path")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--dataset-folder", type=Path, help="an already prepared dataset")
    parser.add_argument("--corpus", nargs="+", choices=["file", "iterable"], default=["file"])
    parser.add_argument("--workers", type=int, default=0, help="threads; 0 = every core")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--run-one", choices=["file", "iterable"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one:
        print(json.dumps(run_one(args, args.run_one)))
        return
    if args.dataset_folder is None:
        load_dataset(args)  # prepare once up front, so no timed subprocess prepares it
    print(f"{args.method} on {args.dataset_folder or args.dataset}, workers={args.workers}")
    header = f"{'corpus':<10}{'walk s':>8}{'train s':>9}{'total min':>10}"
    header += f"{'RSS walks MB':>13}{'peak RSS MB':>12}{'AUC all':>9}{'AUC seen':>10}"
    header += f"{'center all':>12}{'center seen':>13}"
    for corpus in args.corpus:
        command = [sys.executable, __file__, *sys.argv[1:], "--run-one", corpus]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{corpus} run failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if corpus == args.corpus[0]:
            print(
                f"{result['n_items']:,} items, {result['n_train_pairs']:,} train pairs, "
                f"{result['n_walks']:,} walks"
            )
            print(header)
        minutes = (result["walk_s"] + result["train_s"]) / 60
        print(
            f"{corpus:<10}{result['walk_s']:>8.1f}{result['train_s']:>9.1f}{minutes:>10.2f}"
            f"{result['rss_walks_mb']:>13,.0f}{result['rss_peak_mb']:>12,.0f}"
            f"{result['auc_all']:>9.4f}{result['auc_seen']:>10.4f}"
            f"{result['center_auc_all']:>12.4f}{result['center_auc_seen']:>13.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
