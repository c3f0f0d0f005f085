"""Skip-gram (center, context) pairs from a walk matrix, with subsampling of frequent products.

Everything is whole-tensor work on the training device: subsampling is one random draw per
token, compaction of the kept tokens is a stable sort per row, and window pairs are shifted
slices of the (compacted) walk matrix, one slice per offset. Walks are processed in chunks
(``pairs_per_chunk``), so an epoch over Books-sized walks (195M tokens, ~1.4G pairs) never
holds more than one chunk of pairs in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import Tensor

from recsys.training.batching import NegativeSampler, PairBatch
from recsys.training.config import WindowConfig
from recsys.typing import WalkMatrix


def token_counts(walk_matrix: WalkMatrix, n_items: int) -> np.ndarray:
    """Occurrences of each product in the walks, shape (n_items,), int64."""
    return np.bincount(walk_matrix.reshape(-1), minlength=n_items).astype(np.int64)


def check_walk_matrix(walk_matrix: WalkMatrix, n_items: int) -> None:
    """Raise ValueError unless ``walk_matrix`` is (n_walks, length >= 2) of ids in range."""
    if walk_matrix.ndim != 2 or walk_matrix.shape[1] < 2:
        raise ValueError(f"walk_matrix must be (n_walks, length >= 2), got {walk_matrix.shape}")
    if walk_matrix.size and (walk_matrix.min() < 0 or walk_matrix.max() >= n_items):
        raise ValueError(f"walk_matrix holds ids outside 0..{n_items - 1}")


def keep_probability(counts: np.ndarray, threshold: float) -> np.ndarray:
    """word2vec's subsampling: the probability of keeping each occurrence of a product.

    The formula of word2vec.c and gensim: with f = count / total and t = ``threshold``,
    keep = (sqrt(f / t) + 1) * t / f, capped at 1. Products with f below ~t are always kept;
    a product 100x more frequent than t keeps ~11% of its occurrences. ``threshold`` 0
    disables subsampling.

    Returns:
        float32 array of shape (n_items,); 1 for products that never occur.
    """
    counts = np.asarray(counts, dtype=np.float64)
    keep = np.ones(counts.shape, dtype=np.float64)
    total = counts.sum()
    if threshold <= 0 or total <= 0:
        return keep.astype(np.float32)
    occurring = counts > 0
    frequency = counts[occurring] / total
    keep[occurring] = (np.sqrt(frequency / threshold) + 1.0) * threshold / frequency
    return np.minimum(keep, 1.0).astype(np.float32)


def subsample_walks(
    walks: Tensor, keep_prob: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Drop tokens at random by ``keep_prob`` and close the gaps, as word2vec does.

    word2vec removes subsampled words before windowing, so a window spans the kept tokens
    only; this does the same by moving kept tokens to the front of each row (stable sort).

    Args:
        walks: (n_walks, walk_length) integer item ids.
        keep_prob: (n_items,) float keep probability of each product.
        generator: the draws' random stream.

    Returns:
        (compacted walks of the same shape, lengths (n_walks,) int64 = kept tokens per row);
        entries at or beyond a row's length are meaningless.
    """
    draws = torch.rand(walks.shape, generator=generator, device=walks.device)
    keep = draws < keep_prob[walks.long()]
    order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
    return walks.gather(1, order), keep.sum(dim=1)


