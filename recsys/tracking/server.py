"""Find the tracking store and check it answers before any work starts.

A run that trains for an hour and then cannot log is the failure this module prevents:
:func:`check_tracking_uri` is called before the dataset is even prepared.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
HEALTH_TIMEOUT_S = 5.0
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")  # SQLAlchemy stores MLflow talks to directly
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database
SQLITE_IN_MEMORY = ("sqlite://", "sqlite:///:memory:")
DATABASE_DRIVERS = {
    "postgresql": "pip install psycopg",
    "mysql": "pip install pymysql and write mysql+pymysql://...",
    "mssql": "pip install pyodbc and write mssql+pyodbc://...",
}


class TrackingServerError(RuntimeError):
    """The tracking store named by a URI cannot be used."""


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """The URI a run will use: the argument, else ``$MLFLOW_TRACKING_URI``, else MLflow's
    default (``sqlite:///mlflow.db`` in the working directory, MLflow 3)."""
    if tracking_uri:
        return tracking_uri
    if os.environ.get(TRACKING_URI_ENV):
        return os.environ[TRACKING_URI_ENV]
    return str(mlflow.get_tracking_uri())


def _check_http(uri: str, timeout: float) -> None:
    health = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(health, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as err:  # the server answered, with an error status
        status = err.code
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise TrackingServerError(
            f"MLflow tracking server {uri} is not reachable ({reason}). Start it "
            f"(`mlflow server --host 127.0.0.1 --port 5000`) or point {TRACKING_URI_ENV} / "
            "--tracking-uri at a reachable server or a local store such as sqlite:///mlflow.db."
        ) from err
    if status == 404:
        raise TrackingServerError(
            f"{uri} answers, but not as an MLflow tracking server ({health}: HTTP 404); check "
            f"the scheme, host, port and path of {TRACKING_URI_ENV} / --tracking-uri."
        )
    if status >= 500:
        raise TrackingServerError(
            f"MLflow tracking server {uri} answered {health} with HTTP {status}; "
            "check the server's log (its backend store may be down)."
        )


def _check_scheme(uri: str, scheme: str) -> None:
    """An unknown scheme (``sqllite:``) fails here, naming the likely one, instead of as
    MLflow's "Model registry functionality is unavailable" later."""
    try:  # MLflow's registry of store schemes (private: without it, MLflow decides later)
        from mlflow.tracking._tracking_service.utils import _tracking_store_registry
    except ImportError:
        return
    known = sorted(k for k in getattr(_tracking_store_registry, "_registry", {}) if k)
    if not known or scheme in known:
        return
    close = difflib.get_close_matches(scheme, known, n=1)
    hint = f" (did you mean {close[0]}:?)" if close else ""
    raise TrackingServerError(
        f"tracking URI {uri}: unknown scheme {scheme!r}{hint}; MLflow stores are "
        f"{', '.join(f'{k}:' for k in known)} or a local folder path."
    )


def _check_database(uri: str, timeout: float) -> None:
    """One connection with a ``timeout``-second connect limit: MLflow itself retries an
    unreachable database for about two minutes, printing a warning per attempt."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    try:
        url = sqlalchemy.engine.make_url(uri)
        shown = url.render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError as err:
        raise TrackingServerError(f"tracking URI {uri} is not a database URL ({err}).") from err
    seconds = max(1, round(timeout))  # the drivers take whole seconds
    timeout_args = {"mssql": {"timeout": seconds}}.get(
        url.get_backend_name(), {"connect_timeout": seconds}
    )
    engine = None
    try:
        engine = sqlalchemy.create_engine(url, connect_args=timeout_args, poolclass=NullPool)
        with engine.connect():
            pass
    except ImportError as err:
        driver = DATABASE_DRIVERS.get(url.get_backend_name(), "install its SQLAlchemy driver")
        raise TrackingServerError(
            f"tracking database {shown}: its driver is not installed ({err}); {driver}, or "
            "choose another --tracking-uri."
        ) from err
    except sqlalchemy.exc.SQLAlchemyError as err:
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise TrackingServerError(
            f"tracking database {shown} cannot be used ({reason}). Check that it runs and "
            f"that the host, port, database, user and password in {TRACKING_URI_ENV} / "
            "--tracking-uri are right, or use a local store such as sqlite:///mlflow.db."
        ) from err
    finally:
        if engine is not None:
            engine.dispose()


def _check_local_folder(uri: str, folder: Path) -> None:
    if not folder.is_dir():
        raise TrackingServerError(
            f"tracking store {uri} lives in {folder}, which does not exist; create it "
            f"or choose another {TRACKING_URI_ENV} / --tracking-uri."
        )
    if not os.access(folder, os.W_OK):
        raise TrackingServerError(f"tracking store {uri}: cannot write to {folder}.")


def _sqlite_file(uri: str) -> Path:
    """The file of ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` (the path follows
    the third slash); another spelling fails naming both right ones, instead of being taken
    for a folder path (``sqlite:/tmp/x.db`` was "lives in <cwd>/sqlite:/tmp")."""
    db_path = uri.removeprefix("sqlite:///")
    if uri.startswith("sqlite:///") and db_path:
        return Path(db_path)
    rest = uri.removeprefix("sqlite:").lstrip("/") or "mlflow.db"
    raise TrackingServerError(
        f"tracking URI {uri} is not an sqlite URL MLflow reads: write sqlite:////{rest} "
        f"(four slashes) for /{rest}, or sqlite:///{rest} (three) for {rest} in the working "
        "folder."
    )


def _check_sqlite_file(uri: str, db_path: Path) -> None:
    """An existing file must be an MLflow sqlite store, checked read-only: MLflow would
    fail on it mid-run ("file is not a database") or add its tables to another
    application's database (an ``optuna.db``)."""
    if db_path.is_dir():
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} is a folder; name a database file in it, "
            f"e.g. sqlite:///{db_path / 'mlflow.db'}."
        )
    if not _store_exists(db_path):
        return
    way_out = f"choose another file for --tracking-uri / {TRACKING_URI_ENV}, or move {db_path} away"
    try:
        with db_path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except OSError as err:
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} cannot be read ({err.strerror or err})."
        ) from err
    if head != SQLITE_HEADER:
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} is not an SQLite database (it starts "
            f"{head[:8]!r}); {way_out}."
        )
    try:
        with contextlib.closing(
            sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=HEALTH_TIMEOUT_S)
        ) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = sorted(str(row[0]) for row in rows)
    except sqlite3.OperationalError:  # locked by a writer: MLflow's own retries decide
        return
    except sqlite3.DatabaseError as err:
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} is a damaged SQLite database ({err}); {way_out}."
        ) from err
    if tables and "experiments" not in tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} is an SQLite database but not an MLflow store "
            f"(its tables: {shown}), which MLflow would add its tables to; {way_out}."
        )


def _check_sqlite_writable(uri: str, db_path: Path) -> None:
    """A command that logs runs needs to write the store: a read-only file (another
    user's, a read-only mount, ``chattr +i``) failed at the run's first insert with
    MLflow's ~90 lines of logged SQL and traceback, then ``MlflowException: (raised as a
    result of Query-invoked autoflush ...`` naming no store. Readers (the leaderboard
    without ``--log``) do not call this: they read a read-only store as it is."""
    if _store_exists(db_path) and not os.access(db_path, os.W_OK):
        raise TrackingServerError(
            f"tracking store {uri}: {db_path} is read-only, and this command logs runs to "
            f"it; make it writable (chmod u+w {db_path}) or choose another file for "
            f"--tracking-uri / {TRACKING_URI_ENV} (recsys leaderboard without --log reads "
            "it as it is)."
        )


@contextlib.contextmanager
def exclusive_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing): one process at a time."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def create_sqlite_store(uri: str, db_path: Path) -> None:
    """Create (migrate) a local sqlite store under an exclusive file lock, atomically.

    MLflow creates a fresh sqlite store by running its schema migrations on first
    connection; two processes doing that at once corrupt it ("duplicate column name",
    "table ... already exists"). The first process takes ``<db>.lock``, migrates a store
    under a temporary name and renames it into place, so ``<db>`` exists only once it is
    complete: a process that starts while the migrations run (and finds no ``<db>``) waits
    for the lock, then finds the store ready. An existing store costs one ``stat``.
    """
    if _store_exists(db_path):
        return
    with exclusive_file_lock(db_path.with_name(db_path.name + ".lock")):
        if _store_exists(db_path):  # created by the process we waited for
            return
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
        from mlflow.tracking import MlflowClient

        staging = db_path.with_name(f".{db_path.name}.{os.getpid()}.tmp")
        staging.unlink(missing_ok=True)
        staging_uri = f"sqlite:///{staging}"
        MlflowClient(staging_uri).search_experiments(max_results=1)  # runs the migrations
        engine = SqlAlchemyStore._engine_map.pop(staging_uri, None)
        if engine is not None:
            engine.dispose()  # no connection may outlive the rename
        staging.replace(db_path)


def _store_exists(db_path: Path) -> bool:
    return db_path.exists() and db_path.stat().st_size > 0


def _created_meanwhile(db_path: Path) -> bool:
    """Whether the store exists once a process creating it (holding its ``<db>.lock``,
    :func:`create_sqlite_store`) is done; False at once when none ever took the lock."""
    try:
        lock = db_path.with_name(db_path.name + ".lock").open("rb")
    except FileNotFoundError:
        return False
    with lock:
        fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a creator holds it exclusively
        fcntl.flock(lock, fcntl.LOCK_UN)
    return _store_exists(db_path)


def check_tracking_uri(
    tracking_uri: str | None = None,
    timeout: float = HEALTH_TIMEOUT_S,
    create_store: bool = True,
) -> str:
    """Resolve the tracking URI and fail fast, naming it, when it cannot be used.

    An unknown scheme fails at once; http(s) servers must answer ``/health`` (any non-5xx
    status) and databases (postgresql, mysql, mssql) accept a connection within
    ``timeout`` seconds; sqlite and file stores need an existing, writable folder, an
    sqlite URI the ``sqlite:///`` spelling and an existing sqlite file an MLflow store. Other
    schemes (databricks, ...) are passed through unchecked. A missing sqlite store is
    created, unless ``create_store`` is false (a reader such as the leaderboard): then it
    is an error naming the file, since a misspelled path would otherwise read as a store
    with no runs, and leave an empty database behind.

    Returns:
        The resolved URI.

    Raises:
        TrackingServerError: the server does not answer or the folder is unusable.
    """
    uri = resolve_tracking_uri(tracking_uri)
    parsed = urllib.parse.urlparse(uri)
    base_scheme = parsed.scheme.partition("+")[0]  # postgresql+psycopg -> postgresql
    if len(parsed.scheme) > 1:  # one letter: a Windows drive, a local path
        _check_scheme(uri, base_scheme)
    if base_scheme in DATABASE_SCHEMES:
        _check_database(uri, timeout)
    elif parsed.scheme in ("http", "https"):
        _check_http(uri, timeout)
    elif parsed.scheme == "sqlite" and uri not in SQLITE_IN_MEMORY:
        db_path = _sqlite_file(uri).resolve()
        _check_local_folder(uri, db_path.parent)
        _check_sqlite_file(uri, db_path)
        if not create_store and not _store_exists(db_path) and not _created_meanwhile(db_path):
            raise TrackingServerError(
                f"tracking store {uri}: {db_path} does not exist, so it holds no runs; "
                "name the store your runs were logged to (--tracking-uri / "
                "MLFLOW_TRACKING_URI), or train first (recsys main) to create it."
            )
        if create_store:
            _check_sqlite_writable(uri, db_path)
        create_sqlite_store(uri, db_path)
    elif parsed.scheme in ("", "file"):
        path = Path(urllib.request.url2pathname(parsed.path) if parsed.scheme else uri)
        _check_local_folder(uri, path.resolve().parent)
    return uri
