"""Learning-rate schedules as pure functions of training progress.

The study annealed the learning rate with a cosine from ``lr`` to ~0 *within each epoch*
and restarted it at the next (SGDR, Loshchilov & Hutter 2017, with a period of one
epoch); that is ``cosine_restart``, the default. ``cosine`` anneals once over the whole
run; ``linear`` decays linearly once over the run (word2vec's and gensim's alpha decay);
``constant`` keeps ``lr``.
"""

from __future__ import annotations

import math
from typing import Literal

Schedule = Literal["cosine_restart", "cosine", "linear", "constant"]

MIN_LR_FRACTION = 1e-3  # the floor: an exact 0 would waste the epoch's last batch


def learning_rate(
    schedule: Schedule, base_lr: float, epoch: int, epoch_progress: float, epochs: int
) -> float:
    """Learning rate for a batch.

    Args:
        schedule: which schedule.
        base_lr: the peak learning rate.
        epoch: 0-based epoch of the batch.
        epoch_progress: fraction of the epoch done *before* this batch, in [0, 1].
        epochs: total epochs of the run.

    Returns:
        ``base_lr`` at the start of an annealing period, falling along a half cosine (or a
        straight line) to ``base_lr * MIN_LR_FRACTION`` at its end.
    """
    if schedule == "constant":
        return base_lr
    if schedule == "cosine_restart":
        fraction = epoch_progress
    elif schedule in ("cosine", "linear"):
        fraction = (epoch + epoch_progress) / max(epochs, 1)
    else:
        raise ValueError(
            f"unknown schedule {schedule!r}; use cosine_restart, cosine, linear or constant"
        )
    fraction = min(max(fraction, 0.0), 1.0)
    floor = base_lr * MIN_LR_FRACTION
    if schedule == "linear":
        return base_lr - (base_lr - floor) * fraction
    return floor + (base_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * fraction))
