"""Each dataset's best model in the Model Registry, as ``recsys-<dataset>@champion``.

A recorded leaderboard (``recsys leaderboard --log``, the main job) registers the leading
run's model under ``recsys-<dataset label>`` and points the alias ``champion`` at it, so
``mlflow.pyfunc.load_model("models:/recsys-<dataset>@champion")`` and ``mlflow models serve
-m "models:/recsys-<dataset>@champion"`` need no run id. The alias moves only when the new
leader beats the current champion on the leaderboard's ranking metric beyond the champion's
95% interval: a tie never moves what serving loads. A store without a registry (a plain
file store) is skipped with a warning.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.tracking import names
from recsys.tracking.leaderboard.rows import Leaderboard

logger = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
MODEL_PREFIX = "recsys-"


@dataclass(frozen=True)
class ChampionUpdate:
    """What happened to one dataset's champion."""

    model_name: str
    version: str  # the champion's version after the update
    run_id: str  # the leader's run
    moved: bool  # False: the current champion was as good, better or tied
    leader: str = ""  # the leader's label, e.g. ``word2vec`` or ``mf (binary)``
    champion_run_id: str = ""  # the run the alias points at after the update

    def describe(self) -> str:
        """One line for the console: where the alias points now and why."""
        alias = f"models:/{self.model_name}@{CHAMPION_ALIAS}"
        if self.moved:
            return f"Champion: {alias} -> version {self.version} ({self.leader}, run {self.run_id})"
        if self.champion_run_id == self.run_id:
            return f"Champion: {alias} stays at version {self.version} ({self.leader}, the leader)"
        return (
            f"Champion: {alias} stays at version {self.version}; the leader ({self.leader}) "
            "does not beat it beyond its 95% interval"
        )


def registered_model_name(dataset: str) -> str:
    """``recsys-<dataset label>`` with characters the registry dislikes replaced."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", names.dataset_label(dataset))
    return f"{MODEL_PREFIX}{label}"


def _champion_value(client: MlflowClient, name: str, metric: str) -> tuple[str, float, str] | None:
    """(version, the value a leader must exceed, run id) of the current champion, or None:
    the upper end of its run's 95% interval of ``metric``, else the value itself."""
    try:
        version = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None
    if not version.run_id:
        return None
    metrics = client.get_run(version.run_id).data.metrics
    value = metrics.get(f"{metric}{names.CI_HIGH_SUFFIX}", metrics.get(metric))
    bar = float("-inf") if value is None else float(value)
    return str(version.version), bar, str(version.run_id)


def logged_model_source(client: MlflowClient, run_id: str) -> tuple[str, str | None]:
    """(source URI, logged model id) of a run's pyfunc model, for a new model version.

    MLflow 3 keeps a run's model as a LoggedModel (``models:/<model id>``), not under the
    run's artifacts, so ``runs:/<run id>/model`` is resolved here the way
    ``mlflow.register_model`` does, without its global tracking URI.
    """
    run = client.get_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs is not None else []
    for output in outputs:
        model = client.get_logged_model(output.model_id)
        if model.name == names.MODEL_NAME:
            return f"models:/{model.model_id}", model.model_id
    return f"runs:/{run_id}/{names.MODEL_NAME}", None


def update_champions(client: MlflowClient, board: Leaderboard) -> list[ChampionUpdate]:
    """Register each table's leader and move ``champion`` to it when it beats the
    champion beyond the champion's interval."""
    updates: list[ChampionUpdate] = []
    for table in board.tables:
        leader = next((row for row in table.rows if row.run_id), None)
        value = None if leader is None else leader.value(table.rank_by)
        if leader is None or value is None:
            continue
        name = registered_model_name(table.dataset)
        try:
            current = _champion_value(client, name, table.rank_by)
            if current is not None and current[1] >= value:
                updates.append(
                    ChampionUpdate(name, current[0], leader.run_id, False, leader.label, current[2])
                )
                continue
            try:
                client.create_registered_model(name)
            except MlflowException:
                pass  # it exists already
            source, model_id = logged_model_source(client, leader.run_id)
            version = client.create_model_version(
                name, source, run_id=leader.run_id, model_id=model_id, await_creation_for=0
            )
            client.set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
        except MlflowException as error:
            logger.warning("model registry unavailable on %s (%s)", client.tracking_uri, error)
            return updates
        updates.append(
            ChampionUpdate(
                name, str(version.version), leader.run_id, True, leader.label, leader.run_id
            )
        )
    return updates
