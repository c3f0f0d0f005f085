"""The popularity baseline: log-degree scores, by hand and on the planted dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.data.dataset import PairTable, PreparedDataset, ValidationPairs
from recsys.evaluation.metrics import evaluate
from recsys.methods import get_method
from recsys.models.popularity import PopularityConfig, train_popularity


def _star_dataset() -> PreparedDataset:
    """Item 0 is bought with 1, 2, 3; item 1 also with 2; item 4 has no training pair.

    Degrees: 0 -> 3, 1 -> 2, 2 -> 2, 3 -> 1, 4 -> 0.
    """
    a = np.array([0, 0, 0, 1], dtype=np.int32)
    b = np.array([1, 2, 3, 2], dtype=np.int32)
    products = pd.DataFrame(
        {"item_id": np.arange(5, dtype=np.int32), "asin": list("ABCDE"), "has_metadata": True}
    )
    return PreparedDataset(
        name="star",
        products=products,
        train=PairTable(a, b, np.array([1, 1, 1, 2], np.float32), np.ones(4, np.uint8)),
        validation=ValidationPairs(
            item_a=np.array([0, 3, 1, 4], dtype=np.int32),
            item_b=np.array([2, 4, 3, 3], dtype=np.int32),
            label=np.array([1, 0, 1, 0], dtype=np.int8),
            seen=np.array([True, False, True, False]),
        ),
    )


def test_scores_are_summed_log_degrees_on_a_hand_made_case() -> None:
    model = train_popularity(_star_dataset(), PopularityConfig())
    assert model.dim == 0 and model.known.all()
    scores = model.score(np.array([0, 3, 4], np.int32), np.array([1, 4, 4], np.int32))
    expected = [np.log(4) + np.log(3), np.log(2) + np.log(1), 0.0]
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_most_similar_ranks_by_degree_and_excludes_the_query() -> None:
    model = train_popularity(_star_dataset(), PopularityConfig())
    ids, scores = model.most_similar(np.array([0, 4], np.int32), k=3)
    assert ids[0, 0] in (1, 2) and set(ids[0, :2].tolist()) == {1, 2} and ids[0, 2] == 3
    assert ids[1].tolist()[0] == 0  # the most popular product first
    np.testing.assert_allclose(scores[1, 0], np.log(4), rtol=1e-6)
    direct = model.score(np.array([4, 4, 4], np.int32), ids[1])
    np.testing.assert_allclose(direct, scores[1], rtol=1e-6)


def test_weighted_degree_sums_pair_weights() -> None:
    model = train_popularity(_star_dataset(), PopularityConfig(weighted=True))
    assert model.bias is not None
    np.testing.assert_allclose(model.bias[[1, 2]], np.log1p([3.0, 3.0]), rtol=1e-6)


def test_popularity_auc_reflects_degree_skew(planted_dataset: PreparedDataset) -> None:
    """Planted degrees are nearly uniform, so popularity earns about nothing there."""
    method = get_method("popularity")
    config = method.config_class()
    result = evaluate(method.train(planted_dataset, config, []), planted_dataset)
    assert result.n_median_filled == 0
    assert 0.35 < result.auc_all < 0.65
    star = _star_dataset()
    assert evaluate(train_popularity(star, PopularityConfig()), star).auc_all == 1.0
