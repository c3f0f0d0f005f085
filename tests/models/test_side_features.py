"""The side-information transform on tiny hand-made product tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.data.dataset import PreparedDataset
from recsys.models.side_features import OTHER_ID, UNKNOWN_ID, build_side_features, encode_values


def _products(rows: list[tuple[str | None, str | None, str | None, float, bool]]) -> pd.DataFrame:
    brand, cat1, cat2, price, meta = zip(*rows, strict=True)
    n = len(rows)
    return pd.DataFrame(
        {
            "item_id": np.arange(n, dtype=np.int32),
            "brand": list(brand),
            "category_1": list(cat1),
            "category_2": list(cat2),
            "category_3": [None] * n,
            "price": np.array(price, dtype=np.float32),
            "has_metadata": np.array(meta, dtype=bool),
        }
    )


NAN = float("nan")
TABLE = _products(
    [
        ("Sony", "Music", "Pop", 1.0, True),
        ("Sony", "Music", "Rock", 2.0, True),
        ("Sony", "Music", "Pop", 3.0, True),
        ("EMI", "Music", "Pop", 4.0, True),
        ("EMI", "Books", "Pop", 10.0, True),
        ("Tiny", "Books", "Poetry", NAN, True),
        (None, None, None, NAN, True),
        ("Sony", "Music", "Pop", 5.0, False),  # no record of its own: row values ignored
    ]
)


def test_encode_values_pools_rare_values_and_keeps_missing_apart() -> None:
    ids, table = encode_values(pd.Series(["a", "b", "a", None, "c", "b", "a"]), rare_threshold=1)
    # a (3) gets 2, b (2) gets 3, c (1 <= threshold) is other, None is unknown.
    assert ids.tolist() == [2, 3, 2, UNKNOWN_ID, OTHER_ID, 3, 2]
    assert table == ("<unknown>", "<other>", "a", "b")
    assert ids.dtype == np.int32


def test_rare_threshold_is_inclusive_and_zero_keeps_everything() -> None:
    series = pd.Series(["x", "x", "y"])
    assert encode_values(series, rare_threshold=2)[0].tolist() == [OTHER_ID] * 3
    assert encode_values(series, rare_threshold=0)[0].tolist() == [2, 2, 3]


def test_brand_categories_unknown_other_and_no_metadata() -> None:
    features = build_side_features(TABLE, rare_threshold=1, n_price_bins=0)
    assert features.field_names == ("brand", "category_1", "category_2")
    brand = dict(zip(features.field_names, features.ids.T, strict=True))["brand"]
    table = features.values[0]
    named = [table[i] for i in brand]
    # Sony counted 3 times (the no-metadata row does not count), EMI 2, Tiny once -> other.
    assert named == ["Sony", "Sony", "Sony", "EMI", "EMI", "<other>", "<unknown>", "<unknown>"]
    cat2 = features.ids[:, 2]
    cat2_names = [features.values[2][i] for i in cat2]
    # Paths keep "Books > Pop" apart from "Music > Pop"; Books > Pop is seen once -> other.
    assert cat2_names[:5] == ["Music > Pop", "<other>", "Music > Pop", "Music > Pop", "<other>"]
    assert cat2_names[6:] == ["<unknown>", "<unknown>"]
    assert features.ids.shape == (8, 3) and features.ids.dtype == np.int32
    assert features.vocab_sizes == tuple(len(v) for v in features.values)
    assert (features.ids < np.array(features.vocab_sizes)).all()


def test_price_bins_are_quantiles_within_category_with_global_fallback() -> None:
    features = build_side_features(TABLE, rare_threshold=0, n_price_bins=2)
    price = features.ids[:, features.field_names.index("price_bin")]
    names = [features.values[-1][i] for i in price]
    # Music has 4 priced products (>= 2 bins * 1): own bins, split at the median 2.5.
    assert names[0] == names[1] and names[2] == names[3] and names[0] != names[2]
    assert names[0].startswith("Music: price q1/2") and names[3].startswith("Music: price q2/2")
    # Books has 1 priced product (< 2): it falls into the global bins; price 10 is in the top.
    assert names[4].startswith("*: price q2/2")
    # Missing price and no-metadata rows are unknown.
    assert price[5] == UNKNOWN_ID and price[6] == UNKNOWN_ID and price[7] == UNKNOWN_ID


def test_price_bins_pool_as_other_when_rare() -> None:
    features = build_side_features(TABLE, rare_threshold=1, n_price_bins=2)
    price = features.ids[:, -1]
    # Music has 4 priced products >= 2 bins * (1 + 1): own bins, 2 products each (> 1: kept).
    assert price[0] == price[1] != OTHER_ID
    # Global bins hold only Books' single priced product -> seen once -> other.
    assert price[4] == OTHER_ID


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(ValueError, match="category_3"):
        build_side_features(TABLE.drop(columns=["category_3"]))
    with pytest.raises(ValueError, match="category_levels"):
        build_side_features(TABLE, category_levels=4)
    with pytest.raises(ValueError, match="rare_threshold"):
        build_side_features(TABLE, rare_threshold=-1)


def test_planted_brand_carries_the_cluster(planted_dataset: PreparedDataset) -> None:
    features = build_side_features(planted_dataset.products, rare_threshold=10)
    brand = features.ids[:, 0]
    cluster = np.repeat(np.arange(20), 25)
    # One brand id per cluster, none pooled, none unknown.
    assert len(np.unique(brand)) == 20 and brand.min() >= 2
    assert all(len(np.unique(brand[cluster == c])) == 1 for c in range(20))
    summary = features.summary()
    assert summary["brand"]["frac_unknown"] == 0.0
