"""One tracked run: validate, check the store, prepare, train, evaluate, log everything.

The order is the point: parameters are validated and the tracking store is checked before
the dataset is prepared, so a typo or a dead server fails in a second, not after training.
What a run carries is fixed by :mod:`recsys.tracking.names`.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.data.datasets import check_dataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.plots import (
    degree_bucket_figure,
    learning_curve_figure,
    recall_curve_figure,
    roc_figure,
    threshold_figure,
)
from recsys.evaluation.report import FinalEvaluation, evaluate_final, headline_summary
from recsys.methods import get_method, method_names
from recsys.models.base import Method
from recsys.models.degree_prior import calibrate_and_apply, prior_metrics
from recsys.tracking import names
from recsys.tracking.callback import MLflowCallback, epoch_evaluator, log_new_params
from recsys.tracking.comparison_view import ensure_comparison_view
from recsys.tracking.experiments import resolve_experiment_id
from recsys.tracking.inputs import log_dataset_inputs, log_dataset_statistics
from recsys.tracking.params import (
    ParameterError,
    build_config,
    flat_fields,
    flatten_config,
    split_params,
)
from recsys.tracking.parent import PROJECT_RUN_ENV, errors_recorded
from recsys.tracking.progress import artifact_progress_bars
from recsys.tracking.pyfunc import log_embedding_model, save_embeddings, score_description
from recsys.tracking.resume import (
    changed_params,
    check_resumable,
    checkpoint_folder,
    remember_run,
    resumed_stop_tags,
    run_to_resume,
)
from recsys.tracking.run_info import (
    PeakMemory,
    data_key,
    dataset_checksum,
    dataset_source,
    git_commit,
    manifest_params_beside,
    n_positive_pairs,
    peak_gpu_memory_mb,
    reset_peak_gpu_memory,
    resolve_device,
    run_settings,
    variant_of,
)
from recsys.tracking.server import check_tracking_uri
from recsys.tracking.signals import stopped_runs_end_killed

logger = logging.getLogger(__name__)

SYSTEM_METRICS_ENV = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"  # MLflow's own switch
SYSTEM_METRICS_INTERVAL_ENV = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"  # and its interval
# Seconds between system metric samples unless the environment sets MLflow's interval:
# MLflow's 10 s left every run shorter than that (most runs of a small dataset) without any.
SYSTEM_METRICS_INTERVAL_S = 1.0


def validate_params(method_name: str, params: Mapping[str, Any]) -> tuple[Method, DataConfig, Any]:
    """Look the method up and validate flat params: (method, data config, method config).

    Raises:
        ParameterError: unknown method, unknown parameter or invalid value, or
            ``device=cuda`` where torch sees no GPU.
    """
    if method_name not in method_names():
        raise ParameterError(
            f"unknown method {method_name!r}; choose one of: {', '.join(method_names())}"
        )
    method = get_method(method_name)
    data_config, config = split_params(params, method.config_class, method_name)
    if getattr(config, "device", None) == "cuda":
        import torch  # only methods with a device setting pay torch's import

        if not torch.cuda.is_available():
            raise ParameterError(
                f"device=cuda, but torch {torch.__version__} sees no CUDA GPU on this machine; "
                "use -P device=auto (cuda when there is one) or device=cpu"
            )
    return method, data_config, config


def prepare(data_config: DataConfig, *, progress: bool = True) -> PreparedDataset:
    """Prepare (or load the cached) dataset through the data pipeline."""
    from recsys.data.prepare import prepare_dataset  # heavy parsing code, imported on use

    return prepare_dataset(data_config, progress=progress)


def run_prepare(params: Mapping[str, Any], *, tracking_uri: str | None = None) -> PreparedDataset:
    """Validate DataConfig params and prepare the dataset (the MLproject ``prepare`` step).

    Under ``mlflow run`` the project's run gets the dataset tags, the manifest as an
    artifact and its counts as params; otherwise nothing is logged.

    Raises:
        ParameterError: before any work, naming the parameter.
        TrackingServerError: under ``mlflow run``, before any work, naming the URI.
    """
    fields = flat_fields(DataConfig)
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ParameterError(
            f"unknown parameter {', '.join(map(repr, unknown))} for prepare; "
            f"known parameters: {', '.join(fields)}"
        )
    data_config = build_config(DataConfig, params, "the dataset")
    project_run = os.environ.get(PROJECT_RUN_ENV)
    uri = check_tracking_uri(tracking_uri) if project_run else None
    dataset = prepare(data_config)
    if project_run and uri is not None:
        mlflow.set_tracking_uri(uri)
        client = MlflowClient(uri)
        with mlflow.start_run(run_id=project_run):
            mlflow.set_tags(
                {
                    names.TAG_DATASET: data_config.dataset,
                    names.TAG_SOURCE: dataset_source(data_config.dataset, dataset.manifest),
                    names.TAG_CHECKSUM: dataset_checksum(dataset),
                    names.TAG_N_PRODUCTS: str(dataset.n_items),
                    names.TAG_N_PAIRS: str(n_positive_pairs(dataset)),
                    names.TAG_GIT_COMMIT: git_commit(),
                }
            )
            config_params = flatten_config(data_config)
            log_new_params(
                client,
                project_run,
                {**config_params, **manifest_params_beside(dataset.manifest, config_params)},
            )
            mlflow.log_dict({"name": dataset.name, **dataset.manifest}, names.ARTIFACT_MANIFEST)
    return dataset


def run_method(
    method_name: str,
    params: Mapping[str, Any],
    *,
    tracking_uri: str | None = None,
    progress: bool = True,
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Train and evaluate one method on one dataset as one MLflow run.

    Args:
        method_name: a registered method (``recsys.methods.method_names()``).
        params: flat parameters, values as Python objects or strings ("128", "true"):
            DataConfig fields (dataset, data_dir, ...) and the method's config fields.
        tracking_uri: the store; default ``$MLFLOW_TRACKING_URI``, else MLflow's default
            (``sqlite:///mlflow.db``). Under ``mlflow run`` the project's run is used.
        progress: show progress bars and stage messages on stderr.
        extra_tags: tags added to (or replacing) the run's own, e.g. ``recsys.tuned`` on
            a run trained with a tuning study's best params.

    Returns:
        The run id.

    Raises:
        ParameterError: before any work, naming the parameter.
        DataError: ``dataset`` is neither a dataset name nor a file, before any work.
        TrackingServerError: before any work, naming the URI.
        CheckpointMismatch: ``checkpoint_dir`` holds a checkpoint of other training data
            or settings, or an unreadable one; before a run is opened.
    """
    method, data_config, config = validate_params(method_name, params)
    if not progress and "progress" in type(config).model_fields:
        config = config.model_copy(update={"progress": False})  # trainers draw their own bars
    check_dataset(data_config.dataset)  # a typo fails before a tracking store is created
    uri = check_tracking_uri(tracking_uri)
    if progress:
        logger.info("preparing dataset %s", data_config.dataset)
    dataset = prepare(data_config, progress=progress)
    check_ranking_queries(data_config, dataset)
    return track_run(
        method,
        config,
        data_config,
        dataset,
        tracking_uri=uri,
        progress=progress,
        extra_tags=extra_tags,
    )


