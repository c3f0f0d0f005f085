"""Learning-rate schedules at epoch boundaries."""

from __future__ import annotations

import pytest

from recsys.training.schedule import MIN_LR_FRACTION, learning_rate


def test_cosine_restart_runs_from_lr_to_floor_within_each_epoch() -> None:
    for epoch in range(3):
        assert learning_rate("cosine_restart", 0.01, epoch, 0.0, 3) == pytest.approx(0.01)
        assert learning_rate("cosine_restart", 0.01, epoch, 0.5, 3) == pytest.approx(
            0.01 * (1 + MIN_LR_FRACTION) / 2
        )
        assert learning_rate("cosine_restart", 0.01, epoch, 1.0, 3) == pytest.approx(
            0.01 * MIN_LR_FRACTION
        )


def test_cosine_anneals_once_over_the_run() -> None:
    assert learning_rate("cosine", 0.02, 0, 0.0, 4) == pytest.approx(0.02)
    mid = learning_rate("cosine", 0.02, 2, 0.0, 4)
    assert mid == pytest.approx(0.02 * (1 + MIN_LR_FRACTION) / 2)
    assert learning_rate("cosine", 0.02, 3, 1.0, 4) == pytest.approx(0.02 * MIN_LR_FRACTION)
    values = [learning_rate("cosine", 0.02, e, p, 4) for e in range(4) for p in (0, 0.5)]
    assert values == sorted(values, reverse=True)


def test_linear_decays_once_over_the_run_as_word2vec() -> None:
    assert learning_rate("linear", 0.02, 0, 0.0, 4) == pytest.approx(0.02)
    floor = 0.02 * MIN_LR_FRACTION
    assert learning_rate("linear", 0.02, 1, 0.0, 4) == pytest.approx(0.02 - (0.02 - floor) / 4)
    assert learning_rate("linear", 0.02, 3, 1.0, 4) == pytest.approx(floor)


def test_constant_is_constant() -> None:
    assert {learning_rate("constant", 0.3, e, p, 5) for e in range(5) for p in (0, 0.7, 1)} == {0.3}


def test_unknown_schedule_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown schedule"):
        learning_rate("step", 0.1, 0, 0.0, 1)  # type: ignore[arg-type]
