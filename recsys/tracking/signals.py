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


def _on_stop_signal(signum: int, frame: object) -> None:
    """Training with a checkpoint folder stops at its next batch boundary (it saves a
    checkpoint there first); anything else, or a second signal, stops now."""
    name = signal.Signals(signum).name
    if request_stop(name):
        logger.warning(
            "%s: stopping after the current batch, once its checkpoint is saved "
            "(send it again to stop at once)",
            name,
        )
        return
    raise StopRequested(name)


@contextmanager
def stopped_runs_end_killed(client: MlflowClient) -> Iterator[Callable[[str], None]]:
    """Runs registered inside end KILLED, tagged with the signal, when the process is stopped.

    SIGTERM (what ``timeout``, docker, Kubernetes and batch schedulers send) and SIGINT
    (Ctrl-C) raise :class:`~recsys.training.stop.StopRequested` in the main thread (after
    the batch in progress and its checkpoint, when training with a ``checkpoint_dir``);
    MLflow's context manager then closes the run as FAILED, and this marks it KILLED with
    ``recsys.stopped_by`` naming the signal. Nested uses (``recsys main``'s parent run
    around each method's run) each close their own runs. SIGKILL cannot be caught: such
    a run stays RUNNING.
    """
    run_ids: list[str] = []
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, _on_stop_signal)
    try:
        yield run_ids.append
    except KeyboardInterrupt as stop:
        name = stop.signal_name if isinstance(stop, StopRequested) else "SIGINT"
        for number in previous:  # a second Ctrl-C must not leave a run half-closed
            signal.signal(number, signal.SIG_IGN)
        for run_id in run_ids:
            client.set_tag(run_id, names.TAG_STOPPED_BY, name)
            client.set_terminated(run_id, status="KILLED")
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
