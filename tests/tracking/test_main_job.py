"""The main job: every method as its own top-level run, failures recorded, then the leaderboard.

The dataset is the planted toy dataset (prepare is replaced by it), the store a temporary
sqlite file; popularity trains for real through ``run_method``. A registered method that
raises inside training stands in for a method that breaks.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import mlflow
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

import recsys.tracking.main.job as main_job
import recsys.tracking.run as run_module
from recsys.callbacks import TrainingCallback
from recsys.cli.main_job import main_command
from recsys.config import StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.data.errors import DataError
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.methods import METHOD_MODULES, get_method, method_names
from recsys.models import skipgram
from recsys.models.base import Method
from recsys.models.popularity import PopularityConfig, train_popularity
from recsys.tracking import names
from recsys.tracking.comparison_view import DEFAULT_UI_URL, TAG_SAVED_VIEW, comparison_url
from recsys.tracking.leaderboard.registry import (
    CHAMPION_ALIAS,
    registered_model_name,
    update_champions,
)
from recsys.tracking.main.job import (
    method_params,
    parse_overrides,
    resolve_methods,
    run_main_job,
)
from recsys.tracking.main.summary import ERROR_ARTIFACT, TAG_ERROR, format_summary
from recsys.tracking.names import KIND_LEADERBOARD, KIND_MAIN, TAG_KIND, TAG_MAIN_RUN
from recsys.tracking.params import ParameterError, flat_fields
from tests.conftest import make_planted_dataset

DATASET = "planted-test"


class BrokenConfig(StrictModel):
    """Settings of a method that always fails."""

    depth: int = 1


def _train_broken(
    data: PreparedDataset, config: BrokenConfig, callbacks: Sequence[TrainingCallback]
) -> ItemEmbeddings:
    for callback in callbacks:
        callback.on_train_begin(config.model_dump())
    raise RuntimeError("planted failure in training")


METHOD = Method("broken", BrokenConfig, _train_broken, "always raises while training")


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A temporary sqlite store; prepare returns the planted dataset; `broken` registered."""
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    planted = make_planted_dataset()
    monkeypatch.setattr(run_module, "prepare", lambda config, **kwargs: planted)
    monkeypatch.setattr(main_job, "prepare", lambda config, **kwargs: planted)
    for module in (run_module, main_job):  # the planted dataset's name is no file
        monkeypatch.setattr(module, "check_dataset", lambda dataset: None)
    monkeypatch.setitem(METHOD_MODULES, "broken", __name__)
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_overrides_go_to_methods_that_have_them(store: str) -> None:
    overrides = parse_overrides(["weighted=true", "broken.depth=3", "split_seed=7"])
    assert overrides == {None: {"weighted": "true", "split_seed": "7"}, "broken": {"depth": "3"}}
    params = method_params(["popularity", "broken"], DATASET, overrides)
    assert params["popularity"] == {"dataset": DATASET, "weighted": "true", "split_seed": "7"}
    assert params["broken"] == {"dataset": DATASET, "depth": "3", "split_seed": "7"}
    with pytest.raises(ParameterError, match="no chosen method"):
        method_params(["popularity"], DATASET, parse_overrides(["depht=3"]))
    with pytest.raises(ParameterError, match="not a method"):
        parse_overrides(["nope.dim=3"])
    with pytest.raises(ParameterError, match="'dim' is not key=value"):
        parse_overrides(["dim"])
    with pytest.raises(ParameterError, match="unknown method"):
        resolve_methods("popularity,nope")
    assert resolve_methods("all")[0] == "popularity"


def test_methods_and_scoped_overrides_are_never_silently_dropped(store: str) -> None:
    for empty in ("", " , "):
        with pytest.raises(ParameterError, match=r"--methods is empty.*popularity, itemknn"):
            resolve_methods(empty)
    with pytest.raises(ParameterError, match="unknown parameter 'dimm' for method 'skipgram'"):
        method_params(["popularity"], DATASET, parse_overrides(["skipgram.dimm=3"]))
    with pytest.raises(ParameterError, match="dim='-3'"):
        method_params(["popularity"], DATASET, parse_overrides(["skipgram.dim=-3"]))
    with pytest.raises(ParameterError, match=r"skipgram\.dim: skipgram is not among --methods"):
        method_params(["popularity"], DATASET, parse_overrides(["skipgram.dim=3"]))


