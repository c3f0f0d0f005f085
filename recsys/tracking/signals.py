"""A stopped process ends its open runs KILLED, naming the signal, instead of RUNNING forever."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlflow.tracking import MlflowClient

from recsys.tracking import names
from recsys.training.stop import StopRequested, request_stop

logger = logging.getLogger(__name__)

_received: str | None = None  # the stop signal caught while the handlers were installed
_depth = 0  # nested stopped_runs_end_killed blocks in the main thread


def _on_stop_signal(signum: int, frame: object) -> None:
    """Training with a checkpoint folder stops at its next batch boundary (it saves a
    checkpoint there first); anything else, or a second signal, stops now."""
    global _received
    name = signal.Signals(signum).name
    _received = name
    if request_stop(name):
        logger.warning(
            "%s: stopping after the current batch, once its checkpoint is saved "
            "(send it again to stop at once)",
            name,
        )
        return
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
    exception) and leaves as ``StopRequested``. SIGKILL cannot be caught: such a run
    stays RUNNING.
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
    except BaseException as error:
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
            _depth -= 1
        for number, handler in previous.items():
            signal.signal(number, handler)
