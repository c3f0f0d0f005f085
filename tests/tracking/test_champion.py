"""The registry's ``champion`` alias: one per leaderboard table, moved by one metric only,
never kept on a champion that cannot be compared with the leader.

Runs are logged by hand (tags and metrics, no model files): a version's source is then
``runs:/<id>/model``, which the registry accepts without reading it.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.cli.leaderboard import leaderboard_command
from recsys.tracking import names
from recsys.tracking.leaderboard.registry import (
    CHAMPION_ALIAS,
    TAG_MODEL_DATASET,
    champion_model_name,
    link_version_to_logged_model,
    registered_model_name,
)
from recsys.tracking.leaderboard.report import publish_leaderboard
from recsys.tracking.run import run_method

A_PAIRS, B_PAIRS = "/x/a/pairs.csv", "/x/b/pairs.csv"


@pytest.fixture
def client(tmp_path: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")


def _log_run(
    client: MlflowClient, method: str, dataset: str, matched: float, data_key: str = "k1"
) -> str:
    """A finished run with AUC all and degree-matched AUC ``matched`` ± 0.02."""
    experiment = client.get_experiment_by_name("runs")
    exp_id = experiment.experiment_id if experiment else client.create_experiment("runs")
    tags = {
        names.TAG_METHOD: method,
        names.TAG_DATASET: dataset,
        names.TAG_DATA_KEY: data_key,
    }
    run_id = client.create_run(exp_id, tags=tags).info.run_id
    metric = names.METRIC_MATCHED_AUC_ALL
    values = {
        names.METRIC_AUC_ALL: matched,
        names.METRIC_RECALL_AT_10: 1 - matched,
        metric: matched,
        f"{metric}{names.CI_LOW_SUFFIX}": matched - 0.02,
        f"{metric}{names.CI_HIGH_SUFFIX}": matched + 0.02,
    }
    for key, value in values.items():
        client.log_metric(run_id, key, value)
    client.set_terminated(run_id)
    return run_id


def _champion_run(client: MlflowClient, name: str) -> str:
    return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).run_id)


def test_two_files_of_one_name_each_have_their_own_champion(client: MlflowClient) -> None:
    a_run = _log_run(client, "mf", A_PAIRS, 0.6)
    b_run = _log_run(client, "itemknn", B_PAIRS, 0.9)
    report = publish_leaderboard(client, None, log=True)
    a_name, b_name = (u.model_name for u in report.champions)
    assert a_name == "recsys-pairs.csv" and b_name == registered_model_name(B_PAIRS, suffixed=True)
    assert b_name.startswith("recsys-pairs.csv-") and len(b_name) == len(a_name) + 9
    assert _champion_run(client, a_name) == a_run and _champion_run(client, b_name) == b_run
    assert client.get_registered_model(a_name).tags[TAG_MODEL_DATASET] == A_PAIRS
    version = client.get_model_version_by_alias(b_name, CHAMPION_ALIAS)  # says what it is
    assert version.tags == {names.TAG_METHOD: "itemknn", names.METRIC_MATCHED_AUC_ALL: "0.9000"}
    assert version.description == (
        f"itemknn: matched_auc_all 0.9000, the leader of {B_PAIRS} when it became champion "
        f"(run {b_run})"
    )
    # The names stay with their files, whatever a later leaderboard lists.
    assert champion_model_name(client, B_PAIRS) == b_name
    again = publish_leaderboard(client, B_PAIRS, log=True)
    assert [(u.model_name, u.moved) for u in again.champions] == [(b_name, False)]
    # Named datasets keep their names, and a file named like one never takes it.
    assert champion_model_name(client, "synthetic-small") == "recsys-synthetic-small"
    assert champion_model_name(client, "/x/synthetic-small") != "recsys-synthetic-small"


def test_a_seed_groups_champion_says_its_own_value_and_the_groups_mean(
    client: MlflowClient,
) -> None:
    """A seed group ranks by its seeds' mean, and the version is one seed's model: its
    tag is that model's own value, the mean beside it."""
    runs = [_log_run(client, "mf", A_PAIRS, matched) for matched in (0.80, 0.82, 0.84)]
    for run_id in runs:
        client.set_tag(run_id, names.TAG_SEED_GROUP, "job/mf")
    (update,) = publish_leaderboard(client, None, log=True).champions
    version = client.get_model_version_by_alias(update.model_name, CHAMPION_ALIAS)
    own = client.get_run(version.run_id).data.metrics[names.METRIC_MATCHED_AUC_ALL]
    assert version.tags[names.METRIC_MATCHED_AUC_ALL] == f"{own:.4f}"
    assert version.tags["matched_auc_all_seed_mean"] == "0.8200"
    assert version.tags[names.TAG_N_SEEDS] == "3"
    assert f"matched_auc_all {own:.4f} (this seed; 0.8200 the mean of its 3 seeds)" in (
        version.description
    )


