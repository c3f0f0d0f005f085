"""One Optuna trial: train with the sampled settings on the inner split, as a nested run.

A trial never sees the validation pairs the leaderboard reports: it trains on the inner
split's training pairs and is scored on the held-out slice of the TRAINING pairs
(:func:`recsys.data.split.inner_split`). Its run is nested under the worker's tune run
(``mlflow.parentRunId``), tagged ``recsys.kind=tune_trial`` and carries no
``recsys.method``, so the leaderboard never mistakes its inner-split AUC for a result; its
metrics are named ``inner.<metric>`` (``inner.matched_auc_all``), so a search over every
run's ``metrics.matched_auc_all`` finds the validation scores alone.
Every epoch's metric also goes to Optuna's pruner (:class:`PruningCallback`); a complete
trial also records its recall@10 on the inner split, which the ranking floor compares
(:mod:`recsys.tracking.tuning.baseline`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from mlflow import MlflowClient
from pydantic import BaseModel

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.ranking import (
    RankingQueries,
    evaluate_ranking,
    ranking_device,
    ranking_queries,
)
from recsys.models.base import Method
from recsys.models.degree_prior import calibrate_and_apply
from recsys.tracking import names
from recsys.tracking.callback import MLflowCallback, epoch_evaluator, log_new_params
from recsys.tracking.params import flatten_config
from recsys.tracking.parent import mark_run_failed
from recsys.tracking.run import validate_params
from recsys.tracking.signals import stop_signal_of, stopped_runs_end_killed
from recsys.tracking.tuning.baseline import record_recall
from recsys.tracking.tuning.space import Dimension

logger = logging.getLogger(__name__)


def objective_value(metrics: Mapping[str, float], metric: str) -> float:
    """``metrics[metric]``, else the same protocol's AUC over all pairs (a slice without
    both classes has no seen AUC), else NaN (Optuna records the trial as failed)."""
    for key in (metric, metric.replace("_seen", "_all")):
        value = metrics.get(key)
        if value is not None and math.isfinite(value):
            return float(value)
    return math.nan


class PruningCallback(TrainingCallback):
    """Reports each epoch's objective to the trial and ends it when the pruner says so.

    Raising :class:`optuna.TrialPruned` from the hook stops the trainer at the epoch's end
    (the tracking callbacks before this one have already logged the epoch).
    """

    def __init__(
        self,
        trial: optuna.Trial,
        metric: str,
        evaluate_epoch: Callable[[ItemEmbeddings], dict[str, float]],
    ) -> None:
        self.trial = trial
        self.metric = metric
        self.evaluate_epoch = evaluate_epoch

    def on_epoch_end(self, epoch: int, metrics: dict[str, float], model: ItemEmbeddings) -> None:
        value = objective_value(metrics, self.metric)
        if math.isnan(value):  # a counted baseline reports no metrics: evaluate it here
            value = objective_value(self.evaluate_epoch(model), self.metric)
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}: {self.metric} {value:.4f}")


@dataclass(frozen=True)
class TrialSetting:
    """What every trial of one worker shares."""

    method: Method
    data_config: DataConfig
    fixed: Mapping[str, Any]  # -P params, as given
    space: list[Dimension]
    defaults: Mapping[str, Any]  # the searched settings' defaults: the first trial's
    inner: PreparedDataset  # the inner split of the training pairs
    inner_queries: RankingQueries  # its ranking queries (recall@10 for the ranking floor)
    metric: str
    ranking_floor: bool
    client: MlflowClient
    experiment_id: str
    parent_run_id: str
    study_name: str
    storage_label: str  # the storage URL, password masked


def _quiet(config: BaseModel) -> BaseModel:
    """The trial's config without per-epoch progress bars (a line per trial instead)."""
    if "progress" in type(config).model_fields:
        return config.model_copy(update={"progress": False})
    return config


def inner_recall_at_10(
    model: ItemEmbeddings, inner: PreparedDataset, queries: RankingQueries
) -> float:
    """recall@10 over the whole catalog on the inner split's held-out pairs (``queries``:
    :func:`inner_queries`); NaN without a query."""
    if len(queries) == 0:
        return math.nan
    ranking = evaluate_ranking(model, inner, queries, intervals=False, device=ranking_device())
    return ranking.mean(names.METRIC_RECALL_AT_10)


def inner_queries(inner: PreparedDataset, data_config: DataConfig) -> RankingQueries:
    """The inner split's ranking queries, as the final evaluation draws them (the same query
    count and seed): drawn once per worker, every trial ranks the same products."""
    return ranking_queries(inner, data_config.ranking_queries, data_config.split_seed)


