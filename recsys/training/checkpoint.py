"""Checkpoints after every epoch and at a stop, so an interrupted run resumes where it was.

A checkpoint holds the model's and optimizers' state, the number of finished epochs, the
global step and the seed of the next epoch's random stream. The engine seeds each epoch's
generator from (seed, epoch), so a run resumed after epoch k replays epochs k+1.. exactly
as a straight run would (bit-identical on CPU). A run stopped by a signal mid-epoch also
records its place in the epoch (:class:`EpochPosition`): the resumed run redraws that
epoch's random stream from its seed, passes over the batches already trained without
training them, and goes on with the next one, so no pair is trained twice or skipped.

A checkpoint is resumed only by the run it belongs to: it records a fingerprint of the
training pairs (which carry the dataset, the split's seed and fraction, and the relation
weights), of the products table (side information) and of the settings that shape
training; another dataset, split, products file or setting is refused with an error naming
what differs, never silently reused. Files are written to a
temporary name and renamed, so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from pydantic import BaseModel
from torch import nn

from recsys.data.dataset import PreparedDataset
from recsys.training.device import resolve_device

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


# The settings' entry naming the method's config class: mf and mf_bias (MFConfig,
# MFBiasConfig) share every field, so with equal values one method resumed the other's
# checkpoint (a state_dict traceback, and a FAILED run opened).
METHOD_KEY = "method_config"


def _training_settings(config: BaseModel) -> dict[str, Any]:
    values = config.model_dump(mode="json").items()
    return {
        METHOD_KEY: type(config).__name__,
        **{k: v for k, v in values if k not in _RESUMABLE_FIELDS},
    }


def config_fingerprint(config: BaseModel) -> str:
    """Hash of the settings that must match for a checkpoint to be resumable."""
    values = _training_settings(config)
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def data_fingerprint(data: PreparedDataset) -> str:
    """Hash of what training reads: the product count, the training pairs with weights and
    the products table (side information: brand, categories, price, which products have
    metadata).

    Another dataset, split seed, validation fraction, filter or relation weight changes
    these arrays, so it changes the fingerprint (validation negatives do not: they are
    never trained on). A changed products file (``--products``) or metadata with the same
    pairs changes the products table: side_info's vocabularies and rows would no longer
    be the checkpoint's (a size mismatch traceback, or, with vocabularies of the same
    sizes, a model resumed on other side information without a word).
    """
    digest = hashlib.sha256(str(data.n_items).encode())
    for array in (data.train.item_a, data.train.item_b, data.train.weight):
        digest.update(array.tobytes())
    products = pd.util.hash_pandas_object(data.products, index=False)
    digest.update(products.to_numpy().tobytes())
    return digest.hexdigest()[:16]


def epoch_seed(seed: int, epoch: int) -> int:
    """Seed of epoch ``epoch``'s generator: epochs are reproducible one by one."""
    return (seed * 1_000_003 + epoch * 7_919 + 1) % (1 << 62)


@dataclass(frozen=True)
class EpochPosition:
    """How far into an epoch a stopped run got: what the rest of the epoch needs.

    Attributes:
        batches_done: batches of the epoch already trained (the resumed run skips them).
        progress: fraction of the epoch trained (the learning-rate schedule reads it).
        n_pairs, loss_sum, n_losses, seconds: the epoch's running totals (its statistics
            then cover the whole epoch, not only the part after the stop).
        device: the device type the epoch's batches were drawn on; a torch generator
            draws another stream on another device, so the rest of the epoch must be
            drawn there too.
    """

    batches_done: int = 0
    progress: float = 0.0
    n_pairs: int = 0
    loss_sum: float = 0.0
    n_losses: int = 0
    seconds: float = 0.0
    device: str = "cpu"


@dataclass(frozen=True)
class TrainingState:
    """Where a resumed run continues: epochs already finished, the global step, the last
    finished epoch's metrics, and the place in the next epoch when it stopped inside one."""

    epochs_done: int
    global_step: int
    metrics: dict[str, float]
    in_epoch: EpochPosition | None = None


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
        "in_epoch": None if state.in_epoch is None else asdict(state.in_epoch),
        "fingerprint": config_fingerprint(config),
        "settings": _training_settings(config),
        "data_fingerprint": data_key,
        # The random state: epoch e draws from a generator seeded with epoch_seed(seed, e).
        "next_epoch_seed": epoch_seed(int(getattr(config, "seed", 0)), state.epochs_done),
    }
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        tmp.replace(path)
    finally:  # a second Ctrl-C during the write leaves the previous checkpoint, no litter
        tmp.unlink(missing_ok=True)
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
            f"seed or fraction, filter, relation weights or products' side information); "
            f"{fresh}"
        )
    saved_method = payload.get("settings", {}).get(METHOD_KEY)
    if saved_method != type(config).__name__:
        written_by = (
            "an older recsys that did not record its method"
            if saved_method is None
            else f"another method's training ({saved_method}, not {type(config).__name__})"
        )
        raise CheckpointMismatch(f"checkpoint {path} was written by {written_by}; {fresh}")
    if payload["fingerprint"] != config_fingerprint(config):
        saved, now = payload.get("settings", {}), _training_settings(config)
        differing = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        named = ", ".join(f"{k} ({saved.get(k)!r} -> {now.get(k)!r})" for k in differing)
        raise CheckpointMismatch(
            f"checkpoint {path} was written with other settings: {named or 'unknown'}; {fresh}"
        )
    position = payload.get("in_epoch")
    device = resolve_device(getattr(config, "device", "cpu")).type
    if position is not None and position["device"] != device:
        raise CheckpointMismatch(
            f"checkpoint {path} stopped inside epoch {payload['epochs_done'] + 1} "
            f"(batch {position['batches_done']}) on {position['device']}, and the rest of that "
            f"epoch's batches must be drawn there too; resume it with -P "
            f"device={position['device']}, or {fresh}"
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
    position = payload.get("in_epoch")
    return TrainingState(
        epochs_done=int(payload["epochs_done"]),
        global_step=int(payload["global_step"]),
        metrics=dict(payload["metrics"]),
        in_epoch=None if position is None else EpochPosition(**position),
    )
