"""Validated settings shared by every entry point.

Each method's own settings live next to its model (e.g. ``recsys.models.skipgram``) and
extend these. The same pydantic schema validates CLI options and MLproject parameters,
so ``-P dim=-3`` fails at once, naming the parameter, before any work starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_DIR_ENV = "RECSYS_DATA_DIR"


def default_data_dir() -> Path:
    """``$RECSYS_DATA_DIR`` when set, else ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "data"))


@dataclass(frozen=True)
class TuneRange:
    """Where ``recsys tune`` searches a numeric setting: ``low`` to ``high`` (both included),
    evenly on a log scale when ``log`` (rates and regularisation span decades). Attached to
    a field as ``Annotated[float, TuneRange(...)]``; an int field is searched in integers."""

    low: float
    high: float
    log: bool = False

    def __str__(self) -> str:
        return f"{self.low:g}:{self.high:g}" + (" (log)" if self.log else "")


@dataclass(frozen=True)
class TuneChoices:
    """The values ``recsys tune`` tries for a setting (categorical, e.g. dimensions)."""

    choices: tuple[Any, ...]

    def __str__(self) -> str:
        return "|".join(
            str(choice).lower() if isinstance(choice, bool) else str(choice)
            for choice in self.choices
        )


Tunable = TuneRange | TuneChoices

# Shared search ranges, so the same setting is searched alike by every method that has it.
TUNE_DIM = TuneChoices((32, 64, 128, 256))
TUNE_EPOCHS = TuneRange(1, 10)
TUNE_NEGATIVES = TuneRange(1, 20, log=True)
TUNE_WINDOW = TuneRange(2, 10)
TUNE_SUBSAMPLE = TuneRange(1e-5, 1e-2, log=True)
TUNE_L2 = TuneRange(1e-8, 1e-2, log=True)
TUNE_WEIGHTED = TuneChoices((False, True))

# A setting's type, bounds and search range declared once, so a config that changes only its
# default restates the default and why: ``epochs: Epochs = Field(3, description=...)``.
Epochs = Annotated[int, TUNE_EPOCHS, Field(ge=1, le=1000)]
Dim = Annotated[int, TUNE_DIM, Field(ge=1, le=4096)]
Negatives = Annotated[int, TUNE_NEGATIVES, Field(ge=0, le=100)]
Window = Annotated[int, TUNE_WINDOW, Field(ge=1, le=100)]
# Walk lengths are searched over different ranges per method: each field adds its own.
WalkLength = Annotated[int, Field(ge=2, le=1000)]


def search_space(config_class: type[BaseModel]) -> dict[str, Tunable]:
    """The settings of a method config that ``recsys tune`` searches, in field order."""
    space: dict[str, Tunable] = {}
    for name, info in config_class.model_fields.items():
        for item in info.metadata:
            if isinstance(item, TuneRange | TuneChoices):
                space[name] = item
    return space


