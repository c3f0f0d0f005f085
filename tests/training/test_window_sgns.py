"""The window step (negatives shared per window) against its reference."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.training.window_sgns import NO_BIAS, reference_window_step, window_sgns_step
from tests.training.walk_helpers import draw, numba_threads, random_walks


@pytest.mark.parametrize(
    ("reduced", "subsample", "one_table", "with_bias", "l2", "max_logit"),
    [
        (True, 0.05, False, False, 0.0, 0.0),  # skip-gram: two tables, no bias
        (False, 0.0, False, False, 0.0, 0.0),
        (True, 0.05, True, True, 0.01, 0.0),  # MF with bias on sequences: one table, bias, L2
        (True, 0.05, False, False, 0.0, 0.15),  # about half the pairs saturated: skipped
    ],
)
def test_kernel_matches_reference(
    reduced: bool, subsample: float, one_table: bool, with_bias: bool, l2: float, max_logit: float
) -> None:
    walks = random_walks(0)
    keep, reach, negatives, _, _ = draw(walks, 12, reduced, subsample)
    rng = np.random.default_rng(1)
    center = rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    context = center if one_table else rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    bias = rng.normal(0, 0.3, 12).astype(np.float32) if with_bias else NO_BIAS
    center_ref = center.copy()
    context_ref = center_ref if one_table else context.copy()
    bias_ref = bias.copy()
    with numba_threads(1):  # one thread: walks in order, as the reference
        loss = window_sgns_step(
            center, context, walks, keep, reach, negatives, 0.05, bias, l2, max_logit
        )
    expected = reference_window_step(
        center_ref, context_ref, walks, keep, reach, negatives, 0.05, bias_ref, l2, max_logit
    )
    assert abs(loss - expected) < 1e-4 * max(1.0, abs(expected))
    np.testing.assert_allclose(center, center_ref, atol=1e-5)
    np.testing.assert_allclose(context, context_ref, atol=1e-5)
    np.testing.assert_allclose(bias, bias_ref, atol=1e-5)


def test_saturated_pairs_are_not_trained() -> None:
    """gensim's rule: a pair at |logit| >= max_logit moves neither row; below it, rows move."""
    walks = random_walks(0)
    keep, reach, negatives, _, _ = draw(walks, 12, True, 0.0)
    rng = np.random.default_rng(1)
    center = rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    context = rng.normal(0, 0.3, (12, 8)).astype(np.float32)
    before = center.copy(), context.copy()
    tiny = 1e-9  # every logit is at least this far from 0: nothing is trained
    window_sgns_step(center, context, walks, keep, reach, negatives, 0.05, NO_BIAS, 0.0, tiny)
    np.testing.assert_array_equal(center, before[0])
    np.testing.assert_array_equal(context, before[1])
    window_sgns_step(center, context, walks, keep, reach, negatives, 0.05, NO_BIAS, 0.0, 6.0)
    assert not np.array_equal(center, before[0]) and not np.array_equal(context, before[1])


def test_the_step_without_its_loss_trains_the_same() -> None:
    walks = random_walks(0)
    keep, reach, negatives, _, _ = draw(walks, 12, True, 0.05)
    rng = np.random.default_rng(1)
    tables = [rng.normal(0, 0.3, (12, 8)).astype(np.float32) for _ in "ab"]
    copies = [table.copy() for table in tables]
    batch = (walks, keep, reach, negatives, 0.05, NO_BIAS, 0.0, 6.0)
    with numba_threads(1):  # one thread: both passes take the walks in the same order
        loss = window_sgns_step(*tables, *batch, True)
        skipped = window_sgns_step(*copies, *batch, False)
    assert loss > 0.0 and skipped == 0.0
    for got, want in zip(copies, tables, strict=True):
        np.testing.assert_array_equal(got, want)
