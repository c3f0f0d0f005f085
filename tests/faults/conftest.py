"""What the fault-injection tests share: a tiny prepared dataset, the real CLI, run lookups.

Every case of issue 16's fault list runs through ``recsys`` itself: in process through
click's CliRunner, or as a subprocess where real signals or several processes are the
point. Each asserts the outcome a user sees: one ``Error:`` line naming the file,
parameter or URI (no traceback), the runs' status in MLflow, nothing lost (the prepared
cache, a checkpoint) and a store that still works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from recsys.cli import main
from recsys.config import DataConfig
from recsys.data.prepare import prepare_dataset
from tests.conftest import REPO_ROOT

TINY = "synthetic-small:0.002"  # about 1,000 products: a tracked run takes seconds
OTHER = "synthetic-small:0.003"  # another dataset for the checkpoint cases
# Small settings for the torch methods: a run is a few seconds on one core.
FAST_MF = ("-P", "dim=8", "-P", "batch_size=256", "-P", "device=cpu", "-P", "eval_every=1000")
FAST_WALKS = (*FAST_MF, "-P", "walks_per_node=2", "-P", "walk_length=5", "-P", "epochs=1")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with TINY and OTHER generated and prepared (copy it to change it)."""
    data_dir = tmp_path_factory.mktemp("tiny") / "data"
    for dataset in (TINY, OTHER):
        prepare_dataset(DataConfig(dataset=dataset, data_dir=data_dir), progress=False)
    return data_dir


@pytest.fixture()
def data_dir(tiny_data: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared tiny data."""
    return Path(shutil.copytree(tiny_data, tmp_path / "data"))


@pytest.fixture()
def store(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private sqlite store (the working directory is the test's tmp_path)."""
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "false")  # no sampler thread
    return tracking_uri


@pytest.fixture()
def no_debug(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("RECSYS_DEBUG", raising=False)
    yield


def recsys(*args: object) -> Result:
    """``recsys ARGS`` in this process, as a user would type it."""
    return CliRunner().invoke(main, [str(arg) for arg in args])


def train_args(method: str, store: str, data_dir: Path, *params: str) -> list[str]:
    return ["train", method, "--dataset", TINY, "--data-dir", str(data_dir),
            "--tracking-uri", store, "-q", *params]  # fmt: skip


def assert_one_error_line(result: Result, *named: str) -> str:
    """Exit 1 with one ``Error:`` line holding every ``named`` text, and no traceback."""
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output, result.output
    for text in named:
        assert text in errors[0], errors[0]
    return errors[0]


def all_runs(uri: str) -> list[Run]:
    client = MlflowClient(uri)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return list(client.search_runs(experiments, run_view_type=ViewType.ALL))


def assert_store_usable(uri: str, data_dir: Path) -> str:
    """A new popularity run on the same store finishes: the store survived the fault."""
    result = recsys(*train_args("popularity", uri, data_dir))
    assert result.exit_code == 0, result.output
    run_id = result.output.strip().splitlines()[-1]
    assert MlflowClient(uri).get_run(run_id).info.status == "FINISHED"
    return run_id


def cli_process(args: list[str], cwd: Path, **popen: object) -> subprocess.Popen[str]:
    """``python -m recsys ARGS`` as a separate process, importing this checkout's recsys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RECSYS_DEBUG"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "false"
    return subprocess.Popen(
        [sys.executable, "-m", "recsys", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )
