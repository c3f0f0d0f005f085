"""The `main` job: every method on one dataset, each as its own run, then the leaderboard.

Layout on the tracking server: a parent run (tag ``recsys.kind=main``) holds the job's
summary and has the leaderboard run nested under it; every method run is a top-level run
carrying ``recsys.main_run=<parent id>``, not a child: MLflow's runs table collapses
children under their parent, and the comparison view (:mod:`recsys.tracking.comparison_view`)
shows one row per method. Under ``mlflow run -e main`` the parent is the run MLflow created
for the entry point.

One method failing does not lose the others: its run is marked FAILED with the error as
a tag (``recsys.error``) and an artifact (``error.txt``), the job goes on, and the result
lists the failures so the caller can exit non-zero.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.config import DataConfig
from recsys.data.datasets import check_dataset
from recsys.methods import get_method, method_names
from recsys.tracking import names
from recsys.tracking.collect import collected_between_runs
from recsys.tracking.comparison_view import comparison_hint, ensure_comparison_view
from recsys.tracking.leaderboard.report import publish_leaderboard
from recsys.tracking.main.summary import MainJobResult, MethodOutcome, log_summary
from recsys.tracking.names import KIND_MAIN, TAG_KIND, TAG_MAIN_RUN, TAG_SEED_GROUP
from recsys.tracking.params import (
    ParameterError,
    build_config,
    flat_fields,
    refuse_repeats,
    split_assignment,
)
from recsys.tracking.parent import mark_run_failed, start_parent_run, without_project_run
from recsys.tracking.run import prepare, run_method, validate_params
from recsys.tracking.server import check_tracking_uri
from recsys.tracking.signals import stopped_runs_end_killed

DEFAULT_DATASET: str = DataConfig.model_fields["dataset"].default  # as `recsys train`


def resolve_methods(spec: str) -> list[str]:
    """``all`` or a comma list of registered names, in the given order, duplicates dropped.

    Raises:
        ParameterError: an unknown name, or no name at all (an empty ``--methods`` is more
            likely a script's unset variable than a wish for every method).
    """
    if spec.strip() == "all":
        return method_names()
    chosen = list(dict.fromkeys(part.strip() for part in spec.split(",") if part.strip()))
    if not chosen:
        raise ParameterError(
            f"--methods is empty; choose `all` or a comma list of: {', '.join(method_names())}"
        )
    unknown = [m for m in chosen if m not in method_names()]
    if unknown:
        raise ParameterError(
            f"--methods: unknown method(s) {', '.join(unknown)}; "
            f"choose `all` or a comma list of: {', '.join(method_names())}"
        )
    return chosen


def parse_overrides(
    pairs: Sequence[str], data_dir: Path | None = None
) -> dict[str | None, dict[str, str]]:
    """``key=value`` (every method that has ``key``) or ``method.key=value`` (that one).

    ``data_dir`` (``recsys main --data-dir``) becomes the shared ``data_dir`` of every method.

    Returns ``{None: shared, "mf": {...}, ...}``.

    Raises:
        ParameterError: a pair without ``=``, a key given twice, or a ``method.`` prefix
            that is not a method.
    """
    parsed: dict[str | None, dict[str, str]] = {None: {}}
    try:
        assignments = [split_assignment(pair) for pair in pairs]
    except ParameterError as error:
        raise ParameterError(f"-P {error}; or method.key=value for one method") from None
    refuse_repeats(key for key, _ in assignments)
    for pair, (key, value) in zip(pairs, assignments, strict=True):
        method, dot, leaf = key.rpartition(".")
        if dot and method not in method_names():
            raise ParameterError(
                f"-P {pair!r}: {method!r} is not a method; use key=value or method.key=value "
                f"with one of: {', '.join(method_names())}"
            )
        parsed.setdefault(method if dot else None, {})[leaf if dot else key] = value
    if "dataset" in parsed[None]:
        raise ParameterError("-P dataset=...: give the dataset with --dataset instead")
    if data_dir is not None:
        parsed[None]["data_dir"] = str(data_dir)
    return parsed


# A shared ``-P checkpoint_dir=DIR`` gives each method ``DIR/<method>`` (and each seed of
# ``--seeds N`` ``DIR/<method>/seed<k>``): in one folder the first method's checkpoint was
# refused by every later one (``written with other settings``), so those methods FAILED.
# A method's own ``-P <method>.checkpoint_dir=DIR`` is used as given.
CHECKPOINT_DIR = "checkpoint_dir"


def seeded_params(method: str, params: Mapping[str, Any], seeds: int) -> list[dict[str, Any]]:
    """``seeds`` copies of a method's params with training seeds seed, seed+1, ...

    Methods without a ``seed`` (the counting baselines) are deterministic: one run. The
    split (``split_seed``) stays the same, so every repeat is scored on the same pairs.

    Raises:
        ParameterError: ``seeds`` below 1.
    """
    if seeds < 1:
        raise ParameterError(f"--seeds must be at least 1, got {seeds}")
    fields = flat_fields(get_method(method).config_class)
    if seeds == 1 or "seed" not in fields:
        return [dict(params)]
    base = int(params.get("seed", fields["seed"].default))
    repeats = [{**params, "seed": base + offset} for offset in range(seeds)]
    if params.get(CHECKPOINT_DIR):  # one folder per seed: see method_params ("": none)
        for repeat in repeats:
            repeat[CHECKPOINT_DIR] = str(
                Path(str(params[CHECKPOINT_DIR])) / f"seed{repeat['seed']}"
            )
    return repeats


def method_params(
    methods: Sequence[str],
    dataset: str,
    overrides: Mapping[str | None, Mapping[str, str]],
    tuned: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each method's flat params: dataset, tuned settings (``--tuned``), then shared and own
    overrides (over its defaults).

    A shared ``key=value`` goes to every chosen method whose schema (or DataConfig) has
    ``key``; one that no chosen method has is an error, so a typo is not silently dropped.
    A ``method.key=value`` of a method not chosen would be dropped as silently: it is
    validated against that method's settings (naming a bad key or value) and then refused.

    Raises:
        ParameterError: an override no chosen method accepts.
    """
    data_fields = set(flat_fields(DataConfig))
    accepted = {m: data_fields | set(flat_fields(get_method(m).config_class)) for m in methods}
    shared = dict(overrides.get(None, {}))
    unused = [k for k in shared if not any(k in accepted[m] for m in methods)]
    if unused:
        raise ParameterError(
            f"-P {', '.join(unused)}: no chosen method has such a parameter "
            f"(methods: {', '.join(methods)}); see `recsys train METHOD --help-params`"
        )
    for m, own in overrides.items():
        if m is not None and m not in methods:
            _refuse_unchosen(m, own, dataset, methods)
    params: dict[str, dict[str, Any]] = {}
    for m in methods:
        values: dict[str, Any] = {"dataset": dataset}
        values.update((tuned or {}).get(m, {}))
        values.update({k: v for k, v in shared.items() if k in accepted[m]})
        if values.get(CHECKPOINT_DIR):  # a shared folder: each method's checkpoint in its own
            values[CHECKPOINT_DIR] = str(Path(str(values[CHECKPOINT_DIR])) / m)
        values.update(overrides.get(m, {}))
        params[m] = values
    return params


def _refuse_unchosen(
    method: str, own: Mapping[str, str], dataset: str, methods: Sequence[str]
) -> None:
    """Refuse ``method.key=value`` overrides of a method that is not run, after checking them
    as if it were, so a typo is named as such rather than as merely unused.

    Raises:
        ParameterError: always; an unknown key or bad value, else the method not chosen.
    """
    validate_params(method, {"dataset": dataset, **own})
    keys = ", ".join(f"{method}.{key}" for key in own)
    raise ParameterError(
        f"-P {keys}: {method} is not among --methods ({', '.join(methods)}), so this "
        f"would be unused; add {method} to --methods or drop the -P"
    )


def _start_parent(client: MlflowClient, dataset: str, methods: Sequence[str]) -> tuple[str, bool]:
    """The parent run: MLflow's project run under ``mlflow run``, else a new one we own."""
    tags = {
        TAG_KIND: KIND_MAIN,
        names.TAG_DATASET: dataset,
        "recsys.methods": ",".join(methods),
        names.TAG_RUN_NAME: f"main on {names.dataset_label(dataset)}",
    }
    return start_parent_run(client, dataset, tags)


def _record_failure(
    client: MlflowClient,
    run_id: str | None,
    parent_run_id: str,
    method: str,
    dataset: str,
    error: BaseException,
) -> str:
    """Mark the method's run FAILED with the error; create the run if it never started."""
    if run_id is None:  # failed before run_method opened a run (e.g. while preparing)
        experiment = client.get_run(parent_run_id).info.experiment_id
        tags = {
            names.TAG_METHOD: method,
            names.TAG_DATASET: dataset,
            names.TAG_RUN_NAME: names.run_name(method, "", dataset),
        }
        run_id = client.create_run(experiment, tags=tags).info.run_id
    mark_run_failed(client, run_id, error)
    return run_id


def _last_active_run_id() -> str | None:
    """The run this process's fluent API last opened, if it is in the current store.

    ``run_method`` opens its run with the fluent API and, on an exception, closes it as
    FAILED without telling us its id; comparing this before and after the call finds it.
    """
    try:
        run = mlflow.last_active_run()
    except MlflowException:  # the last run lives in another store (e.g. an earlier test's)
        return None
    return run.info.run_id if run is not None else None


def run_main_job(
    dataset: str = DEFAULT_DATASET,
    methods: Sequence[str] | None = None,
    overrides: Mapping[str | None, Mapping[str, str]] | None = None,
    *,
    seeds: int = 1,
    tracking_uri: str | None = None,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    runner: Callable[..., str] = run_method,
    tuned: bool = False,
    storage: str | None = None,
) -> MainJobResult:
    """Prepare ``dataset``, run every method as its own tracked run, then the leaderboard.

    Args:
        dataset: a dataset name or metadata file path (DataConfig.dataset).
        methods: registry names, default all of them.
        overrides: from :func:`parse_overrides`.
        seeds: runs per method with training seeds seed, seed+1, ... on the same split;
            the leaderboard reports their mean and spread (tag ``recsys.seed_group``).
        tracking_uri: default ``$MLFLOW_TRACKING_URI``, else MLflow's default store.
        progress: progress bars and stage messages (on stderr) for every method.
        echo: where stage messages go.
        runner: what trains one method (``run_method``; tests pass a failing one).
        tuned: each method with its tuning study's best settings on ``dataset``
            (:mod:`recsys.tracking.main.tuned`), defaults where it has none.
        storage: the studies' storage (default: ``optuna.db`` beside the tracking store).

    Returns:
        Every method's outcome; ``result.ok`` is False when any method or the
        leaderboard failed.

    Raises:
        ParameterError: bad methods or params, before any work starts.
        TrackingServerError: the store is unusable, before any work starts.
        StudyError: with ``tuned``, the studies' storage is unusable (before any work) or a
            method's studies were tuned on other data (before any run).
    """
    chosen = list(methods) if methods else method_names()
    params = method_params(chosen, dataset, overrides or {None: {}})
    for m in chosen:  # every typo fails now, not after an hour of the first methods
        validate_params(m, params[m])
    check_dataset(dataset)  # before a tracking store is created
    uri = check_tracking_uri(tracking_uri)
    if tuned:
        from recsys.tracking.tuning.storage import default_storage_url, open_storage

        storage_url = storage or default_storage_url(uri)
        studies = open_storage(storage_url)  # an unusable storage fails before any work
    data_fields = flat_fields(DataConfig)
    data_params = {k: v for k, v in params[chosen[0]].items() if k in data_fields}
    echo(f"Preparing {dataset} ...")
    data = prepare(build_config(DataConfig, data_params, "the dataset"), progress=progress)
    tuned_tags: dict[str, dict[str, str]] = {}
    if tuned:  # after preparing: a study counts only when it was tuned on this data
        from recsys.tracking.main.tuned import find_tuned, tuned_run_tags  # loads optuna

        found = find_tuned(chosen, dataset, data, studies, storage_url, echo, given=params)
        settings = {m: found[m].params for m in found}
        params = method_params(chosen, dataset, overrides or {None: {}}, settings)
        for m in found:
            tuned_tags[m] = tuned_run_tags(m, params[m], found[m], storage_url)
    repeats = {m: seeded_params(m, params[m], seeds) for m in chosen}
    once = [m for m in chosen if seeds > 1 and len(repeats[m]) == 1]
    if once:
        echo(
            f"--seeds {seeds}: {', '.join(once)} run once: deterministic, no training seed to vary"
        )
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)

    # SIGTERM / Ctrl-C from here on end the parent KILLED, naming the signal, as they end
    # the method run in progress (run_method's own handler, nested inside this one).
    with stopped_runs_end_killed(client) as register:
        parent_run_id, owns_parent = _start_parent(client, dataset, chosen)
        job = (client, runner, repeats, dataset, uri, parent_run_id, echo, progress, tuned_tags)
        if not owns_parent:  # `mlflow run`'s run: its launcher ends it
            return _run_methods(*job)
        register(parent_run_id)
        try:
            result = _run_methods(*job)
        except Exception:
            client.set_terminated(parent_run_id, status="FAILED")
            raise
    client.set_terminated(parent_run_id, status="FINISHED" if result.ok else "FAILED")
    return result


