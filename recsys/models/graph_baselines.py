"""What a practitioner tries first: neighbours counted directly on the co-purchase graph.

"Customers who bought this also bought" needs no training: two products are related when
the same products were bought beside them. Both baselines are sparse rows of the training
adjacency, so an :class:`ItemEmbeddings` holds them and evaluation, ranking, the pyfunc
model and ``most_similar`` score them with the same code as every learned method:

* ``itemknn``: cosine between two products' rows of the weighted training adjacency
  (item-based collaborative filtering, Sarwar et al. 2001, on co-purchase counts);
* ``adamic_adar``: sum over common training neighbours c of 1 / log(deg c) (Adamic &
  Adar 2003; Liben-Nowell & Kleinberg 2007 found it among the best link predictors), the
  dot product of rows scaled by 1 / sqrt(log deg c) per column.

Products without a training pair have an empty row: they are not ``known`` and their pairs
get the median score, as for every id-only method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import numpy as np
from pydantic import Field
from scipy import sparse

from recsys.callbacks import TrainingCallback, report_counted_model
from recsys.config import TUNE_WEIGHTED, StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.graph.csr import build_graph


class ItemKnnConfig(StrictModel):
    """Settings of the item-kNN baseline."""

    weighted: Annotated[bool, TUNE_WEIGHTED] = Field(
        True,
        description="rows carry the summed relation weights (bought_together 1.2, "
        "also_bought 1.0, also_viewed 0.5) instead of 0/1",
    )


class AdamicAdarConfig(StrictModel):
    """Adamic-Adar has no settings; the class keeps the method interface uniform."""


def itemknn_embeddings(dataset: PreparedDataset, weighted: bool = True) -> ItemEmbeddings:
    """Rows of the (weighted) training adjacency, scored by cosine."""
    adjacency = build_graph(dataset.train, dataset.n_items)
    if not weighted:
        adjacency.data[:] = 1.0
    known = np.diff(adjacency.indptr) > 0
    return ItemEmbeddings(vectors=adjacency, known=known, similarity="cosine")


def adamic_adar_embeddings(dataset: PreparedDataset) -> ItemEmbeddings:
    """0/1 adjacency rows with column c scaled by 1 / sqrt(log deg c), scored by dot product.

    A product of degree 1 cannot be the common neighbour of two others: its column weight
    is 0 rather than 1 / sqrt(log 1) = inf.
    """
    adjacency = build_graph(dataset.train, dataset.n_items)
    adjacency.data[:] = 1.0
    degree = np.diff(adjacency.indptr)
    scale = np.zeros(dataset.n_items, dtype=np.float32)
    many = degree > 1
    scale[many] = 1.0 / np.sqrt(np.log(degree[many]))
    vectors = sparse.csr_matrix(adjacency @ sparse.diags(scale), dtype=np.float32)
    return ItemEmbeddings(vectors=vectors, known=degree > 0, similarity="dot")


def train_itemknn(
    dataset: PreparedDataset, config: ItemKnnConfig, callbacks: Sequence[TrainingCallback] = ()
) -> ItemEmbeddings:
    model = itemknn_embeddings(dataset, config.weighted)
    report_counted_model(model, config.model_dump(), callbacks)
    return model


def train_adamic_adar(
    dataset: PreparedDataset,
    config: AdamicAdarConfig,
    callbacks: Sequence[TrainingCallback] = (),
) -> ItemEmbeddings:
    model = adamic_adar_embeddings(dataset)
    report_counted_model(model, config.model_dump(), callbacks)
    return model
