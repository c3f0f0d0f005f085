"""The MLflow naming contract: what a tracked run is called and what it carries.

Everything that writes runs (:mod:`recsys.tracking.run`) and everything that reads them
(the leaderboard) imports these names, so a renamed tag breaks at import, not silently.

Experiments: one per dataset, named ``recsys-<dataset label>`` (:func:`experiment_name`).
A run launched by ``mlflow run`` lives in whatever experiment ``mlflow run`` was given
(``--experiment-name``; MLflow's "Default" otherwise), so readers must select runs by the
tags below (``tags."recsys.method" != ''`` plus ``recsys.dataset``), searching every
experiment, and use the experiment only as a convenient grouping in the UI.

Metrics: final values are logged after the per-epoch values at the last epoch's step, so
``run.data.metrics`` (the latest value of each key) holds the final evaluation.
"""

from __future__ import annotations

from pathlib import PurePath

from recsys.callbacks import GENSIM_EPOCH_LOSS

# --- tags -------------------------------------------------------------------------------
TAG_METHOD = "recsys.method"  # registry name, e.g. "skipgram"
TAG_VARIANT = "recsys.variant"  # "binary"/"continuous" (mf), "equal"/"learned" (side_info), ""
TAG_DATASET = "recsys.dataset"  # the dataset as given: a registry name or a file path
TAG_SOURCE = "recsys.source"  # SOURCE_REAL | SOURCE_SYNTHETIC
TAG_CHECKSUM = "recsys.checksum"  # sha256 of the input file (or of the prepared tables)
# The prepared data's key: the input's content and every setting its tables depend on (split,
# filters, weights); runs with different keys were scored on different data.
TAG_DATA_KEY = "recsys.data_key"
TAG_SETTINGS = "recsys.settings"  # settings away from the defaults ("" = defaults), run_settings
TAG_N_PRODUCTS = "recsys.n_products"  # products with a dense item_id
TAG_N_PAIRS = "recsys.n_pairs"  # unique positive pairs: train + held-out validation
TAG_DEVICE = "recsys.device"  # "cpu" | "cuda" | "cuda:0" ...: where training ran
TAG_GIT_COMMIT = "recsys.git_commit"  # HEAD of the checkout the code ran from, or "unknown"
TAG_PEAK_MEMORY_SOURCE = "recsys.peak_memory_source"  # "vmhwm" (training only) | "ru_maxrss"
TAG_DEGREE_PRIOR_PROBLEM = "recsys.degree_prior_problem"  # why a fitted prior is off
TAG_STOPPED_BY = "recsys.stopped_by"  # SIGTERM | SIGINT: why a KILLED run ended
TAG_RESUMED = "recsys.resumed"  # "true": the run continued from its checkpoint
# What interrupted a resumed run, in order ("SIGTERM, DataError"): the signal of its
# recsys.stopped_by or the error type of its recsys.error moves here when it is reopened,
# since it no longer says why the run ended.
TAG_RESUMED_AFTER = "recsys.resumed_after"
TAG_RESUMED_PARAMS = "recsys.resumed_params"  # params changed on resuming (MLflow keeps old)
TAG_RUN_NAME = "mlflow.runName"  # "<method>[-<variant>] on <dataset>", see run_name()

# Runs that are not method runs say what they are, so rankings can leave them out.
TAG_KIND = "recsys.kind"
KIND_LEADERBOARD = "leaderboard"  # a leaderboard report
KIND_MAIN = "main"  # the parent run of a `recsys main` job
TAG_MAIN_RUN = "recsys.main_run"  # on a method run: the id of the main job that started it
# On each run of `recsys main --seeds N`: "<main run id>/<method>"; the leaderboard shows the
# group as one row (mean, spread, an interval wide enough for every seed).
TAG_SEED_GROUP = "recsys.seed_group"
TAG_N_SEEDS = "recsys.n_seeds"  # on a champion's model version: its seed group's size

