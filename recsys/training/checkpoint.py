"""Per-epoch checkpoints, so an interrupted run resumes from its last finished epoch.

A checkpoint holds the model's and optimizers' state, the number of finished epochs, the
global step and the seed of the next epoch's random stream. The engine seeds each epoch's
generator from (seed, epoch), so a run resumed after epoch k replays epochs k+1.. exactly
as a straight run would (bit-identical on CPU). A checkpoint is resumed only by the run it
belongs to: it records a fingerprint of the training pairs (which carry the dataset, the
split's seed and fraction, and the relation weights) and the settings that shape training;
another dataset, split or setting is refused with an error naming what differs, never
silently reused. Files are written to a temporary name and renamed, so a crash mid-write
leaves the previous checkpoint intact.
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

from recsys.data.dataset import PreparedDataset

CHECKPOINT_NAME = "last.pt"


class CheckpointMismatch(ValueError):
    """A checkpoint that must not be resumed by this run; the message says why."""


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


def _training_settings(config: BaseModel) -> dict[str, Any]:
    return {k: v for k, v in config.model_dump(mode="json").items() if k not in _RESUMABLE_FIELDS}


def config_fingerprint(config: BaseModel) -> str:
    """Hash of the settings that must match for a checkpoint to be resumable."""
    values = _training_settings(config)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def data_fingerprint(data: PreparedDataset) -> str:
    """Hash of what training reads: the product count and the training pairs with weights.

    Another dataset, split seed, validation fraction, filter or relation weight changes
    these arrays, so it changes the fingerprint (validation negatives do not: they are
    never trained on).
    """
    digest = hashlib.sha256(str(data.n_items).encode())
    for array in (data.train.item_a, data.train.item_b, data.train.weight):
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


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
    data_key: str,
) -> Path:
    """Write ``folder/last.pt`` atomically and return its path.

    ``data_key`` is :func:`data_fingerprint` of the dataset being trained on.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT_NAME
    payload: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizers": [opt.state_dict() for opt in optimizers],
        "epochs_done": state.epochs_done,
        "global_step": state.global_step,
        "metrics": state.metrics,
        "fingerprint": config_fingerprint(config),
        "settings": _training_settings(config),
        "data_fingerprint": data_key,
        # The random state: epoch e draws from a generator seeded with epoch_seed(seed, e).
        "next_epoch_seed": epoch_seed(int(getattr(config, "seed", 0)), state.epochs_done),
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def _read_checkpoint(
    path: Path, config: BaseModel, data_key: str, *, mmap: bool = False
) -> dict[str, Any]:
    """The checkpoint at ``path`` when this run may resume it.

    Raises:
        CheckpointMismatch: it belongs to other training data or settings (naming which),
            or cannot be read.
    """
    fresh = "delete it or set another checkpoint_dir to start afresh"
    try:
        payload: dict[str, Any] = torch.load(
            path, map_location="cpu", weights_only=False, mmap=mmap
        )
    except Exception as error:  # truncated or not a checkpoint at all
        raise CheckpointMismatch(f"checkpoint {path} cannot be read ({error}); {fresh}") from None
    if payload.get("data_fingerprint") != data_key:
        raise CheckpointMismatch(
            f"checkpoint {path} was written for other training data (another dataset, split "
            f"seed or fraction, filter or relation weights); {fresh}"
        )
    if payload["fingerprint"] != config_fingerprint(config):
        saved, now = payload.get("settings", {}), _training_settings(config)
        differing = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        named = ", ".join(f"{k} ({saved.get(k)!r} -> {now.get(k)!r})" for k in differing)
        raise CheckpointMismatch(
            f"checkpoint {path} was written with other settings: {named or 'unknown'}; {fresh}"
        )
    return payload


def check_checkpoint(folder: Path, config: BaseModel, data: PreparedDataset) -> None:
    """Refuse now, before any run is opened, a checkpoint in ``folder`` that training
    ``config`` on ``data`` would refuse (a refused resume must not touch the run it
    belongs to). Tensors are memory-mapped, not read: this costs the file's metadata.

    Raises:
        CheckpointMismatch: as :func:`load_checkpoint` would.
    """
    path = folder / CHECKPOINT_NAME
    if path.exists():
        _read_checkpoint(path, config, data_fingerprint(data), mmap=True)


def load_checkpoint(
    folder: Path,
    model: nn.Module,
    optimizers: list[torch.optim.Optimizer],
    config: BaseModel,
    data_key: str,
) -> TrainingState | None:
    """Restore model and optimizers from ``folder/last.pt``; None when there is none.

    Raises:
        CheckpointMismatch: the checkpoint belongs to other training data or settings (the
            message names which), or cannot be read; delete it or pick another
            ``checkpoint_dir``.
    """
    path = folder / CHECKPOINT_NAME
    if not path.exists():
        return None
    payload = _read_checkpoint(path, config, data_key)
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
