"""A temporary MLflow store for every tracking test, so no test writes to ./mlflow.db.

Creating an MLflow sqlite store runs all of its schema migrations (seconds); the store is
created once per session and copied for each test, which keeps each test's store private.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

LAUNCHER_ENV = ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialized, empty MLflow sqlite database file to copy."""
    path = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()  # creates and migrates the schema
    return path


def private_store(empty_store: Path, folder: Path) -> str:
    """Copy the empty store into ``folder``; its sqlite URI."""
    shutil.copy(empty_store, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture()
def tracking_uri(
    empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """``sqlite:///<tmp>/mlflow.db``, with artifacts under <tmp>/mlruns (the working dir)."""
    uri = private_store(empty_store, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for launcher_env in LAUNCHER_ENV:
        monkeypatch.delenv(launcher_env, raising=False)
    monkeypatch.chdir(tmp_path)  # the default artifact root ./mlruns lands in tmp_path
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    mlflow.set_tracking_uri(previous)
