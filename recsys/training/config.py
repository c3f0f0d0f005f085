"""Settings of the PyTorch training engine, on top of the shared TrainerConfig.

Method configs inherit :class:`EngineConfig` (and :class:`recsys.config.WalkConfig` when
they train on walks) and stay flat, so MLflow params and CLI options are one level deep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import torch
from pydantic import Field, model_validator

from recsys.config import (
    TUNE_SUBSAMPLE,
    PresetConfig,
    TrainerConfig,
    TuneRange,
    WalkConfig,
    Window,
)
from recsys.training.fused_sgns import GENSIM_MAX_LOGIT
from recsys.training.schedule import Schedule

Optimizer = Literal["adam", "sgd"]


class EngineConfig(PresetConfig, TrainerConfig):
    """TrainerConfig plus the engine's own switches, and named presets (:class:`PresetConfig`)."""

    @model_validator(mode="after")
    def _early_stopping_without_checkpoints(self) -> EngineConfig:
        if self.patience > 0 and self.checkpoint_dir is not None:
            raise ValueError(
                "patience > 0 (early stopping) cannot resume from checkpoint_dir yet: the best "
                "epoch's embeddings are not checkpointed; drop one of the two"
            )
        return self

    optimizer: Optimizer = Field(
        "adam",
        description="adam: SparseAdam on embedding tables (lazy Adam, only the batch's rows) "
        "and Adam on dense weights, as the study; sgd: plain sparse SGD with lr per pair "
        "(word2vec's update, which uses lr 0.025)",
    )
    checkpoint_dir: Path | None = Field(
        None,
        description="folder for a checkpoint after every epoch and at a stop (SIGTERM, "
        "Ctrl-C: after the batch in progress); a run finding one there resumes from it, "
        "mid-epoch from the next batch (same data and settings required)",
    )
    progress: bool = Field(True, description="show a tqdm progress bar per epoch")
    threads: int = Field(
        1,
        ge=0,
        le=1024,
        description="CPU threads for torch and the fused numba kernels while training "
        "(restored afterwards); 0 = every core. 1 for the autograd methods: on the "
        "project's 2-vCPU VM two OpenMP threads made small-batch training 3-10x slower "
        "(thread wake-ups cost more than the work)",
    )
    patience: int = Field(
        0,
        ge=0,
        le=1000,
        description="early stopping: stop after this many epochs without a better AUC on "
        "a held-out slice of the TRAINING pairs (never the reported validation) and keep "
        "the best epoch; the slice is not trained on; 0 = off, every epoch trains. Pair it "
        "with a per-epoch schedule (cosine_restart, constant): under one annealed over the "
        "run the early epochs train at a high lr and can stop it too soon",
    )
    early_stopping_fraction: float = Field(
        0.05,
        gt=0,
        lt=0.5,
        description="share of the training pairs held out for early stopping (patience > 0)",
    )
    loss_every: int = Field(
        10,
        ge=1,
        description="batches between loss reports to callbacks (and each epoch's first); "
        "the batches between skip computing it on CPU walk steps (~15% of their time) and "
        "save a device sync on GPU",
    )


class WindowConfig(EngineConfig, WalkConfig):
    """Engine settings plus walks and skip-gram windows (skip-gram, EGES, MF on sequences).

    ``SYNCHRONOUS_BATCH``: the most pairs a synchronous tensor SGD step takes by default
    (:func:`recsys.training.sequences.synchronous_batch_size`), for a model whose rows are
    shared by many products; None: ``batch_size``, capped by the catalog alone.

    ``GIVEN_ONLY``: settings whose default is decided at run time unless they are given
    (read from ``model_fields_set``), so a launcher passing every declared parameter at its
    default (``mlflow run``'s MLproject) must leave them undeclared.
    """

    SYNCHRONOUS_BATCH: ClassVar[int | None] = None
    GIVEN_ONLY: ClassVar[frozenset[str]] = frozenset({"batch_size"})

    window: Window = Field(5, description="context window on each side of a product")
    subsample: Annotated[float, TUNE_SUBSAMPLE] = Field(
        1e-3,
        ge=0,
        lt=1,
        description="word2vec subsampling threshold for frequent products (0 = off)",
    )
    reduced_window: bool = Field(
        False,
        description="draw each center's window uniformly in 1..window (word2vec/gensim); "
        "False pairs every product within the full window",
    )
    shared_negatives: bool = Field(
        True,
        description="SGD: share draws of negatives (pWord2Vec, Ji et al. 2016: several times "
        "the throughput): on CPU train straight from walks, one draw per window; with the "
        "tensor step (a GPU's) one draw per negative_chunk pairs. False draws fresh "
        "negatives per pair, as word2vec.c",
    )
    negative_chunk: int = Field(
        32,
        ge=1,
        le=4096,
        description="tensor SGD step (a GPU's) with shared_negatives: pairs that share one "
        "draw of negatives, a chunk's logits one small matrix product (1: per pair)",
    )
    tensor_step: bool = Field(
        False,
        description="SGD: train on any device as on a GPU: shuffled window-pair batches "
        "through the batched tensor step, every pair reading the tables as they were before "
        "its batch. A GPU always does; on a CPU it is slower than the window kernels and "
        "checks a GPU configuration's quality",
    )