def test_a_logged_model_that_cannot_list_its_version_is_a_warning_not_an_error(
    client: MlflowClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Listing the version on its logged model is best effort: update_champions goes on
    and reports the alias it moved."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise MlflowException("logged model tags are not supported")

    monkeypatch.setattr(client, "get_logged_model", refuse)
    link_version_to_logged_model(client, "m-1", "recsys-x", "3")
    assert "version 3 of recsys-x is registered, but its logged model m-1" in caplog.text


def test_a_champion_registered_from_another_dataset_is_not_compared(
    client: MlflowClient,
) -> None:
    a_run = _log_run(client, "mf", A_PAIRS, 0.6)
    b_run = _log_run(client, "itemknn", B_PAIRS, 0.9)
    publish_leaderboard(client, None, log=True)
    # A store where a's model points at b's run (what the name shared by both files did).
    name = registered_model_name(A_PAIRS)
    version = client.create_model_version(name, f"runs:/{b_run}/model", run_id=b_run)
    client.set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
    (update, _) = publish_leaderboard(client, None, log=True).champions
    assert update.moved and _champion_run(client, name) == a_run
    assert f"registered from another dataset ({B_PAIRS})" in update.describe()


def test_a_deleted_champion_gives_way_to_the_leader(client: MlflowClient) -> None:
    best = _log_run(client, "skipgram", A_PAIRS, 0.9)
    publish_leaderboard(client, A_PAIRS, log=True)
    client.delete_run(best)
    second = _log_run(client, "mf", A_PAIRS, 0.89)  # inside the deleted run's interval
    (update,) = publish_leaderboard(client, A_PAIRS, log=True).champions
    assert update.moved and _champion_run(client, update.model_name) == second
    assert update.describe().endswith("the previous champion was not compared: its run was deleted")


def test_a_champion_scored_on_other_data_gives_way_to_the_leader(client: MlflowClient) -> None:
    _log_run(client, "skipgram", A_PAIRS, 0.9, data_key="k1")
    publish_leaderboard(client, A_PAIRS, log=True)
    newer = _log_run(client, "popularity", A_PAIRS, 0.5, data_key="k2")  # e.g. another split
    (update,) = publish_leaderboard(client, A_PAIRS, log=True).champions
    assert update.moved and _champion_run(client, update.model_name) == newer
    assert "was not compared: it was scored on other data" in update.describe()


def test_another_rank_by_moves_no_champion_and_says_so(client: MlflowClient) -> None:
    best = _log_run(client, "skipgram", A_PAIRS, 0.9)
    publish_leaderboard(client, A_PAIRS, log=True)
    _log_run(client, "mf", A_PAIRS, 0.5)  # first by recall@10 (0.5), last by matched AUC
    report = publish_leaderboard(client, A_PAIRS, rank_by=names.METRIC_RECALL_AT_10, log=True)
    assert report.champions == () and report.board.tables[0].rows[0].method == "mf"
    assert _champion_run(client, registered_model_name(A_PAIRS)) == best
    assert report.champion_lines == (
        "Champion: no alias moved: champions are decided by matched_auc_all only, and this "
        "leaderboard is ranked by recall_at_10 (log it without --rank-by to update them)\n"
    )


def test_a_store_away_from_the_working_folder_gets_its_champion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLflow resolves a ``models:/<id>`` source through its global tracking URI; the
    champion must be registered from the client's store wherever the command runs."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 200, (2, 1500))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("".join(f"p{x},p{y}\n" for x, y in zip(a, b, strict=True) if x != y))
    uri = f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    (tmp_path / "store").mkdir()
    (tmp_path / "elsewhere").mkdir()
    params = {"dataset": str(pairs), "data_dir": str(tmp_path / "data")}
    run_id = run_method("popularity", params, tracking_uri=uri, progress=False)
    mlflow.set_tracking_uri(None)  # as in a fresh `recsys leaderboard` process
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = CliRunner().invoke(leaderboard_command, ["--tracking-uri", uri, "--log"])
    assert result.exit_code == 0, result.output
    name = registered_model_name(str(pairs))
    assert f"Champion: models:/{name}@{CHAMPION_ALIAS} -> version 1 (popularity" in result.output
    assert _champion_run(MlflowClient(uri), name) == run_id
    # Linked both ways, as mlflow.register_model links them: the version's source is the
    # logged model, and the logged model lists the version.
    (output,) = MlflowClient(uri).get_run(run_id).outputs.model_outputs
    champion = MlflowClient(uri).get_model_version_by_alias(name, CHAMPION_ALIAS)
    assert champion.source == f"models:/{output.model_id}"
    listed = MlflowClient(uri).get_logged_model(output.model_id).tags
    assert json.loads(listed["mlflow.modelVersions"]) == [{"name": name, "version": "1"}]
    assert not list((tmp_path / "elsewhere").iterdir())  # no store made in the working folder
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{name}@{CHAMPION_ALIAS}")
    answer = model.predict(pd.DataFrame({"product1": ["p1"], "product2": ["p2"]}))
    assert answer["known"].all()