def check_ranking_queries(data_config: DataConfig, dataset: PreparedDataset) -> None:
    """An explicit ``ranking_queries`` above the catalog's size is a mistake: say so now.

    The default (10,000) is an upper bound that fits small catalogs (MLproject entry points
    pass it explicitly, so it is told apart by value, not by being given).

    Raises:
        ParameterError: naming ``ranking_queries`` and the catalog's size.
    """
    value, default = data_config.ranking_queries, DataConfig.model_fields["ranking_queries"].default
    if value != default and value > dataset.n_items:
        raise ParameterError(
            f"ranking_queries={data_config.ranking_queries:,} is larger than the catalog of "
            f"{data_config.dataset} ({dataset.n_items:,} products); give at most "
            f"{dataset.n_items:,}, or leave it out for up to 10,000"
        )


def _run_tags(
    method: Method, config: BaseModel, data_config: DataConfig, dataset: PreparedDataset
) -> dict[str, str]:
    variant = variant_of(method.name, config)
    return {
        names.TAG_METHOD: method.name,
        names.TAG_VARIANT: variant,
        names.TAG_DATASET: data_config.dataset,
        names.TAG_SOURCE: dataset_source(data_config.dataset, dataset.manifest),
        names.TAG_CHECKSUM: dataset_checksum(dataset),
        names.TAG_DATA_KEY: data_key(dataset),
        names.TAG_SETTINGS: run_settings(config, data_config),
        names.TAG_N_PRODUCTS: str(dataset.n_items),
        names.TAG_N_PAIRS: str(n_positive_pairs(dataset)),
        names.TAG_DEVICE: resolve_device(config),
        names.TAG_GIT_COMMIT: git_commit(),
        names.TAG_RUN_NAME: names.run_name(method.name, variant, data_config.dataset),
    }


