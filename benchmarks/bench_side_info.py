"""Skip-gram vs skip-gram with side information (EGES equal / learned): AUC all, seen, cold start.

All three train on the same prepared dataset, the same walks (cached beside the dataset) and
the same engine settings; only the center vector differs. Prints one table row per method,
as JSON lines, plus the learned field weights:

    flock /tmp/recsys-heavy.lock python benchmarks/bench_side_info.py \\
        --dataset /work/shared/data/amazon/meta_Digital_Music.json.gz --data-dir /tmp/eges/data \\
        --epochs 3 --dim 64 --rare-threshold 5

``--set key=value`` (repeatable) overrides any config field of every method (e.g.
``--set window=3``); ``--side key=value`` overrides only side_info fields (``id_dropout=0.5``).
``--methods`` picks a subset (skipgram, equal, learned). Each trained model is scored twice
from the same tables: as configured (``pair_score=center_context`` by default: center vs
context vectors) and as ``<name>+center`` (center vectors only, the study's scoring).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.data.prepare import prepare_dataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import EvaluationResult, auc_or_none, evaluate, score_validation
from recsys.models import side_info, skipgram


def _parse_overrides(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        out[key] = json.loads(value) if value[:1] in "0123456789-[{tf" else value
    return out


def bootstrap_auc_interval(
    result_labels: np.ndarray, scores: np.ndarray, rng: np.random.Generator, rounds: int = 500
) -> tuple[float, float]:
    """95% bootstrap interval of ROC-AUC (for small slices such as cold start)."""
    from sklearn.metrics import roc_auc_score

    values = []
    n = result_labels.size
    for _ in range(rounds):
        pick = rng.integers(0, n, n)
        if result_labels[pick].min() != result_labels[pick].max():
            values.append(roc_auc_score(result_labels[pick], scores[pick]))
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def cross_slice_diagnostics(
    label: np.ndarray, scores: np.ndarray, seen: np.ndarray, meta_a: np.ndarray, meta_b: np.ndarray
) -> dict[str, float | None]:
    """How seen positives rank against seen negatives by the negatives' metadata.

    Every positive has metadata on at least one side; a negative can have none. If a model
    loses the seen slice while tying inside each metadata slice, the loss is in these
    cross-slice comparisons: mean scores per group and AUC of all seen positives against
    each group of seen negatives say which.
    """
    positives = seen & (label == 1)
    n_meta = meta_a.astype(int) + meta_b.astype(int)
    out: dict[str, float | None] = {"mean_score_pos": round(float(scores[positives].mean()), 4)}
    for count, name in ((0, "no_meta"), (1, "one_meta"), (2, "both_meta")):
        negatives = seen & (label == 0) & (n_meta == count)
        if not negatives.any():
            continue
        mask = positives | negatives
        auc = auc_or_none(label[mask], scores[mask])
        out[f"auc_pos_vs_neg_{name}"] = None if auc is None else round(auc, 4)
        out[f"mean_score_neg_{name}"] = round(float(scores[negatives].mean()), 4)
        out[f"n_neg_{name}"] = int(negatives.sum())
    return out


def _row(name: str, result: EvaluationResult, seconds: float, extra: dict[str, Any]) -> dict:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 4)

    row: dict[str, Any] = {
        "method": name,
        "auc_all": rounded(result.auc_all),
        "auc_seen": rounded(result.auc_seen),
        "auc_cold_start": rounded(result.auc_cold_start),
        "n_cold_start": result.n_cold_start,
        "frac_median_filled": round(result.n_median_filled / result.n_pairs, 4),
        "minutes": round(seconds / 60, 2),
    }
    row.update({k: round(v, 3) for k, v in extra.items() if k.startswith("field_weights_")})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="dataset name or metadata file")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4096)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--rare-threshold", type=int, default=10)
    parser.add_argument("--methods", default="skipgram,equal,learned")
    parser.add_argument("--set", action="append", default=[], help="key=value for every method")
    parser.add_argument("--side", action="append", default=[], help="key=value for side_info")
    parser.add_argument(
        "--center-all",
        action="store_true",
        help="also score every method's vectors minus their mean over known products",
    )
    args = parser.parse_args()

    data = prepare_dataset(DataConfig(dataset=args.dataset, data_dir=args.data_dir))
    print(
        json.dumps(
            {
                "dataset": data.name,
                "n_items": data.n_items,
                "n_train_pairs": len(data.train),
                "n_validation": len(data.validation),
                "n_cold_start": int(data.cold_start_mask().sum()),
            }
        ),
        flush=True,
    )
    common: dict[str, Any] = {
        "epochs": args.epochs,
        "dim": args.dim,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "progress": False,
        "eval_every": 1_000_000,
        **_parse_overrides(args.set),
    }
    side = {"rare_threshold": args.rare_threshold, **_parse_overrides(args.side)}
    rng = np.random.default_rng(0)
    for name in args.methods.split(","):
        started = time.perf_counter()
        if name == "skipgram":
            embeddings = skipgram.train(data, skipgram.SkipGramConfig(**common))
        else:
            config = side_info.SideInfoConfig(weighting=name, **common, **side)
            embeddings = side_info.train(data, config)
        seconds = time.perf_counter() - started
        variants = [(name, embeddings)]
        if embeddings.context is not None:
            variants.append((f"{name}+center", replace(embeddings, context=None)))
        if args.center_all:
            variants.append((f"{name}+center_all", centered(embeddings)))
        for variant, vectors in variants:
            report(variant, vectors, seconds, data, rng)


def centered(embeddings: ItemEmbeddings) -> ItemEmbeddings:
    """The center vectors minus their mean over known products, scored center to center."""
    mean = embeddings.vectors[embeddings.known].mean(axis=0, keepdims=True)
    vectors = (embeddings.vectors - mean).astype(np.float32)
    return replace(embeddings, vectors=vectors, context=None)


def report(
    name: str,
    embeddings: ItemEmbeddings,
    seconds: float,
    data: PreparedDataset,
    rng: np.random.Generator,
) -> None:
    """Print one JSON row: the slices, the cross-slice diagnostics, the cold-start interval."""
    validation = data.validation_for("study")  # the headline protocol
    cold = data.cold_start_mask(validation)
    has_meta = data.products["has_metadata"].to_numpy(dtype=bool)
    meta_a, meta_b = has_meta[validation.item_a], has_meta[validation.item_b]
    seen = validation.seen
    seen_by_metadata = {
        "auc_seen_both_meta": seen & meta_a & meta_b,
        "auc_seen_one_meta": seen & (meta_a != meta_b),
    }
    result = evaluate(embeddings, data)
    row = _row(name, result, seconds, embeddings.extra)
    scores, _ = score_validation(embeddings, validation)
    # Seen pairs split by metadata: side information can only change pairs that have it.
    # (Positives come from a record's lists, so one side always has metadata; negatives can
    # lack it on both sides, which makes that slice one-class and "has metadata" a signal.)
    for slice_name, mask in seen_by_metadata.items():
        auc = auc_or_none(validation.label[mask], scores[mask])
        row[slice_name] = None if auc is None else round(auc, 4)
    row.update(cross_slice_diagnostics(validation.label, scores, seen, meta_a, meta_b))
    if cold.sum() > 1 and result.auc_cold_start is not None:
        low, high = bootstrap_auc_interval(validation.label[cold], scores[cold], rng)
        row["cold_start_95ci"] = [round(low, 3), round(high, 3)]
    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
