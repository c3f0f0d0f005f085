"""EGES's model: skip-gram whose center vector is a weighted sum of id and side-info rows.

The method around it (settings, side features, training wiring, registry entry) is
:mod:`recsys.models.side_info`.

Wang et al. 2018 ("Billion-scale Commodity Embedding for E-commerce Recommendation in
Alibaba", eq. 6) embed product v as

    H_v = sum_j softmax(a_v)_j * W_j[f_j(v)],   j in {item id, brand, category_1, ...}

with ``a_v`` learned per product (EGES) or zero, i.e. equal weights (their "GES"). H_v of
the *center* of a skip-gram window is trained against a separate context table indexed by
the *context* product's id (plain skip-gram's loss, :func:`recsys.models.skipgram.skipgram_loss`;
walks, windows, negatives, schedule and checkpoints come from :mod:`recsys.training`).

Three mistakes of the study are avoided by construction, each pinned by a test:

1. The study gathered the context's side information from the center's rows, so a
   positive always shared the center's metadata, a shortcut negatives lacked. Here the
   context and negatives are looked up by their own ids only (:meth:`context_vectors`),
   and with ``context_side_info`` by their own side values, never the center's.
2. The study drew context and negatives from the center tables; here their id rows come
   from the context table, as in word2vec's input / output split. (With
   ``context_side_info`` their side terms use the center's side tables, on purpose: that
   is what trains the side-by-side similarity evaluation uses.)
3. The study evaluated a plain average of the tables, ignoring the learned weights. Here
   :meth:`SkipGramWithSideInfo.embed` is the very function the loss trains.

Cold start: a product that never occurs in the walks has an untrained id row. Training drops
a center's id term with probability ``id_dropout`` (softmax renormalised over the side
fields), so the side-info-only vector is itself trained to predict contexts; a product with
metadata but no training occurrence is embedded by exactly that side-info-only vector. With
learned weights its attention row was never trained either, so its known side fields weigh
equally (the EGES paper's rule; the trained products' mean logits measured no better,
docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal, cast

import numpy as np
import torch
from torch import Tensor, nn

from recsys.embeddings import ItemEmbeddings, PairScore
from recsys.models.side_features import UNKNOWN_ID, describable_products
from recsys.models.skipgram import pair_cosine, skipgram_loss
from recsys.training.batching import PairBatch, WalkBatch
from recsys.training.engine import EmbeddingModel
from recsys.training.sgns_torch import sgns_update_contexts
from recsys.training.window_side_info import ABSENT, NO_ATTENTION, train_side_info_batch
from recsys.typing import BoolMask

Weighting = Literal["equal", "learned"]
_EMBED_CHUNK = 1 << 16  # items per chunk when exporting H_v for every product
DENSE_SIDE_MAX_ROWS = 4096  # side tables this small get dense gradients (and dense Adam)


def weighted_sum(weights: Tensor, vectors: Tensor) -> Tensor:
    """sum_f weights[b, f] * vectors[b, f, :], shape (batch, dim).

    A broadcast multiply and sum, not einsum: einsum lowers this to a batched matmul of
    (1 x fields) by (fields x dim) blocks, which on the CPU took 1.7x as long, backward
    included (batch 4,096 and 24,576, 5 fields, dim 64, one thread).
    """
    return (weights.unsqueeze(-1) * vectors).sum(dim=1)


class SkipGramWithSideInfo(EmbeddingModel):
    """EGES: center vectors aggregated over id and side-info fields, a separate context table.

    Context and negative products are their context-table row alone (the paper), or with
    ``context_side_info`` that row weighted together with their own side terms.

    Args:
        side_ids: (n_items, n_side_fields) side-info ids (recsys.models.side_features).
        vocab_sizes: ids per side field.
        has_metadata: (n_items,) products with a record of their own. Those with at least one
            known side value are "describable": only their id term is ever dropped, and only
            they get a side-info-only vector when never trained.
        trained: (n_items,) products that occur in the training walks; the others are
            embedded from side information alone.
        dim: embedding dimension, shared by every table (the sum needs it).
        weighting: "equal" averages the fields (GES); "learned" gives every product its own
            attention logits a_v, one per field (EGES).
        id_dropout: probability of dropping a center's id term during training.
        generator: seeds the initialisation and the id-dropout draws.
        skip_unknown: give fields whose value is unknown weight 0 instead of a shared
            "unknown" vector (products without metadata then reduce to plain skip-gram).
        id_prior: initial attention logit of the id field (the side fields start at 0), so
            learned weights start from trusting the id more than any one side field.
        center_side: evaluation takes each known side term relative to its field's mean row.
        context_side_info: context and negatives are weighted sums too, of their context row
            and their own side values (:meth:`context_vectors`).
        pair_score: "center" scores pairs by H_a . H_b (cosine); "center_context" by each
            one's H against the other's context vector (:mod:`recsys.models.skipgram`).
        max_logit: pairs whose |logit| reaches it are not trained (gensim's rule; 0: all).
    """

    side_ids: Tensor  # buffers, declared for type checkers
    describable: Tensor
    trained: Tensor

    def __init__(
        self,
        side_ids: Tensor,
        vocab_sizes: Sequence[int],
        has_metadata: Tensor,
        trained: Tensor,
        dim: int,
        weighting: Weighting,
        id_dropout: float,
        generator: torch.Generator,
        skip_unknown: bool = False,
        id_prior: float = 0.0,
        center_side: bool = False,
        context_side_info: bool = False,
        pair_score: PairScore = "center",
        max_logit: float = 0.0,
    ) -> None:
        super().__init__()
        self.pair_score = pair_score
        self.max_logit = max_logit
        n_items, n_side = side_ids.shape
        if len(vocab_sizes) != n_side:
            raise ValueError(f"{n_side} side fields but {len(vocab_sizes)} vocabulary sizes")
        self.weighting = weighting
        self.id_dropout = id_dropout
        self.register_buffer("side_ids", side_ids.to(torch.int64))
        self.skip_unknown = skip_unknown
        self.center_side = center_side
        # Products whose side fields say something: only they are ever embedded without
        # their id (a record with no brand, category or price has nothing to embed).
        describable = describable_products(side_ids.cpu().numpy(), has_metadata.cpu().numpy())
        self.register_buffer("describable", torch.from_numpy(describable))
        self.register_buffer("trained", trained.to(torch.bool))
        self.center = nn.Embedding(n_items, dim, sparse=True)  # the id field
        # Every batch touches most rows of a small side table (a few categories, price
        # bins): a dense gradient is cheaper there than a sparse one that must be coalesced
        # from one entry per lookup.
        self.side = nn.ModuleList(
            nn.Embedding(v, dim, sparse=v > DENSE_SIDE_MAX_ROWS) for v in vocab_sizes
        )
        self.context = nn.Embedding(n_items, dim, sparse=True)
        self.context_side_info = context_side_info
        # a_v, one logit per field, id first; all zero would start from equal weights.
        self.attention = (
            nn.Embedding(n_items, n_side + 1, sparse=True) if weighting == "learned" else None
        )
        with torch.no_grad():
            # word2vec.c's initialisation, as plain skip-gram: small uniform inputs, zero outputs.
            for table in [self.center, *self.side]:
                table.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=generator)
            self.context.weight.zero_()
            if self.attention is not None:
                self.attention.weight.zero_()
                self.attention.weight[:, 0] = id_prior
        # The id-dropout stream is created on the training device at the first batch.
        self._dropout_seed = int(torch.randint(1 << 62, (1,), generator=generator))
        self._dropout_generator: torch.Generator | None = None
        self._dropout_device: torch.device | None = None
        self._side_rows: np.ndarray | None = None  # side_ids for the CPU walk step

    @property
    def n_fields(self) -> int:
        """Fields in the sum, the item id included."""
        return len(self.side) + 1

    def field_weights(self, items: Tensor, drop_id: Tensor) -> Tensor:
        """softmax(a_v) over the fields, id first, shape (batch, n_fields).

        ``drop_id`` (batch,) bool removes the id term and renormalises over the side fields.
        """
        if self.attention is not None:
            logits = self.attention(items)  # (batch, n_fields)
        else:
            logits = torch.zeros(items.shape[0], self.n_fields, device=items.device)
        id_logit = logits[:, :1].masked_fill(drop_id[:, None], float("-inf"))
        side_logits = logits[:, 1:]
        if self.skip_unknown:
            side_logits = side_logits.masked_fill(self.side_ids[items] == UNKNOWN_ID, float("-inf"))
        return torch.softmax(torch.cat([id_logit, side_logits], dim=1), dim=1)

    def field_rows(
        self,
        items: Tensor,
        side_offsets: Tensor | None = None,
        id_table: nn.Embedding | None = None,
    ) -> Iterator[Tensor]:
        """Each field's embeddings of ``items``, id first, one (batch, dim) tensor per field.

        ``side_offsets`` (n_side, dim), when given, is subtracted from every known side term
        (:meth:`side_means` for ``center_side``). ``id_table`` replaces the center table for
        the id term (the context table, for :meth:`context_vectors`).
        """
        side = self.side_ids[items]  # (batch, n_side)
        yield (self.center if id_table is None else id_table)(items)
        for j, table in enumerate(self.side):
            rows = table(side[:, j])
            if side_offsets is not None:
                known = (side[:, j] != UNKNOWN_ID).to(rows.dtype).unsqueeze(-1)
                rows = rows - known * side_offsets[j]
            yield rows

    def field_vectors(
        self,
        items: Tensor,
        side_offsets: Tensor | None = None,
        id_table: nn.Embedding | None = None,
    ) -> Tensor:
        """:meth:`field_rows` stacked, shape (batch, n_fields, dim)."""
        return torch.stack(list(self.field_rows(items, side_offsets, id_table)), dim=1)

    def item_vectors(
        self,
        items: Tensor,
        drop_id: Tensor,
        side_offsets: Tensor | None = None,
        id_table: nn.Embedding | None = None,
    ) -> Tensor:
        """H_v = sum_j w_vj W_j[f_j(v)], shape (batch, dim) (arguments: :meth:`field_rows`).

        Without autograd (evaluation, the learning curve, the export) the sum is taken
        field by field into one (batch, dim) buffer: no (batch, n_fields, dim) stack, 10x
        faster on the CPU at 10,000 products. With autograd the stacked form stays
        (:func:`weighted_sum`, measured with its backward).
        """
        weights = self.field_weights(items, drop_id)  # (batch, n_fields)
        if torch.is_grad_enabled():
            return weighted_sum(weights, self.field_vectors(items, side_offsets, id_table))
        fields = self.field_rows(items, side_offsets, id_table)
        total = next(fields) * weights[:, :1]
        for j, rows in enumerate(fields, start=1):
            total.addcmul_(rows, weights[:, j : j + 1])
        return total

    def untrained_with_side_info(self, items: Tensor) -> Tensor:
        """(batch,) bool: products embedded from side information alone (never trained)."""
        return ~self.trained[items] & self.describable[items]

    def side_means(self) -> Tensor:
        """(n_side, dim): each side field's mean row over the products that have a value.

        Rows are weighted by how many products use them (a bincount), so the mean is what a
        randomly picked record adds through that field: the component every record shares.
        """
        means = []
        for j, module in enumerate(self.side):
            table = cast(nn.Embedding, module)
            values = self.side_ids[:, j]
            counts = torch.bincount(values[values != UNKNOWN_ID], minlength=table.num_embeddings)
            weights = counts.to(table.weight.dtype) / counts.sum().clamp(min=1)
            means.append(weights @ table.weight)
        return torch.stack(means)

    def embed(self, items: Tensor, side_offsets: Tensor | None = None) -> Tensor:
        """The evaluation vector: H_v, without the id term for products never trained.

        With ``center_side`` each known side term is taken relative to its field's mean row
        (:meth:`side_means`), so two records are not made similar by the categories that
        most records share. A product neither trained nor describable keeps its (untrained,
        finite) id term; it is not ``known``, so evaluation never scores it. Callers that
        embed in chunks pass ``side_offsets`` (:meth:`evaluation_offsets`) computed once.
        """
        if side_offsets is None:
            side_offsets = self.evaluation_offsets()
        drop_id = self.untrained_with_side_info(items)
        return self.item_vectors(items, drop_id, side_offsets)

    def evaluation_offsets(self) -> Tensor | None:
        """What :meth:`embed` subtracts from the side terms: their means, or None."""
        return self.side_means() if self.center_side else None

    def context_vectors(self, items: Tensor) -> Tensor:
        """Context / negative products' vectors, shape (*items.shape, dim), from their own ids.

        Without ``context_side_info``: the context-table row alone (EGES). With it: the same
        weighted sum as H_v, the context-table row as the id term and the context product's
        *own* side values looked up in the center's side tables. The loss then scores the
        side-by-side products that evaluation's H_u . H_v contains against negatives, so a
        category most records share cannot lift the score of unrelated records for free.
        """
        if not self.context_side_info:
            return self.context(items)
        flat = items.reshape(-1)
        keep_id = torch.zeros_like(flat, dtype=torch.bool)
        vectors = self.item_vectors(flat, keep_id, id_table=self.context)
        return vectors.reshape(*items.shape, -1)

    def scoring_context(self, items: Tensor, vectors: Tensor) -> Tensor:
        """Context vectors for ``center_context`` scoring; ``vectors`` is :meth:`embed`.

        A product never trained has a zero context row. With ``context_side_info`` its
        side terms still describe it; without, its context is its side-info-only H_v,
        so cold-start products stay scorable. (``center_side`` centres H_v only.)
        """
        context = self.context_vectors(items)
        if self.context_side_info:
            return context
        return torch.where(self.untrained_with_side_info(items)[:, None], vectors, context)

    def id_dropout_mask(self, centers: Tensor) -> Tensor:
        """(batch,) bool: centers whose id term this batch drops (only products with metadata:
        without it the side fields are all "unknown" and the id is the only signal)."""
        # Keyed by the tensors' device, not the generator's: torch.Generator("cuda") may
        # report "cuda:0", and a mismatch would re-seed (repeat the same draws) every batch.
        if self._dropout_generator is None or self._dropout_device != centers.device:
            self._dropout_generator = torch.Generator(device=centers.device)
            self._dropout_generator.manual_seed(self._dropout_seed)
            self._dropout_device = centers.device
        draws = torch.rand(centers.shape, generator=self._dropout_generator, device=centers.device)
        return (draws < self.id_dropout) & self.describable[centers]

    def id_drop_probability(self) -> np.ndarray:
        """(n_items,) float32: each product's chance of dropping its id term as a center."""
        return (self.describable.float() * self.id_dropout).cpu().numpy()

    def fused_walk_step(self, batch: WalkBatch, lr: float, with_loss: bool = True) -> float:
        """EGES's SGD step straight from walks, negatives shared per window (numba, CPU):
        :mod:`recsys.training.window_side_info`, on these tables in place. The batch carries
        the id-dropout draws (:meth:`id_drop_probability`)."""
        side = tuple(cast(nn.Embedding, t).weight.detach().numpy() for t in self.side)
        context = self.context.weight.detach().numpy()
        outputs = (context, *side) if self.context_side_info else (context,)
        attention = NO_ATTENTION if self.attention is None else self.attention.weight.detach()
        if self._side_rows is None:  # unknown values stay out of the sum under skip_unknown
            rows = self.side_ids.clone()
            if self.skip_unknown:
                rows[rows == UNKNOWN_ID] = ABSENT
            self._side_rows = rows.numpy()
        return train_side_info_batch(
            (self.center.weight.detach().numpy(), *side),
            outputs,
            self._side_rows,
            attention if isinstance(attention, np.ndarray) else attention.numpy(),
            batch,
            lr,
            self.max_logit,
            with_loss,
        )

    @torch.no_grad()
    def fused_sgd_step(self, batch: PairBatch, lr: float) -> Tensor | None:
        """EGES's SGD step on window pairs in tensor ops (the GPU's; negatives shared by
        ``batch.shared_by`` pairs), or None with ``context_side_info`` (autograd then).

        Each center's H_v is built from its field rows as they were before the batch; the
        skip-gram update of its context and negatives
        (:func:`recsys.training.sgns_torch.sgns_update_contexts`) returns H_v's step s, and
        each field row present takes its weight's share w_vf s (learned weights: the logits
        take w_vf (T_f[row_f(v)] - H_v) . s, the softmax's gradient), summed over the batch
        by ``index_add_``, the same arithmetic as the CPU window kernel's
        (:mod:`recsys.training.window_side_info`) with every pair of the batch synchronous.
        """
        if self.context_side_info:
            return None
        centers = batch.center
        weights = self.field_weights(centers, self.id_dropout_mask(centers))  # (B, F)
        rows = list(self.field_rows(centers))
        vectors = rows[0] * weights[:, :1]
        for f in range(1, len(rows)):
            vectors.addcmul_(rows[f], weights[:, f : f + 1])
        step, _, loss = sgns_update_contexts(
            vectors,
            self.context.weight,
            batch.context,
            batch.negatives,
            lr,
            self.max_logit,
            batch.shared_by,
        )
        if self.attention is not None:
            logit_steps = torch.stack([((r - vectors) * step).sum(dim=1) for r in rows], dim=1)
            self.attention.weight.index_add_(0, centers, logit_steps.mul_(weights))
        tables = [self.center, *(cast(nn.Embedding, t) for t in self.side)]
        field_ids = [centers, *self.side_ids[centers].T]  # a field absent here has weight 0
        for f, (table, ids) in enumerate(zip(tables, field_ids, strict=True)):
            table.weight.index_add_(0, ids, step * weights[:, f : f + 1])
        return loss

    def loss(self, batch: PairBatch) -> Tensor:
        centers = batch.center
        drop_id = self.id_dropout_mask(centers)
        context_ids = torch.cat([batch.context.unsqueeze(1), batch.pair_negatives()], dim=1)
        return skipgram_loss(
            self.item_vectors(centers, drop_id), self.context_vectors(context_ids), self.max_logit
        )

    def score_pairs(self, item_a: Tensor, item_b: Tensor) -> Tensor:
        offsets = self.evaluation_offsets()  # once for both sides
        vectors_a, vectors_b = self.embed(item_a, offsets), self.embed(item_b, offsets)
        if self.pair_score == "center":
            return pair_cosine(vectors_a, vectors_b, None, None)
        context_a = self.scoring_context(item_a, vectors_a)
        return pair_cosine(vectors_a, vectors_b, context_a, self.scoring_context(item_b, vectors_b))

    @torch.no_grad()
    def mean_field_weights(self, items: Tensor) -> np.ndarray:
        """Mean of the weights each product's H_v uses, per field, shape (n_fields,)."""
        if items.numel() == 0:
            return np.full(self.n_fields, np.nan)
        total = torch.zeros(self.n_fields, device=items.device)
        for start in range(0, items.numel(), _EMBED_CHUNK):
            chunk = items[start : start + _EMBED_CHUNK]
            total += self.field_weights(chunk, self.untrained_with_side_info(chunk)).sum(dim=0)
        return (total / items.numel()).cpu().numpy()

    @torch.no_grad()
    def item_embeddings(self, known: BoolMask) -> ItemEmbeddings:
        device = self.side_ids.device
        items = torch.arange(self.side_ids.shape[0], device=device)
        offsets = self.evaluation_offsets()
        vectors, contexts = [], []
        for chunk in items.split(_EMBED_CHUNK):
            vectors.append(self.embed(chunk, offsets))
            if self.pair_score == "center_context":
                contexts.append(self.scoring_context(chunk, vectors[-1]).float().cpu())
        derived = self.describable & ~self.trained
        return ItemEmbeddings(
            vectors=torch.cat(vectors).float().cpu().numpy(),
            known=np.asarray(known, dtype=bool) | derived.cpu().numpy(),
            similarity="cosine",
            context=torch.cat(contexts).numpy() if contexts else None,
            extra={
                # Over trained products with metadata: the others weigh their id 1 under
                # unknown_fields=skip, which would only dilute the mean.
                "field_weights_trained": self.mean_field_weights(
                    items[self.trained & self.describable]
                ).tolist(),
                "field_weights_cold": self.mean_field_weights(items[derived]).tolist(),
            },
        )
