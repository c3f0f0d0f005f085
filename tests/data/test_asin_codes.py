"""Asin codes: exact round trip, order kept, irregular asins numbered apart, dense ids."""

from __future__ import annotations

import numpy as np

from recsys.data.asin_codes import (
    IRREGULAR_BASE,
    IrregularAsins,
    asins_of_codes,
    decode_asins,
    dense_ids,
    encode_asins,
)

REGULAR = ["B000002LRT", "0001048791", "000014357X", "zzzzzzzzzz", "0000000000", "B00Jx8II76"]


def test_regular_asins_round_trip_and_sort_like_the_text() -> None:
    codes, irregular, tokens = encode_asins(REGULAR)
    assert irregular.size == 0 and tokens == []
    assert np.all((codes >= 0) & (codes < IRREGULAR_BASE))
    assert decode_asins(codes).tolist() == REGULAR
    assert [REGULAR[i] for i in np.argsort(codes)] == sorted(REGULAR)


def test_irregular_asins_are_left_to_the_parent() -> None:
    tokens = ["B000002LRT", "short", "B00000-LRT", "B00000éLRT", "", "B000002LRT1", "B000002LRR"]
    codes, irregular, listed = encode_asins(tokens)
    assert irregular.tolist() == [1, 2, 3, 4, 5]
    assert listed == tokens[1:6]
    assert np.all(codes[irregular] == -1) and np.all(codes[[0, 6]] >= 0)
    book = IrregularAsins()
    codes[irregular] = book.codes(listed)
    assert codes[1] == IRREGULAR_BASE  # first seen, first numbered
    again = book.codes(["short", "new"])
    assert again.tolist() == [IRREGULAR_BASE, IRREGULAR_BASE + 5]
    assert asins_of_codes(codes, book).tolist() == tokens


def test_dense_ids_match_np_unique() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 50, 1_000).astype(np.int64)
    unique, ids = dense_ids(codes)
    expected_unique, expected_ids = np.unique(codes, return_inverse=True)
    assert np.array_equal(unique, expected_unique)
    assert np.array_equal(ids, expected_ids) and ids.dtype == np.int32
    assert dense_ids(np.zeros(0, np.int64))[0].size == 0


def test_encode_empty() -> None:
    codes, irregular, tokens = encode_asins([])
    assert codes.size == 0 and irregular.size == 0 and tokens == []