def system_metrics_enabled() -> bool:
    """MLflow's system metrics (CPU, memory, disk, network; GPU with pynvml) for every
    training run, unless ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=false`` says otherwise:
    sampled every second by a background thread: about 7 ms of one core per sample (a
    store query, a few psutil reads), under 1% of it."""
    return os.environ.get(SYSTEM_METRICS_ENV, "true").strip().lower() not in ("false", "0")


def _start_run(
    data_config: DataConfig, run_name: str, resume: str | None = None
) -> mlflow.ActiveRun:
    system = system_metrics_enabled()
    if system and not os.environ.get(SYSTEM_METRICS_INTERVAL_ENV):
        mlflow.set_system_metrics_sampling_interval(SYSTEM_METRICS_INTERVAL_S)
    project_run = os.environ.get(PROJECT_RUN_ENV)
    if project_run:  # launched by `mlflow run`: log into the run it created
        return mlflow.start_run(run_id=project_run, log_system_metrics=system)
    if resume is not None:  # an interrupted run's checkpoint: continue that run
        return mlflow.start_run(run_id=resume, log_system_metrics=system)
    default = names.experiment_name(data_config.dataset)
    experiment_id = resolve_experiment_id(MlflowClient(), default)
    return mlflow.start_run(
        experiment_id=experiment_id, run_name=run_name, log_system_metrics=system
    )


def _input_example(dataset: PreparedDataset) -> pd.DataFrame:
    """Two validation pairs by asin: what a caller of the served model sends."""
    asins = dataset.products["asin"].astype(str).to_numpy()
    rows = np.arange(min(2, len(dataset.validation)))
    return pd.DataFrame(
        {
            "product1": asins[dataset.validation.item_a[rows]],
            "product2": asins[dataset.validation.item_b[rows]],
        }
    )


def _log_figures(final: FinalEvaluation, callback: MLflowCallback, title: str) -> None:
    curve, result = callback.curve, final.pairs
    figures = {
        "precision_recall_threshold.png": threshold_figure(result, title),
        "roc.png": roc_figure(result, title),
        "roc_matched.png": roc_figure(result.matched or result, f"{title} (degree-matched)"),
        "recall_at_k.png": recall_curve_figure(list(final.ranking.recall_curve), title),
        "degree_buckets.png": degree_bucket_figure(final.by_bucket, title),
        "learning_curve.png": learning_curve_figure(
            curve.loss_steps,
            curve.loss,
            curve.auc_steps,
            curve.sampled_auc,
            curve.epoch_end_steps,
            title,
            loss_name=curve.loss_name,
        ),
    }
    for file_name, figure in figures.items():
        mlflow.log_figure(figure, f"{names.ARTIFACT_FIGURES_DIR}/{file_name}")
    # The curves as numbers, so the leaderboard can overlay every method's on one figure.
    curves = {
        "roc": {"fpr": result.roc.x.tolist(), "tpr": result.roc.y.tolist()},
        "recall_at_k": [float(v) for v in final.ranking.recall_curve],
    }
    mlflow.log_dict(curves, names.ARTIFACT_CURVES)


