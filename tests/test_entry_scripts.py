"""MLproject entry scripts speak as the CLI does: one ``Error:`` line naming the ``-P``
parameter the user of ``mlflow run`` typed, and `recsys prepare`'s summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recsys.cli.entry_points import mlflow_wording
from tests.conftest import REPO_ROOT


def _script(
    name: str, *args: str, tmp_path: Path, run_id: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    env.pop("MLFLOW_RUN_ID", None)
    if run_id:  # as `mlflow run` starts it: inside the run it made
        env["MLFLOW_RUN_ID"] = run_id
    env["PYTHONPATH"] = str(REPO_ROOT)
    command = [sys.executable, str(REPO_ROOT / "experiments" / f"{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("leaderboard", ["dataset=all", "--foo", "1"], "Error: -P foo=1: the leaderboard takes"),
        ("leaderboard", ["dataset=all", "rank_by=auc"], "Error: Invalid value for -P rank_by:"),
        ("main", ["dataset=synthetic-small", "methods=nope", "seeds=1"], "Error: -P methods:"),
        ("main", ["dataset=synthetic-small", "seeds=0"], "Error: Invalid value for '-P seeds'"),
        ("tune", ["method=nope", "trials=1"], "Error: Invalid value for -P method:"),
        ("train", ["mf", "dim=-1"], "Error: invalid parameter for method 'mf': dim='-1'"),
        ("prepare", ["split_seed=x"], "Error: "),
    ],
)
def test_an_entry_script_error_is_one_line_naming_the_mlflow_parameter(
    name: str, args: list[str], expected: str, tmp_path: Path
) -> None:
    result = _script(name, *args, tmp_path=tmp_path)
    assert result.returncode in (1, 2), result.stderr  # as the CLI: 2 usage, 1 other
    assert result.stderr.startswith(expected), result.stderr
    assert "Usage:" not in result.stderr and "--rank-by" not in result.stderr


def test_options_are_worded_as_mlflow_parameters() -> None:
    options = {"final=false": "--no-final", "final": "--final", "rank_by": "--rank-by"}
    assert (
        mlflow_wording("'--rank-by' and --no-final", options) == "'-P rank_by' and -P final=false"
    )


def test_prepare_reports_as_recsys_prepare_does(tmp_path: Path) -> None:
    result = _script(
        "prepare", "dataset=synthetic-small", f"data_dir={tmp_path}", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "positives +" in result.stdout and "negatives per protocol" in result.stdout


@pytest.mark.parametrize(
    ("name", "args"),
    [("train", ["mf", "dim=-1"]), ("leaderboard", ["dataset=all", "rank_by=auc"])],
)
def test_an_entry_script_error_is_recorded_on_the_run_mlflow_made(
    name: str, args: list[str], tmp_path: Path
) -> None:
    """Under `mlflow run` the entry point's run exists before the script starts: a bad -P
    leaves it FAILED (MLflow ends it) with the error line as recsys.error, not without a
    reason."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    run_id = client.create_run(client.create_experiment("project")).info.run_id
    result = _script(name, *args, tmp_path=tmp_path, run_id=run_id)
    assert result.returncode == 2, result.stderr
    error = client.get_run(run_id).data.tags["recsys.error"]
    assert error.split(": ", 1)[1] in result.stderr.removeprefix("Error: ")