def _run_methods(
    client: MlflowClient,
    runner: Callable[..., str],
    repeats: Mapping[str, Sequence[dict[str, Any]]],
    dataset: str,
    uri: str,
    parent_run_id: str,
    echo: Callable[[str], None],
    progress: bool,
    tuned_tags: Mapping[str, Mapping[str, str]],
) -> MainJobResult:
    """Every method's runs (``repeats``: method -> params of each run) under the parent,
    then the leaderboard and the summary."""
    chosen = list(repeats)
    experiment_id = client.get_run(parent_run_id).info.experiment_id
    ensure_comparison_view(client, experiment_id)
    echo(f"Main run {parent_run_id} on {uri}: {len(chosen)} method(s): {', '.join(chosen)}")
    outcomes: list[MethodOutcome] = []
    with collected_between_runs() as collect:
        for index, m in enumerate(chosen, start=1):
            for run_params in repeats[m]:
                seed = f" seed {run_params['seed']}" if len(repeats[m]) > 1 else ""
                echo(f"[{index}/{len(chosen)}] {m}{seed} ...")
                last = _run_one(
                    client, runner, m, run_params, dataset, uri, parent_run_id, progress,
                    tuned_tags.get(m, {}),
                )  # fmt: skip
                outcomes.append(last)
                collect()  # the method's walks and vectors, before the next method's peak
                if len(repeats[m]) > 1 and last.run_id is not None:
                    client.set_tag(last.run_id, TAG_SEED_GROUP, f"{parent_run_id}/{m}")
                echo(
                    f"[{index}/{len(chosen)}] {m}{seed}: {last.status} in {last.minutes:.2f} min"
                    + (f" ({last.error})" if last.error else "")
                )
    leaderboard, leaderboard_error = None, ""
    try:
        leaderboard = publish_leaderboard(
            client,
            dataset,
            parent_run_id=parent_run_id,
            experiment_id=experiment_id,
        )
    except Exception as err:  # the method runs are safe; report and exit non-zero
        leaderboard_error = f"{type(err).__name__}: {err}"
    result = MainJobResult(
        parent_run_id,
        dataset,
        outcomes,
        leaderboard,
        leaderboard_error,
        compare_hint=comparison_hint(uri, experiment_id),
    )
    log_summary(client, result)
    return result


