"""Each dataset's best model in the Model Registry, as ``recsys-<dataset>@champion``.

A recorded leaderboard (``recsys leaderboard --log``, the main job) registers the leading
run's model under the dataset's registered model and points the alias ``champion`` at it,
so ``mlflow.pyfunc.load_model("models:/recsys-<dataset>@champion")`` and ``mlflow models
serve -m "models:/recsys-<dataset>@champion"`` need no run id. Each leaderboard table (one
dataset tag) has a registered model of its own (:func:`champion_model_name`), tagged with
the dataset, so two files of one name never share a champion.

The alias moves only when the new leader beats the current champion on the default ranking
metric (degree-matched AUC) beyond the champion's 95% interval: a tie never moves what
serving loads. A champion that cannot be compared (its run deleted, or scored on other
data than the table's: another file content or split) gives way to the leader, and the
line printed says why. A leaderboard ranked by another metric (``--rank-by``) leaves every
alias where it is. A store without a registry (a plain file store) is skipped with a
warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.utils import mlflow_tags

from recsys.data.datasets import dataset_names
from recsys.tracking import names
from recsys.tracking.leaderboard.rows import (
    DEFAULT_RANK_BY,
    DatasetTable,
    Leaderboard,
    LeaderboardRow,
    same_data,
)

logger = logging.getLogger(__name__)

CHAMPION_ALIAS = "champion"
MODEL_PREFIX = "recsys-"
TAG_MODEL_DATASET = names.TAG_DATASET  # on a registered model: the dataset its versions are of


@dataclass(frozen=True)
class ChampionUpdate:
    """What happened to one dataset's champion."""

    model_name: str
    version: str  # the champion's version after the update
    run_id: str  # the leader's run
    moved: bool  # False: the current champion was as good, better or tied
    leader: str = ""  # the leader's label, e.g. ``word2vec`` or ``mf (binary)``
    champion_run_id: str = ""  # the run the alias points at after the update
    not_compared: str = ""  # why the previous champion could not be compared, if so

    def describe(self) -> str:
        """One line for the console: where the alias points now and why."""
        alias = f"models:/{self.model_name}@{CHAMPION_ALIAS}"
        if self.moved:
            line = f"Champion: {alias} -> version {self.version} ({self.leader}, run {self.run_id})"
            if self.not_compared:  # e.g. the previous champion's run was deleted
                line += f"; the previous champion was not compared: {self.not_compared}"
            return line
        if self.champion_run_id == self.run_id:
            return f"Champion: {alias} stays at version {self.version} ({self.leader}, the leader)"
        return (
            f"Champion: {alias} stays at version {self.version}; the leader ({self.leader}) "
            "does not beat it beyond its 95% interval"
        )


