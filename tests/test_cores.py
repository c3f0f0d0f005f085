"""'0 = every core' means the same for parsing, walks and gensim."""

from __future__ import annotations

import pytest

from recsys.cores import available_cores, resolve_workers


def test_zero_means_every_available_core_and_caps_apply() -> None:
    assert resolve_workers(0) == available_cores() >= 1
    assert resolve_workers(3) == 3
    assert resolve_workers(0, cap=1) == 1
    assert resolve_workers(64, cap=2) == 2


def test_negative_workers_are_refused_with_the_rule() -> None:
    with pytest.raises(ValueError, match="0 = every core"):
        resolve_workers(-1)