def window_pairs(
    walks: Tensor,
    window: int,
    lengths: Tensor | None = None,
    reach: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """All (center, context) pairs within ``window`` positions, both directions.

    Args:
        walks: (n_walks, walk_length) item ids.
        window: maximum distance between center and context.
        lengths: (n_walks,) valid tokens per row (after subsampling); None = full rows.
        reach: (n_walks, walk_length) per-token window in 1..window (word2vec's "reduced
            window": a center only pairs with contexts within its own reach); None = the
            full window for every token.

    Returns:
        (center, context), two int64 tensors of equal length, grouped by offset.
    """
    walk_length = walks.shape[1]
    positions = torch.arange(walk_length, device=walks.device)
    centers: list[Tensor] = []
    contexts: list[Tensor] = []
    for offset in range(1, min(window, walk_length - 1) + 1):
        left, right = walks[:, :-offset], walks[:, offset:]  # (n_walks, walk_length - offset)
        if lengths is None:
            valid = torch.ones_like(left, dtype=torch.bool)
        else:
            valid = positions[None, offset:] < lengths[:, None]
        valid_forward, valid_backward = valid, valid
        if reach is not None:
            valid_forward = valid & (reach[:, :-offset] >= offset)  # left is the center
            valid_backward = valid & (reach[:, offset:] >= offset)  # right is the center
        centers += [left[valid_forward], right[valid_backward]]
        contexts += [right[valid_forward], left[valid_backward]]
    return torch.cat(centers).long(), torch.cat(contexts).long()


def pairs_per_walk(walk_length: float, window: int, reduced_window: bool) -> float:
    """Window pairs one walk of (possibly fractional) length yields; used for estimates.

    A walk of length L has 2 * sum_{d=1..w} max(L - d, 0) pairs with a fixed window w; a
    reduced window averages that over w' uniform in 1..w (word2vec's and gensim's
    convention, which the throughput benchmark uses to convert gensim's words/s to pairs/s).
    """
    windows = range(1, window + 1) if reduced_window else [window]
    per = [2 * sum(max(walk_length - d, 0.0) for d in range(1, w + 1)) for w in windows]
    return float(np.mean(per))


class WindowPairSource:
    """Skip-gram batches from a walk matrix: subsample, window, shuffle, add negatives.

    Each epoch walks are shuffled, then processed in chunks: subsampled (fresh draws every
    epoch), windowed into pairs, pairs shuffled within the chunk and cut into batches;
    leftovers carry into the next chunk, so every batch but the epoch's last is full.

    Args:
        walk_matrix: (n_walks, walk_length) int32 walks; copied to ``device`` once.
        n_items: vocabulary size.
        window: context window on each side.
        subsample: word2vec subsampling threshold (0 = off).
        sampler: negative sampler (usually over :func:`token_counts` ** 0.75).
        batch_size: pairs per batch.
        negatives: negatives per pair.
        device: training device.
        reduced_window: draw a per-token window in 1..window (word2vec, gensim) instead of
            the fixed window.
        pairs_per_chunk: about how many pairs are materialised at once (memory bound).
        counts: :func:`token_counts` of ``walk_matrix`` when the caller has them already.
        negatives_shared_by: consecutive pairs of a batch that share one draw of negatives
            (:attr:`PairBatch.shared_by`; the pairs are shuffled, so a chunk is random
            pairs); 1 draws per pair.
    """

    def __init__(
        self,
        walk_matrix: WalkMatrix,
        n_items: int,
        window: int,
        subsample: float,
        sampler: NegativeSampler,
        batch_size: int,
        negatives: int,
        device: torch.device,
        reduced_window: bool = False,
        pairs_per_chunk: int = 1 << 23,
        counts: np.ndarray | None = None,
        negatives_shared_by: int = 1,
    ) -> None:
        check_walk_matrix(walk_matrix, n_items)
        if negatives_shared_by < 1:
            raise ValueError(f"negatives_shared_by must be >= 1, got {negatives_shared_by}")
        self.walks = torch.as_tensor(walk_matrix.astype(np.int32, copy=False), device=device)
        self.counts = token_counts(walk_matrix, n_items) if counts is None else counts
        keep = keep_probability(self.counts, subsample)
        self.keep_prob = torch.as_tensor(keep, device=device)
        self.window = window
        self.subsample = subsample
        self.sampler = sampler
        self.batch_size = batch_size
        self.negatives = negatives
        self.device = device
        self.reduced_window = reduced_window
        self.negatives_shared_by = negatives_shared_by
        per_walk = pairs_per_walk(walk_matrix.shape[1], window, reduced_window)
        self.chunk_walks = max(1, int(pairs_per_chunk // max(per_walk, 1.0)))
        # Expected kept tokens per walk under subsampling, for the batch-count estimate.
        kept_fraction = float((self.counts * keep).sum() / max(self.counts.sum(), 1))
        self._expected_pairs = walk_matrix.shape[0] * pairs_per_walk(
            walk_matrix.shape[1] * kept_fraction, window, reduced_window
        )

    def batches_per_epoch(self) -> int:
        """Estimated batches per epoch (exact without subsampling)."""
        return max(1, int(np.ceil(self._expected_pairs / self.batch_size)))

    def _chunk_pairs(self, walks: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        lengths = None
        if self.subsample > 0:
            walks, lengths = subsample_walks(walks, self.keep_prob, generator)
        reach = None
        if self.reduced_window:
            reach = torch.randint(
                1, self.window + 1, walks.shape, generator=generator, device=self.device
            )
        center, context = window_pairs(walks, self.window, lengths, reach)
        order = torch.randperm(center.numel(), generator=generator, device=self.device)
        return center[order], context[order]

    def epoch(self, generator: torch.Generator, skip: int = 0) -> Iterator[PairBatch]:
        n_walks = self.walks.shape[0]
        index = 0  # batches so far; the first ``skip`` are drawn and not yielded
        walk_order = torch.randperm(n_walks, generator=generator, device=self.device)
        pending_center = torch.empty(0, dtype=torch.int64, device=self.device)
        pending_context = torch.empty(0, dtype=torch.int64, device=self.device)
        for start in range(0, n_walks, self.chunk_walks):
            stop = min(start + self.chunk_walks, n_walks)
            center, context = self._chunk_pairs(self.walks[walk_order[start:stop]], generator)
            center = torch.cat([pending_center, center])
            context = torch.cat([pending_context, context])
            last_chunk = stop == n_walks
            n_full = (
                center.numel()
                if last_chunk
                else center.numel() // self.batch_size * (self.batch_size)
            )
            for offset in range(0, n_full, self.batch_size):
                end = min(offset + self.batch_size, n_full)
                # Progress by walks consumed, interpolated over the chunk's batches.
                progress = (start + (stop - start) * end / max(n_full, 1)) / n_walks
                draws = -(-(end - offset) // self.negatives_shared_by)
                negatives = self.sampler.sample((draws, self.negatives), generator)
                index += 1
                if index <= skip:
                    continue
                yield PairBatch(
                    center=center[offset:end],
                    context=context[offset:end],
                    negatives=negatives,
                    target=None,
                    progress=min(progress, 1.0),
                    shared_by=self.negatives_shared_by,
                )
            pending_center, pending_context = center[n_full:], context[n_full:]


def window_pair_source(
    walk_matrix: WalkMatrix, n_items: int, config: WindowConfig, device: torch.device
) -> tuple[WindowPairSource, np.ndarray]:
    """The skip-gram batch source of a walk-based method, and its vocabulary.

    Negatives follow the walks' token counts ** 0.75 (word2vec's unigram distribution); the
    SGD step with ``shared_negatives`` (here: on a GPU) shares each draw by
    ``negative_chunk`` pairs, every other step draws per pair. SGD batches hold at most one
    pair per product in the walks unless ``batch_size`` is given
    (:func:`synchronous_batch_size`).

    Returns:
        (source, known) where ``known`` (n_items,) marks products that occur in the walks.
    """
    counts = token_counts(walk_matrix, n_items)
    known = counts > 0
    sgd = config.optimizer == "sgd"
    batch_size = synchronous_batch_size(config, int(known.sum())) if sgd else config.batch_size
    source = WindowPairSource(
        walk_matrix,
        n_items,
        window=config.window,
        subsample=config.subsample,
        sampler=NegativeSampler(counts, device),
        batch_size=batch_size,
        negatives=config.negatives,
        device=device,
        reduced_window=config.reduced_window,
        counts=counts,
        negatives_shared_by=config.negative_chunk if sgd and config.shared_negatives else 1,
    )
    return source, known


def synchronous_batch_size(config: WindowConfig, n_known: int) -> int:
    """Pairs per batch of the synchronous tensor SGD step: ``batch_size``, but at most one
    pair per product in the walks (and the model's ``SYNCHRONOUS_BATCH``) unless
    ``batch_size`` was given.

    Every pair of a tensor step reads the tables as they were before the batch and a
    product's steps are summed, so a batch many times the catalog applies each product's
    step many times over from the same stale rows: on synthetic-small (3,922 products in
    its walks) three epochs of the GPU path scored 0.54 seen AUC at batch 65,536, 0.91 at
    16,384 and 0.92 at the cap, the CPU kernel's; the real samples (51-57k products) tie
    the kernel at 65,536 (docs/benchmarks.md).
    """
    if "batch_size" in config.model_fields_set:  # WindowConfig.GIVEN_ONLY
        return config.batch_size
    model_cap = config.SYNCHRONOUS_BATCH or config.batch_size
    return max(1, min(config.batch_size, n_known, model_cap))
