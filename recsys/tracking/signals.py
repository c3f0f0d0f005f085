"""A stopped process ends its open runs KILLED, naming the signal, instead of RUNNING forever."""

from __future__ import annotations

import _thread
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from mlflow.tracking import MlflowClient

from recsys.tracking import names
from recsys.training.stop import StopRequested, request_stop

logger = logging.getLogger(__name__)

_received: str | None = None  # the stop signal caught while the handlers were installed
_depth = 0  # nested stopped_runs_end_killed blocks in the main thread

# Code that holds a database transaction or a storage lock: an exception raised inside it
# can leave the lock held by a connection the traceback keeps alive, and every later
# write to the store (the run's own KILLED status among them) then fails "database is
# locked". A stop signal that lands there waits until the write has returned.
STORAGE_MODULES = ("sqlalchemy", "sqlite3", "alembic", "mlflow.store", "optuna.storages")
REDELIVERY_SECONDS = 0.02  # how often a deferred signal looks again for the write's end

_deferred: threading.Timer | None = None  # redelivers a signal that landed mid-write
_redelivery_due = False  # the next handler call is that redelivery, not a new signal


def inside_storage_write(frame: FrameType | None) -> bool:
    """Whether ``frame`` or any frame that called it runs code of :data:`STORAGE_MODULES`."""
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith(STORAGE_MODULES):
            return True
        frame = frame.f_back
    return False


def _redeliver(signum: signal.Signals) -> None:
    global _redelivery_due
    _redelivery_due = True
    _thread.interrupt_main(signum)


def _defer(signum: int) -> None:
    global _deferred
    _deferred = threading.Timer(REDELIVERY_SECONDS, _redeliver, (signal.Signals(signum),))
    _deferred.daemon = True
    _deferred.start()


def _cancel_deferred() -> str | None:
    """Stop redelivering; the name of the signal that was waiting, if one was."""
    global _deferred, _redelivery_due
    if _deferred is None:
        return None
    _deferred.cancel()
    _deferred, _redelivery_due = None, False
    return _received


def _on_stop_signal(signum: int, frame: FrameType | None) -> None:
    """Training with a checkpoint folder stops at its next batch boundary (it saves a
    checkpoint there first); anything else stops now, or as soon as a tracking-store write
    in progress returns; a second signal stops at once."""
    global _received, _redelivery_due
    name = signal.Signals(signum).name
    redelivered, _redelivery_due = _redelivery_due, False
    if not redelivered:
        second = _deferred is not None
        _received = name
        if second:
            _cancel_deferred()
            raise StopRequested(name)
        if request_stop(name):
            logger.warning(
                "%s: stopping after the current batch, once its checkpoint is saved "
                "(send it again to stop at once)",
                name,
            )
            return
    if inside_storage_write(frame):
        _defer(signum)
        return
    _cancel_deferred()
    raise StopRequested(name)


def raise_if_stop_received() -> None:
    """Raise :class:`~recsys.training.stop.StopRequested` when a stop signal was caught,
    even though whatever it interrupted swallowed it."""
    if _received is not None:
        raise StopRequested(_received)


def stop_signal_of(error: BaseException) -> str | None:
    """The stop signal that ``error`` carries or followed, or None for an ordinary failure.

    The :class:`~recsys.training.stop.StopRequested` a signal raises can land inside a
    library call that catches it and raises an ordinary error instead (SQLAlchemy wraps
    one raised mid-flush): an error raised after a signal was caught (since the outermost
    :func:`stopped_runs_end_killed` began) counts as that stop.
    """
    if isinstance(error, StopRequested):
        return error.signal_name
    if isinstance(error, KeyboardInterrupt):
        return _received or "SIGINT"
    return _received


@contextmanager
def stopped_runs_end_killed(client: MlflowClient) -> Iterator[Callable[[str], None]]:
    """Runs registered inside end KILLED, tagged with the signal, when the process is stopped.

    SIGTERM (what ``timeout``, docker, Kubernetes and batch schedulers send) and SIGINT
    (Ctrl-C) raise :class:`~recsys.training.stop.StopRequested` in the main thread (after
    the batch in progress and its checkpoint, when training with a ``checkpoint_dir``);
    MLflow's context manager then closes the run as FAILED, and this marks it KILLED with
    ``recsys.stopped_by`` naming the signal. Nested uses (``recsys main``'s parent run
    around each method's run) each close their own runs. An ordinary error raised after
    a stop signal was caught counts as that stop (a library swallowed the signal's
    exception) and leaves as ``StopRequested``. A signal that lands inside a write to the
    tracking store or the study's storage is raised once that write has returned, so no
    transaction is cut in half. SIGKILL cannot be caught: such a run stays RUNNING.
    """
    global _depth, _received
    run_ids: list[str] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        if _depth == 0:
            _received = None
        _depth += 1
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, _on_stop_signal)
    try:
        yield run_ids.append
        if previous and (waiting := _cancel_deferred()) is not None:
            raise StopRequested(waiting)  # it landed in the block's last write
    except BaseException as error:
        _cancel_deferred()
        name = stop_signal_of(error)
        if name is None:
            raise
        for number in previous:  # a second Ctrl-C must not leave a run half-closed
            signal.signal(number, signal.SIG_IGN)
        for run_id in run_ids:
            client.set_tag(run_id, names.TAG_STOPPED_BY, name)
            client.set_terminated(run_id, status="KILLED")
        if isinstance(error, KeyboardInterrupt):
            raise
        raise StopRequested(name) from error
    finally:
        if previous:
            _cancel_deferred()
            _depth -= 1
        for number, handler in previous.items():
            signal.signal(number, handler)
