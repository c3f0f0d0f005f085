"""Validation metrics shared by every method, so their numbers are comparable.

The study's protocol: ROC-AUC on all validation pairs, where a pair with a product that
has no embedding gets the median score of the scorable pairs, and ROC-AUC on the pairs
whose two products were seen in training. We add the cold-start slice (unseen, but both
products have metadata) where side information is meant to help.

Every metric is computed under two protocols from the same positives: the study's
negatives (uniform over the distinct validation products; ``auc_all``, ``auc_seen``,
``auc_cold_start``, ``pr_auc``, comparable with the study's table) and degree-matched
negatives (``matched_auc_*``), where popularity alone earns about 0.5. On request each AUC
gets a 95% DeLong interval (``<metric>_ci_low`` / ``<metric>_ci_high``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from recsys.data.dataset import PROTOCOLS, PreparedDataset, ValidationPairs
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.curves import SortedPairs
from recsys.evaluation.intervals import Interval
from recsys.typing import BoolMask, Labels, Weights

MATCHED_PREFIX = "matched_"  # metrics under degree-matched negatives

CURVE_POINTS = 500  # curves are thinned to this many points before logging or plotting

NEEDS_BOTH_LABELS = "validation pairs need both positives and negatives to compute AUC"


@dataclass(frozen=True)
class Curve:
    """A thinned curve: x, y and the thresholds that produce each point."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray


@dataclass(frozen=True)
class EvaluationResult:
    """Validation metrics of one model; AUCs are None when a slice lacks a class."""

    auc_all: float
    auc_seen: float | None
    auc_cold_start: float | None
    pr_auc: float
    n_pairs: int
    n_seen: int
    n_cold_start: int
    n_median_filled: int
    roc: Curve
    precision_recall: Curve  # x = recall, y = precision
    threshold_precision: Curve = field(repr=False)  # the study's "cliff" plot, x = threshold
    threshold_recall: Curve = field(repr=False)
    roc_seen: Curve | None = field(default=None, repr=False)  # None when the slice is one-class
    roc_cold_start: Curve | None = field(default=None, repr=False)
    # 95% DeLong intervals by metric name (auc_all, auc_seen, auc_cold_start), when asked for.
    intervals: dict[str, Interval] = field(default_factory=dict, repr=False)
    matched: EvaluationResult | None = None  # the same metrics under degree-matched negatives

    def metrics(self, prefix: str = "") -> dict[str, float]:
        """Flat float metrics for logging; slices without both classes are left out.

        The degree-matched protocol's metrics follow under ``matched_`` (AUCs and PR-AUC).
        """
        values: dict[str, float | None] = {
            "auc_all": self.auc_all,
            "auc_seen": self.auc_seen,
            "auc_cold_start": self.auc_cold_start,
            "pr_auc": self.pr_auc,
            "frac_median_filled": self.n_median_filled / max(self.n_pairs, 1),
        }
        for name, (low, high) in self.intervals.items():
            values[f"{name}_ci_low"], values[f"{name}_ci_high"] = low, high
        flat = {f"{prefix}{k}": float(v) for k, v in values.items() if v is not None}
        if self.matched is not None:
            matched = self.matched.metrics(prefix + MATCHED_PREFIX)
            matched.pop(f"{prefix}{MATCHED_PREFIX}frac_median_filled", None)
            flat.update(matched)
        return flat


def auc_or_none(labels: Labels, scores: Weights) -> float | None:
    """ROC-AUC, or None when only one class is present (AUC is undefined there)."""
    return SortedPairs.of(labels, scores).auc()


def scorable_mask(model: ItemEmbeddings, validation: ValidationPairs) -> BoolMask:
    """Validation pairs whose two products both have an embedding."""
    return model.known[validation.item_a] & model.known[validation.item_b]


