"""Matplotlib figures of an evaluation: the threshold "cliff", ROC per slice, learning curve.

Figures are drawn on an Agg canvas (no display needed, safe in CI and on servers) and
returned as :class:`matplotlib.figure.Figure`, so callers decide where they go
(``mlflow.log_figure``, a file, a notebook). Creating ``Figure`` objects directly instead
of through ``pyplot`` touches no global backend or figure registry, so nothing leaks
between runs and the caller's backend choice is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recsys.evaluation.metrics import EvaluationResult


def _figure(width: float = 6.4, height: float = 4.4) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def threshold_figure(result: EvaluationResult, title: str = "") -> Figure:
    """Precision and recall against the score threshold (the study's "cliff" plot).

    Shows where a threshold would have to sit to trade recall for precision; a sharp
    drop means scores of positives and negatives are well separated.
    """
    figure = _figure()
    ax = figure.add_subplot()
    ax.plot(
        result.threshold_precision.x, result.threshold_precision.y, label="precision", color="C0"
    )
    ax.plot(result.threshold_recall.x, result.threshold_recall.y, label="recall", color="C1")
    ax.set_xlabel("score threshold")
    ax.set_ylabel("precision / recall")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title or "precision and recall against threshold")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    return figure


def roc_figure(result: EvaluationResult, title: str = "") -> Figure:
    """ROC curves of all validation pairs and of the seen and cold-start slices.

    A slice without both classes has no curve and is named in the legend as undefined.
    """
    figure = _figure(5.2, 5.0)
    ax = figure.add_subplot()
    slices = (
        ("all", result.roc, result.auc_all, result.n_pairs),
        ("seen", result.roc_seen, result.auc_seen, result.n_seen),
        ("cold start", result.roc_cold_start, result.auc_cold_start, result.n_cold_start),
    )
    for index, (name, curve, auc, count) in enumerate(slices):
        if curve is None or auc is None:
            ax.plot([], [], " ", label=f"{name}: undefined ({count:,} pairs, one class)")
            continue
        ax.plot(curve.x, curve.y, color=f"C{index}", label=f"{name}: AUC {auc:.4f} ({count:,})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_title(title or "ROC")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return figure


def learning_curve_figure(
    loss_steps: Sequence[int],
    loss: Sequence[float],
    auc_steps: Sequence[int],
    sampled_auc: Sequence[float],
    epoch_end_steps: Sequence[int] = (),
    title: str = "",
    loss_name: str = "loss",
) -> Figure:
    """Training loss (left axis) and sampled validation AUC (right axis) across batches.

    Dotted vertical lines mark the last batch of each epoch, where a cosine-restart
    schedule jumps back to its peak learning rate. ``loss_name`` is the metric the loss
    was logged as (gensim's is an epoch sum at step = epoch, not a per-pair mean).
    """
    figure = _figure(7.5, 4.4)
    ax_loss = figure.add_subplot()
    ax_loss.plot(loss_steps, loss, color="C0", linewidth=0.8, label=loss_name)
    ax_loss.set_xlabel("batch" if loss_name == "loss" else "step (epoch for gensim)")
    ax_loss.set_ylabel(loss_name, color="C0")
    ax_auc = ax_loss.twinx()
    ax_auc.plot(auc_steps, sampled_auc, color="C1", marker=".", label="sampled AUC")
    ax_auc.set_ylabel("sampled AUC (seen validation pairs)", color="C1")
    for index, step in enumerate(epoch_end_steps):
        ax_loss.axvline(
            step,
            color="grey",
            linestyle=":",
            linewidth=1,
            label="epoch end" if index == 0 else None,
        )
    if not loss_steps and not auc_steps:
        ax_loss.text(0.5, 0.5, "no per-batch metrics", ha="center", transform=ax_loss.transAxes)
    handles = ax_loss.get_legend_handles_labels()[0] + ax_auc.get_legend_handles_labels()[0]
    if handles:
        ax_loss.legend(handles=handles, loc="center right", fontsize="small")
    ax_loss.set_title(title or "learning curve")
    ax_loss.grid(alpha=0.3)
    return figure


def degree_bucket_figure(by_bucket: dict[str, dict[str, float]], title: str = "") -> Figure:
    """AUC under both protocols and recall@10 per degree bucket: where a method wins.

    Grouped bars, one group per bucket (tail, torso, head; see evaluation/report.py); a
    metric a bucket cannot define (one class, no query) has no bar.
    """
    metrics = (
        ("auc_all", "AUC (study)"),
        ("matched_auc_all", "AUC (degree-matched)"),
        ("recall_at_10", "recall@10"),
    )
    buckets = list(by_bucket)
    figure = _figure(6.8, 4.2)
    ax = figure.add_subplot()
    width = 0.8 / len(metrics)
    for index, (key, label) in enumerate(metrics):
        xs = [i + (index - 1) * width for i, b in enumerate(buckets) if key in by_bucket[b]]
        ys = [by_bucket[b][key] for b in buckets if key in by_bucket[b]]
        bars = ax.bar(xs, ys, width, color=f"C{index}", label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize="x-small", padding=1)
    names = [
        f"{b}\n{int(by_bucket[b]['n_queries']):,} queries" if "n_queries" in by_bucket[b] else b
        for b in buckets
    ]
    ax.set_xticks(range(len(buckets)), names)
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("metric")
    ax.set_title(title or "by training degree of the product")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", ncols=3)
    if not buckets:
        ax.text(0.5, 0.5, "no bucket could be evaluated", ha="center", transform=ax.transAxes)
    return figure


def recall_curve_figure(recall_curve: Sequence[float], title: str = "") -> Figure:
    """Mean recall@k over the query sample for k = 1..len(recall_curve), log-scaled k."""
    figure = _figure(5.6, 4.2)
    ax = figure.add_subplot()
    ks = range(1, len(recall_curve) + 1)
    ax.plot(ks, recall_curve, color="C0")
    ax.set_xscale("log")
    ax.set_xlabel("k (products recommended)")
    ax.set_ylabel("recall@k (held-out products found)")
    ax.set_ylim(0, 1.01)
    ax.set_title(title or "recall@k over the whole catalog")
    ax.grid(alpha=0.3, which="both")
    return figure
