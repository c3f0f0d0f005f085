"""Memory freed between the runs of one process (recsys main, recsys tune)."""

from __future__ import annotations

import gc
import weakref

from recsys.tracking.collect import collected_between_runs


class Node:
    """A reference cycle's member, as a run's walks and vectors hold each other."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


def test_a_runs_cycles_are_freed_and_what_was_alive_before_is_left_out_of_the_scan() -> None:
    before = _cycle()  # garbage already when the block starts: collected, not frozen
    with collected_between_runs() as collect:
        assert before() is None
        assert gc.get_freeze_count() > 0  # the process's objects: not rescanned per run
        during = _cycle()
        assert during() is not None
        collect()
        assert during() is None
    assert gc.get_freeze_count() == 0
