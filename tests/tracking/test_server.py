"""The tracking-URI check: fast, clear failures naming the URI.

A 404 server, and several processes creating one store, run through the CLI in
tests/faults/test_inputs.py and tests/faults/test_runs.py."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from mlflow import MlflowClient

from recsys.tracking import server
from recsys.tracking.server import (
    TrackingServerError,
    check_tracking_uri,
    exclusive_file_lock,
    resolve_tracking_uri,
)


class Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


def _serve(status: int) -> HTTPServer:
    handler = type("Handler", (Health,), {"status": status})
    server = HTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_argument_beats_environment_which_beats_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///env.db")
    assert resolve_tracking_uri("sqlite:///arg.db") == "sqlite:///arg.db"
    assert resolve_tracking_uri() == "sqlite:///env.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert resolve_tracking_uri().startswith("sqlite:") and "mlflow.db" in resolve_tracking_uri()


def test_a_live_server_passes_and_a_failing_one_is_named() -> None:
    healthy, broken = _serve(200), _serve(503)
    try:
        uri = f"http://127.0.0.1:{healthy.server_port}"
        assert check_tracking_uri(uri) == uri
        bad = f"http://127.0.0.1:{broken.server_port}"
        with pytest.raises(TrackingServerError, match="HTTP 503"):
            check_tracking_uri(bad)
    finally:
        healthy.shutdown()
        broken.shutdown()


def test_a_closed_port_fails_at_once_naming_the_uri() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    with pytest.raises(TrackingServerError, match=f"{uri}.*not reachable"):
        check_tracking_uri(uri, timeout=2)


def test_sqlite_and_file_stores_need_an_existing_folder(tmp_path: Path) -> None:
    good = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert check_tracking_uri(good) == good
    missing = f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"
    with pytest.raises(TrackingServerError, match="does not exist"):
        check_tracking_uri(missing)
    with pytest.raises(TrackingServerError, match="does not exist"):
        check_tracking_uri(f"file://{tmp_path / 'nowhere' / 'mlruns'}")


@pytest.mark.parametrize(
    ("uri", "absolute", "relative"),
    [
        ("sqlite:/tmp/x.db", "sqlite:////tmp/x.db", "sqlite:///tmp/x.db"),
        ("sqlite://tmp/x.db", "sqlite:////tmp/x.db", "sqlite:///tmp/x.db"),
        ("sqlite:x.db", "sqlite:////x.db", "sqlite:///x.db"),
    ],
)
def test_an_sqlite_uri_with_too_few_slashes_names_the_right_spellings(
    uri: str, absolute: str, relative: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TrackingServerError) as refused:
        check_tracking_uri(uri)
    message = str(refused.value)
    assert "\n" not in message and "lives in" not in message
    assert f"tracking URI {uri} " in message
    assert f"write {absolute} (four slashes)" in message and f"or {relative} (three)" in message
    assert list(tmp_path.iterdir()) == []  # no store created anywhere


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"junk\n", "is not an SQLite database"),
        (b"SQLite format 3\x00" + b"\xff" * 200, "is a damaged SQLite database"),
    ],
)
def test_a_file_that_is_no_sqlite_database_is_named_and_left_unchanged(
    content: bytes, reason: str, tmp_path: Path
) -> None:
    db = tmp_path / "x.db"
    db.write_bytes(content)
    uri = f"sqlite:///{db}"
    with pytest.raises(TrackingServerError) as refused:
        check_tracking_uri(uri)
    message = str(refused.value)
    assert "\n" not in message
    assert f"tracking store {uri}: {db} {reason}" in message
    assert f"move {db} away" in message
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]


def test_another_applications_sqlite_database_is_not_taken_for_a_store(tmp_path: Path) -> None:
    db = tmp_path / "optuna.db"
    with contextlib.closing(sqlite3.connect(db)) as connection:
        connection.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY)")
        connection.commit()
    before = db.read_bytes()
    with pytest.raises(TrackingServerError, match=r"not an MLflow store \(its tables: studies\)"):
        check_tracking_uri(f"sqlite:///{db}")
    assert db.read_bytes() == before
    with pytest.raises(TrackingServerError, match="is a folder; name a database file in it"):
        check_tracking_uri(f"sqlite:///{tmp_path}")


def test_a_reader_waits_for_a_store_being_created_and_refuses_a_missing_one(
    tmp_path: Path,
) -> None:
    """create_store=False (the leaderboard) never creates a store: a missing file is an
    error naming it, but one another process is creating (holding its lock) is waited for."""
    db_path = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db_path}"
    with pytest.raises(TrackingServerError, match="does not exist"):
        check_tracking_uri(uri, create_store=False)
    assert list(tmp_path.iterdir()) == []
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(check_tracking_uri(uri, create_store=False))
        except TrackingServerError as err:
            outcome.append(err)

    with exclusive_file_lock(tmp_path / "mlflow.db.lock"):  # as a creator holds it
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=0.5)
        assert reader.is_alive() and not outcome  # waiting, not refused
        MlflowClient(uri).search_experiments(max_results=1)  # the creator's migrations
    reader.join(timeout=60)
    assert outcome == [uri]


def test_a_read_only_store_is_named_before_a_writer_starts_and_still_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store another user owns (or on a read-only mount) failed at a run's first insert:
    ~90 lines of MLflow's logged SQL, then ``MlflowException: (raised as a result of
    Query-invoked autoflush ...`` naming no store. A writer is now refused in one line
    naming it; a reader (the leaderboard) still reads it."""
    db_path = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db_path}"
    check_tracking_uri(uri)  # creates the store
    db_path.chmod(0o444)
    if os.geteuid() == 0:  # permission bits do not bind root: report them as they read
        real_access = os.access
        monkeypatch.setattr(
            server.os,
            "access",
            lambda path, mode: (
                bool(Path(path).stat().st_mode & stat.S_IWUSR)
                if mode == os.W_OK and Path(path) == db_path
                else real_access(path, mode)
            ),
        )
    with pytest.raises(TrackingServerError) as refused:
        check_tracking_uri(uri)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"tracking store {uri}: {db_path} is read-only")
    assert f"chmod u+w {db_path}" in message
    assert check_tracking_uri(uri, create_store=False) == uri


def test_a_misspelled_scheme_is_named_with_the_likely_one() -> None:
    with pytest.raises(
        TrackingServerError, match=r"unknown scheme 'sqllite' \(did you mean sqlite:"
    ):
        check_tracking_uri("sqllite:///mlflow.db")


def test_an_unreachable_database_fails_within_the_timeout_hiding_its_password() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    uri = f"postgresql://mlflow:secret@127.0.0.1:{port}/mlflow"
    with pytest.raises(TrackingServerError) as refused:
        check_tracking_uri(uri, timeout=2)
    assert f"postgresql://mlflow:***@127.0.0.1:{port}/mlflow cannot be used" in str(refused.value)
    assert "secret" not in str(refused.value)
    # A port that accepts but never answers: bounded by the connect timeout, not MLflow's
    # two minutes of retries.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        uri = f"postgresql+psycopg://u:p@127.0.0.1:{silent.getsockname()[1]}/db"
        with pytest.raises(TrackingServerError, match="cannot be used"):
            check_tracking_uri(uri, timeout=1)
