"""The study's method 6: skip-gram with side information (EGES), equal or learned weights.

Wang et al. 2018's model, with the study's three mistakes avoided, is
:class:`recsys.models.side_info_model.SkipGramWithSideInfo` (its docstring says how). This
module is the method around it: the settings (:class:`SideInfoConfig`), the side features
built from the metadata (:mod:`recsys.models.side_features`), the training wiring on walks,
the per-epoch field-weight metrics and the registry entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import Field

from recsys.callbacks import HeldTrainEnd, MetricsForwarder, TrainingCallback
from recsys.config import Epochs, Negatives, TuneRange, WalkLength
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import PAIR_SCORE_HELP, ItemEmbeddings, PairScore
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models.base import Method
from recsys.models.hubness import with_csls
from recsys.models.side_features import SideFeatures, build_side_features, describable_products
from recsys.models.side_info_model import SkipGramWithSideInfo, Weighting
from recsys.training.batching import BatchSource
from recsys.training.config import (
    STUDY_WINDOW_SETTINGS,
    SGDLearningRate,
    SGDWindowConfig,
    uses_window_kernel,
)
from recsys.training.early_stopping import early_stopping_split
from recsys.training.engine import fit, resolve_device
from recsys.training.sequences import window_pair_source
from recsys.training.walk_batches import walk_batch_source
from recsys.typing import WalkMatrix

ID_FIELD = "item_id"


class FieldWeightMetrics(MetricsForwarder):
    """Adds the mean learned field weights to each epoch's metrics (``field_weight_brand``...).

    Models never call MLflow (STYLE.md); as epoch metrics the learned weights reach whatever
    tracking callback is listed, one point per epoch.
    """

    def __init__(self, field_names: Sequence[str], callbacks: Sequence[TrainingCallback]) -> None:
        super().__init__(callbacks)
        self.field_names = tuple(field_names)

    def extra_metrics(self, model: ItemEmbeddings) -> dict[str, float]:
        weights = model.extra.get("field_weights_trained", [])
        pairs = zip(self.field_names, weights, strict=False)
        return {f"field_weight_{n}": float(w) for n, w in pairs if np.isfinite(w)}


class SideInfoConfig(SGDWindowConfig):
    """Skip-gram with side information: skip-gram's walks, window, pair score and SGD
    defaults (on CPU the EGES window kernel, :mod:`recsys.training.window_side_info`);
    ``preset=study`` restores the study's Adam settings. On a GPU, SGD is a synchronous
    batch step (:meth:`SkipGramWithSideInfo.fused_sgd_step`) that sums a whole batch's steps
    into each shared side row (a category row takes thousands of lookups per batch), so it
    takes batches of at most 8,192 pairs unless ``batch_size`` is given
    (``SYNCHRONOUS_BATCH``): on the Books head one epoch at ~57k pairs lost 0.006-0.012 of
    both AUCs to the CPU kernel, and at 8,192 the default four epochs tied it on the three
    real samples (docs/benchmarks.md, "Negatives shared by chunks on the device"). Per-pair
    negatives (``shared_negatives=false``) were never measured with SGD here, so there the
    study preset fills in unless ``optimizer`` is given (``SGD_NEEDS_SHARED_NEGATIVES``).

    Walks of 40 with one negative by default, where skip-gram keeps the study's 10 and 5:
    the side rows are shared by thousands of products and learn from every walk step, so
    EGES gains from longer walks where skip-gram does not (Digital Music, docs/benchmarks.md:
    seen 0.9833 -> 0.9867, degree-matched 0.9516 -> 0.9566, recall@10 0.119 -> 0.187, for
    1.8x the minutes; one negative instead of five keeps that cost down). Four epochs at a
    peak lr of 0.03 instead of :class:`SGDWindowConfig`'s five at 0.025: tied with five on
    every real sample and at Electronics scale (docs/benchmarks.md, "Fewer epochs at a higher
    lr")."""

    SGD_NEEDS_SHARED_NEGATIVES: ClassVar[bool] = True
    SYNCHRONOUS_BATCH: ClassVar[int | None] = 8192
    PRESETS: ClassVar[dict[str, Any]] = {
        "default": {},
        "study": {**STUDY_WINDOW_SETTINGS, "walk_length": 10, "negatives": 5},
    }

    epochs: Epochs = Field(
        4,
        description="passes over the walks (the study: 5); four at lr 0.03 tied five at 0.025 "
        "on every real sample and at Electronics scale in 0.85x the minutes (three lost AUC "
        "or ranking there)",
    )
    lr: SGDLearningRate = Field(
        0.03,
        description="peak learning rate, annealed once over the run (word2vec: 0.025 over "
        "five epochs)",
    )

    walk_length: Annotated[WalkLength, TuneRange(10, 80)] = Field(
        40, description="products per walk, start included (the study: 10)"
    )
    negatives: Negatives = Field(1, description="negative samples per positive pair (the study: 5)")

    pair_score: PairScore = Field("center_context", description=PAIR_SCORE_HELP)

    weighting: Weighting = Field(
        "equal",
        description="equal: average id and side-info embeddings (GES); learned: softmax "
        "over per-product attention logits (EGES). Measured (docs/benchmarks.md): learned "
        "tied equal on seen pairs, scored cold start lower at scale 1.0 (0.935 vs 0.955) "
        "and took 1.3-1.8x the time",
    )
    rare_threshold: int = Field(
        10,
        ge=0,
        description="side-info values seen this many times or fewer pool into one 'other' id "
        "(the study: 100 on full categories; samples of a few thousand records need ~10)",
    )
    n_price_bins: int = Field(
        5, ge=0, le=100, description="quantile price bins within category_1 (0 = no price field)"
    )
    category_levels: int = Field(2, ge=1, le=3, description="category levels used as fields")
    unknown_fields: Literal["embed", "skip"] = Field(
        "skip",
        description="skip: a missing side value gets weight 0, so a product without metadata "
        "is its id vector alone; embed: it gets a learned 'unknown' vector shared by every "
        "such product (measured: that common vector swamps the id and costs seen AUC)",
    )
    id_prior: float = Field(
        2.0,
        ge=-10,
        le=10,
        description="learned weighting only: initial attention logit of the id field (side "
        "fields start at 0). Measured on Digital Music: the learned weights drift towards "
        "the shared category fields; starting at 2 kept more id weight and raised seen AUC",
    )
    center_side: bool = Field(
        False,
        description="evaluation vectors take each side term relative to its field's mean "
        "row, so records are not made alike by the categories most of them share",
    )
    context_side_info: bool = Field(
        False,
        description="true: context and negative products add their own side information "
        "(from the center's side tables), so the side-by-side similarity is trained against "
        "negatives; false: the EGES paper's id-only context. Measured (docs/benchmarks.md): "
        "where every product has metadata true made products of one category alike and "
        "cost most of the ranking (Digital Music's records alone: seen AUC 0.932 vs 0.979, "
        "recall@10 0.059 vs 0.266); on the samples with metadata on 6-10% of products it "
        "ranked a little better (recall@10 0.214 vs 0.186 on Digital Music)",
    )
    hubness: Literal["side_only", "all", "none"] = Field(
        "side_only",
        description="CSLS hubness correction (Conneau et al. 2018; recsys/models/hubness.py): "
        "side_only takes each side-only product's (metadata, no training pair) mean score "
        "with its 10 best-scoring products, beyond the trained products' mean, off as a "
        "bias: those vectors are means of rows thousands of products share, close to "
        "everything, and crowded every top 10 (measured: recall@10 0.097 -> 0.266 on Digital "
        "Music's records alone, 0.035 -> 0.064 on the Books head, AUC unchanged); all: CSLS "
        "on every product (lowered seen AUC and Digital Music's recall@10); none: raw scores",
    )
    id_dropout: Annotated[float, TuneRange(0.0, 0.5)] = Field(
        0.25,
        ge=0,
        lt=1,
        description="probability of dropping a center's id term in training, so the "
        "side-info-only vector that embeds unseen products is trained too",
    )


def _side_features(data: PreparedDataset, config: SideInfoConfig) -> SideFeatures:
    return build_side_features(
        data.products,
        rare_threshold=config.rare_threshold,
        n_price_bins=config.n_price_bins,
        category_levels=config.category_levels,
    )


def train_on_walks(
    data: PreparedDataset,
    walk_matrix: WalkMatrix,
    config: SideInfoConfig,
    callbacks: Sequence[TrainingCallback] = (),
    stop_on: PreparedDataset | None = None,
) -> ItemEmbeddings:
    """EGES on a given walk matrix (walks of ``data``'s training graph)."""
    device = resolve_device(config.device)
    features = _side_features(data, config)
    generator = torch.Generator().manual_seed(config.seed)
    has_metadata = data.products["has_metadata"].to_numpy(dtype=bool, copy=True)
    source: BatchSource
    if uses_window_kernel(config, device):
        # The id-dropout draws ride with the walk batches; the model is built after the
        # source because it needs the vocabulary, so the describable products come first.
        drop = describable_products(features.ids, has_metadata) * np.float32(config.id_dropout)
        source, trained = walk_batch_source(walk_matrix, data.n_items, config, id_drop=drop)
    else:
        source, trained = window_pair_source(walk_matrix, data.n_items, config, device)
    model = SkipGramWithSideInfo(
        side_ids=torch.from_numpy(features.ids),
        vocab_sizes=features.vocab_sizes,
        has_metadata=torch.from_numpy(has_metadata),
        trained=torch.from_numpy(trained),
        dim=config.dim,
        weighting=config.weighting,
        id_dropout=config.id_dropout,
        generator=generator,
        skip_unknown=config.unknown_fields == "skip",
        id_prior=config.id_prior,
        center_side=config.center_side,
        context_side_info=config.context_side_info,
        pair_score=config.pair_score,
        max_logit=config.max_logit,
    ).to(device)
    run_params: dict[str, object] = {
        "n_walks": int(walk_matrix.shape[0]),
        "side_fields": ",".join(features.field_names),
        **{
            f"side_vocab_{n}": v
            for n, v in zip(features.field_names, features.vocab_sizes, strict=True)
        },
    }
    names = (ID_FIELD, *features.field_names)
    logged = [FieldWeightMetrics(names, callbacks)]
    embeddings = fit(
        model, source, data, config, logged, known=trained, run_params=run_params, stop_on=stop_on
    )
    extra = {
        "weighting": config.weighting,
        "field_names": list(names),
        **{
            f"{key}.{name}": float(value)
            for key in ("field_weights_trained", "field_weights_cold")
            for name, value in zip(names, embeddings.extra[key], strict=True)
        },
        "side_features": features.summary(),
    }
    return replace(embeddings, extra=extra)


def train(
    data: PreparedDataset, config: SideInfoConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Method 6: walk the training graph (cached beside the dataset), then EGES."""
    data, stop_on = early_stopping_split(data, config)
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    held = HeldTrainEnd(callbacks)  # the callbacks end with the corrected embeddings
    embeddings = train_on_walks(data, walk_matrix, config, [held], stop_on=stop_on)
    if config.hubness == "side_only":  # described, but in no training pair
        only = embeddings.known & ~data.train_vocabulary()
        embeddings = with_csls(embeddings, seed=config.seed, only=only)
    elif config.hubness == "all":
        embeddings = with_csls(embeddings, seed=config.seed)
    held.release(embeddings)
    return embeddings


METHOD = Method(
    name="side_info",
    config_class=SideInfoConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="skip-gram with side information (EGES): id + brand + categories + price bin, "
    "equal or learned per-product weights; unseen products embedded from side info",
    needs_walks=True,
)
