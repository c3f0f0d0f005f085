"""Parse blocks of lines in worker processes, handing results back in file order.

Turning text into dicts is pure Python and the slowest step of prepare, so with more than
one core the blocks go to worker processes while this process merges results.

Workers are forked (where the platform can) rather than spawned: a fork costs
milliseconds, while ``forkserver`` re-imports the main module and the package for the
workers (2 workers took 2.5 s longer to start on Digital Music, measured) and cannot run
from a script read on stdin. Forking is safe here because the pool is started before
anything of ours starts a thread (the progress bar comes later), and the children only run
pure-Python parsing and small numpy operations: no locks, no BLAS/OpenMP, no torch.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager

from recsys.data.formats.amazon import MetadataFormat
from recsys.data.formats.amazon_blocks import BlockResult, extract_block
from recsys.data.formats.stream import LineBlock


def _start_method() -> str:
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


@contextmanager
def parser_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """A started pool of ``workers`` processes, or None for parsing in this process."""
    if workers <= 1:
        yield None
        return
    context = multiprocessing.get_context(_start_method())
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pool.submit(int).result()  # start the workers now, before any thread of ours exists
        yield pool


def parse_blocks(
    blocks: Iterator[LineBlock],
    fmt: MetadataFormat,
    study_filters: bool,
    pool: ProcessPoolExecutor | None,
    window: int = 4,
) -> Iterator[BlockResult]:
    """:func:`extract_block` of every block, in order, in ``pool`` when there is one.

    At most ``window`` blocks are in flight, which keeps memory flat however large the
    file (a pool's ``map`` would read the whole file ahead).
    """
    if pool is None:
        for block in blocks:
            yield extract_block(block, fmt, study_filters)
        return
    pending: deque[Future[BlockResult]] = deque()
    for block in blocks:
        pending.append(pool.submit(extract_block, block, fmt, study_filters))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