def registered_model_name(dataset: str, *, suffixed: bool = False) -> str:
    """``recsys-<dataset label>`` with characters the registry dislikes replaced; with
    ``suffixed``, followed by ``-`` and 8 hex digits of the dataset tag's SHA-256."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "_", names.dataset_label(dataset))
    suffix = f"-{hashlib.sha256(dataset.encode()).hexdigest()[:8]}" if suffixed else ""
    return f"{MODEL_PREFIX}{label}{suffix}"


def is_named_dataset(dataset: str) -> bool:
    """A registry name (``electronics``, ``synthetic-small:0.01``), not a file or a twin."""
    return dataset.strip().lower().partition(":")[0] in dataset_names()


def champion_model_name(client: MlflowClient, dataset: str) -> str:
    """The registered model holding ``dataset``'s champion.

    A named dataset's is always ``recsys-<name>``. A file's (or a twin's) is
    ``recsys-<file name>`` unless that model holds another dataset's versions (another
    file of the same name registered first) or the file name is a dataset name; then
    :func:`registered_model_name` with its suffix. Ownership is the registered model's
    ``recsys.dataset`` tag, else (models registered before the tag) its champion's run's.
    """
    plain = registered_model_name(dataset)
    if is_named_dataset(dataset):
        return plain
    if is_named_dataset(names.dataset_label(dataset)):
        return registered_model_name(dataset, suffixed=True)
    owner = _model_dataset(client, plain)
    return plain if owner in (None, dataset) else registered_model_name(dataset, suffixed=True)


def _model_dataset(client: MlflowClient, name: str) -> str | None:
    """The dataset a registered model's versions are of; None when it is not registered
    or nothing says (no tag, no readable champion run)."""
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        return None
    if TAG_MODEL_DATASET in model.tags:
        return str(model.tags[TAG_MODEL_DATASET])
    try:
        version = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
        return client.get_run(str(version.run_id)).data.tags.get(names.TAG_DATASET)
    except MlflowException:
        return None


@dataclass(frozen=True)
class _Champion:
    version: str
    run_id: str
    bar: float  # the value a leader must exceed: its interval's upper end, else the value
    not_comparable: str  # why the leader cannot be compared with it ("" when it can)


def _current_champion(
    client: MlflowClient, name: str, table: DatasetTable, rank_by: str
) -> _Champion | None:
    """The alias's version and what a leader must beat (its ``rank_by``), or None when
    there is none."""
    try:
        version = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    except MlflowException:
        return None
    if not version.run_id:
        return None
    number, run_id = str(version.version), str(version.run_id)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        return _Champion(number, run_id, float("-inf"), "its run is gone")
    why = ""
    if run.info.lifecycle_stage == "deleted":
        why = "its run was deleted"
    elif (other := run.data.tags.get(names.TAG_DATASET)) != table.dataset:
        why = f"it was registered from another dataset ({other})"
    elif not same_data(table.data_tags, run.data.tags):
        why = f"it was scored on other data (tag {names.TAG_DATA_KEY})"
    metrics = run.data.metrics
    value = metrics.get(f"{rank_by}{names.CI_HIGH_SUFFIX}", metrics.get(rank_by))
    bar = float("-inf") if value is None else float(value)
    return _Champion(number, run_id, bar, why)


def champions_skipped(board: Leaderboard) -> str:
    """The line saying why a leaderboard ranked by another metric moved no alias ("" when
    it is ranked by the default metric)."""
    if board.rank_by == DEFAULT_RANK_BY:
        return ""
    return (
        f"Champion: no alias moved: champions are decided by {DEFAULT_RANK_BY} only, and this "
        f"leaderboard is ranked by {board.rank_by} (log it without --rank-by to update them)"
    )


def logged_model_source(client: MlflowClient, run_id: str) -> tuple[str, str | None]:
    """(source, logged model id) of a run's pyfunc model, for a new model version.

    MLflow 3 keeps a run's model as a LoggedModel, not under the run's artifacts: the
    source is ``models:/<model id>``, as ``mlflow.register_model`` writes it, so the
    version's page links to the logged model. Runs logged before LoggedModels keep
    ``runs:/<run id>/model``.
    """
    run = client.get_run(run_id)
    outputs = run.outputs.model_outputs if run.outputs is not None else []
    for output in outputs:
        model = client.get_logged_model(output.model_id)
        if model.name == names.MODEL_NAME:
            return f"models:/{model.model_id}", model.model_id
    return f"runs:/{run_id}/{names.MODEL_NAME}", None


@contextmanager
def tracking_uri_of(client: MlflowClient) -> Iterator[None]:
    """MLflow's global tracking URI set to ``client``'s for the block.

    A local registry store resolves a ``models:/<model id>`` source through the global
    tracking URI, not its client's (a TODO in its ``create_model_version``): without this,
    ``recsys leaderboard --log --tracking-uri URI`` run away from URI's folder looked for
    the logged model in the working folder's store.
    """
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(client.tracking_uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)


def link_version_to_logged_model(
    client: MlflowClient, model_id: str, name: str, version: str
) -> None:
    """List version ``version`` of ``name`` on its LoggedModel's page, as
    ``mlflow.register_model`` does: the UI reads a logged model's registered versions from
    its ``mlflow.modelVersions`` tag, which ``create_model_version`` leaves unset. Best
    effort, as MLflow's own: the version and its alias stand whatever this does, so a
    store that refuses the tag gets a warning, not a "registry unavailable"."""
    tag = mlflow_tags.MLFLOW_MODEL_VERSIONS
    try:
        listed = json.loads(client.get_logged_model(model_id).tags.get(tag) or "[]")
        listed.append({"name": name, "version": version})
        client.set_logged_model_tags(model_id, {tag: json.dumps(listed)})
    except MlflowException as error:
        logger.warning(
            "version %s of %s is registered, but its logged model %s does not list it (%s)",
            version,
            name,
            model_id,
            error,
        )


def _version_tags(leader: LeaderboardRow, rank_by: str, value: float, own: float) -> dict[str, str]:
    """What a version is, readable in the registry without opening its run: the method,
    its variant and settings, its model's own value, and for a seed group the mean that
    made it champion."""
    tags = {
        names.TAG_METHOD: leader.method,
        names.TAG_VARIANT: leader.variant,
        names.TAG_SETTINGS: leader.settings,
        rank_by: f"{own:.4f}",
    }
    if leader.n_seeds > 1:
        tags[f"{rank_by}_seed_mean"] = f"{value:.4f}"
        tags[names.TAG_N_SEEDS] = str(leader.n_seeds)
    return {key: text for key, text in tags.items() if text}


def _version_description(
    leader: LeaderboardRow, dataset: str, rank_by: str, value: float, own: float
) -> str:
    """One line: the model's own value (for a seed group, beside the group's mean, which
    ranked it), what it led, and its run."""
    said = f"{rank_by} {own:.4f}"
    if leader.n_seeds > 1:
        said += f" (this seed; {value:.4f} the mean of its {leader.n_seeds} seeds)"
    return (
        f"{leader.label}: {said}, the leader of {dataset} when it became champion "
        f"(run {leader.run_id})"
    )


def _own_value(client: MlflowClient, leader: LeaderboardRow, rank_by: str, value: float) -> float:
    """The registered run's own value of ``rank_by``: a seed group's row holds the mean of
    its seeds, and the version is one seed's model."""
    if leader.n_seeds == 1:
        return value
    return float(client.get_run(leader.run_id).data.metrics.get(rank_by, value))


