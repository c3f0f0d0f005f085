"""A stop signal ends the open runs KILLED even when the exception it raised was caught by a
library on the way and re-raised as an ordinary error (SQLAlchemy does that mid-flush), and
one that lands inside a write to the store waits for the write to finish."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from sqlalchemy import event
from sqlalchemy.engine import Engine

from recsys.tracking import names
from recsys.tracking.signals import (
    raise_if_stop_received,
    stop_signal_of,
    stopped_runs_end_killed,
)
from recsys.training.stop import StopRequested


def _signal_caught_as(error_type: type[Exception]) -> None:
    """Deliver SIGTERM to this process inside a call that wraps what the handler raises."""
    try:
        _deliver_sigterm_now()
    except BaseException as caught:
        raise error_type(f"flush failed: {caught!r}") from caught


def _deliver_sigterm_now() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    signal.sigtimedwait([], 0)  # nothing to wait for: lets the handler run now


@pytest.fixture()
def sigterm_after_the_first_metric_insert() -> Iterator[list[str]]:
    """SIGTERM delivered right after the store has inserted a metric row, inside the
    transaction (its write lock held, nothing committed yet)."""
    sent: list[str] = []

    def send(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not sent and statement.lstrip().upper().startswith("INSERT INTO METRICS"):
            sent.append(statement)
            _deliver_sigterm_now()

    event.listen(Engine, "after_cursor_execute", send)
    yield sent
    event.remove(Engine, "after_cursor_execute", send)


@pytest.fixture()
def open_run(tracking_uri: str) -> tuple[MlflowClient, str]:
    """A client on a fresh store and a RUNNING run in it."""
    client = MlflowClient(tracking_uri)
    return client, client.create_run(client.create_experiment("signals")).info.run_id


def test_a_signal_wrapped_into_an_ordinary_error_still_ends_the_run_killed(
    open_run: tuple[MlflowClient, str],
) -> None:
    client, run_id = open_run
    with pytest.raises(StopRequested) as stopped:
        with stopped_runs_end_killed(client) as register:
            register(run_id)
            _signal_caught_as(RuntimeError)
    assert stopped.value.signal_name == "SIGTERM"
    assert isinstance(stopped.value.__cause__, RuntimeError)
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags[names.TAG_STOPPED_BY] == "SIGTERM"


def test_an_ordinary_error_without_a_signal_is_left_alone(
    open_run: tuple[MlflowClient, str],
) -> None:
    client, run_id = open_run
    with pytest.raises(RuntimeError):
        with stopped_runs_end_killed(client) as register:
            register(run_id)
            raise RuntimeError("a real failure")
    assert client.get_run(run_id).info.status == "RUNNING"  # the caller marks it FAILED
    assert stop_signal_of(RuntimeError()) is None


def test_a_swallowed_signal_is_raised_at_the_next_check(
    open_run: tuple[MlflowClient, str],
) -> None:
    client, run_id = open_run
    with pytest.raises(StopRequested):
        with stopped_runs_end_killed(client) as register:
            register(run_id)
            try:
                _signal_caught_as(RuntimeError)
            except RuntimeError:
                pass  # a library that logs and carries on
            raise_if_stop_received()
    assert client.get_run(run_id).info.status == "KILLED"


def test_each_outermost_block_starts_without_a_signal(tracking_uri: str) -> None:
    client = MlflowClient(tracking_uri)
    with pytest.raises(StopRequested):
        with stopped_runs_end_killed(client):
            _signal_caught_as(RuntimeError)
    with stopped_runs_end_killed(client):
        assert stop_signal_of(RuntimeError()) is None
        raise_if_stop_received()  # nothing raised: the earlier signal belongs to its block


@pytest.mark.parametrize("then", ["trains on", "the block ends"])
def test_a_signal_inside_a_store_write_waits_for_the_write_to_commit(
    open_run: tuple[MlflowClient, str], sigterm_after_the_first_metric_insert: list[str], then: str
) -> None:
    client, run_id = open_run
    with pytest.raises(StopRequested):
        with stopped_runs_end_killed(client) as register:
            register(run_id)
            client.log_batch(run_id, metrics=[Metric("loss", 1.0, 0, 0)], synchronous=True)
            if then == "trains on":
                time.sleep(5)  # the signal is raised here, not inside the write
    assert sigterm_after_the_first_metric_insert, "the signal was never sent"
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [1.0]
    run = client.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags[names.TAG_STOPPED_BY] == "SIGTERM"
