"""The matched negatives' distance from the positives' product counts: by hand, on a star
whose hub no negative can hold, and the warning preparing such a dataset prints."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig
from recsys.data.pairs import UniquePairs
from recsys.data.prepare import prepare_dataset
from recsys.data.split import multiplicity_distance, split_pairs


def ids(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int32)


def star(leaves: int) -> UniquePairs:
    """Hub 0 paired with each of the leaves 1..leaves, and nothing else."""
    leaf = np.arange(1, leaves + 1, dtype=np.int32)
    hub = np.zeros(leaves, dtype=np.int32)
    return UniquePairs(hub, leaf, np.ones(leaves, np.float32), np.ones(leaves, np.uint8))


def test_distance_by_hand() -> None:
    # Positives 0-1, 0-2: shares 0: 1/2, 1: 1/4, 2: 1/4. Negatives 1-2: 1 and 2 at 1/2.
    assert multiplicity_distance(ids(0, 0), ids(1, 2), ids(1), ids(2), 3) == pytest.approx(0.5)
    assert multiplicity_distance(ids(0, 1), ids(2, 3), ids(0, 1), ids(3, 2), 4) == 0.0


def test_a_hub_in_every_positive_is_far_from_matched() -> None:
    result = split_pairs(star(600), 601, 1 / 3, np.random.default_rng(0))
    assert result.matched_distance > 0.45  # the hub: half the positives, no negative


def test_preparing_a_star_warns_naming_the_dataset(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hub.csv"
    path.write_text("a,b\n" + "".join(f"h,p{i}\n" for i in range(300)))
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="recsys.data.prepare"):
        prepared = prepare_dataset(config, progress=False)
    assert prepared.manifest["matched_negatives_distance"] > 0.45
    (line,) = [r.getMessage() for r in caplog.records if "matched protocol" in r.getMessage()]
    assert line.startswith("hub: ") and "unreliable" in line