def test_failure_is_recorded_and_the_others_survive(store: str) -> None:
    lines: list[str] = []
    result = run_main_job(
        DATASET,
        ["broken", "popularity"],
        tracking_uri=store,
        progress=False,
        echo=lines.append,
    )
    assert not result.ok
    assert [(o.method, o.status) for o in result.outcomes] == [
        ("broken", "FAILED"),
        ("popularity", "FINISHED"),
    ]
    client = MlflowClient(store)
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags[TAG_KIND] == KIND_MAIN
    assert parent.info.status == "FAILED"
    assert parent.data.metrics["n_methods_failed"] == 1.0

    broken = client.get_run(result.outcomes[0].run_id)
    assert broken.info.status == "FAILED"
    assert "planted failure in training" in broken.data.tags[TAG_ERROR]
    assert broken.data.tags[names.TAG_METHOD] == "broken"  # run_method's own run, tagged
    trace = Path(client.download_artifacts(broken.info.run_id, ERROR_ARTIFACT)).read_text()
    assert "RuntimeError" in trace

    popularity = client.get_run(result.outcomes[1].run_id)
    assert popularity.info.status == "FINISHED"
    # The logged number is the evaluation of the real trained baseline on this data.
    expected = evaluate(
        train_popularity(make_planted_dataset(), PopularityConfig()), make_planted_dataset()
    ).auc_all
    assert popularity.data.metrics[names.METRIC_AUC_ALL] == pytest.approx(expected)
    for run in (broken, popularity):  # top-level rows in the UI, grouped by the tag
        assert "mlflow.parentRunId" not in run.data.tags
        assert run.data.tags[TAG_MAIN_RUN] == result.parent_run_id

    assert result.leaderboard is not None and result.leaderboard.run_id is not None
    board_run = client.get_run(result.leaderboard.run_id)
    assert board_run.data.tags[TAG_KIND] == KIND_LEADERBOARD
    assert board_run.data.tags["mlflow.parentRunId"] == result.parent_run_id
    board_files = {a.path for a in client.list_artifacts(board_run.info.run_id)}
    label = names.dataset_label(DATASET)
    assert {"quality_vs_minutes.png", f"curves_{label}.png"} <= board_files
    page = Path(client.download_artifacts(board_run.info.run_id, "leaderboard.html")).read_text()
    assert page.count("data:image/png;base64,") == 3  # bars, quality/minutes, curves
    (table,) = result.leaderboard.board.tables
    assert [r.run_id for r in table.rows] == [popularity.info.run_id]  # the failed run is out
    summary = format_summary(result)
    assert "1 of 2 method(s) FAILED (broken)" in summary
    experiment_id = parent.info.experiment_id
    assert TAG_SAVED_VIEW in client.get_experiment(experiment_id).tags
    assert comparison_url(DEFAULT_UI_URL, experiment_id) in summary  # the link to open


def test_every_run_of_the_job_honours_the_environments_experiment(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "team-sweep")
    result = run_main_job(DATASET, ["popularity"], tracking_uri=store, progress=False)
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("team-sweep")
    assert experiment is not None
    assert result.leaderboard is not None
    run_ids = [result.parent_run_id, result.outcomes[0].run_id, result.leaderboard.run_id]
    for run_id in run_ids:
        assert client.get_run(run_id).info.experiment_id == experiment.experiment_id
    assert client.get_experiment_by_name(names.experiment_name(DATASET)) is None


