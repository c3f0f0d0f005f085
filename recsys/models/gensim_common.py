"""What the two gensim methods (word2vec, node2vec) share: config, corpus, training loop.

Walks reach gensim through ``corpus_file`` (one walk per line, space-separated item ids):
gensim's Cython path then reads and trains without the GIL in every worker thread, while
the ``sentences`` iterable path hands Python lists of str tokens to workers through a
queue (benchmarks/bench_word2vec.py measures both on the same walks). The vocabulary is
counted from the walk matrix (:func:`walk_vocabulary`) instead of by gensim's scan of the
corpus, which reads every token in Python; the trained vectors are the same.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numba
import numpy as np
from gensim.models import Word2Vec
from gensim.models.callbacks import CallbackAny2Vec
from numba import prange
from pydantic import Field

from recsys.callbacks import GENSIM_EPOCH_LOSS, TrainingCallback
from recsys.config import (
    DEGREE_PRIOR_HELP,
    TUNE_NEGATIVES,
    TUNE_SUBSAMPLE,
    Dim,
    Epochs,
    TuneRange,
    WalkConfig,
    Window,
)
from recsys.cores import resolve_workers
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import PAIR_SCORE_HELP, ItemEmbeddings, PairScore
from recsys.evaluation.metrics import epoch_metrics
from recsys.typing import WalkMatrix

logger = logging.getLogger(__name__)

_CORPUS_CHUNK_WALKS = 1 << 20  # walks formatted per chunk: bounds the text buffer (~80 MB)


# gensim's alpha: bounds and search range declared once (see :data:`recsys.config.Epochs`).
GensimLearningRate = Annotated[float, TuneRange(0.005, 0.1, log=True), Field(gt=0, le=1)]


class GensimWalkConfig(WalkConfig):
    """Walk settings plus gensim Word2Vec's; defaults are the study's (gensim 3.8 defaults)."""

    dim: Dim = Field(128, description="embedding dimension (gensim vector_size)")
    window: Window = Field(5, description="context window on each side of a product")
    epochs: Epochs = Field(5, description="passes over the walks")
    negative: Annotated[int, TUNE_NEGATIVES] = Field(
        5, ge=1, le=100, description="negative samples per positive pair"
    )
    sample: Annotated[float, TUNE_SUBSAMPLE] = Field(
        1e-3, ge=0, lt=1, description="downsampling threshold for frequent products"
    )
    min_count: int = Field(1, ge=1, description="products seen fewer times get no vector")
    alpha: GensimLearningRate = Field(0.025, description="initial learning rate (linear decay)")
    sg: Literal[0, 1] = Field(0, description="0 = CBOW (the study's word2vec), 1 = skip-gram")
    seed: int = Field(42, ge=0, description="seed of gensim's initialization and sampling")
    progress: bool = Field(True, description="show a tqdm progress bar while walking")
    corpus: Literal["file", "iterable"] = Field(
        "file",
        description="file: walks written to a temporary corpus_file (gensim's fast path); "
        "iterable: walks passed as lists of str tokens",
    )
    pair_score: PairScore = Field("center_context", description=PAIR_SCORE_HELP)
    degree_prior: bool = Field(False, description=DEGREE_PRIOR_HELP)


def gensim_own_defaults(*names: str) -> dict[str, Any]:
    """gensim Word2Vec's own defaults of the :class:`GensimWalkConfig` settings ``names``
    (what a ``study`` preset restores where a method's default differs)."""
    fields = GensimWalkConfig.model_fields
    return {name: fields[name].default for name in names}


@numba.njit(nogil=True, parallel=True, cache=True)
def _line_lengths(walk_matrix: np.ndarray) -> np.ndarray:
    n_walks, walk_length = walk_matrix.shape
    lengths = np.empty(n_walks, dtype=np.int64)
    for w in prange(n_walks):
        total = walk_length  # separators: walk_length - 1 spaces and one newline
        for step in range(walk_length):
            value = walk_matrix[w, step]
            digits = 1
            while value >= 10:
                value //= 10
                digits += 1
            total += digits
        lengths[w] = total
    return lengths


@numba.njit(nogil=True, parallel=True, cache=True)
def _fill_lines(walk_matrix: np.ndarray, line_ends: np.ndarray, out: np.ndarray) -> None:
    n_walks, walk_length = walk_matrix.shape
    for w in prange(n_walks):
        position = line_ends[w] - 1
        out[position] = 10  # "\n"
        for step in range(walk_length - 1, -1, -1):
            value = walk_matrix[w, step]
            while True:
                position -= 1
                out[position] = 48 + value % 10
                value //= 10
                if value == 0:
                    break
            if step > 0:
                position -= 1
                out[position] = 32  # " "


def format_walks(walk_matrix: WalkMatrix) -> bytes:
    """Walks as text: one line per walk, item ids separated by spaces (LineSentence format)."""
    if walk_matrix.size and walk_matrix.min() < 0:
        raise ValueError("walk matrix holds negative ids; walks must hold item ids >= 0")
    walk_matrix = np.ascontiguousarray(walk_matrix)
    line_ends = np.cumsum(_line_lengths(walk_matrix))
    out = np.empty(int(line_ends[-1]) if line_ends.size else 0, dtype=np.uint8)
    _fill_lines(walk_matrix, line_ends, out)
    return out.tobytes()


@numba.njit(cache=True)
def _first_seen_order(flat: np.ndarray, n_items: int) -> np.ndarray:
    """The distinct items of ``flat`` in order of first appearance."""
    seen = np.zeros(n_items, dtype=np.bool_)
    order = np.empty(n_items, dtype=np.int64)
    n = 0
    for item in flat:
        if not seen[item]:
            seen[item] = True
            order[n] = item
            n += 1
    return order[:n]


def walk_vocabulary(walk_matrix: WalkMatrix) -> dict[str, int]:
    """Each product's token count in the walks, keyed and ordered as gensim's own scan of
    the corpus would insert them (str ids, first appearance first), so the vocabulary, its
    sort and the trained vectors equal a ``build_vocab`` over the corpus; that scan reads
    every token in Python (32 s of a word2vec run at Electronics scale), this takes one
    pass over the matrix."""
    flat = np.ascontiguousarray(walk_matrix).reshape(-1)
    counts = np.bincount(flat)
    order = _first_seen_order(flat, counts.size)
    return dict(zip(map(str, order.tolist()), counts[order].tolist(), strict=True))


def write_corpus_file(walk_matrix: WalkMatrix, path: Path) -> None:
    """Write walks in gensim's corpus_file format, chunk by chunk (bounded memory)."""
    with path.open("wb") as handle:
        for begin in range(0, walk_matrix.shape[0], _CORPUS_CHUNK_WALKS):
            handle.write(format_walks(walk_matrix[begin : begin + _CORPUS_CHUNK_WALKS]))


def embeddings_from_gensim(model: Word2Vec, n_items: int, pair_score: PairScore) -> ItemEmbeddings:
    """Vectors for every item aligned with item_id; items outside gensim's vocab: zero, unknown.

    With ``center_context`` the context vectors are gensim's negative-sampling output
    weights (``syn1neg``, rows in the same order as ``wv``).
    """
    item_ids = np.asarray(model.wv.index_to_key, dtype=np.int64)

    def aligned(rows: np.ndarray) -> np.ndarray:
        out = np.zeros((n_items, model.wv.vector_size), dtype=np.float32)
        out[item_ids] = rows
        return out

    known = np.zeros(n_items, dtype=bool)
    known[item_ids] = True
    context = aligned(model.syn1neg) if pair_score == "center_context" else None
    return ItemEmbeddings(
        vectors=aligned(model.wv.vectors), known=known, similarity="cosine", context=context
    )


class _EpochReporter(CallbackAny2Vec):
    """Bridges gensim's epoch callbacks to recsys TrainingCallbacks.

    gensim 4 has no per-batch hook, so ``on_batch_end`` is called once per epoch (step =
    epoch) with that epoch's share of gensim's running loss (``compute_loss``), as
    ``gensim_epoch_loss``, not ``loss``: it is a float32 sum over the epoch, not the per-pair
    mean the other methods log, and it saturates on large corpora, so read it as a trend.
    """

    def __init__(
        self,
        data: PreparedDataset,
        callbacks: Sequence[TrainingCallback],
        evaluate_epochs: bool,
        pair_score: PairScore,
    ) -> None:
        self.data = data
        self.pair_score = pair_score
        self.callbacks = callbacks
        self.evaluate_epochs = evaluate_epochs
        self.epoch = 0
        self.previous_loss = 0.0
        # The last epoch's evaluation: the final embeddings equal that epoch's, so
        # on_train_end reuses it instead of evaluating again.
        self.last_metrics: dict[str, float] | None = None

    def on_epoch_end(self, model: Word2Vec) -> None:
        loss_total = float(model.get_latest_training_loss())
        epoch_loss = loss_total - self.previous_loss
        self.previous_loss = loss_total
        for callback in self.callbacks:
            callback.on_batch_end(self.epoch, {GENSIM_EPOCH_LOSS: epoch_loss})
        if self.evaluate_epochs:
            embeddings = embeddings_from_gensim(model, self.data.n_items, self.pair_score)
            self.last_metrics = epoch_metrics(embeddings, self.data)
            logger.debug("epoch %d: %s", self.epoch, self.last_metrics)  # MLflow records them
            for callback in self.callbacks:
                callback.on_epoch_end(self.epoch, dict(self.last_metrics), embeddings)
        self.epoch += 1


def train_word2vec_on_walks(
    data: PreparedDataset,
    walk_matrix: WalkMatrix,
    config: GensimWalkConfig,
    callbacks: Sequence[TrainingCallback] = (),
) -> ItemEmbeddings:
    """Train gensim Word2Vec on the walks; returns embeddings for every item of ``data``.

    When callbacks are given, each epoch ends with a full validation evaluation (AUC all /
    seen, median fill for products without a vector, as the study did).
    """
    params: dict[str, Any] = config.model_dump()
    for callback in callbacks:
        callback.on_train_begin(params)
    reporter = _EpochReporter(data, callbacks, bool(callbacks), config.pair_score)
    gensim_params: dict[str, Any] = {
        "vector_size": config.dim,
        "window": config.window,
        "min_count": config.min_count,
        "negative": config.negative,
        "sample": config.sample,
        "alpha": config.alpha,
        "sg": config.sg,
        "epochs": config.epochs,
        "seed": config.seed,
        "workers": resolve_workers(config.workers),
    }
    if walk_matrix.shape[0] == 0:
        raise ValueError("no walks: the training graph has no edges")
    model = Word2Vec(**gensim_params)
    model.build_vocab_from_freq(walk_vocabulary(walk_matrix), corpus_count=walk_matrix.shape[0])
    schedule = {
        "total_examples": model.corpus_count,
        "total_words": int(walk_matrix.size),
        "epochs": model.epochs,
        "start_alpha": model.alpha,
        "end_alpha": model.min_alpha,
        "compute_loss": True,
        "callbacks": [reporter],
    }
    if config.corpus == "file":
        with tempfile.TemporaryDirectory(prefix="recsys-walks-") as folder:
            corpus_path = Path(folder) / "walks.txt"
            write_corpus_file(walk_matrix, corpus_path)
            model.train(corpus_file=str(corpus_path), **schedule)
    else:
        sentences = [[str(item) for item in walk] for walk in walk_matrix.tolist()]
        model.train(corpus_iterable=sentences, **schedule)
    embeddings = embeddings_from_gensim(model, data.n_items, config.pair_score)
    metrics: dict[str, float] = {}
    if callbacks:
        metrics = reporter.last_metrics or epoch_metrics(embeddings, data)
    for callback in callbacks:
        callback.on_train_end(embeddings, metrics)
    return embeddings
