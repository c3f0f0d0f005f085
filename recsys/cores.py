"""How many threads or processes "0 = every core" means, in one place.

Parsing (processes), walks (numba threads) and gensim (its own threads) all take a
``workers`` setting where 0 means every core this process may use: the CPU affinity mask,
not the machine's core count, so a container or a ``taskset`` limit is respected.
"""

from __future__ import annotations

import os


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def resolve_workers(workers: int, cap: int | None = None) -> int:
    """``workers`` threads, 0 = every available core; never more than ``cap``.

    Raises:
        ValueError: ``workers`` is negative.
    """
    if workers < 0:
        raise ValueError(f"workers must be >= 0 (0 = every core), got {workers}")
    resolved = available_cores() if workers == 0 else workers
    return max(1, resolved if cap is None else min(resolved, cap))
