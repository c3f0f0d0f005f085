"""`recsys tune`: an Optuna study of one method on one dataset, then a run with its best.

Order, so that bad input fails before any work: params, search space and ``--trials`` are
validated, the tracking store and the study storage are checked, then the dataset is
prepared, the study opened (or joined), the worker's parent run started, and trials run
until the study holds ``--trials`` trials (every worker's, in any state) or ``--timeout``
passes. Trials train on an inner split of the TRAINING pairs (:mod:`.trial`); the final
run trains the best settings on all training pairs and is scored on the validation pairs
like any method run, tagged ``recsys.tuned=true`` and nested under the parent.

Sampling is TPE, seeded per trial number (``--seed`` + number): one worker repeats
exactly, and workers sharing a study draw different startup trials. Pruning is Optuna's
median rule on each epoch's inner-split metric. The first trial trains the defaults, and
the best is chosen among trials that rank at least as well (:mod:`.baseline`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import mlflow
import optuna
from mlflow import MlflowClient
from optuna.trial import TrialState

from recsys.data.datasets import check_dataset
from recsys.data.split import few_held_out_warning, inner_names, inner_split
from recsys.tracking import names
from recsys.tracking.collect import collected_between_runs
from recsys.tracking.params import ParameterError
from recsys.tracking.parent import start_parent_run, without_project_run
from recsys.tracking.run import prepare, run_method, validate_params
from recsys.tracking.run_info import data_key, dataset_checksum, variant_of
from recsys.tracking.server import check_tracking_uri
from recsys.tracking.signals import raise_if_stop_received, stopped_runs_end_killed
from recsys.tracking.tuning.baseline import (
    BASELINE_ATTR,
    FLOOR_ATTR,
    RECALL_ATTR,
    best_trial,
    default_params,
    enqueue_defaults,
    ranking_floor,
)
from recsys.tracking.tuning.report import log_study, state_counts
from recsys.tracking.tuning.space import describe, method_space
from recsys.tracking.tuning.storage import (
    default_storage_url,
    masked,
    open_storage,
    open_study,
    trial_slot,
)
from recsys.tracking.tuning.study_names import (
    DATA_KEY_ATTR,
    DATASET_GIVEN_ATTR,
    default_study_name,
)
from recsys.tracking.tuning.trial import TrialSetting, inner_queries, run_trial

logger = logging.getLogger(__name__)

Pruner = Literal["median", "none"]
TPE_STARTUP_TRIALS = 10  # Optuna's default; capped at a third of a small budget (min 2)
PRUNER_STARTUP_TRIALS = 5  # trials that run to the end before the median rule prunes
PRUNER_WARMUP_EPOCHS = 1  # the first epoch is never pruned (a noisy start)
# -P settings that say where or how a worker runs, not what it optimises: workers on other
# machines may set them differently and still join the study (the dataset is identified
# by its label and checksum instead of its path).
MACHINE_PARAMS = frozenset(
    {"dataset", "data_dir", "workers", "threads", "device", "progress", "checkpoint_dir"}
)
# How a dataset too small for the trials' inner split is reported.
TUNING_SPLIT = inner_names(
    "--inner-fraction",
    "Use a larger --inner-fraction (below 0.5) or a dataset with more pairs.",
)


@dataclass(frozen=True)
class TuneRequest:
    """What to tune and how (the CLI's options)."""

    method: str
    trials: int
    params: Mapping[str, Any] = field(default_factory=dict)  # -P: dataset and fixed settings
    space: Mapping[str, str] = field(default_factory=dict)  # --space narrowing
    study: str | None = None
    storage: str | None = None
    timeout_s: float | None = None
    metric: str = names.DEFAULT_TUNE_OBJECTIVE
    inner_fraction: float | None = None  # None: the dataset's validation_fraction
    seed: int = 42
    pruner: Pruner = "median"
    final: bool = True
    ranking_floor: bool = True  # the best must rank at least as well as the defaults


@dataclass(frozen=True)
class TuneResult:
    """How the worker's sweep ended."""

    parent_run_id: str
    study: str
    storage: str  # password masked
    trials_run: int  # by this worker
    counts: dict[str, int]  # the study's trials by state, every worker's
    best_value: float | None
    best_params: dict[str, Any]
    final_run_id: str | None = None
    final_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.final_error


def make_sampler(seed: int, trials: int) -> optuna.samplers.TPESampler:
    """TPE with a random startup of a third of the budget (2 to Optuna's 10 trials); it
    reads the ranking floor from each trial's constraint."""
    startup = min(TPE_STARTUP_TRIALS, max(2, trials // 3))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup)


def make_pruner(pruner: Pruner) -> optuna.pruners.BasePruner:
    if pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS
    )


def _check_request(request: TuneRequest) -> None:
    if request.trials < 1:
        raise ParameterError(f"--trials must be at least 1, got {request.trials}")
    if request.metric not in names.TUNE_OBJECTIVES:
        raise ParameterError(
            f"--metric {request.metric!r}: choose one of {', '.join(names.TUNE_OBJECTIVES)}"
        )
    if request.inner_fraction is not None and not 0 < request.inner_fraction < 0.5:
        raise ParameterError(f"--inner-fraction must be in (0, 0.5), got {request.inner_fraction}")
    if request.timeout_s is not None and request.timeout_s <= 0:
        raise ParameterError(f"--timeout must be positive, got {request.timeout_s}")


def run_tune(
    request: TuneRequest,
    *,
    tracking_uri: str | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> TuneResult:
    """Run (or join) the study, log it on a parent run, then the final tuned run.

    Raises:
        ParameterError: bad params, space, trials or metric, before any work.
        TrackingServerError: the tracking store is unusable, before any work.
        StudyError: the study storage is unusable (before any work) or the study was made
            for another method, dataset or settings (before any trial).
    """
    _check_request(request)
    method, data_config, _ = validate_params(request.method, request.params)
    space = method_space(method.name, method.config_class, request.params, request.space)
    defaults = default_params(method.name, request.params, space)
    check_dataset(data_config.dataset)  # a typo fails before a tracking store is created
    uri = check_tracking_uri(tracking_uri)
    storage_url = request.storage or default_storage_url(uri)
    storage = open_storage(storage_url)
    shown_storage = masked(storage_url)

    echo(f"Preparing {data_config.dataset} ...")
    dataset = prepare(data_config, progress=progress)
    study_name = request.study or default_study_name(
        storage, method.name, data_config.dataset, dataset
    )
    fraction = request.inner_fraction or data_config.validation_fraction
    inner = inner_split(dataset, fraction, data_config.split_seed, TUNING_SPLIT)
    few = few_held_out_warning(
        inner,
        "the tuning split",
        f"--inner-fraction={fraction:.3g}",
        "trials may be ranked on noise",
        "use a larger --inner-fraction (below 0.5) or a dataset with more pairs",
    )
    if few is not None:
        logger.warning("%s", few)
    identity = {
        "method": method.name,
        "dataset": names.dataset_label(data_config.dataset),
        "checksum": dataset_checksum(dataset),
        "fixed_params": {
            k: str(v) for k, v in sorted(request.params.items()) if k not in MACHINE_PARAMS
        },
        "space": describe(space),
        "metric": request.metric,
        "inner_fraction": fraction,
        FLOOR_ATTR: request.ranking_floor,
    }
    study = open_study(
        storage,
        study_name,
        identity,
        make_sampler(request.seed, request.trials),
        make_pruner(request.pruner),
    )
    for key, value in (
        (DATA_KEY_ATTR, data_key(dataset)),
        (DATASET_GIVEN_ATTR, data_config.dataset),
    ):
        if key not in study.user_attrs:  # studies made before these were recorded get them
            study.set_user_attr(key, value)

    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    parent_tags = {
        names.TAG_KIND: names.KIND_TUNE,
        names.TAG_TUNE_METHOD: method.name,
        names.TAG_DATASET: data_config.dataset,
        names.TAG_STUDY: study_name,
        names.TAG_STUDY_STORAGE: shown_storage,
        names.TAG_RUN_NAME: f"tune {method.name} on {names.dataset_label(data_config.dataset)}",
    }
    parent_run_id, owns_parent = start_parent_run(client, data_config.dataset, parent_tags)
    _log_request(client, parent_run_id, request, identity, study_name, shown_storage)
    echo(
        f"Study {study_name!r} in {shown_storage}: {method.name} on {data_config.dataset}, "
        f"up to {request.trials} trials, {request.metric} on an inner split of the training "
        f"pairs ({fraction:.0%} held out); tune run {parent_run_id}"
    )
    with stopped_runs_end_killed(client) as register:
        if owns_parent:
            register(parent_run_id)
        return _sweep(
            study,
            TrialSetting(
                method=method,
                data_config=data_config,
                fixed=dict(request.params),
                space=space,
                defaults=defaults,
                inner=inner,
                inner_queries=inner_queries(inner, data_config),
                metric=request.metric,
                ranking_floor=request.ranking_floor,
                client=client,
                experiment_id=client.get_run(parent_run_id).info.experiment_id,
                parent_run_id=parent_run_id,
                study_name=study_name,
                storage_label=shown_storage,
            ),
            request,
            (storage, storage_url),
            owns_parent,
            uri,
            progress,
            echo,
        )


def _sweep(
    study: optuna.Study,
    setting: TrialSetting,
    request: TuneRequest,
    storage: tuple[optuna.storages.RDBStorage, str],
    owns_parent: bool,
    uri: str,
    progress: bool,
    echo: Callable[[str], None],
) -> TuneResult:
    """Trials, the study's summary on the tune run, then the tuned run."""
    client, parent_run_id = setting.client, setting.parent_run_id
    started = time.perf_counter()
    try:
        trials_run = _optimize(study, setting, request, *storage, echo)
        notes = log_study(
            client, parent_run_id, study, trials_run, (time.perf_counter() - started) / 60
        )
        for note in notes:
            echo(note)
        best = best_trial(study)
        result = TuneResult(
            parent_run_id,
            setting.study_name,
            setting.storage_label,
            trials_run,
            state_counts(study),
            None if best is None else best.value,
            {} if best is None else dict(best.params),
        )
        if request.final:
            result = _final_run(result, request, best, uri, progress, echo)
    except BaseException:
        if owns_parent:
            client.set_terminated(parent_run_id, status="KILLED")
        raise
    if owns_parent:
        client.set_terminated(parent_run_id, status="FINISHED" if result.ok else "FAILED")
    return result


def _log_request(
    client: MlflowClient,
    run_id: str,
    request: TuneRequest,
    identity: Mapping[str, Any],
    study_name: str,
    storage: str,
) -> None:
    params = {
        "study": study_name,
        "storage": storage,
        "trials": request.trials,
        "metric": request.metric,
        "inner_fraction": identity["inner_fraction"],
        "sampler": "TPESampler",
        "pruner": request.pruner,
        "seed": request.seed,
        "timeout_s": request.timeout_s or "",
    }
    existing = client.get_run(run_id).data.params  # `mlflow run` logged its own already
    for key, value in params.items():
        if key not in existing:
            client.log_param(run_id, key, value)
    client.log_dict(run_id, json.loads(json.dumps(dict(identity))), "tune/study.json")


def _optimize(
    study: optuna.Study,
    setting: TrialSetting,
    request: TuneRequest,
    storage: optuna.storages.RDBStorage,
    storage_url: str,
    echo: Callable[[str], None],
) -> int:
    """Ask, run and tell trials until the study is full or time is up; returns how many
    this worker ran. A failing trial is recorded FAIL and the sweep goes on."""
    deadline = None if request.timeout_s is None else time.monotonic() + request.timeout_s
    ran = 0
    with collected_between_runs() as collect:
        while deadline is None or time.monotonic() < deadline:
            with trial_slot(storage, storage_url, study.study_name):
                held = len(study.get_trials(deepcopy=False))
                if held >= request.trials:
                    break
                if held == 0:  # the study's first trial trains the defaults
                    enqueue_defaults(study, setting.defaults)
                trial = study.ask()
            study.sampler = make_sampler(request.seed + trial.number, request.trials)
            started = time.perf_counter()
            try:
                value = run_trial(setting, trial)
            except optuna.TrialPruned as pruned:
                study.tell(trial, state=TrialState.PRUNED)
                outcome = str(pruned)
            except Exception as error:
                message = f"{type(error).__name__}: {error}".splitlines()[0][:300]
                trial.set_user_attr("error", message)
                study.tell(trial, state=TrialState.FAIL)
                outcome = f"failed ({message})"
            except BaseException:
                study.tell(trial, state=TrialState.FAIL)
                raise
            else:
                floor = ranking_floor(study)
                outcome = trial_outcome(setting.metric, value, trial.user_attrs, floor)
                study.tell(trial, value)  # NaN (no metric) is recorded as FAIL by Optuna
            ran += 1
            minutes = (time.perf_counter() - started) / 60
            collect()  # the trial's walks and vectors, before the next trial's peak
            settings = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
            best = best_trial(study)
            best_text = "none yet" if best is None else f"{best.value:.4f} (trial {best.number})"
            echo(
                f"trial {trial.number} ({trial.number + 1}/{request.trials}): {outcome} in "
                f"{minutes:.2f} min; {settings}; best {best_text}"
            )
            raise_if_stop_received()  # a signal some library swallowed still ends the sweep
    return ran


def trial_outcome(
    metric: str, value: float, attrs: Mapping[str, Any], floor: float | None = None
) -> str:
    """``matched_auc_all 0.9512, recall@10 0.2310 (the defaults)``, and why a trial
    cannot be the best: ``(below the ranking floor: the defaults' recall@10 0.0806)``."""
    if not math.isfinite(value):
        return "failed (NaN)"
    text = f"{metric} {value:.4f}"
    recall = attrs.get(RECALL_ATTR)
    if recall is not None:
        text += f", recall@10 {recall:.4f}"
    if attrs.get(BASELINE_ATTR):
        return text + " (the defaults)"
    if floor is not None and recall is not None and recall < floor:
        text += f" (below the ranking floor, the defaults' recall@10 {floor:.4f}: not a best)"
    return text


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _final_run(
    result: TuneResult,
    request: TuneRequest,
    best: optuna.trial.FrozenTrial | None,
    uri: str,
    progress: bool,
    echo: Callable[[str], None],
) -> TuneResult:
    """Train the best settings on all training pairs, scored on the validation pairs."""
    if best is None:
        echo("No trial completed: no tuned run (see the failed trials' runs for why).")
        return result
    params = {**request.params, **best.params}
    method, data_config, config = validate_params(request.method, params)
    tags = {
        names.TAG_TUNED: "true",
        names.TAG_STUDY: result.study,
        names.TAG_STUDY_STORAGE: result.storage,
        names.TAG_TUNE_RUN: result.parent_run_id,
        names.TAG_PARENT_RUN: result.parent_run_id,
        "recsys.study_best_trial": str(best.number),
        names.TAG_RUN_NAME: names.run_name(
            method.name, variant_of(method.name, config), data_config.dataset
        )
        + " (tuned)",
    }
    echo(f"Final run: {method.name} with trial {best.number}'s settings on all training pairs")
    try:
        with without_project_run():
            run_id = run_method(
                method.name, params, tracking_uri=uri, progress=progress, extra_tags=tags
            )
    except Exception as error:
        message = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        echo(f"error: the tuned run failed ({message}); the study keeps every trial")
        return dataclasses.replace(result, final_error=message)
    return dataclasses.replace(result, final_run_id=run_id)