def _raw_scores(model: ItemEmbeddings, validation: ValidationPairs) -> tuple[Weights, BoolMask]:
    """(scores, scorable): the scores of the pairs whose two products have an embedding
    (the others' entries are undefined until :func:`_median_filled`)."""
    scorable = scorable_mask(model, validation)
    scores = np.empty(len(validation), dtype=np.float32)
    scores[scorable] = model.score(validation.item_a[scorable], validation.item_b[scorable])
    return scores, scorable


def _median_filled(scores: Weights, scorable: BoolMask) -> tuple[Weights, BoolMask]:
    """``scores`` with the unscorable pairs at the median of the scorable ones, in place;
    (scores, filled)."""
    fill = float(np.median(scores[scorable])) if scorable.any() else 0.0
    scores[~scorable] = fill
    return scores, ~scorable


def score_validation(
    model: ItemEmbeddings, validation: ValidationPairs
) -> tuple[Weights, BoolMask]:
    """Scores of all validation pairs, median-filled where a product has no embedding.

    Returns (scores, filled) where ``filled`` marks the pairs that got the median.
    """
    return _median_filled(*_raw_scores(model, validation))


def _thin(x: np.ndarray, y: np.ndarray, t: np.ndarray, points: int = CURVE_POINTS) -> Curve:
    if x.size > points:
        keep = np.unique(np.linspace(0, x.size - 1, points).round().astype(np.int64))
        x, y, t = x[keep], y[keep], t[keep]
    return Curve(x=x.astype(np.float64), y=y.astype(np.float64), thresholds=t.astype(np.float64))


def _slices(pairs: SortedPairs, seen: BoolMask, cold_start: BoolMask) -> dict[str, SortedPairs]:
    """Each AUC's slice of one protocol's sorted pairs, by metric name (masks in row order)."""
    return {
        "auc_all": pairs,
        "auc_seen": pairs.subset(seen),
        "auc_cold_start": pairs.subset(cold_start),
    }


def _slice_roc(pairs: SortedPairs) -> tuple[float, Curve] | None:
    """ROC-AUC and thinned ROC curve of a slice, or None when it lacks a class."""
    auc = pairs.auc()
    if auc is None:
        return None
    return auc, _thin(*pairs.roc_curve())


def evaluate_scores(
    pairs: SortedPairs,
    seen: BoolMask,
    cold_start: BoolMask,
    filled: BoolMask,
    *,
    intervals: bool = False,
) -> EvaluationResult:
    """All metrics of one protocol from its sorted scores; ``intervals`` adds DeLong's.

    Args:
        pairs: the protocol's scored pairs; the masks are in their original row order.
        seen, cold_start: the slices with an AUC of their own.
        filled: pairs scored by the median (a product without a vector).
        intervals: add 95% DeLong intervals of each slice's AUC.
    """
    slices = _slices(pairs, seen, cold_start)
    rocs = {name: _slice_roc(one) for name, one in slices.items()}
    overall = rocs["auc_all"]
    if overall is None:
        raise ValueError(NEEDS_BOTH_LABELS)
    precision, recall, pr_t = pairs.precision_recall_curve()
    # precision_recall_curve returns one threshold fewer than points; drop the final (1, 0) point.
    precision, recall = precision[:-1], recall[:-1]
    seen_roc, cold_roc = rocs["auc_seen"], rocs["auc_cold_start"]
    return EvaluationResult(
        auc_all=overall[0],
        auc_seen=seen_roc[0] if seen_roc else None,
        auc_cold_start=cold_roc[0] if cold_roc else None,
        pr_auc=pairs.average_precision(),
        n_pairs=pairs.size,
        n_seen=int(seen.sum()),
        n_cold_start=int(cold_start.sum()),
        n_median_filled=int(filled.sum()),
        roc=overall[1],
        precision_recall=_thin(recall, precision, pr_t),
        threshold_precision=_thin(pr_t, precision, pr_t),
        threshold_recall=_thin(pr_t, recall, pr_t),
        roc_seen=seen_roc[1] if seen_roc else None,
        roc_cold_start=cold_roc[1] if cold_roc else None,
        intervals=(
            {name: one.delong_interval() for name, one in slices.items() if rocs[name]}
            if intervals
            else {}
        ),
    )


