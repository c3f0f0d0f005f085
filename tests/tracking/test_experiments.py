"""Which experiment a run goes to, and two first runs creating it at the same moment."""

from __future__ import annotations

import pytest
from mlflow.entities import Experiment
from mlflow.tracking import MlflowClient

from recsys.tracking.experiments import resolve_experiment_id


def test_a_create_lost_to_a_parallel_first_run_takes_the_winners_experiment(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient(tracking_uri)
    winner = client.create_experiment("recsys-tiny")  # by the other process, just now
    look_up = client.get_experiment_by_name
    calls: list[str] = []

    def not_yet_then_found(name: str) -> Experiment | None:
        calls.append(name)
        return None if len(calls) == 1 else look_up(name)  # our look-up came first

    monkeypatch.setattr(client, "get_experiment_by_name", not_yet_then_found)
    assert resolve_experiment_id(client, "recsys-tiny") == winner
    assert calls == ["recsys-tiny", "recsys-tiny"]
