"""The comparison view every experiment gets: its tags, idempotence and the link to it.

The browser test (tests/tracking/test_mlflow_ui.py) checks that MLflow's UI shows it.
"""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.tracking import names
from recsys.tracking.comparison_view import (
    EXPERIMENT_KIND,
    TAG_DESCRIPTION,
    TAG_EXPERIMENT_KIND,
    TAG_SAVED_VIEW,
    VIEW_ID,
    VIEW_NAME,
    comparison_hint,
    comparison_url,
    ensure_comparison_view,
)

HEADLINE = (
    "matched_auc_all", "auc_all", "auc_seen", "auc_cold_start", "recall_at_10", "ndcg_at_10", "mrr"
)  # fmt: skip


def test_the_view_selects_method_runs_best_first_with_the_headline_metrics(
    tracking_uri: str,
) -> None:
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment("recsys-tiny")
    ensure_comparison_view(client, experiment_id)
    tags = client.get_experiment(experiment_id).tags
    envelope = json.loads(tags[TAG_SAVED_VIEW])
    assert envelope["name"] == VIEW_NAME
    state = json.loads(envelope["state"])
    columns = [f"metrics.`{metric}`" for metric in HEADLINE]
    assert state["selectedColumns"][: len(HEADLINE)] == columns
    assert state["columnOrder"][: len(HEADLINE)] == columns
    assert state["orderByKey"] == "metrics.`matched_auc_all`" and state["orderByAsc"] is False
    assert state["searchFilter"] == f"tags.`{names.TAG_METHOD}` != ''"
    assert tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND
    assert VIEW_NAME in tags[TAG_DESCRIPTION]


def test_the_view_is_written_once_and_a_users_description_and_kind_are_kept(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment(
        "team", tags={TAG_DESCRIPTION: "ours", TAG_EXPERIMENT_KIND: "genai_development"}
    )
    client.set_experiment_tag(experiment_id, TAG_SAVED_VIEW, '{"name": "old"}')  # stale
    ensure_comparison_view(client, experiment_id)
    written: list[str] = []
    monkeypatch.setattr(client, "set_experiment_tag", lambda _id, key, _v: written.append(key))
    ensure_comparison_view(client, experiment_id)
    assert written == []  # the second run of an experiment writes nothing
    tags = client.get_experiment(experiment_id).tags
    assert json.loads(tags[TAG_SAVED_VIEW])["name"] == VIEW_NAME  # the stale view replaced
    assert tags[TAG_DESCRIPTION] == "ours"
    assert tags[TAG_EXPERIMENT_KIND] == "genai_development"


def test_a_tag_write_lost_to_a_parallel_first_run_keeps_the_winners_tag(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first runs both find the tags missing; the SQL store refuses the later insert."""
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment("recsys-raced")
    set_tag = client.set_experiment_tag

    def lose_the_race(experiment: str, key: str, value: str) -> None:
        set_tag(experiment, key, value)  # the other run's insert lands first
        raise MlflowException("UNIQUE constraint failed: experiment_tags.key")

    monkeypatch.setattr(client, "set_experiment_tag", lose_the_race)
    ensure_comparison_view(client, experiment_id)
    tags = client.get_experiment(experiment_id).tags
    assert json.loads(tags[TAG_SAVED_VIEW])["name"] == VIEW_NAME
    assert tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND


def test_a_tag_write_that_fails_with_the_tag_still_absent_is_raised(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment("recsys-broken")

    def fail(experiment: str, key: str, value: str) -> None:
        raise MlflowException("database is locked")

    monkeypatch.setattr(client, "set_experiment_tag", fail)
    with pytest.raises(MlflowException, match="locked"):
        ensure_comparison_view(client, experiment_id)


def test_the_link_opens_the_view_on_the_server_or_on_mlflow_ui() -> None:
    url = comparison_url("http://10.0.0.5:5000/", "7")
    assert url == (
        "http://10.0.0.5:5000/#/experiments/7/runs"
        f"?workflowType=machine_learning&viewStateShareKey={VIEW_ID}"
    )
    assert comparison_hint("http://10.0.0.5:5000", "7").endswith(url)
    local = comparison_hint("sqlite:///mlflow.db", "7")
    assert "`mlflow ui --backend-store-uri sqlite:///mlflow.db`" in local
    assert local.endswith(comparison_url("http://127.0.0.1:5000", "7"))
