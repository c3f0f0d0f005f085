"""Parent runs of jobs that start other runs (`recsys main`, `recsys tune`), and failures.

Under ``mlflow run -e main`` or ``-e tune`` the job's parent is the run MLflow created for
the entry point (``MLFLOW_RUN_ID``); run by hand, the job creates its own. The runs a job
starts must not inherit that variable, or ``run_method`` would log into the parent.
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator, Mapping

from mlflow import MlflowClient

from recsys.tracking import names
from recsys.tracking.experiments import resolve_experiment_id
from recsys.tracking.signals import stop_signal_of

PROJECT_RUN_ENV = "MLFLOW_RUN_ID"  # set by `mlflow run` for the entry point's process
TAG_ERROR = "recsys.error"  # on a failed run: the exception, one line
ERROR_ARTIFACT = "error.txt"  # on a failed run: the full traceback
MAX_TAG_CHARS = 4000  # stay well under MLflow's tag value limit


@contextlib.contextmanager
def without_project_run() -> Iterator[None]:
    """Hide ``MLFLOW_RUN_ID`` while child runs run, so each gets its own run."""
    saved = os.environ.pop(PROJECT_RUN_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[PROJECT_RUN_ENV] = saved


def start_parent_run(
    client: MlflowClient, dataset: str, tags: Mapping[str, str]
) -> tuple[str, bool]:
    """The parent run: MLflow's project run under ``mlflow run`` (tagged, keeping its own
    name), else a new run in the dataset's experiment. Returns (run id, whether we own it:
    an owned run is ended by the job, a project run by ``mlflow run``)."""
    project_run = os.environ.get(PROJECT_RUN_ENV)
    if project_run:
        for key, value in tags.items():
            if key != names.TAG_RUN_NAME:
                client.set_tag(project_run, key, value)
        return project_run, False
    experiment_id = resolve_experiment_id(client, names.experiment_name(dataset))
    return client.create_run(experiment_id, tags=dict(tags)).info.run_id, True


def record_error(client: MlflowClient, run_id: str, error: BaseException) -> None:
    """Tag ``run_id`` with the error (one line) and log its traceback as ``error.txt``."""
    message = f"{type(error).__name__}: {error}"
    client.set_tag(run_id, TAG_ERROR, message[:MAX_TAG_CHARS])
    client.log_text(run_id, "".join(traceback.format_exception(error)), ERROR_ARTIFACT)


def mark_run_failed(client: MlflowClient, run_id: str, error: BaseException) -> None:
    """End ``run_id`` FAILED with the error recorded (:func:`record_error`)."""
    record_error(client, run_id, error)
    client.set_terminated(run_id, status="FAILED")


def record_project_run_error(error: BaseException) -> None:
    """Under ``mlflow run``, record an error that ends the entry script (a bad ``-P``, a
    missing file) on the run MLflow made for it, which MLflow then ends FAILED with no
    reason; an error already recorded there (by :func:`errors_recorded`) is kept. Best
    effort: the store may be what failed, and the error line must still be printed."""
    run_id = os.environ.get(PROJECT_RUN_ENV)
    if not run_id:
        return
    try:
        client = MlflowClient()
        if TAG_ERROR not in client.get_run(run_id).data.tags:
            record_error(client, run_id, error)
    except Exception as failure:  # the store itself: say so, keep the error's own line
        print(f"(could not record the error on run {run_id}: {failure})", file=sys.stderr)


@contextlib.contextmanager
def errors_recorded(client: MlflowClient, run_id: str) -> Iterator[None]:
    """Record an error that ends the block on ``run_id`` (:func:`record_error`), so a run
    that ends FAILED says why in the UI whichever command ran it; a stop by a signal is
    not an error (:func:`recsys.tracking.signals.stopped_runs_end_killed` marks it)."""
    try:
        yield
    except Exception as error:
        if stop_signal_of(error) is None:
            record_error(client, run_id, error)
        raise
