"""A stopped process ends its open runs KILLED, naming the signal, instead of RUNNING forever."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mlflow.tracking import MlflowClient

from recsys.tracking import names


class StopSignal(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived while a run was open (the same path as Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


@contextmanager
def stopped_runs_end_killed(client: MlflowClient) -> Iterator[Callable[[str], None]]:
    """Runs registered inside end KILLED, tagged with the signal, when the process is stopped.

    SIGTERM (what ``timeout``, docker, Kubernetes and batch schedulers send) and SIGINT
    (Ctrl-C) raise :class:`StopSignal` in the main thread; MLflow's context manager then
    closes the run as FAILED, and this marks it KILLED with ``recsys.stopped_by`` naming
    the signal. SIGKILL cannot be caught: such a run stays RUNNING.
    """
    run_ids: list[str] = []
    previous: dict[int, Any] = {}

    def raise_stop(signum: int, frame: object) -> None:
        raise StopSignal(signum)

    if threading.current_thread() is threading.main_thread():
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, raise_stop)
    try:
        yield run_ids.append
    except KeyboardInterrupt as stop:
        name = stop.signal_name if isinstance(stop, StopSignal) else "SIGINT"
        for run_id in run_ids:
            client.set_tag(run_id, names.TAG_STOPPED_BY, name)
            client.set_terminated(run_id, status="KILLED")
        raise
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
