"""Which MLflow experiment a new run goes to: the one the environment names, else ours.

``MLFLOW_EXPERIMENT_ID`` / ``MLFLOW_EXPERIMENT_NAME`` are what ``mlflow run
--experiment-name`` and users set; every run we create (method runs, the main job's
parent, leaderboard runs) honours them the same way, so a job's runs never split across
experiments. Without them a method run goes to ``recsys-<dataset>`` (names.experiment_name).
"""

from __future__ import annotations

import os

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

EXPERIMENT_ID_ENV = "MLFLOW_EXPERIMENT_ID"
EXPERIMENT_NAME_ENV = "MLFLOW_EXPERIMENT_NAME"


def resolve_experiment_id(client: MlflowClient, default_name: str) -> str:
    """The id of the environment's experiment, else of ``default_name`` (created if new).

    Two first runs on a dataset started together both find no experiment; the one whose
    create loses (a unique-name error) takes the winner's.
    """
    if os.environ.get(EXPERIMENT_ID_ENV):
        return os.environ[EXPERIMENT_ID_ENV]
    name = os.environ.get(EXPERIMENT_NAME_ENV) or default_name
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return str(experiment.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:  # not the race: a real failure
            raise
        return str(experiment.experiment_id)
