"""`recsys train`: help lists methods and parameters; bad input fails before any work."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from recsys.cli import main
from recsys.data.dataset import PreparedDataset
from recsys.methods import method_names
from recsys.tracking import run
from recsys.training.stop import StopRequested
from tests.conftest import REPO_ROOT


@pytest.fixture()
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_: object, **__: object) -> PreparedDataset:
        raise AssertionError("no dataset may be prepared here")

    monkeypatch.setattr(run, "prepare", refuse)


def test_help_lists_every_method() -> None:
    result = CliRunner().invoke(main, ["train", "--help"], terminal_width=100)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name in method_names():
        assert name in text
    assert "--help-params" in text


def test_help_params_come_from_the_pydantic_schemas() -> None:
    result = CliRunner().invoke(main, ["train", "popularity", "--help-params"])
    assert result.exit_code == 0, result.output
    assert "weighted (bool, default False)" in result.output
    assert "validation_fraction (float, default 0.3333333333333333)" in result.output
    assert "data_dir (Path, default 'data')" in result.output


def test_bad_parameter_exits_naming_it(no_work: None, tracking_uri: str) -> None:
    result = CliRunner().invoke(main, ["train", "popularity", "-P", "weighted=maybe", "-q"])
    assert result.exit_code == 1
    assert "weighted='maybe'" in result.output
    result = CliRunner().invoke(main, ["train", "popularity", "-P", "dimension"])
    assert result.exit_code == 2
    assert "'dimension' is not key=value" in result.output
    result = CliRunner().invoke(main, ["train", "popularity", "-P", "split_seed=-1", "-q"])
    assert result.exit_code == 1 and "split_seed='-1'" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["train", "popularity"],
        ["tune", "popularity", "--trials", "1"],
        ["main", "--methods", "popularity"],
    ],
)
def test_a_parameter_given_twice_is_refused_naming_it(command: list[str], no_work: None) -> None:
    result = CliRunner().invoke(main, [*command, "-P", "split_seed=1", "-P", "split_seed=2"])
    assert result.exit_code != 0
    assert "split_seed=... is given twice" in result.output


def test_an_entry_script_parameter_given_twice_is_refused() -> None:
    from recsys.tracking.mlproject import entry_arguments

    with pytest.raises(ValueError, match=r"dim=\.\.\. is given twice"):
        entry_arguments(["dim=3", "--dim", "4"])


def test_unknown_method_is_refused() -> None:
    result = CliRunner().invoke(main, ["train", "svd"])
    assert result.exit_code == 2
    assert "popularity" in result.output


def test_unreachable_server_exits_naming_the_uri(no_work: None) -> None:
    uri = "http://127.0.0.1:9"  # the discard port: nothing listens there
    result = CliRunner().invoke(main, ["train", "popularity", "--tracking-uri", uri, "-q"])
    assert result.exit_code == 1
    assert uri in result.output


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    monkeypatch: pytest.MonkeyPatch, tracking_uri: str
) -> None:
    def explode(*args: object, **kwargs: object) -> str:
        raise OSError("disk quota exceeded\nsecond line")

    monkeypatch.setattr(run, "run_method", explode)
    monkeypatch.delenv("RECSYS_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["train", "popularity", "-q"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: OSError: disk quota exceeded (run with --debug for the traceback)"
    ]
    debug = CliRunner().invoke(main, ["--debug", "train", "popularity", "-q"])
    assert isinstance(debug.exception, OSError)  # re-raised: the traceback is shown
    monkeypatch.delenv("RECSYS_DEBUG", raising=False)


def test_a_locked_store_is_named_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tracking_uri: str
) -> None:
    """Another process holding the sqlite store past MLflow's wait: MLflow's
    ``OperationalError: database is locked`` named neither the store nor what to do."""

    def locked(*args: object, **kwargs: object) -> str:
        try:
            raise sqlite3.OperationalError("database is locked")
        except sqlite3.OperationalError as error:
            raise RuntimeError("(raised as a result of Query-invoked autoflush)") from error

    monkeypatch.setattr(run, "run_method", locked)
    monkeypatch.delenv("RECSYS_DEBUG", raising=False)
    result = CliRunner().invoke(main, ["train", "popularity", "-q"])
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith(f"Error: tracking store {tracking_uri} is locked by another process")
    assert "another --tracking-uri" in line


def test_a_run_prints_its_stages_and_one_line_warnings_not_mlflow_bookkeeping(
    tmp_path: Path,
) -> None:
    """What a person sees on the terminal: stage lines, a readable headline, the advice
    as ``Warning: ...``; not Python's source lines nor MLflow's per-run INFO lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "RECSYS_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    args = ["train", "skipgram", "--dataset", "synthetic-small:0.002", "--data-dir",
            str(tmp_path / "data"), "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
            *("-P", "epochs=1", "-P", "dim=8", "-P", "walks_per_node=2")]  # fmt: skip
    for quiet in (False, True):
        done = subprocess.run(
            [sys.executable, "-m", "recsys", *args, *(["-q"] if quiet else [])],
            capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = done.stderr.replace("\r", "\n").splitlines()
        assert any(line.startswith("Warning: one SGD epoch at lr=0.04") for line in lines)
        headline = any("synthetic-small:0.002: AUC all 0." in line for line in lines)
        assert headline != quiet, lines  # stage lines only without --quiet
        for chatter in ("UserWarning", "system_metrics", "Validating input example"):
            assert chatter not in done.stderr, chatter


@pytest.mark.parametrize(
    ("stop", "line", "status"),
    [
        (StopRequested("SIGTERM"), "Stopped by SIGTERM.", 143),
        (KeyboardInterrupt(), "Stopped by SIGINT.", 130),
    ],
)
def test_a_stopped_command_says_by_what_without_clicks_aborted(
    stop: KeyboardInterrupt, line: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped(*_: object, **__: object) -> str:
        raise stop

    monkeypatch.setattr(run, "run_method", stopped)
    result = CliRunner().invoke(main, ["train", "popularity", "-q"])
    assert result.exit_code == status
    assert result.output.strip().splitlines() == [line]
