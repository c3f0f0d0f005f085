"""MLproject and conda.yaml agree with the code: entry points, parameters, dependencies."""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.projects._project_spec import load_project
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from recsys.config import DataConfig
from recsys.methods import METHOD_MODULES, get_method, method_names
from recsys.tracking import names
from recsys.tracking.mlproject import (
    BEGIN_MARKER,
    END_MARKER,
    PREPARE_ENTRY_POINT,
    entry_point_parameters,
    render_generated_block,
    undeclared_fields,
)
from recsys.tracking.params import ParameterError, build_config, flat_fields
from recsys.tracking.run import validate_params
from recsys.training.config import WindowConfig
from recsys.training.sequences import synchronous_batch_size

REPO_ROOT = Path(__file__).resolve().parents[1]
JOB_ENTRY_POINTS = {
    PREPARE_ENTRY_POINT,
    "leaderboard",
    "main",
    "tune",
}  # entry points that are no method


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


@pytest.mark.parametrize("entry_point", ["leaderboard", "main", "tune"])
def test_job_entry_points_default_as_their_cli_commands(entry_point: str) -> None:
    """`mlflow run -e leaderboard` ranks as `recsys leaderboard` does, and so on: each
    declared parameter's default is its command option's (where the option has one)."""
    from recsys.cli.leaderboard import leaderboard_command
    from recsys.cli.main_job import main_command
    from recsys.cli.tune import tune_command

    command = {"leaderboard": leaderboard_command, "main": main_command, "tune": tune_command}
    options = {p.name: p.default for p in command[entry_point].params}
    compared = 0
    for name, spec in _mlproject()["entry_points"][entry_point]["parameters"].items():
        default = options.get(name)
        if isinstance(default, bool):
            default = str(default).lower()
        if isinstance(default, (str, int)):
            assert str(spec["default"]) == str(default), f"{entry_point}: {name}"
            compared += 1
    assert compared >= 1


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
    every = set(flat_fields(DataConfig)) | set(flat_fields(config_class))
    assert set(declared) == every - undeclared_fields(config_class)  # presets, run time
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


def _load_script(name: str) -> ModuleType:
    path = REPO_ROOT / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"experiments_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("method", method_names())
def test_entry_point_command_validates_for_its_method(method: str, tmp_path: Path) -> None:
    """What `mlflow run -e METHOD` would execute parses into params the schemas accept."""
    project = load_project(str(REPO_ROOT))
    entry = project.get_entry_point(method)
    command = entry.compute_command({"dataset": "my data.json", "split_seed": "7"}, str(tmp_path))
    argv = shlex.split(command)
    assert argv[:2] == ["python", "experiments/train.py"]
    name, params = _load_script("train").parse_arguments(argv[2:])
    assert name == method and params["dataset"] == "my data.json"
    if not _method_landed(method):
        pytest.skip(f"{METHOD_MODULES[method]} is not written yet")
    _, data_config, config = validate_params(name, params)
    assert data_config.dataset == "my data.json" and data_config.split_seed == 7
    assert config == type(config)()  # every other declared default is the schema's
    # ... and passing it does not make it "given": a default decided at run time stays so
    # (node2vec's synchronous batch at one pair per product, not the declared 65,536).
    assert not config.model_fields_set & undeclared_fields(type(config))
    if isinstance(config, WindowConfig):
        assert synchronous_batch_size(config, 100) == synchronous_batch_size(type(config)(), 100)
    # An undeclared -P reaches the script as --key value and is validated too.
    extra = entry.compute_command({"no_such_param": "1"}, str(tmp_path))
    _, extra_params = _load_script("train").parse_arguments(shlex.split(extra)[2:])
    with pytest.raises(ParameterError, match="no_such_param"):
        validate_params(method, extra_params)


@pytest.mark.parametrize("method", ["skipgram", "side_info", "mf_sequences", "mf"])
def test_a_preset_given_to_mlflow_run_applies_under_explicit_values(
    method: str, tmp_path: Path
) -> None:
    """`-P preset=study` through the MLproject gives the preset's settings: no declared
    default is passed over them, and a value given with -P still wins."""
    entry = load_project(str(REPO_ROOT)).get_entry_point(method)
    config_class = get_method(method).config_class

    def config_of(given: dict[str, str]) -> BaseModel:
        command = entry.compute_command(given, str(tmp_path))
        _, params = _load_script("train").parse_arguments(shlex.split(command)[2:])
        return validate_params(method, params)[2]

    assert config_of({"preset": "study"}) == config_class(preset="study")
    assert config_of({}) == config_class()
    for name, value in getattr(config_class, "PRESETS", {})["study"].items():
        assert getattr(config_of({"preset": "study"}), name) == value
    if undeclared_fields(config_class):
        assert config_of({"preset": "study", "lr": "0.002"}).lr == 0.002


def _tiny_metadata(path: Path, n_products: int = 120, cluster_size: int = 12) -> Path:
    """Strict-JSON metadata (the 2014 all-category format): products co-bought in clusters."""
    rng = np.random.default_rng(0)
    with gzip.open(path, "wt") as out:
        for item in range(n_products):
            cluster = item // cluster_size
            mates = cluster * cluster_size + rng.choice(cluster_size, 4, replace=False)
            record = {
                "asin": f"T{item:05d}",
                "title": f"tiny product {item}",
                "brand": f"brand{cluster}",
                "categories": [["Tiny", f"Cluster {cluster}"]],
                "related": {"also_bought": [f"T{m:05d}" for m in mates if m != item]},
            }
            out.write(json.dumps(record) + "\n")
    return path


def _mlflow_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    for launcher_env in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        env.pop(launcher_env, None)
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    return subprocess.run(
        [str(mlflow_cli), "run", str(REPO_ROOT), "--env-manager", "local", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
def test_mlflow_run_popularity_end_to_end(tmp_path: Path) -> None:
    data = _tiny_metadata(tmp_path / "tiny.json.gz")
    done = _mlflow_run(
        tmp_path,
        "-e", "popularity",
        "-P", f"dataset={data}",
        "-P", f"data_dir={tmp_path / 'data'}",
        "--experiment-name", "recsys-tiny",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("recsys-tiny")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.tags[names.TAG_METHOD] == "popularity"
    assert run.data.tags[names.TAG_DATASET] == str(data)
    assert run.data.tags[names.TAG_SOURCE] == names.SOURCE_REAL
    assert run.data.tags["mlflow.project.entryPoint"] == "popularity"
    assert 0.0 <= run.data.metrics[names.METRIC_AUC_ALL] <= 1.0
    assert int(run.data.tags[names.TAG_N_PRODUCTS]) == 120
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    finally:
        mlflow.set_tracking_uri(previous)
    answer = model.predict(pd.DataFrame({"product1": ["T00000"], "product2": ["T00001"]}))
    assert answer["known"].tolist() == [True]


@pytest.mark.slow
def test_mlflow_run_rejects_a_bad_parameter_before_any_work(tmp_path: Path) -> None:
    method = "skipgram" if _method_landed("skipgram") else "popularity"
    bad = "dim=-3" if method == "skipgram" else "weighted=maybe"
    done = _mlflow_run(tmp_path, "-e", method, "-P", bad, "-P", f"data_dir={tmp_path / 'data'}")
    assert done.returncode != 0
    assert bad.split("=")[0] in done.stderr
    assert not (tmp_path / "data").exists()  # nothing was prepared or downloaded