# The SGD peak lr's bounds and search range, declared once (see :data:`recsys.config.Epochs`).
SGDLearningRate = Annotated[float, TuneRange(0.005, 0.2, log=True), Field(gt=0, le=10)]

# The study's engine settings for the walk methods: five epochs of Adam, batch 1,024,
# per-epoch cosine restarts, fixed windows, one thread, every pair trained (``preset=study``
# of :class:`SGDWindowConfig`).
STUDY_WINDOW_SETTINGS: dict[str, Any] = {
    "epochs": 5,
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 1024,
    "schedule": "cosine_restart",
    "reduced_window": False,
    "threads": 1,
    "max_logit": 0.0,
}


def uses_window_kernel(config: WindowConfig, device: torch.device) -> bool:
    """Whether a walk method trains on walk batches with the CPU window kernels
    (:class:`recsys.training.walk_batches.WalkBatchSource`); else on window pairs."""
    return (
        device.type == "cpu"
        and config.optimizer == "sgd"
        and config.shared_negatives
        and not config.tensor_step
    )


class SGDWindowConfig(WindowConfig):
    """A walk method trained by word2vec's SGD by default, the study's Adam as a preset.

    word2vec's step and schedule (SGD, lr 0.025 per pair decaying once over the run,
    reduced windows, pairs at |logit| >= 6 not trained); on CPU the window kernels of
    :mod:`recsys.training.window_sgns` and :mod:`recsys.training.window_side_info` on
    every core. ``preset=study`` restores the study's Adam settings and exact loss
    (:data:`STUDY_WINDOW_SETTINGS`).

    ``SGD_NEEDS_SHARED_NEGATIVES``: a method whose SGD default was measured with shared
    negatives only trains with its ``study`` preset under ``shared_negatives=false``,
    under any value given explicitly; resolved when the config is built, so the run's
    params show the settings used.
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        "study": STUDY_WINDOW_SETTINGS,
    }
    SGD_NEEDS_SHARED_NEGATIVES: ClassVar[bool] = False

    @model_validator(mode="wrap")
    @classmethod
    def _study_settings_without_shared_negatives(cls, values: Any, handler: Any) -> Self:
        config: Self = handler(values)
        if (
            not cls.SGD_NEEDS_SHARED_NEGATIVES
            or not isinstance(values, dict)
            or "optimizer" in config.model_fields_set
            or config.shared_negatives
        ):
            return config
        study_preset = cls.PRESETS["study"]
        unset = {k: v for k, v in study_preset.items() if k not in config.model_fields_set}
        study: Self = handler({**values, **unset})
        return study

    optimizer: Optimizer = Field(
        "sgd",
        description="sgd: word2vec's step with lr per pair (on CPU straight from the walks); "
        "adam: SparseAdam on the tables, as the study (preset=study)",
    )
    lr: SGDLearningRate = Field(0.025, description="peak learning rate (word2vec's 0.025)")
    batch_size: int = Field(
        65536,
        ge=1,
        le=1 << 24,
        description="positive pairs per batch (about; on CPU a batch of walks): the CPU "
        "window step updates row by row whatever the batch, and 2 threads synchronise once "
        "per batch (8,192 ran at half the speed on a loaded 2-core VM); a GPU step wants "
        "big batches, and unless given takes at most one pair per product in the walks "
        "(a bigger batch sums each product's steps from stale rows; side_info: at most "
        "8,192, its side rows are shared by many products)",
    )
    schedule: Schedule = Field(
        "cosine",
        description="cosine: anneal once over the run; linear: word2vec's decay, once over "
        "the run; cosine_restart: restart each epoch (the study); constant",
    )
    reduced_window: bool = Field(
        True,
        description="draw each center's window uniformly in 1..window (word2vec/gensim); "
        "False pairs every product within the full window (the study)",
    )
    threads: int = Field(
        0,
        ge=0,
        le=1024,
        description="CPU threads for the training kernels; 0 = every core (the window "
        "kernels scale with cores; the study preset's Adam path runs best on 1)",
    )
    max_logit: float = Field(
        GENSIM_MAX_LOGIT,
        ge=0,
        description="a (product, context) pair whose logit is at +-max_logit or beyond is "
        "not trained, as gensim (6); 0 trains every pair (preset=study). Without it "
        "skip-gram ranked the Books head's held-out products half as well (recall@10 0.11 "
        "vs 0.24)",
    )