def test_failure_before_any_run_opened_still_leaves_a_failed_run(store: str) -> None:
    def runner(method: str, params: dict[str, Any], **kwargs: Any) -> str:
        raise DataError(f"cannot read the data for {method}")

    result = run_main_job(
        DATASET, ["popularity"], tracking_uri=store, progress=False, runner=runner
    )
    (outcome,) = result.outcomes
    run = MlflowClient(store).get_run(outcome.run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[TAG_ERROR] == "DataError: cannot read the data for popularity"
    assert run.data.tags[TAG_MAIN_RUN] == result.parent_run_id


def test_cli_exits_nonzero_with_summary_when_a_method_fails(store: str) -> None:
    result = CliRunner().invoke(
        main_command,
        [
            "--dataset",
            DATASET,
            "--methods",
            "popularity,broken",
            "--tracking-uri",
            store,
            "--no-progress",
        ],
    )
    assert result.exit_code == 1, result.output
    assert "1 of 2 method(s) FAILED (broken)" in result.output
    assert "best finished run of 1 method(s)" in result.output  # the leaderboard of the rest


def test_cli_rejects_bad_param_before_any_work(store: str) -> None:
    result = CliRunner().invoke(
        main_command, ["--methods", "popularity", "-P", "weighted=maybe", "--tracking-uri", store]
    )
    assert result.exit_code == 1
    assert "weighted='maybe'" in result.output
    assert not Path(store.removeprefix("sqlite:///")).exists()  # nothing was tracked


def test_mlproject_entry_script_maps_parameters_to_cli_options() -> None:
    spec = importlib.util.spec_from_file_location(
        "experiments_main", Path(__file__).resolve().parents[2] / "experiments" / "main.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = [
        "dataset=/d/meta_X.json.gz",
        "methods=",
        "seeds=2",
        "--epochs",
        "2",
        "skipgram.dim=64",
    ]
    assert module.to_cli_arguments(argv) == [
        "--dataset",
        "/d/meta_X.json.gz",
        "--seeds",
        "2",
        "-P",
        "epochs=2",
        "-P",
        "skipgram.dim=64",
    ]


def test_every_method_trains_at_its_defaults_under_the_users_overrides() -> None:
    chosen = ["skipgram", "side_info", "mf_sequences"]
    params = method_params(chosen, "synthetic-small", {None: {"epochs": "2"}, "side_info": {}})
    assert all(p == {"dataset": "synthetic-small", "epochs": "2"} for p in params.values())
    with pytest.raises(click.exceptions.NoSuchOption):  # the quick profile is gone
        main_command.make_context("main", ["--profile", "quick"])


def test_default_skipgram_learns_on_the_planted_data(planted_dataset: PreparedDataset) -> None:
    """The defaults (word2vec's SGD, five epochs) train in seconds on small data."""
    config = skipgram.SkipGramConfig(progress=False, device="cpu", walks_per_node=4, dim=16)
    assert config.optimizer == "sgd"
    result = evaluate(skipgram.train(planted_dataset, config), planted_dataset)
    assert result.auc_seen is not None and result.auc_seen > 0.95


def test_main_help_names_the_methods_that_run_once_whatever_seeds() -> None:
    fields = {m: flat_fields(get_method(m).config_class) for m in method_names()}
    deterministic = ", ".join(m for m in method_names() if "seed" not in fields[m])
    help_text = " ".join(CliRunner().invoke(main_command, ["--help"]).output.split())
    assert f"({deterministic}) run once" in help_text


def test_seeds_repeat_seeded_methods_on_one_split_and_group_their_runs(store: str) -> None:
    calls: list[tuple[str, Any, Any]] = []

    def runner(method: str, params: dict[str, Any], **kwargs: Any) -> str:
        calls.append((method, params.get("seed"), params.get("split_seed")))
        client = MlflowClient(kwargs["tracking_uri"])
        tags = {names.TAG_METHOD: method, names.TAG_DATASET: DATASET}
        run_id = client.create_run("0", tags=tags).info.run_id
        for metric in (names.METRIC_AUC_ALL, names.METRIC_MATCHED_AUC_ALL):  # as runs log
            client.log_metric(run_id, metric, 0.8 + 0.01 * len(calls))
        client.set_terminated(run_id, status="FINISHED")
        return run_id

    lines: list[str] = []
    result = run_main_job(
        DATASET, ["mf", "popularity"], seeds=3, tracking_uri=store, progress=False,
        runner=runner, echo=lines.append,
    )  # fmt: skip
    assert "--seeds 3: popularity run once: deterministic, no training seed to vary" in lines
    assert [(m, seed) for m, seed, _ in calls] == [
        ("mf", 42), ("mf", 43), ("mf", 44), ("popularity", None),
    ]  # fmt: skip
    assert {split for _, _, split in calls} == {None}  # the split is never re-seeded
    assert result.leaderboard is not None
    (table,) = result.leaderboard.board.tables
    by_method = {row.method: row for row in table.rows}
    assert by_method["mf"].n_seeds == 3 and by_method["popularity"].n_seeds == 1
    assert by_method["mf"].auc_all == pytest.approx(0.82)
    assert "All 4 run(s) of 2 method(s) finished." in format_summary(result)
    with pytest.raises(ParameterError, match="--seeds"):
        main_job.seeded_params("mf", {}, 0)
    bad = CliRunner().invoke(main_command, ["--seeds", "0", "--tracking-uri", store])
    assert bad.exit_code == 2 and "--seeds" in bad.output


def test_a_shared_checkpoint_dir_gives_each_method_and_seed_its_own_folder(
    tmp_path: Path,
) -> None:
    """`recsys main --methods mf,mf_bias,skipgram -P checkpoint_dir=ck` put every method's
    checkpoint in ck: mf's refused the others (`written with other settings`), which FAILED;
    `--seeds 3` refused seeds 2 and 3 likewise. A method's own folder is used as given."""
    ck = tmp_path / "ck"
    overrides = parse_overrides(
        [f"checkpoint_dir={ck}", f"skipgram.checkpoint_dir={tmp_path / 'mine'}"], None
    )
    params = method_params(["popularity", "mf", "mf_bias", "skipgram"], DATASET, overrides)
    assert "checkpoint_dir" not in params["popularity"]  # no checkpoints there
    assert params["mf"]["checkpoint_dir"] == str(ck / "mf")
    assert params["mf_bias"]["checkpoint_dir"] == str(ck / "mf_bias")
    assert params["skipgram"]["checkpoint_dir"] == str(tmp_path / "mine")
    seeds = main_job.seeded_params("mf", params["mf"], 3)
    assert [p["checkpoint_dir"] for p in seeds] == [
        str(ck / "mf" / f"seed{s}") for s in (42, 43, 44)
    ]
    assert main_job.seeded_params("mf", params["mf"], 1) == [params["mf"]]


def test_data_dir_reaches_every_method(store: str, tmp_path: Path) -> None:
    overrides = parse_overrides(["weighted=true"], tmp_path / "shared-data")
    params = method_params(["popularity", "mf"], DATASET, overrides)
    assert {params[m]["data_dir"] for m in ("popularity", "mf")} == {str(tmp_path / "shared-data")}
    result = CliRunner().invoke(main_command, ["--help"])
    assert "--data-dir" in result.output


def test_the_leader_becomes_the_registered_champion_and_moves_only_when_beaten(
    store: str,
) -> None:
    result = run_main_job(DATASET, ["popularity"], tracking_uri=store, progress=False)
    assert result.leaderboard is not None and result.leaderboard.run_id is not None
    name = registered_model_name(DATASET)
    client = MlflowClient(store)
    champion = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    assert champion.run_id == result.outcomes[0].run_id
    mlflow.set_tracking_uri(store)
    model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION_ALIAS}")
    asins = make_planted_dataset().products["asin"].tolist()
    answer = model.predict(pd.DataFrame({"product1": asins[:2], "product2": asins[2:4]}))
    assert answer["known"].all()
    board = client.get_run(result.leaderboard.run_id).data.tags
    assert board[f"recsys.champion.{name}"] == str(champion.version)
    # The same leader again: the alias stays where it is.
    (again,) = update_champions(client, result.leaderboard.board)
    assert not again.moved and again.version == str(champion.version)
    assert again.describe().endswith("stays at version 1 (popularity, the leader)")
    # A leader above the champion but inside its interval (a tie) does not move it either.
    board = result.leaderboard.board
    (table,) = board.tables
    metric, leader = board.rank_by, table.rows[0]
    low, high = leader.interval(metric)  # type: ignore[misc]
    above = (leader.value(metric) or 0.0) + (high - low) / 4
    inside = dataclasses.replace(leader, run_id="x", values={**leader.values, metric: above})
    tied_board = dataclasses.replace(board, tables=[dataclasses.replace(table, rows=[inside])])
    (tie,) = update_champions(client, tied_board)
    assert not tie.moved and "stays at version 1" in tie.describe()
    # A better method on the same dataset takes the alias over, and the job says so.
    better = run_main_job(DATASET, ["itemknn"], tracking_uri=store, progress=False)
    moved = client.get_model_version_by_alias(name, CHAMPION_ALIAS)
    assert moved.run_id == better.outcomes[0].run_id and int(moved.version) == 2
    assert better.leaderboard is not None
    assert better.leaderboard.champion_lines == (
        f"Champion: models:/{name}@{CHAMPION_ALIAS} -> version 2 (itemknn, run {moved.run_id})\n"
    )


def test_no_progress_reaches_the_data_pipeline(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = make_planted_dataset()
    asked: list[bool] = []

    def recording_prepare(config: Any, *, progress: bool = True) -> PreparedDataset:
        asked.append(progress)
        return planted

    monkeypatch.setattr(main_job, "prepare", recording_prepare)
    monkeypatch.setattr(run_module, "prepare", recording_prepare)
    args = ["--dataset", DATASET, "--methods", "popularity", "--tracking-uri", store]
    result = CliRunner().invoke(main_command, [*args, "--no-progress"])
    assert result.exit_code == 0, result.output
    assert asked == [False, False]  # the job's prepare and the method run's
    assert CliRunner().invoke(main_command, args).exit_code == 0
    assert asked[2:] == [True, True]
    assert CliRunner().invoke(main_command, [*args, "-q"]).exit_code == 0
    assert CliRunner().invoke(main_command, [*args, "--progress"]).exit_code == 0  # as before
    assert asked[4:] == [False, False, True, True]
