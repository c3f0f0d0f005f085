"""The study's method 3: node2vec walks (p, q) + skip-gram.

Walks come from the rejection-sampling kernel in :mod:`recsys.graph.walks`, whose memory
is O(edges); the study's node2vec (per-edge alias tables in Python dicts) did not finish on
Books in 64 GB. Defaults p = 0.5, q = 2 favour local, BFS-like walks (returning and staying
near the previous product); p = q = 1 would be first-order walks, which skipgram and
word2vec already cover.

The skip-gram on those walks is ``skipgram``'s (``trainer=engine``, the default): the
project's SGD window kernel on a CPU, the batched step on a GPU, every skipgram setting
available. ``trainer=gensim`` (``preset=study``) trains gensim's Word2Vec skip-gram, as the
study's node2vec did: on the real samples both score alike, and the engine takes about
half gensim's minutes (docs/benchmarks.md, "node2vec on the skip-gram engine").
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import Field, model_validator

from recsys.callbacks import TrainingCallback
from recsys.config import Negatives, TuneRange, WalkConfig
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.graph import walk_config_of, walks_for_dataset
from recsys.models import skipgram
from recsys.models.base import Method
from recsys.models.gensim_common import (
    GensimWalkConfig,
    gensim_own_defaults,
    train_word2vec_on_walks,
)
from recsys.models.skipgram import SkipGramConfig

# node2vec's own grid was {0.25, 0.5, 1, 2, 4} for p and q (Grover & Leskovec 2016).
TUNE_P_Q = TuneRange(0.25, 4.0, log=True)

# skipgram's settings and the gensim Word2Vec parameters they become with trainer=gensim.
GENSIM_NAMES = {
    "dim": "dim",
    "window": "window",
    "epochs": "epochs",
    "negatives": "negative",
    "subsample": "sample",
    "lr": "alpha",
    "seed": "seed",
    "progress": "progress",
    "pair_score": "pair_score",
    "degree_prior": "degree_prior",
}


def gensim_defaults(*names: str) -> dict[str, Any]:
    """Our settings ``names`` at the defaults of the gensim parameters they become
    (:data:`GENSIM_NAMES`)."""
    own = gensim_own_defaults(*(GENSIM_NAMES[name] for name in names))
    return {name: own[GENSIM_NAMES[name]] for name in names}


class Node2VecConfig(SkipGramConfig):
    """node2vec's second-order walks + skip-gram: skipgram's engine by default, gensim's
    Word2Vec (the study's trainer) with ``trainer=gensim`` or ``preset=study``.

    Three negatives per positive where skipgram keeps five: on these walks three tied five
    on every AUC of the real samples at two seeds, ranked the Amazon samples better
    (recall@10 +0.01 on Digital Music, +0.02 on the Books head) and at Electronics scale
    scored above five on every metric (AUC all 0.8850 vs 0.8828), in 0.65-0.9x the minutes
    (docs/benchmarks.md, "Fewer negatives for MF on sequences and node2vec"). skipgram keeps
    five: with three its Music0601 seen AUC fell below gensim's skip-gram."""

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "default": {},
        # gensim's Word2Vec at its own alpha, epochs and negatives, as the study ran it
        "study": {"trainer": "gensim", **gensim_defaults("epochs", "lr", "negatives")},
    }

    negatives: Negatives = Field(
        3, description="negative samples per positive pair (gensim's and the study's: 5)"
    )

    p: Annotated[float, TUNE_P_Q] = Field(
        0.5, gt=0, description="return parameter: 1/p weighs going back"
    )
    q: Annotated[float, TUNE_P_Q] = Field(
        2.0, gt=0, description="in-out parameter: 1/q weighs moving away"
    )
    trainer: Literal["engine", "gensim"] = Field(
        "engine",
        description="engine: skipgram's training (SGD window kernel on CPU, batched on a "
        "GPU); gensim: gensim's Word2Vec skip-gram (the study's node2vec, preset=study), "
        "with lr, negatives, subsample as its alpha, negative, sample and its linear decay",
    )

    @model_validator(mode="after")
    def _engine_settings_need_the_engine(self) -> Self:
        """An engine setting given away from its default with gensim is refused (at its
        default, as MLproject passes every declared parameter, it is only not logged)."""
        if self.trainer != "gensim":
            return self
        fields = type(self).model_fields
        changed = sorted(
            name
            for name in self.model_fields_set & engine_only_fields()
            if getattr(self, name) != fields[name].default
        )
        if changed:
            raise ValueError(
                f"{', '.join(changed)}: settings of trainer=engine, which gensim does not use; "
                "drop them, or set trainer=engine"
            )
        return self

    def unused_settings(self) -> frozenset[str]:
        """With gensim's trainer, the engine's settings: recsys leaves them out of the
        run's params (``mlflow run`` logs every declared MLproject parameter itself, these
        too, at their defaults)."""
        return frozenset(engine_only_fields()) if self.trainer == "gensim" else frozenset()


def engine_only_fields() -> set[str]:
    """Settings gensim has no counterpart for (the engine's optimizer, batches, schedule,
    early stopping, checkpoints, device)."""
    node2vec_own = {"p", "q", "trainer", "preset"}
    shared = set(WalkConfig.model_fields) | set(GENSIM_NAMES) | node2vec_own
    return set(Node2VecConfig.model_fields) - shared


def gensim_config(config: Node2VecConfig) -> GensimWalkConfig:
    """The gensim Word2Vec skip-gram settings of ``config`` (trainer=gensim)."""
    walks = {name: getattr(config, name) for name in WalkConfig.model_fields}
    mapped = {gensim: getattr(config, ours) for ours, gensim in GENSIM_NAMES.items()}
    return GensimWalkConfig(**walks, **mapped, sg=1)


def train(
    data: PreparedDataset, config: Node2VecConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    """Walk the training graph with node2vec's second-order walk, then skip-gram."""
    if config.p == 1.0 and config.q == 1.0:
        warnings.warn(
            "node2vec with p = q = 1 is skip-gram on first-order walks; the first-order "
            "kernel is used (method skipgram is the same model)",
            stacklevel=2,
        )
    if config.trainer == "engine":
        return skipgram.train(data, config, callbacks)
    walk_matrix = walks_for_dataset(data, walk_config_of(config), progress=config.progress)
    return train_word2vec_on_walks(data, walk_matrix, gensim_config(config), callbacks)


METHOD = Method(
    name="node2vec",
    config_class=Node2VecConfig,
    train=train,  # type: ignore[arg-type]  # narrower config type than the registry's BaseModel
    description="node2vec second-order walks (p, q; rejection sampling) + skip-gram "
    "(skipgram's engine; gensim's with trainer=gensim, the study's)",
    needs_walks=True,
)
