"""The GPU SGD steps' shared negatives: quality per chunk size, and their speed.

On a GPU, the walk methods' SGD steps (:mod:`recsys.training.sgns_torch`: skip-gram's, MF
on sequences', and EGES's ``SkipGramWithSideInfo.fused_sgd_step``) train on shuffled window
pairs and share one draw of negatives by ``negative_chunk`` pairs. The steps are the same
tensor arithmetic on any device, so their quality can be checked where no GPU is lent: with
``--device cpu`` each chunk size trains the method's defaults with ``tensor_step`` (the GPU's
path: window pairs and the tensor steps instead of the CPU window kernels), next to the
method's own CPU default; on a GPU the path is the default anyway. It reports AUC seen /
matched, recall@10, minutes and the median training pairs/s of the epochs (on CPU they say
nothing about a GPU).

    flock /tmp/recsys-heavy.lock python benchmarks/bench_negative_chunk.py \\
        --data-dir /work/bench-data --method skipgram --chunks 1,8,32,128
    python benchmarks/bench_negative_chunk.py --device cuda \\
        --datasets synthetic-electronics --chunks 1,32     # on a GPU

Datasets default to the real samples beside the project (``../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

from bench_defaults import REAL_SAMPLES, EpochRates
from results import write_result

from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.data.prepare import prepare_dataset
from recsys.evaluation.report import evaluate_final
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.methods import get_method

METRICS = ("auc_seen", "matched_auc_all", "matched_auc_seen", "auc_cold_start", "recall_at_10")


def measure(dataset: PreparedDataset, method: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Train once (walks cached beforehand) and evaluate as a run's final evaluation does."""
    spec = get_method(method)
    config = spec.config_class(**settings)  # validated (and its defaults resolved) as usual
    walks_for_dataset(dataset, walk_config_of(config), progress=False)
    rates = EpochRates()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embeddings = spec.train(dataset, config, [rates])
    minutes = (time.perf_counter() - started) / 60
    seed = int(dataset.manifest["split_seed"])
    metrics = evaluate_final(embeddings, dataset, DataConfig().ranking_queries, seed).metrics()
    halves = {
        f"{k}_half_interval": (metrics[f"{k}_ci_high"] - metrics[f"{k}_ci_low"]) / 2
        for k in ("auc_seen", "matched_auc_all")
        if f"{k}_ci_low" in metrics and f"{k}_ci_high" in metrics
    }
    return {
        **{k: metrics.get(k) for k in METRICS},
        **halves,
        "minutes": minutes,
        "pairs_per_second": statistics.median(rates.rates) if rates.rates else None,
    }


def half(row: dict[str, Any], metric: str) -> str:
    """The text " ±h": half the metric's 95% DeLong interval, when the evaluation gave one."""
    value = row.get(f"{metric}_half_interval")
    return "" if value is None else f" ±{value:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/work/bench-data"))
    parser.add_argument("--datasets", nargs="*", default=[str(p) for p in REAL_SAMPLES])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--method", choices=["skipgram", "side_info", "mf_sequences"], default="skipgram"
    )
    parser.add_argument("--chunks", default="1,8,32,128", help="negative_chunk values")
    parser.add_argument("--seeds", default="0", help="training seeds, e.g. 0,1")
    parser.add_argument(
        "--set", default="{}", help="JSON settings for every variant, e.g. '{\"epochs\": 1}'"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    settings = {"device": args.device, "progress": False, **json.loads(args.set)}
    rows: list[dict[str, Any]] = []
    for name in args.datasets:
        dataset = prepare_dataset(DataConfig(dataset=name, data_dir=args.data_dir))
        for seed in [int(s) for s in args.seeds.split(",")]:
            variants = [("default", None)] + [
                (f"GPU path, chunk {c}", int(c)) for c in args.chunks.split(",")
            ]
            for label, chunk in variants:
                chunked = {} if chunk is None else {"negative_chunk": chunk, "tensor_step": True}
                row = {
                    "dataset": Path(name).name,
                    "method": args.method,
                    "variant": label,
                    "seed": seed,
                    **measure(dataset, args.method, {**settings, **chunked, "seed": seed}),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)

    print("\n| dataset | method | variant | seed | seen (±half interval) | matched all (±) "
          "| matched seen | cold start | recall@10 | minutes | pairs/s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rate, cold = r["pairs_per_second"], r["auc_cold_start"]
        print(
            f"| {r['dataset']} | {r['method']} | {r['variant']} | {r['seed']} | "
            f"{r['auc_seen']:.4f}{half(r, 'auc_seen')} | "
            f"{r['matched_auc_all']:.4f}{half(r, 'matched_auc_all')} | "
            f"{r['matched_auc_seen']:.4f} | "
            f"{'-' if cold is None else f'{cold:.4f}'} | "
            f"{r['recall_at_10']:.3f} | {r['minutes']:.2f} | "
            f"{'-' if rate is None else f'{rate / 1e6:.2f}M'} |"
        )
    if args.json is not None:
        write_result(args.json, {"device": args.device, "results": rows})


if __name__ == "__main__":
    main()
