"""Too few validation positives for AUCs to tell methods apart: the expected interval by
hand, and the warning preparing such a dataset prints (built or from the cache), beside
the matched-negatives warning."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from recsys.config import DataConfig
from recsys.data import prepare
from recsys.data.prepare import prepare_dataset
from recsys.data.split import FEW_POSITIVES_WARNING, auc_half_interval


def test_half_interval_by_hand() -> None:
    # AUC 0.5, one positive and one negative: variance 0.5 * 0.5 / 1, half-width 1.96 * 0.5.
    assert auc_half_interval(0.5, 1, 1) == pytest.approx(0.98)
    # The threshold's reason: ±0.05 at AUC 0.8 with FEW_POSITIVES_WARNING positives.
    n = FEW_POSITIVES_WARNING
    assert auc_half_interval(0.8, n, n) == pytest.approx(0.05, abs=0.001)
    assert auc_half_interval(0.8, 4 * n, 4 * n) < auc_half_interval(0.8, n, n) / 1.9


def _few_positive_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "validation positives" in r.getMessage()]


def test_preparing_two_validation_positives_warns_with_the_width(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("".join(f"p{2 * i},p{2 * i + 1}\n" for i in range(6)))  # 6 disjoint pairs
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="recsys.data.prepare"):
        prepared = prepare_dataset(config, progress=False)
        prepare_dataset(config, progress=False)  # from the cache: said again
    assert prepared.manifest["n_validation_positives"] == 2
    built, cached = _few_positive_messages(caplog)
    assert built == cached
    assert built.startswith(
        f"tiny: only 2 validation positives (fewer than {FEW_POSITIVES_WARNING})"
    )
    assert "interval is about ±0.50 at AUC 0.8" in built
    assert "-P validation_fraction" in built and "\n" not in built


def test_enough_validation_positives_say_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ring.csv"
    n = 600  # a ring with chords: 1,200 pairs, 400 held out
    path.write_text("".join(f"p{i},p{(i + k) % n}\n" for i in range(n) for k in (1, 2)))
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="recsys.data.prepare"):
        prepared = prepare_dataset(config, progress=False)
    assert prepared.manifest["n_validation_positives"] >= FEW_POSITIVES_WARNING
    assert _few_positive_messages(caplog) == []


def test_both_paths_say_every_warning_in_one_call(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("".join(f"p{2 * i},p{2 * i + 1}\n" for i in range(6)))
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    warn_about = prepare._warn_about
    warned: list[str] = []
    monkeypatch.setattr(prepare, "_warn_about", lambda dataset: warned.append(dataset.name))
    prepared = prepare_dataset(config, progress=False)
    assert prepare_dataset(config, progress=False).manifest["cache_hit"]
    assert warned == ["tiny", "tiny"]  # built, then from the cache
    hub = {**prepared.manifest, "matched_negatives_distance": 0.9}
    with caplog.at_level(logging.WARNING, logger="recsys.data.prepare"):
        warn_about(dataclasses.replace(prepared, manifest=hub))
    unmatched, few = (record.getMessage() for record in caplog.records)
    assert "matched protocol is unreliable" in unmatched
    assert "only 2 validation positives" in few