class StrictModel(BaseModel):
    """Unknown fields are errors: a misspelt parameter must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Preset = Literal["default", "study"]


class PresetConfig(StrictModel):
    """Named presets of a method's settings.

    A config class lists its presets in ``PRESETS`` (name -> field values); ``preset=NAME``
    fills those fields before validation, and any field given explicitly wins, so the run's
    params always show the values used. ``study`` is the study's exact settings where the
    defaults differ from them (empty where they do not).
    """

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"default": {}, "study": {}}

    preset: Preset = Field(
        "default",
        description="named settings under explicit values: default (the measured-best "
        "for quality per minute) or study (the study's exact settings, for the "
        "reproduction); explicit -P values win",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("preset") in cls.PRESETS:
            return {**cls.PRESETS[values["preset"]], **values}
        return values  # an unknown name fails the ``preset`` field's own validation


class RelationWeights(StrictModel):
    """Weight each relation adds to a pair (the study's values); summed per unique pair."""

    bought_together: float = Field(1.2, ge=0, description="weight of a bought_together link")
    also_bought: float = Field(1.0, ge=0, description="weight of an also_bought link")
    also_viewed: float = Field(0.5, ge=0, description="weight of an also_viewed link")


# Every form a dataset may take, said once: DataConfig's description (--help-params) and
# the --dataset / DATASET help of train, main, tune, prepare and describe.
DATASET_FORMS = (
    "a dataset name (electronics, books, synthetic-small, synthetic-electronics, "
    "synthetic-books; add :SCALE to a synthetic one, e.g. synthetic-books:0.05; SCALE is "
    "absolute, a share of the study's Electronics or Books size: synthetic-small is 0.01 of "
    "Electronics, so synthetic-small:0.5 is 50 times larger), "
    "synthetic-like:FILE[:SCALE] (a synthetic twin of the data file FILE), or the path of a "
    "data file: Amazon metadata (.json/.json.gz), SNAP amazon-meta.txt, or a pairs file "
    "(CSV, TSV or whitespace-separated)"
)


class DataConfig(StrictModel):
    """Which dataset to read and how to turn it into train and validation pairs."""

    dataset: str = Field(
        "synthetic-small",
        description=DATASET_FORMS,
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=f"where raw files and prepared datasets live (env {DATA_DIR_ENV})",
    )
    weights: RelationWeights = Field(default_factory=RelationWeights)
    columns: str | None = Field(
        None,
        description="a pairs file's columns: a,b[,weight[,relation]] as header names or "
        "1-based positions (default: found by name, else columns 1 and 2, weight 3)",
    )
    header: bool | None = Field(
        None,
        description="a pairs file's first line: true = a header, false = a pair (default: "
        "detected; prepare prints why)",
    )
    products: Path | None = Field(
        None,
        description="a products CSV giving a pairs file's products side information (id "
        "column and any of title, brand, category or category path, price, sales rank)",
    )
    study_filters: bool = Field(
        True,
        description="keep only records with `related`, a title and >= 2 also_bought entries, "
        "as the study did",
    )
    validation_fraction: float = Field(
        1 / 3, gt=0, lt=1, description="share of unique pairs held out (the study: 33%)"
    )
    split_seed: int = Field(42, ge=0, description="seed of the train/validation split")
    # Evaluation, shared by every method (not a cache setting: the tables do not change).
    ranking_queries: int = Field(
        10_000,
        ge=1,
        description="query products ranked against the whole catalog for recall@k, NDCG@10 "
        "and MRR: a seeded sample (split_seed) when more products have a held-out pair, all "
        "of them when fewer; a value above the number of products is an error",
    )


class WalkConfig(StrictModel):
    """Random walks over the training graph (the study: 10 walks of length 10 per product)."""

    walks_per_node: Annotated[int, TuneRange(5, 20)] = Field(
        10, ge=1, le=1000, description="walks started from each product"
    )
    walk_length: Annotated[WalkLength, TuneRange(5, 40)] = Field(
        10, description="products per walk, start included"
    )
    p: float = Field(1.0, gt=0, description="node2vec return parameter (1 = first-order)")
    q: float = Field(1.0, gt=0, description="node2vec in-out parameter (1 = first-order)")
    walk_seed: int = Field(42, ge=0, description="seed of the walks")
    workers: int = Field(0, ge=0, description="threads for walking; 0 = every core")


Device = Literal["auto", "cpu", "cuda"]

DEGREE_PRIOR_HELP = (
    "add beta * (log(1+deg a) + log(1+deg b)) to the pair score, beta fitted on a held-out "
    "fifth of the training pairs (one more training, never the validation pairs), and score "
    "products without a vector by the prior instead of the median (recsys/models/"
    "degree_prior.py)"
)


class TrainerConfig(StrictModel):
    """The shared training engine's settings (the study's values as defaults)."""

    epochs: Epochs = Field(5, description="passes over the training data")
    batch_size: int = Field(1024, ge=1, le=1 << 24, description="positive pairs per batch")
    dim: Dim = Field(128, description="embedding dimension")
    lr: Annotated[float, TuneRange(1e-3, 0.1, log=True)] = Field(
        0.01, gt=0, le=10, description="peak learning rate"
    )
    negatives: Negatives = Field(5, description="negative samples per positive pair")
    schedule: Literal["cosine_restart", "cosine", "linear", "constant"] = Field(
        "cosine_restart",
        description="cosine_restart: cosine annealing restarted each epoch (the study); "
        "cosine / linear: anneal once over the run (linear: word2vec's decay); constant",
    )
    seed: int = Field(42, ge=0, description="seed of initialization and sampling")
    device: Device = Field("auto", description="auto = cuda when available, else cpu")
    eval_every: int = Field(
        100, ge=1, description="batches between sampled-AUC points of the learning curve"
    )
    eval_sample: int = Field(
        10_000, ge=100, description="validation pairs in the learning-curve AUC sample"
    )
    degree_prior: bool = Field(False, description=DEGREE_PRIOR_HELP)

    def unused_settings(self) -> frozenset[str]:
        """Settings this configuration does not train with (a trainer that has no use for
        them): left out of the run's params, so the run shows only what was used."""
        return frozenset()
