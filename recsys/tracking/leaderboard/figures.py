"""The leaderboard's figures: AUC bars per method, and quality against minutes.

Built on a bare :class:`matplotlib.figure.Figure` (no pyplot), so it needs no display and
leaves no global figure state behind.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from recsys.tracking.leaderboard.rows import Leaderboard
from recsys.tracking.names import dataset_label

BAR_SERIES = (("AUC all", "auc_all", "#1f77b4"), ("AUC seen", "auc_seen", "#ff7f0e"))


def leaderboard_figure(board: Leaderboard) -> Figure:
    """One horizontal panel per dataset; bars grouped by method, ranked as in the table.

    Missing values (e.g. AUC seen of a method that logged none) leave a gap, not a zero bar.
    """
    n_panels = max(len(board.tables), 1)
    n_methods = max((len(t.rows) for t in board.tables), default=1)
    figure = Figure(figsize=(8, 0.45 * n_methods * n_panels + 1.2 * n_panels), layout="constrained")
    axes = figure.subplots(n_panels, 1, squeeze=False)[:, 0]
    for ax, table in zip(axes, board.tables, strict=False):
        labels = [row.label for row in table.rows]
        y = np.arange(len(labels))
        height = 0.8 / len(BAR_SERIES)
        for k, (name, attribute, color) in enumerate(BAR_SERIES):
            values = np.array(
                [
                    np.nan if getattr(r, attribute) is None else getattr(r, attribute)
                    for r in table.rows
                ],
                dtype=float,
            )
            bars = ax.barh(y + (k - 0.5) * height, values, height=height, label=name, color=color)
            ax.bar_label(bars, fmt="%.3f", padding=2, fontsize="small")
        ax.set_yticks(y, labels)
        ax.invert_yaxis()  # best method on top, as in the table
        ax.set_xlim(0.0, 1.1)  # room for the value labels
        ax.axvline(0.5, color="grey", linewidth=0.8, linestyle=":")  # chance level
        ax.set_xlabel("ROC-AUC on validation pairs")
        ax.set_title(f"{dataset_label(table.dataset)} ({table.n_runs} finished runs)")
        ax.legend(loc="lower right", fontsize="small")
    if board.is_empty:
        axes[0].text(0.5, 0.5, "no finished runs", ha="center", va="center")
        axes[0].set_axis_off()
    return figure


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both axes (fewer minutes, higher
    quality), in order of minutes."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for index in order:
        if points[index][1] > best:
            front.append(index)
            best = points[index][1]
    return front


def quality_minutes_figure(board: Leaderboard) -> Figure:
    """Per dataset: each method's ranking metric against its training minutes (log scale),
    the Pareto front (nothing both faster and better) joined by a line."""
    n_panels = max(len(board.tables), 1)
    figure = Figure(figsize=(7.5, 4.2 * n_panels), layout="constrained")
    axes = figure.subplots(n_panels, 1, squeeze=False)[:, 0]
    metric = board.rank_by
    for ax, table in zip(axes, board.tables, strict=False):
        rows = [r for r in table.rows if r.minutes is not None and r.value(metric) is not None]
        points = [(max(r.minutes or 0.0, 1e-3), r.value(metric) or 0.0) for r in rows]
        for row, (x, y) in zip(rows, points, strict=True):
            ax.scatter(x, y, color="grey" if row.is_baseline else "C0", zorder=3)
            ax.annotate(row.label, (x, y), textcoords="offset points", xytext=(4, 3), fontsize=8)
        front = pareto_front(points)
        if front:
            ax.plot([points[i][0] for i in front], [points[i][1] for i in front], color="C1",
                    linestyle="--", label="Pareto front")  # fmt: skip
            ax.legend(loc="lower right", fontsize="small")
        ax.set_xscale("log")
        ax.set_xlabel("training minutes (log scale)")
        ax.set_ylabel(metric)
        ax.set_title(f"{dataset_label(table.dataset)}: {metric} against minutes")
        ax.grid(alpha=0.3, which="both")
    if board.is_empty:
        axes[0].text(0.5, 0.5, "no finished runs", ha="center", va="center")
        axes[0].set_axis_off()
    return figure


def curves_figure(title: str, curves: dict[str, dict[str, Any]]) -> Figure:
    """Every method's ROC (study protocol) and recall@k curve overlaid, one dataset.

    Args:
        title: the dataset's label.
        curves: method label -> the run's ``evaluation/curves.json`` (``roc`` with ``fpr`` /
            ``tpr`` lists, ``recall_at_k`` for k = 1..100).
    """
    figure = Figure(figsize=(11, 4.6), layout="constrained")
    ax_roc, ax_recall = figure.subplots(1, 2)
    for index, (label, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        roc = curve.get("roc") or {}
        if roc.get("fpr"):
            ax_roc.plot(roc["fpr"], roc["tpr"], color=color, label=label, linewidth=1.2)
        recall = curve.get("recall_at_k") or []
        if recall:
            ax_recall.plot(range(1, len(recall) + 1), recall, color=color, label=label)
    ax_roc.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1))
    ax_roc.set_title(f"{title}: ROC, study's protocol")
    ax_recall.set_xscale("log")
    ax_recall.set(xlabel="k", ylabel="recall@k over the whole catalog", ylim=(0, None))
    ax_recall.set_title(f"{title}: recall@k")
    for ax in (ax_roc, ax_recall):
        ax.grid(alpha=0.3)
    if curves:
        ax_recall.legend(loc="upper left", fontsize="x-small")
    return figure
