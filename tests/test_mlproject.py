"""MLproject and conda.yaml agree with the code: entry points, parameters, dependencies."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from recsys.config import DataConfig
from recsys.methods import METHOD_MODULES, get_method, method_names
from recsys.tracking.mlproject import (
    BEGIN_MARKER,
    END_MARKER,
    PREPARE_ENTRY_POINT,
    entry_point_parameters,
    render_generated_block,
)
from recsys.tracking.params import build_config, flat_fields

REPO_ROOT = Path(__file__).resolve().parents[1]
JOB_ENTRY_POINTS = {PREPARE_ENTRY_POINT, "leaderboard", "main"}  # entry points that are no method


def _mlproject() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "MLproject").read_text())


def _method_landed(name: str) -> bool:
    try:
        get_method(name)
    except ModuleNotFoundError as err:
        if err.name == METHOD_MODULES[name]:
            return False
        raise
    return True


def test_every_entry_point_is_a_method_or_a_known_job_and_every_method_has_one() -> None:
    entry_points = set(_mlproject()["entry_points"])
    assert entry_points - set(method_names()) <= JOB_ENTRY_POINTS
    assert set(method_names()) <= entry_points
    assert PREPARE_ENTRY_POINT in entry_points


def test_no_conda_env_key_so_local_env_manager_is_the_pip_path() -> None:
    project = _mlproject()
    assert "conda_env" not in project and "python_env" not in project
    assert (REPO_ROOT / "conda.yaml").exists()


def test_generated_block_is_up_to_date() -> None:
    text = (REPO_ROOT / "MLproject").read_text()
    block = text[text.index(BEGIN_MARKER) : text.index(END_MARKER) + len(END_MARKER)]
    assert block == render_generated_block(), (
        "MLproject is out of date with the method configs; run "
        "`python -m recsys.tracking.mlproject` and commit MLproject"
    )


@pytest.mark.parametrize("method", method_names())
def test_method_entry_point_declares_every_parameter_with_the_schema_default(method: str) -> None:
    if not _method_landed(method):
        pytest.skip(f"{METHOD_MODULES[method]} is not written yet")
    entry = _mlproject()["entry_points"][method]
    config_class = get_method(method).config_class
    declared = entry["parameters"]
    assert set(declared) == set(flat_fields(DataConfig)) | set(flat_fields(config_class))
    assert declared == {
        k: {"type": v["type"], "default": v["default"]}
        for k, v in entry_point_parameters(config_class).items()
    }
    for key in declared:
        assert f"{key}={{{key}}}" in entry["command"]
    assert entry["command"].startswith(f"python experiments/train.py {method} ")
    # The defaults as text (what MLflow passes) validate to the schema's own defaults.
    as_text = {k: str(v["default"]) for k, v in declared.items() if v["default"] != ""}
    method_fields = flat_fields(config_class)
    config = build_config(
        config_class, {k: v for k, v in as_text.items() if k in method_fields}, method
    )
    assert config == config_class()
    data_text = {k: v for k, v in as_text.items() if k in flat_fields(DataConfig)}
    assert build_config(DataConfig, data_text, "data") == DataConfig()


def test_conda_yaml_lists_the_pyproject_dependencies() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    conda = yaml.safe_load((REPO_ROOT / "conda.yaml").read_text())
    python = [d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("python")]
    assert python == [f"python={pyproject['project']['requires-python'].removeprefix('>=')}"]
    pip = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    packages = [p for p in pip if not p.startswith("-e")]
    assert packages == pyproject["project"]["dependencies"]
    assert "-e ." in pip  # the package itself, so experiments/*.py can import it
