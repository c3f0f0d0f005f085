"""Freeing each run's memory between the runs of one process, without rescanning it all."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def collected_between_runs() -> Iterator[Callable[[], int]]:
    """Yield ``collect``, to call after each run: it frees that run's reference cycles (its
    walks and vectors, 0.8 GB after node2vec at Electronics scale), which Python's rare
    full collection would otherwise keep into the next run's peak.

    What is alive when the block starts (the imported libraries, the prepared dataset:
    ~0.4M objects) is frozen out of the collector's scans, so a collection costs the
    objects the runs made, not 0.2-0.4 s of the whole process each time; unfrozen after.
    """
    gc.collect()
    gc.freeze()
    try:
        yield gc.collect
    finally:
        gc.unfreeze()
