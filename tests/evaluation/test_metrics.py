"""Every metric, per epoch and final, equals sklearn's, slice by slice and protocol by protocol."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from recsys.data.dataset import PreparedDataset, ValidationPairs
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import epoch_metrics, evaluate, score_protocols, score_validation
from tests.conftest import make_planted_dataset


def _two_protocols(seed: int) -> PreparedDataset:
    """The planted dataset with its negatives split at random between the two protocols
    (each protocol must leave the other's out)."""
    data = make_planted_dataset(seed=seed)
    validation = data.validation
    rng = np.random.default_rng(seed)
    negative_set = np.where(validation.label == 1, 0, rng.integers(1, 3, len(validation)))
    split = ValidationPairs(
        item_a=validation.item_a,
        item_b=validation.item_b,
        label=validation.label,
        seen=validation.seen,
        negative_set=negative_set.astype(np.int8),
    )
    return dataclasses.replace(data, validation=split)


def _tied_model(data: PreparedDataset, seed: int, **kwargs: object) -> ItemEmbeddings:
    """Coarse vectors (many tied scores), a tenth of the products without one."""
    rng = np.random.default_rng(seed)
    vectors = rng.integers(-2, 3, (data.n_items, 4)).astype(np.float32)
    known = rng.random(data.n_items) > 0.1
    return ItemEmbeddings(vectors, known, **kwargs)  # type: ignore[arg-type]


def _sklearns_metrics(model: ItemEmbeddings, data: PreparedDataset) -> dict[str, float]:
    """Every pair metric by sklearn, each slice scored and sorted on its own."""
    expected: dict[str, float] = {}
    for protocol in ("study", "matched"):
        prefix = "" if protocol == "study" else "matched_"
        validation = data.validation_for(protocol)
        scores, filled = score_validation(model, validation)
        labels = validation.label
        expected[f"{prefix}auc_all"] = roc_auc_score(labels, scores)
        expected[f"{prefix}pr_auc"] = average_precision_score(labels, scores)
        slices = {"auc_seen": validation.seen, "auc_cold_start": data.cold_start_mask(validation)}
        for name, mask in slices.items():
            if len(set(labels[mask])) == 2:
                expected[f"{prefix}{name}"] = roc_auc_score(labels[mask], scores[mask])
        if protocol == "study":
            expected["frac_median_filled"] = filled.mean()
    return expected


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_epoch_and_final_metrics_equal_sklearns(seed: int, similarity: str) -> None:
    data = _two_protocols(seed)
    model = _tied_model(data, seed, similarity=similarity)
    expected = _sklearns_metrics(model, data)
    assert {"auc_seen", "matched_auc_cold_start", "frac_median_filled"} <= set(expected)
    for got in (epoch_metrics(model, data), evaluate(model, data).metrics()):
        assert set(got) == set(expected)
        for name, value in expected.items():
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_each_row_scored_once_gives_each_protocols_own_scores_and_median() -> None:
    data = _two_protocols(0)
    model = _tied_model(data, 0, similarity="dot")
    for protocol, one in score_protocols(model, data).items():
        scores, filled = score_validation(model, data.validation_for(protocol))
        np.testing.assert_array_equal(one.scores, scores)
        np.testing.assert_array_equal(one.filled, filled)
        assert filled.any() and not filled.all()


def test_a_nan_score_is_refused() -> None:
    data = _two_protocols(0)
    model = _tied_model(data, 0, similarity="dot")
    model.vectors[np.flatnonzero(model.known)[0]] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        epoch_metrics(model, data)