def update_champions(client: MlflowClient, board: Leaderboard) -> list[ChampionUpdate]:
    """Register each table's leader and move ``champion`` to it when it beats the
    champion beyond the champion's interval, or the champion cannot be compared.

    Nothing moves when the board is ranked by another metric than the default
    (:func:`champions_skipped` says so): serving follows one metric, not the last
    ``--rank-by`` logged.
    """
    updates: list[ChampionUpdate] = []
    if champions_skipped(board):
        return updates
    for table in board.tables:
        leader = next((row for row in table.rows if row.run_id), None)
        value = None if leader is None else leader.value(board.rank_by)
        if leader is None or value is None:
            continue
        try:
            name = champion_model_name(client, table.dataset)
            current = _current_champion(client, name, table, board.rank_by)
            if current is not None and not current.not_comparable and current.bar >= value:
                updates.append(
                    ChampionUpdate(
                        name, current.version, leader.run_id, False, leader.label, current.run_id
                    )
                )
                continue
            try:
                client.create_registered_model(name, tags={TAG_MODEL_DATASET: table.dataset})
            except MlflowException:  # it exists already: it is this dataset's
                client.set_registered_model_tag(name, TAG_MODEL_DATASET, table.dataset)
            source, model_id = logged_model_source(client, leader.run_id)
            own = _own_value(client, leader, board.rank_by, value)
            with tracking_uri_of(client):
                version = client.create_model_version(
                    name,
                    source,
                    run_id=leader.run_id,
                    model_id=model_id,
                    await_creation_for=0,
                    tags=_version_tags(leader, board.rank_by, value, own),
                    description=_version_description(
                        leader, table.dataset, board.rank_by, value, own
                    ),
                )
            client.set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
            if model_id is not None:
                link_version_to_logged_model(client, model_id, name, str(version.version))
        except MlflowException as error:
            logger.warning("model registry unavailable on %s (%s)", client.tracking_uri, error)
            return updates
        why = "" if current is None else current.not_comparable
        updates.append(
            ChampionUpdate(
                name, str(version.version), leader.run_id, True, leader.label, leader.run_id, why
            )
        )
    return updates
