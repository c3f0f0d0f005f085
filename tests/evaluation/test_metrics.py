"""Every epoch's metrics from one sort per protocol equal sklearn's, slice by slice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

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


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_epoch_metrics_equal_sklearns(seed: int, similarity: str) -> None:
    data = _two_protocols(seed)
    model = _tied_model(data, seed, similarity=similarity)
    expected = evaluate(model, data).metrics()
    got = epoch_metrics(model, data)
    assert set(got) == set(expected)
    assert {"auc_seen", "matched_auc_cold_start", "frac_median_filled"} <= set(got)
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


def test_a_nan_score_is_sklearns_error() -> None:
    data = _two_protocols(0)
    model = _tied_model(data, 0, similarity="dot")
    model.vectors[np.flatnonzero(model.known)[0]] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        epoch_metrics(model, data)
