"""Figures are built from an evaluation and a learning curve, one line per defined slice."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from recsys.data.dataset import PreparedDataset
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import EvaluationResult, evaluate
from recsys.evaluation.plots import learning_curve_figure, roc_figure, threshold_figure


def _result(dataset: PreparedDataset) -> EvaluationResult:
    cluster = dataset.products["brand"].str.removeprefix("brand").astype(int).to_numpy()
    rng = np.random.default_rng(0)
    vectors = np.eye(cluster.max() + 1, dtype=np.float32)[cluster]
    vectors += rng.normal(0, 0.6, vectors.shape).astype(np.float32)
    return evaluate(ItemEmbeddings(vectors=vectors, known=np.ones(len(cluster), bool)), dataset)


def test_roc_has_a_curve_per_slice_with_its_auc(planted_dataset: PreparedDataset) -> None:
    result = _result(planted_dataset)
    assert result.roc_seen is not None and result.roc_cold_start is not None
    figure = roc_figure(result, "planted")
    assert isinstance(figure, Figure)
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels[0] == f"all: AUC {result.auc_all:.4f} ({result.n_pairs:,})"
    assert labels[1].startswith("seen: AUC") and labels[2].startswith("cold start: AUC")
    np.testing.assert_array_equal(figure.axes[0].get_lines()[1].get_xdata(), result.roc_seen.x)


def test_threshold_plot_shows_precision_and_recall(planted_dataset: PreparedDataset) -> None:
    result = _result(planted_dataset)
    lines = threshold_figure(result).axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["precision", "recall"]
    recall = lines[1].get_ydata()
    assert recall[0] == 1.0 and np.all(np.diff(recall) <= 0)  # recall falls with threshold


def test_learning_curve_marks_epoch_ends() -> None:
    figure = learning_curve_figure([0, 1, 2, 3], [4.0, 3.0, 2.0, 1.5], [0, 2], [0.5, 0.7], [1, 3])
    ax_loss, ax_auc = figure.axes
    epoch_lines = [line for line in ax_loss.get_lines() if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in epoch_lines] == [1, 3]
    assert list(ax_auc.get_lines()[0].get_ydata()) == [0.5, 0.7]
    empty = learning_curve_figure([], [], [], [])
    assert "no per-batch metrics" in [t.get_text() for t in empty.axes[0].texts]
