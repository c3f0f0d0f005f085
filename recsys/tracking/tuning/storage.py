"""Where studies live: an sqlite file beside the tracking store, or a shared database.

The default needs nothing started: ``optuna.db`` beside ``mlflow.db`` (or beside a
``file:`` store's folder); for a tracking server (http, databricks, ...), whose files are
not local, ``optuna.db`` in the user's cache (``$RECSYS_CACHE_DIR``, else
``~/.cache/recsys``). Workers on several machines share a study through a database server:
``--storage postgresql://user:password@host/db`` (the tracking server's PostgreSQL).

A study is one objective: its user attributes record the method, dataset, data checksum,
fixed params, search space, metric and inner split, and a worker whose settings differ is
refused instead of mixing two objectives in one study.
"""

from __future__ import annotations

import contextlib
import json
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy

from recsys.graph.cache import user_cache_dir
from recsys.tracking.server import exclusive_file_lock
from recsys.tracking.tuning.errors import StudyError

STORAGE_FILE = "optuna.db"
SQLITE_TIMEOUT_S = 60  # a writer waits this long for another worker's transaction
CONNECT_TIMEOUT_S = 10  # a database server that does not answer fails within this
SCHEMA_LOCK_KEY = zlib.crc32(b"recsys optuna schema")  # advisory lock while creating tables


def default_storage_url(tracking_uri: str) -> str:
    """``sqlite:///<folder>/optuna.db``: beside a local tracking store, else in the cache."""
    parsed = urllib.parse.urlparse(tracking_uri)
    if parsed.scheme == "sqlite" and tracking_uri.removeprefix("sqlite:///") not in (
        "",
        ":memory:",
    ):
        folder = Path(tracking_uri.removeprefix("sqlite:///")).resolve().parent
    elif parsed.scheme in ("", "file"):
        path = urllib.request.url2pathname(parsed.path) if parsed.scheme else tracking_uri
        folder = Path(path).resolve().parent
    else:
        folder = user_cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / STORAGE_FILE}"


def masked(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages, tags and logs)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(f":{parsed.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parsed._replace(netloc=netloc))


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") else Path(path).resolve()


@contextlib.contextmanager
def _advisory_lock(engine: sqlalchemy.engine.Engine, key: int) -> Iterator[None]:
    """PostgreSQL's session advisory lock ``key``, held on its own connection."""
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})


@contextlib.contextmanager
def _creation_lock(url: str, engine_kwargs: dict[str, Any]) -> Iterator[None]:
    """Held while Optuna creates its tables on first use: two workers creating them at
    once fail (PostgreSQL: 'type "studydirection" already exists', measured in CI)."""
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None:
        with exclusive_file_lock(sqlite_path.with_name(sqlite_path.name + ".lock")):
            yield
    elif url.startswith("postgresql"):
        engine = sqlalchemy.create_engine(url, **engine_kwargs)
        try:
            with _advisory_lock(engine, SCHEMA_LOCK_KEY):
                yield
        finally:
            engine.dispose()
    else:
        yield


def open_storage(url: str) -> optuna.storages.RDBStorage:
    """Connect to (and on first use create) the study storage, or fail naming it.

    The tables are created under a lock (a file lock beside an sqlite file, an advisory
    lock in PostgreSQL), so two workers starting at once do not both create them.

    Raises:
        StudyError: the folder is missing or read-only, or the server does not answer.
    """
    shown = masked(url)
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None:
        if not sqlite_path.parent.is_dir():
            raise StudyError(
                f"optuna storage {shown}: folder {sqlite_path.parent} does not exist; create "
                "it or give --storage another URL"
            )
        engine_kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}}
    elif url.startswith("postgresql"):
        engine_kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        with _creation_lock(url, engine_kwargs):
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except Exception as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise StudyError(
            f"optuna storage {shown} cannot be used ({reason}); check the URL and that the "
            "database answers, or leave --storage out for the local sqlite file"
        ) from None


@contextlib.contextmanager
def trial_slot(storage: optuna.storages.RDBStorage, url: str, study_name: str) -> Iterator[None]:
    """Hold the study's lock while a worker counts its trials and asks for the next one.

    Optuna numbers trials atomically but has no cap on their count; with this lock, workers
    that share a study stop at exactly ``--trials`` trials. sqlite: a file lock beside the
    database (workers on one machine); PostgreSQL: an advisory lock keyed by the study name
    (workers anywhere). Other databases run without it: workers that ask at the same instant
    may add one trial each beyond the target.
    """
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None:
        with exclusive_file_lock(sqlite_path.with_name(sqlite_path.name + ".lock")):
            yield
    elif storage.engine.dialect.name == "postgresql":
        with _advisory_lock(storage.engine, zlib.crc32(study_name.encode())):
            yield
    else:
        yield


def open_study(
    storage: optuna.storages.RDBStorage,
    name: str,
    identity: Mapping[str, Any],
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> optuna.Study:
    """Create the study, or load it when it exists and has the same ``identity``.

    ``identity`` values are stored as study user attributes (JSON-comparable); a new study
    gets them, an existing one must match them all.

    Raises:
        StudyError: the existing study was made for another method, dataset or settings.
    """
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    recorded = study.user_attrs
    if not recorded:
        for key, value in identity.items():
            study.set_user_attr(key, value)
        return study
    expected = json.loads(json.dumps(dict(identity)))  # tuples -> lists, as stored
    differences = _differences(recorded, expected)
    if differences:
        raise StudyError(
            f"study {name!r} in {masked(storage.url)} was made for another objective: "
            + "; ".join(differences)
            + ". Give --study a new name, or the same method, dataset and settings"
        )
    return study


IDENTITY_FIRST = ("method", "dataset", "checksum")  # when these differ, the rest follows


def _differences(recorded: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """``key 'was' (now 'is')`` for each differing identity value (for a dict, each of its
    differing entries), the method, dataset and checksum alone when any of them differ."""
    keys = [k for k in IDENTITY_FIRST if recorded.get(k) != expected.get(k)] or list(expected)
    found = []
    for key in keys:
        was, now = recorded.get(key), expected.get(key)
        if was == now:
            continue
        if isinstance(was, dict) and isinstance(now, dict):
            found += [
                f"{key} {sub}: {was.get(sub, '(not set)')!r} (now {now.get(sub, '(not set)')!r})"
                for sub in sorted(set(was) | set(now))
                if was.get(sub) != now.get(sub)
            ]
        else:
            found.append(f"{key} {was!r} (now {now!r})")
    return found
