"""A run resumed from its checkpoint continues its own MLflow run instead of starting another.

The first run with a ``checkpoint_dir`` writes its run id beside the checkpoint
(``run.json``). A later run with the same folder whose checkpoint is still there reopens
that run when it did not finish (FAILED, KILLED or left RUNNING by a killed process), so
the epochs before and after the interruption form one history and the old run does not stay
open for ever. A finished run is never reopened: training further is a new result.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from pydantic import BaseModel

from recsys.data.dataset import PreparedDataset
from recsys.tracking import names
from recsys.tracking.params import param_text
from recsys.tracking.parent import TAG_ERROR

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
CHECKPOINT_FILE = "last.pt"  # recsys.training.checkpoint.CHECKPOINT_NAME


def checkpoint_folder(config: BaseModel) -> Path | None:
    folder = getattr(config, "checkpoint_dir", None)
    return None if folder is None else Path(folder)


def run_to_resume(client: MlflowClient, config: BaseModel) -> str | None:
    """The unfinished run whose checkpoint ``config``'s folder holds, or None."""
    folder = checkpoint_folder(config)
    if (
        folder is None
        or not (folder / RUN_FILE).exists()
        or not (folder / CHECKPOINT_FILE).exists()
    ):
        return None
    try:
        run_id = str(json.loads((folder / RUN_FILE).read_text())["run_id"])
        status = client.get_run(run_id).info.status
    except (OSError, ValueError, KeyError, MlflowException):
        return None  # another store, or a file we cannot read: start a new run
    return None if status == "FINISHED" else run_id


def check_resumable(config: BaseModel, dataset: PreparedDataset) -> None:
    """A checkpoint in ``config``'s folder that training on ``dataset`` would refuse is
    refused here, before a run is opened or reopened: the interrupted run it belongs to
    stays as it was (KILLED, its tags and params untouched), and no FAILED run is added.

    Raises:
        CheckpointMismatch: naming the checkpoint and what differs.
    """
    folder = checkpoint_folder(config)
    if folder is not None:
        from recsys.training.checkpoint import check_checkpoint  # torch loads on use

        check_checkpoint(folder, config, dataset)


def remember_run(config: BaseModel, run_id: str) -> None:
    """Write the run id beside the checkpoint (before the first epoch's checkpoint)."""
    folder = checkpoint_folder(config)
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RUN_FILE).write_text(json.dumps({"run_id": run_id}))


def changed_params(
    client: MlflowClient, run_id: str, values: dict[str, Any]
) -> dict[str, tuple[str, str]]:
    """Params whose value differs from what the resumed run logged (MLflow keeps the old
    one): name -> (logged, now). Said in a tag, so the run page is not silently stale."""
    logged = client.get_run(run_id).data.params
    return {
        key: (logged[key], param_text(value))
        for key, value in values.items()
        if key in logged and logged[key] != param_text(value)
    }


def resumed_stop_tags(client: MlflowClient, run_id: str) -> dict[str, str]:
    """Reopening a stopped or failed run removes its ``recsys.stopped_by`` or
    ``recsys.error``: a run that goes on to finish was not ended by that signal or error.
    What ended it (the signal, or the error's type; the traceback stays in ``error.txt``) is
    kept, after any earlier ones, in the returned ``recsys.resumed_after`` tag for the
    caller to set."""
    tags = client.get_run(run_id).data.tags
    ended_by = []
    if (stopped_by := tags.get(names.TAG_STOPPED_BY)) is not None:
        client.delete_tag(run_id, names.TAG_STOPPED_BY)
        ended_by.append(stopped_by)
    if (error := tags.get(TAG_ERROR)) is not None:
        client.delete_tag(run_id, TAG_ERROR)
        ended_by.append(error.partition(":")[0])  # "DataError: ..." -> DataError
    if not ended_by:  # left RUNNING by SIGKILL: nothing to move
        return {}
    earlier = [tags[names.TAG_RESUMED_AFTER]] if names.TAG_RESUMED_AFTER in tags else []
    return {names.TAG_RESUMED_AFTER: ", ".join([*earlier, *ended_by])}