def _run_one(
    client: MlflowClient,
    runner: Callable[..., str],
    method: str,
    params: Mapping[str, Any],
    dataset: str,
    uri: str,
    parent_run_id: str,
    progress: bool,
    tags: Mapping[str, str],
) -> MethodOutcome:
    before = _last_active_run_id()
    started = time.perf_counter()
    extra = {"extra_tags": tags} if tags else {}  # test runners take no tags
    try:
        with without_project_run():
            run_id = runner(method, params, tracking_uri=uri, progress=progress, **extra)
    except KeyboardInterrupt:  # stopped (KILLED by run_method): still one of the parent's
        started_run = _last_active_run_id()
        if started_run is not None and started_run != before:
            client.set_tag(started_run, TAG_MAIN_RUN, parent_run_id)
        raise
    except Exception as err:
        minutes = (time.perf_counter() - started) / 60
        started_run = _last_active_run_id()
        run_id = _record_failure(
            client,
            started_run if started_run != before else None,
            parent_run_id,
            method,
            dataset,
            err,
        )
        client.set_tag(run_id, TAG_MAIN_RUN, parent_run_id)
        error = f"{type(err).__name__}: {err}".splitlines()[0][:300]
        return MethodOutcome(method, "FAILED", run_id, minutes, error, dict(params))
    client.set_tag(run_id, TAG_MAIN_RUN, parent_run_id)
    minutes = (time.perf_counter() - started) / 60
    return MethodOutcome(method, "FINISHED", run_id, minutes, "", dict(params))