def track_run(
    method: Method,
    config: BaseModel,
    data_config: DataConfig,
    dataset: PreparedDataset,
    *,
    tracking_uri: str,
    progress: bool = True,
    extra_callbacks: Sequence[TrainingCallback] = (),
    extra_tags: Mapping[str, str] | None = None,
) -> str:
    """Train ``method`` on an already prepared dataset and log it as one run.

    :func:`run_method` is the entry point; this is the part after validation and
    preparation, usable with any PreparedDataset (tests pass a small planted one).

    Returns:
        The run id.
    """
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    tags = {**_run_tags(method, config, data_config, dataset), **(extra_tags or {})}
    check_resumable(config, dataset)
    resume = run_to_resume(client, config)
    with (
        stopped_runs_end_killed(client) as register,
        _start_run(data_config, tags[names.TAG_RUN_NAME], resume) as run,
        errors_recorded(client, run.info.run_id),
    ):
        run_id = run.info.run_id
        register(run_id)
        remember_run(config, run_id)
        if resume is not None:
            folder = checkpoint_folder(config)
            logger.warning("resuming run %s from its checkpoint in %s", run_id, folder)
            tags[names.TAG_RESUMED] = "true"
            tags.update(resumed_stop_tags(client, run_id))
            changed = changed_params(
                client, run_id, {**flatten_config(data_config), **flatten_config(config)}
            )
            if changed:
                tags[names.TAG_RESUMED_PARAMS] = ", ".join(
                    f"{key}: {old} -> {new}" for key, (old, new) in sorted(changed.items())
                )[:4000]
        mlflow.set_tags(tags)
        ensure_comparison_view(client, run.info.experiment_id)
        validation_input = log_dataset_inputs(dataset, data_config)
        log_dataset_statistics(dataset)
        config_params = {**flatten_config(data_config), **flatten_config(config)}
        log_new_params(
            client,
            run_id,
            {**config_params, **manifest_params_beside(dataset.manifest, config_params)},
        )
        mlflow.log_dict({"name": dataset.name, **dataset.manifest}, names.ARTIFACT_MANIFEST)

        tracker = MLflowCallback(client, run_id, epoch_evaluator(dataset))
        callbacks: list[TrainingCallback] = [tracker, *extra_callbacks]

        memory = PeakMemory()
        memory.start()
        reset_peak_gpu_memory(tags[names.TAG_DEVICE])
        started = time.perf_counter()
        try:
            model = method.train(dataset, config, callbacks)
        except KeyboardInterrupt:  # stopped: the curve so far stays with the run
            tracker.flush()
            raise
        if getattr(config, "degree_prior", False):
            model = _apply_degree_prior(method, config, model, dataset, data_config, progress)
        train_minutes = (time.perf_counter() - started) / 60
        final = {
            names.METRIC_TRAIN_MINUTES: train_minutes,
            names.METRIC_PEAK_MEMORY_MB: memory.peak_mb(),
        }
        gpu_peak = peak_gpu_memory_mb(tags[names.TAG_DEVICE])
        if gpu_peak is not None:
            final[names.METRIC_PEAK_GPU_MEMORY_MB] = gpu_peak
        mlflow.set_tag(names.TAG_PEAK_MEMORY_SOURCE, memory.source)
        if progress:
            logger.info(
                "%s: evaluating (both protocols, ranking, buckets)", tags[names.TAG_RUN_NAME]
            )
        result = evaluate_final(model, dataset, data_config.ranking_queries, data_config.split_seed)
        final.update(result.metrics())
        # The headline metrics are logged once, with the model below (linked to it).
        headline = {k: v for k, v in final.items() if k in names.MODEL_METRICS}
        tracker.log_metrics(
            {k: v for k, v in final.items() if k not in headline}, step=tracker.last_epoch or 0
        )
        if progress:
            logger.info("%s: %s", tags[names.TAG_RUN_NAME], headline_summary(result.metrics()))

        _log_figures(result, tracker, tags[names.TAG_RUN_NAME])
        with tempfile.TemporaryDirectory(prefix="recsys-embeddings-") as tmp:
            folder = save_embeddings(model, dataset.products["asin"], Path(tmp))
            mlflow.log_artifacts(str(folder), names.ARTIFACT_EMBEDDINGS_DIR)
            with artifact_progress_bars(progress):
                info = log_embedding_model(
                    folder,
                    _input_example(dataset),
                    name=names.MODEL_NAME,
                    metadata={"score": score_description(model)},
                )
        # The run's final headline metrics, linked to its LoggedModel and the validation
        # pairs, so the UI's model page and Models column show them too.
        mlflow.log_metrics(
            headline,
            step=tracker.last_epoch or 0,
            model_id=info.model_id,
            dataset=validation_input,
        )
    return run_id


def _apply_degree_prior(
    method: Method,
    config: BaseModel,
    model: ItemEmbeddings,
    dataset: PreparedDataset,
    data_config: DataConfig,
    progress: bool,
) -> ItemEmbeddings:
    """Fit the degree prior on an inner split of the training pairs and blend it in.

    Per-epoch metrics (logged during training) are the similarity's alone; the final
    metrics are the blend's. The calibration's training time counts in train_minutes.
    """
    if progress:
        logger.info("degree_prior: calibrating on an inner split of the training pairs")
    # The calibration training is silent and keeps off the run's checkpoint (its data differ).
    fields = type(config).model_fields
    quiet = config.model_copy(
        update={k: v for k, v in (("progress", False), ("checkpoint_dir", None)) if k in fields}
    )
    blended, prior = calibrate_and_apply(
        lambda inner: method.train(inner, quiet, []), model, dataset, data_config.split_seed
    )
    mlflow.log_metrics(prior_metrics(prior))
    if prior.problem:
        warnings.warn(f"degree_prior: {prior.problem}", stacklevel=2)
        mlflow.set_tag(names.TAG_DEGREE_PRIOR_PROBLEM, prior.problem)
    if progress:
        logger.info("degree_prior: beta %.4f", prior.beta)
    return blended
