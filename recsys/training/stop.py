"""A stop asked for from outside the loop (SIGTERM, Ctrl-C), honoured at a batch boundary.

Killing training wherever it happens to be loses the epoch in progress: the checkpoint
kept is the last finished epoch's. While :func:`stops_at_batch_boundaries` is active (the
engine enters it when a run has a ``checkpoint_dir``), whoever catches the signal (the
tracking layer's handler) calls :func:`request_stop` instead of raising; the engine
finishes the batch it is on, saves a checkpoint holding its place in the epoch and raises
:class:`StopRequested`. Nothing here imports the tracking layer: the request is a
module-level flag both sides read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StopRequested(KeyboardInterrupt):
    """The process was asked to stop (``signal_name``: SIGTERM, SIGINT); Ctrl-C's path."""

    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


_listeners = 0
_pending: str | None = None


def request_stop(signal_name: str) -> bool:
    """Ask the running training loop to stop at its next batch boundary.

    Returns:
        True when a loop is listening and will stop there; False when none is, or a stop
        is already pending (a second Ctrl-C means now): the caller should stop at once.
    """
    global _pending
    if _listeners == 0 or _pending is not None:
        return False
    _pending = signal_name
    return True


def pending_stop() -> str | None:
    """The signal of a requested stop not yet honoured, or None."""
    return _pending


@contextmanager
def stops_at_batch_boundaries() -> Iterator[None]:
    """Listen for :func:`request_stop` inside the block; a request still pending when the
    block ends (it arrived after the last batch) raises :class:`StopRequested` there."""
    global _listeners, _pending
    _listeners += 1
    try:
        yield
        if _pending is not None:
            raise StopRequested(_pending)
    finally:
        _listeners -= 1
        if _listeners == 0:
            _pending = None


def raise_if_stop_requested() -> None:
    """Raise :class:`StopRequested` when a stop is pending (a checkpoint has just been saved)."""
    if _pending is not None:
        raise StopRequested(_pending)
