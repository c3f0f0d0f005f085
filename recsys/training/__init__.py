"""The shared PyTorch training engine (MF, MF with bias, skip-gram, EGES, MF on sequences).

How a torch method is put together (see recsys.models.skipgram for a short example):

* a model: an :class:`~recsys.training.engine.EmbeddingModel` (sparse ``nn.Embedding``
  tables, ``loss(batch)``, ``score_pairs(a, b)``, ``item_embeddings(known)``);
* a batch source: :class:`~recsys.training.batching.PairTableSource` (pairs of the
  prepared dataset), :class:`~recsys.training.sequences.WindowPairSource` (skip-gram
  window pairs of walks, via :func:`~recsys.training.sequences.window_pair_source`) or,
  for CPU SGD, :class:`~recsys.training.walk_batches.WalkBatchSource` (batches of walks
  trained window by window with shared negatives);
* a config inheriting :class:`~recsys.training.config.EngineConfig` (or
  :class:`~recsys.training.config.WindowConfig` for walk-based methods,
  :class:`~recsys.training.config.SGDWindowConfig` for those with word2vec's SGD defaults);
* :func:`~recsys.training.engine.fit` runs the loop, the learning curve, evaluation,
  checkpoints and callbacks, and returns the ItemEmbeddings.

Modules: batching (bulk negatives, pair batches), sequences (windows, subsampling),
schedule (learning rates), checkpoint, monitor (sampled AUC), fused_sgns (CPU per-pair
kernel), walk_batches (walk batches and their draws for the window kernels), window_sgns
(CPU window kernel, negatives shared per window: skip-gram, MF on sequences),
window_side_info (the same for EGES), early_stopping, sgns_torch (the GPU's skip-gram
step), engine (the loop), stop (a signal's stop, honoured at a batch boundary), device,
config.
"""