@dataclass(frozen=True)
class ScoredProtocol:
    """One protocol's validation pairs and their scores (median-filled where unscorable)."""

    validation: ValidationPairs
    scores: Weights
    filled: BoolMask

    @cached_property
    def sorted(self) -> SortedPairs:
        """The scores sorted once, for every slice's metrics (raises on a NaN score), with
        each pair's products for intervals robust to pairs sharing one."""
        validation = self.validation
        return SortedPairs.of(validation.label, self.scores, (validation.item_a, validation.item_b))


def score_protocols(model: ItemEmbeddings, dataset: PreparedDataset) -> dict[str, ScoredProtocol]:
    """Every protocol's pairs with their scores. Each row of the validation table is scored
    once (the positives serve both protocols); the median fill (pairs with a product that
    has no embedding) is taken per protocol, as the study took it over its own validation
    set."""
    validation = dataset.validation
    scores, scorable = _raw_scores(model, validation)
    scored: dict[str, ScoredProtocol] = {}
    for protocol in PROTOCOLS:
        rows = validation.protocol_rows(protocol)
        filled_scores, filled = _median_filled(scores[rows], scorable[rows])
        scored[protocol] = ScoredProtocol(validation.for_protocol(protocol), filled_scores, filled)
    return scored


def evaluate_scored(
    dataset: PreparedDataset, scored: dict[str, ScoredProtocol], *, intervals: bool = False
) -> EvaluationResult:
    """The metrics of :func:`score_protocols`' scores: the study's, with ``matched`` beside."""
    results = {
        protocol: evaluate_scores(
            one.sorted,
            one.validation.seen,
            dataset.cold_start_mask(one.validation),
            one.filled,
            intervals=intervals,
        )
        for protocol, one in scored.items()
    }
    return dataclasses.replace(results["study"], matched=results["matched"])


def evaluate(
    model: ItemEmbeddings, dataset: PreparedDataset, *, intervals: bool = False
) -> EvaluationResult:
    """Validation metrics of a model under both protocols (see the module docstring).

    Args:
        model: the embeddings to score pairs with.
        dataset: the prepared dataset; its validation table holds both negative sets.
        intervals: add 95% DeLong intervals of every AUC (a sort per slice; the final
            evaluation of a run asks for them, per-epoch ones do not).
    """
    return evaluate_scored(dataset, score_protocols(model, dataset), intervals=intervals)


def epoch_metrics(model: ItemEmbeddings, dataset: PreparedDataset) -> dict[str, float]:
    """``evaluate(model, dataset).metrics()`` without curves or intervals: what every
    epoch logs."""
    flat: dict[str, float] = {}
    for protocol, one in score_protocols(model, dataset).items():
        prefix = "" if protocol == "study" else MATCHED_PREFIX
        pairs = one.sorted
        slices = _slices(pairs, one.validation.seen, dataset.cold_start_mask(one.validation))
        for name, part in slices.items():
            auc = part.auc()
            if auc is not None:
                flat[f"{prefix}{name}"] = auc
        if f"{prefix}auc_all" not in flat:
            raise ValueError(NEEDS_BOTH_LABELS)
        flat[f"{prefix}pr_auc"] = pairs.average_precision()
        if protocol == "study":
            flat["frac_median_filled"] = float(one.filled.sum() / max(one.filled.size, 1))
    return flat


def auc_sample_indices(validation: ValidationPairs, size: int, seed: int) -> np.ndarray:
    """A fixed, seeded sample of *seen* validation pairs for the per-batch learning curve.

    Seen pairs only: unseen products have no trained vector yet, so they would add only
    noise to a curve meant to show learning progress.
    """
    candidates = np.flatnonzero(validation.seen)
    if candidates.size == 0:
        candidates = np.arange(len(validation))
    rng = np.random.default_rng(seed)
    if candidates.size > size:
        candidates = rng.choice(candidates, size=size, replace=False)
    return np.sort(candidates)
