"""The team tracking server: fail fast when it is unreachable; the docker files hang together.

Docker cannot run in CI, so the compose file and the Dockerfile are checked statically;
the same server setup without docker (PostgreSQL + mlflow server) is exercised end to end
by scripts/ci_tracking_server.sh, run from .ci/run.
"""

from __future__ import annotations

import re
import socket
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import recsys.tracking.main_job as main_job
import recsys.tracking.run as run_module
from recsys.cli.main_job import main_command
from recsys.tracking.run import run_method
from recsys.tracking.server import TrackingServerError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def dead_uri(monkeypatch: pytest.MonkeyPatch) -> str:
    """An http URI where nothing listens; preparing data would be a failure of the test."""

    def must_not_prepare(config: Any) -> None:
        raise AssertionError("the dataset was prepared before the tracking server was checked")

    monkeypatch.setattr(run_module, "prepare", must_not_prepare)
    monkeypatch.setattr(main_job, "prepare", must_not_prepare)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_run_method_fails_fast_naming_the_uri(dead_uri: str) -> None:
    with pytest.raises(TrackingServerError, match=re.escape(dead_uri)):
        run_method("popularity", {"dataset": "synthetic-small"}, tracking_uri=dead_uri)


def test_main_job_fails_fast_naming_the_uri_from_the_environment(
    dead_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", dead_uri)
    result = CliRunner().invoke(main_command, ["--methods", "popularity", "--no-progress"])
    assert result.exit_code == 1
    assert dead_uri in result.output and "not reachable" in result.output
    assert "Traceback" not in result.output


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker" / "docker-compose.yml").read_text())
    return loaded


def test_compose_runs_mlflow_on_postgres_with_served_artifacts() -> None:
    services = _compose()["services"]
    assert {"postgres", "mlflow", "recsys"} <= set(services)
    command = services["mlflow"]["command"]
    backend = command[command.index("--backend-store-uri") + 1]
    assert backend.startswith("postgresql://") and "@postgres:5432/" in backend
    assert command[command.index("--artifacts-destination") + 1] == "/mlartifacts"
    assert services["mlflow"]["entrypoint"] == ["mlflow", "server"]
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    job = services["recsys"]
    assert job["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert job["depends_on"]["mlflow"]["condition"] == "service_healthy"
    # The server's Host allow-list must admit the name the jobs use.
    assert "mlflow:5000" in command[command.index("--allowed-hosts") + 1]
    for name in ("mlflow", "recsys"):
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"


def test_dockerfile_pins_the_projects_torch_and_copies_existing_files() -> None:
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    (base,) = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert base == "FROM python:3.11-slim"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    (torch_pin,) = [d for d in pyproject["project"]["dependencies"] if d.startswith("torch")]
    version = torch_pin.split("==")[1]
    assert f"torch=={version}+cpu" in dockerfile
    assert "download.pytorch.org/whl/cpu" in dockerfile
    assert "server" in pyproject["project"]["optional-dependencies"]
    assert ".[server]" in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies {source}, which is missing"


def test_ci_tracking_script_is_valid_bash() -> None:
    script = REPO / "scripts" / "ci_tracking_server.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    assert "postgresql://" in script.read_text()