# Tuning (`recsys tune`, recsys/tracking/tuning/): a parent run per worker (kind "tune"),
# one nested run per Optuna trial (kind "tune_trial", scored on an inner split of the
# training pairs, so it carries no recsys.method and never reaches the leaderboard), and a
# final method run with the best params, tagged recsys.tuned=true.
KIND_TUNE = "tune"
KIND_TUNE_TRIAL = "tune_trial"
TAG_TUNED = "recsys.tuned"  # "true" on a method run trained with a study's best params
TAG_STUDY = "recsys.study"  # the Optuna study's name (tune, trial and tuned runs)
TAG_STUDY_STORAGE = "recsys.study_storage"  # its storage URL, password masked
TAG_TUNE_RUN = "recsys.tune_run"  # on trial and tuned runs: the parent tune run's id
TAG_TUNE_METHOD = "recsys.tune_method"  # on tune and trial runs: the method tuned
TAG_TRIAL = "recsys.trial"  # the Optuna trial number
TAG_TRIAL_STATE = "recsys.trial_state"  # COMPLETE | PRUNED | FAIL
TAG_PARENT_RUN = "mlflow.parentRunId"  # MLflow's own nesting tag
METRIC_TUNE_OBJECTIVE = "tune_objective"  # a trial's value on the inner split
# Before every metric of a tuning trial's run: inner-split scores under their own names.
TRIAL_METRIC_PREFIX = "inner."
METRIC_BEST_VALUE = "best_value"  # on the tune run: the study's best value so far
PARAM_BEST_PREFIX = "best."  # on the tune run: best.<param> for each tuned setting

SOURCE_REAL = "real"
SOURCE_SYNTHETIC = "synthetic"

# --- metrics ----------------------------------------------------------------------------
METRIC_AUC_ALL = "auc_all"  # final (step = last epoch) and per epoch (step = epoch)
METRIC_AUC_SEEN = "auc_seen"  # absent when the slice lacks a class
METRIC_AUC_COLD_START = "auc_cold_start"  # absent when the slice is empty or one-class
METRIC_PR_AUC = "pr_auc"
METRIC_FRAC_MEDIAN_FILLED = "frac_median_filled"  # share of pairs scored with the median
METRIC_TRAIN_MINUTES = "train_minutes"  # wall-clock minutes of Method.train only
METRIC_PEAK_MEMORY_MB = "peak_memory_mb"  # peak RSS while training, MiB (run_info.PeakMemory)
METRIC_PEAK_GPU_MEMORY_MB = "peak_gpu_memory_mb"  # torch.cuda.max_memory_allocated, CUDA only
METRIC_LOSS = "loss"  # per batch, step = global batch index; a mean per pair
METRIC_GENSIM_EPOCH_LOSS = GENSIM_EPOCH_LOSS  # gensim only, step = epoch; an epoch sum
METRIC_SAMPLED_AUC = "sampled_auc"  # per batch where computed, step = global batch index

# Degree-matched protocol, ranking over the whole catalog (final evaluation only); every
# headline metric also has <metric>_ci_low / <metric>_ci_high (95%).
METRIC_MATCHED_AUC_ALL = "matched_auc_all"
METRIC_MATCHED_AUC_SEEN = "matched_auc_seen"
METRIC_MATCHED_AUC_COLD_START = "matched_auc_cold_start"
METRIC_RECALL_AT_10 = "recall_at_10"
METRIC_RECALL_AT_100 = "recall_at_100"
METRIC_NDCG_AT_10 = "ndcg_at_10"
METRIC_MRR = "mrr"
CI_LOW_SUFFIX, CI_HIGH_SUFFIX = "_ci_low", "_ci_high"
# What a tuning trial may maximise: AUC on its inner split's held-out pairs, the study's
# negatives or (matched_) the degree-matched ones, seen pairs or all; the default is the
# leaderboard's ranking. Under the study's negatives a search rewards popularity: on Digital Music,
# mf_bias tuned for auc_seen gained 0.07 seen AUC over its defaults and lost 0.011
# matched AUC and 0.05 recall@10 (the same settings on Music0601: -0.04 and -0.16).
TUNE_OBJECTIVES = (METRIC_AUC_SEEN, METRIC_AUC_ALL, METRIC_MATCHED_AUC_SEEN, METRIC_MATCHED_AUC_ALL)
DEFAULT_TUNE_OBJECTIVE = METRIC_MATCHED_AUC_ALL
# The dataset's statistics (recsys.data.statistics), once per run: data.products,
# data.degree1_share, data.seen_share, data.clustering, ... (NaN values are not logged).
METRIC_DATA_PREFIX = "data."