def _trial_tags(setting: TrialSetting, trial: optuna.Trial) -> dict[str, str]:
    dataset = setting.data_config.dataset
    return {
        names.TAG_KIND: names.KIND_TUNE_TRIAL,
        names.TAG_TUNE_METHOD: setting.method.name,
        names.TAG_DATASET: dataset,
        names.TAG_STUDY: setting.study_name,
        names.TAG_STUDY_STORAGE: setting.storage_label,
        names.TAG_TRIAL: str(trial.number),
        names.TAG_TUNE_RUN: setting.parent_run_id,
        names.TAG_PARENT_RUN: setting.parent_run_id,
        names.TAG_RUN_NAME: f"{setting.method.name} trial {trial.number} on "
        f"{names.dataset_label(dataset)}",
    }


def run_trial(setting: TrialSetting, trial: optuna.Trial) -> float:
    """Sample the trial's settings, train on the inner split and return its objective.

    The nested run ends FINISHED (tag ``recsys.trial_state`` COMPLETE or PRUNED) or
    FAILED with the error (an invalid combination of settings fails too).

    Raises:
        optuna.TrialPruned: the pruner stopped the trial.
        Exception: whatever training raised (the caller records the trial as failed).
    """
    sampled = {d.name: d.suggest(trial) for d in setting.space}
    client = setting.client
    with stopped_runs_end_killed(client) as register:  # SIGTERM / Ctrl-C: the run KILLED
        run_id = client.create_run(setting.experiment_id, tags=_trial_tags(setting, trial))
        register(run_id.info.run_id)
        value = _run_protected(setting, trial, run_id.info.run_id, sampled)
    return value


def _run_protected(
    setting: TrialSetting, trial: optuna.Trial, run_id: str, sampled: Mapping[str, Any]
) -> float:
    """Train and score, ending the trial's run with the trial's state."""
    client = setting.client
    try:
        trial.set_user_attr("mlflow_run_id", run_id)
        value = _train_and_score(setting, trial, run_id, sampled)
    except optuna.TrialPruned:
        client.set_tag(run_id, names.TAG_TRIAL_STATE, "PRUNED")
        client.set_terminated(run_id, status="FINISHED")
        raise
    except BaseException as error:
        client.set_tag(run_id, names.TAG_TRIAL_STATE, "FAIL")
        if stop_signal_of(error) is None:  # a stop signal ends it KILLED instead
            mark_run_failed(client, run_id, error)
        raise
    client.set_tag(run_id, names.TAG_TRIAL_STATE, "COMPLETE" if math.isfinite(value) else "FAIL")
    client.set_terminated(run_id, status="FINISHED" if math.isfinite(value) else "FAILED")
    return value


def _train_and_score(
    setting: TrialSetting, trial: optuna.Trial, run_id: str, sampled: Mapping[str, Any]
) -> float:
    client, inner = setting.client, setting.inner
    params = {**setting.fixed, **sampled}
    _, data_config, config = validate_params(setting.method.name, params)
    config = _quiet(config)
    logged = {**flatten_config(data_config), **flatten_config(config)}
    log_new_params(client, run_id, logged)

    evaluate_cached = epoch_evaluator(inner)
    tracker = MLflowCallback(client, run_id, evaluate_cached, prefix=names.TRIAL_METRIC_PREFIX)
    pruning = PruningCallback(trial, setting.metric, evaluate_cached)
    started = time.perf_counter()
    model = setting.method.train(inner, config, [tracker, pruning])
    if getattr(config, "degree_prior", False):  # calibrated inside the inner training pairs
        model, _ = calibrate_and_apply(
            lambda data: setting.method.train(data, config, []),
            model,
            inner,
            data_config.split_seed,
        )
    minutes = (time.perf_counter() - started) / 60
    final = evaluate_cached(model)
    value = objective_value(final, setting.metric)
    recall = inner_recall_at_10(model, inner, setting.inner_queries)
    if math.isfinite(recall):
        record_recall(trial, recall, setting.ranking_floor)
    tracker.log_metrics(
        {
            **final,
            **({names.METRIC_RECALL_AT_10: recall} if math.isfinite(recall) else {}),
            names.METRIC_TRAIN_MINUTES: minutes,
            **({names.METRIC_TUNE_OBJECTIVE: value} if math.isfinite(value) else {}),
        },
        step=tracker.last_epoch or 0,
    )
    return value
