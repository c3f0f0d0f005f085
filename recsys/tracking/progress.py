"""MLflow's own artifact progress bars, on or off with the caller's ``progress``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR


@contextmanager
def artifact_progress_bars(enabled: bool) -> Iterator[None]:
    """MLflow's own artifact-download bars (log_model validates its input example) follow
    ``progress``: a quiet run must not print them. Restores the variable afterwards."""
    variable = MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name
    previous = os.environ.get(variable)
    if not enabled:
        os.environ[variable] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = previous