FINAL_METRICS = (METRIC_AUC_ALL, METRIC_AUC_SEEN, METRIC_AUC_COLD_START, METRIC_PR_AUC)
# Also logged on the run's LoggedModel (linked to the validation pairs): the model page and
# the UI's Models column show them.
MODEL_METRICS = (
    *FINAL_METRICS,
    METRIC_MATCHED_AUC_ALL,
    METRIC_MATCHED_AUC_SEEN,
    METRIC_RECALL_AT_10,
    METRIC_NDCG_AT_10,
    METRIC_MRR,
)

# --- params logged after training ---------------------------------------------------------
METRIC_RANKING_QUERIES_USED = "ranking_queries_used"  # query products the ranking metrics saw
METRIC_RANKING_QUERY_POOL = "ranking_query_pool"  # seen in training, with a held-out pair

# --- artifacts --------------------------------------------------------------------------
ARTIFACT_MANIFEST = "dataset/manifest.json"  # the prepared dataset's manifest
ARTIFACT_EMBEDDINGS_DIR = "embeddings"  # vectors, known, [bias], [context] .npy, vocabulary
ARTIFACT_FIGURES_DIR = "figures"  # threshold, roc[_matched], recall_at_k, degree_buckets, learning
ARTIFACT_CURVES = "evaluation/curves.json"  # ROC (study) and recall@k points, for overlays
MODEL_NAME = "model"  # the pyfunc model: load with runs:/<run_id>/model

EXPERIMENT_PREFIX = "recsys-"

# Methods whose runs differ by one setting that names the variant: method -> config field.
VARIANT_FIELDS: dict[str, str] = {"mf": "labels", "side_info": "weighting"}


def dataset_label(dataset: str) -> str:
    """A short name for a dataset: the name itself, or a file's name without .json[.gz];
    a twin ``synthetic-like:FILE[:SCALE]`` is ``synthetic-like-<FILE's label>[-x<SCALE>]``
    (never the real file's own label: its runs are not the file's)."""
    if dataset.lower().startswith(TWIN_PREFIX):
        inner = dataset[len(TWIN_PREFIX) :]
        head, colon, tail = inner.rpartition(":")
        try:
            scale = float(tail) if colon else 1.0
        except ValueError:
            head, scale = inner, 1.0
        suffix = "" if scale == 1.0 else f"-x{scale:g}"
        return f"synthetic-like-{dataset_label(head if colon and head else inner)}{suffix}"
    if "/" not in dataset and "\\" not in dataset and not dataset.endswith((".json", ".gz")):
        return dataset
    name = PurePath(dataset).name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    return name or dataset


TWIN_PREFIX = "synthetic-like:"  # as recsys.data.datasets.TWIN_PREFIX


def experiment_name(dataset: str) -> str:
    """The experiment a run on ``dataset`` goes to: ``recsys-<dataset label>``."""
    return f"{EXPERIMENT_PREFIX}{dataset_label(dataset)}"


def run_name(method: str, variant: str, dataset: str) -> str:
    """``"<method>[-<variant>] on <dataset label>"``, e.g. ``"mf-binary on electronics"``."""
    head = f"{method}-{variant}" if variant else method
    return f"{head} on {dataset_label(dataset)}"
