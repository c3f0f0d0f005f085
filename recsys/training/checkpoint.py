"""Per-epoch checkpoints, so an interrupted run resumes from its last finished epoch.

A checkpoint holds the model's and optimizers' state, the number of finished epochs, the
global step and the seed of the next epoch's random stream. The engine seeds each epoch's
generator from (seed, epoch), so a run resumed after epoch k replays epochs k+1.. exactly
as a straight run would (bit-identical on CPU). A fingerprint of the config guards against
resuming with different settings. Files are written to a temporary name and renamed, so a
crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel
from torch import nn

CHECKPOINT_NAME = "last.pt"

# Settings that may change between an interrupted run and its resumption without
# changing what is learned.
_RESUMABLE_FIELDS = frozenset(
    {
        "epochs",
        "checkpoint_dir",
        "progress",
        "device",
        "eval_every",
        "loss_every",
        "workers",
        "threads",
        "pair_score",  # how pairs are scored afterwards, not what is trained
        "degree_prior",  # likewise: a prior added to the scores after training
    }
)


def config_fingerprint(config: BaseModel) -> str:
    """Hash of the settings that must match for a checkpoint to be resumable."""
    values = {k: v for k, v in config.model_dump(mode="json").items() if k not in _RESUMABLE_FIELDS}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch``'s generator: epochs are reproducible one by one."""
    return (seed * 1_000_003 + epoch * 7_919 + 1) % (1 << 62)


@dataclass(frozen=True)
class TrainingState:
    """Where a resumed run continues: epochs already finished and the global step."""

    epochs_done: int
    global_step: int
    metrics: dict[str, float]


def save_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizers: list[torch.optim.Optimizer],
    state: TrainingState,
    config: BaseModel,
) -> Path:
    """Write ``folder/last.pt`` atomically and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_NAME
    payload: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizers": [opt.state_dict() for opt in optimizers],
        "epochs_done": state.epochs_done,
        "global_step": state.global_step,
        "metrics": state.metrics,
        "fingerprint": config_fingerprint(config),
        # The random state: epoch e draws from a generator seeded with epoch_seed(seed, e).
        "next_epoch_seed": epoch_seed(int(getattr(config, "seed", 0)), state.epochs_done),
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizers: list[torch.optim.Optimizer],
    config: BaseModel,
) -> TrainingState | None:
    """Restore model and optimizers from ``folder/last.pt``; None when there is none.

    Raises:
        ValueError: the checkpoint was written under different settings (its fingerprint
            differs); delete the folder or pick another ``checkpoint_dir``.
    """
    path = folder / CHECKPOINT_NAME
    if not path.exists():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if payload["fingerprint"] != config_fingerprint(config):
        raise ValueError(
            f"checkpoint {path} was written with other settings; delete it or set another "
            "checkpoint_dir to start afresh"
        )
    model.load_state_dict(payload["model"])
    if len(payload["optimizers"]) != len(optimizers):
        raise ValueError(f"checkpoint {path} holds {len(payload['optimizers'])} optimizers")
    for opt, opt_state in zip(optimizers, payload["optimizers"], strict=True):
        opt.load_state_dict(opt_state)
    return TrainingState(
        epochs_done=int(payload["epochs_done"]),
        global_step=int(payload["global_step"]),
        metrics=dict(payload["metrics"]),
    )
