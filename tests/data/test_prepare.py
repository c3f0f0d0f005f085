"""prepare_dataset: manifest contents, cache hits, and rebuilds on changed inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig, RelationWeights
from recsys.data import prepare as prepare_module
from recsys.data.dataset import load_prepared
from recsys.data.errors import DataError
from recsys.data.prepare import prepare_dataset
from recsys.data.summary import describe_prepared
from recsys.methods import get_method, method_names
from recsys.tracking.params import ParameterError, split_params
from tests.data.helpers import python_lines, write_lines


def chain_records(n: int = 30) -> list[dict[str, object]]:
    """Products P0..P(n-1), each also_bought with its next three: enough pairs to split."""
    return [
        {
            "asin": f"P{i:03d}",
            "title": f"product {i}",
            "related": {"also_bought": [f"P{(i + k) % n:03d}" for k in (1, 2, 3)]},
        }
        for i in range(n)
    ]


@pytest.fixture()
def source(tmp_path: Path) -> Path:
    lines = python_lines(chain_records())
    lines.insert(5, "{'asin': broken")  # line 6
    return write_lines(tmp_path / "meta_Chain.json.gz", lines)


def config_for(source: Path, tmp_path: Path, **overrides: object) -> DataConfig:
    return DataConfig(dataset=str(source), data_dir=tmp_path / "data", **overrides)


def test_prepare_builds_a_dataset_and_its_manifest(source: Path, tmp_path: Path) -> None:
    dataset = prepare_dataset(config_for(source, tmp_path), progress=False)
    m = dataset.manifest
    assert dataset.name == "meta_Chain"
    assert dataset.folder is not None and dataset.folder.parent == tmp_path / "data" / "prepared"
    assert dataset.folder.name.startswith("meta_Chain-")
    assert m["cache_hit"] is False
    assert m["cache_key"] == dataset.folder.name.removeprefix("meta_Chain-")  # runs' data key
    assert m["source"] == str(source.resolve()) and m["source_kind"] == "real"
    assert len(m["sha256"]) == 64
    assert m["detected_format"] == "2014-python-literal"
    assert (m["records_read"], m["records_kept"]) == (30, 30)
    assert (m["malformed_lines"], m["malformed_line_numbers"]) == (1, [6])
    assert m["truncated"] is False
    assert m["relation_entries"]["also_bought"] == 90
    assert (m["n_products"], m["n_pairs"]) == (30, 90)
    assert m["n_train"] + m["n_validation_positives"] == 90
    assert m["n_validation_positives"] == m["n_validation_negatives"] == 30
    assert m["n_seen"] == int(dataset.validation.seen.sum())
    assert m["study_filters"] is True and m["split_seed"] == 42
    assert m["weights"] == RelationWeights().model_dump()
    assert len(dataset.train) == m["n_train"]
    # Each parse count once: the headline ones at the top, the rest under "parse".
    assert {"records_read", "malformed", "n_pairs", "study_filters"}.isdisjoint(m["parse"])
    assert m["parse"]["lines"] == 31 and m["parse"]["n_pairs_with_metadata"] <= 90
    report = describe_prepared(dataset)
    assert "malformed lines (first: 6)" in report and str(dataset.folder) in report
    positives = dataset.validation.label == 1  # the share describe and the leaderboard give
    seen = int(dataset.validation.seen[positives].sum())
    assert f"{seen:,} positives seen ({100 * seen / positives.sum():.1f}%" in report


def test_second_call_loads_the_cache_without_parsing(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = config_for(source, tmp_path)
    first = prepare_dataset(config, progress=False)

    def no_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed again although nothing changed")

    monkeypatch.setattr("recsys.data.prepare.read_input", no_parse)
    second = prepare_dataset(config, progress=False)
    assert second.manifest["cache_hit"] is True
    assert second.folder == first.folder
    assert second.products.equals(first.products)
    assert np.array_equal(second.validation.item_b, first.validation.item_b)
    assert load_prepared(first.folder).manifest["n_pairs"] == 90  # type: ignore[arg-type]


def test_changed_setting_or_file_rebuilds(source: Path, tmp_path: Path) -> None:
    base = prepare_dataset(config_for(source, tmp_path), progress=False)
    other_seed = prepare_dataset(config_for(source, tmp_path, split_seed=7), progress=False)
    other_weights = prepare_dataset(
        config_for(source, tmp_path, weights=RelationWeights(also_bought=2.0)), progress=False
    )
    no_filters = prepare_dataset(config_for(source, tmp_path, study_filters=False), progress=False)
    folders = {d.folder for d in (base, other_seed, other_weights, no_filters)}
    assert len(folders) == 4
    assert not any(d.manifest["cache_hit"] for d in (other_seed, other_weights, no_filters))
    assert set(np.unique(other_weights.train.weight)) == {2.0}

    write_lines(source, python_lines(chain_records(31)))  # same name, new content
    changed = prepare_dataset(config_for(source, tmp_path), progress=False)
    assert changed.manifest["cache_hit"] is False
    assert changed.folder != base.folder and changed.manifest["n_pairs"] == 93


def test_unfinished_cache_folder_is_rebuilt(source: Path, tmp_path: Path) -> None:
    config = config_for(source, tmp_path)
    first = prepare_dataset(config, progress=False)
    assert first.folder is not None
    (first.folder / "manifest.json").unlink()  # as if a run died before its commit mark
    again = prepare_dataset(config, progress=False)
    assert again.manifest["cache_hit"] is False and (again.folder / "manifest.json").exists()  # type: ignore[operator]


def test_every_dataset_carries_both_protocols(source: Path, tmp_path: Path) -> None:
    prepared = prepare_dataset(config_for(source, tmp_path), progress=False)
    assert prepared.manifest["format_version"] == 4
    assert prepared.manifest["validation_protocols"] == ["study", "matched"]
    loaded = load_prepared(prepared.folder)  # type: ignore[arg-type]
    assert loaded.validation.negative_set is not None
    for protocol in ("study", "matched"):
        view = loaded.validation_for(protocol)  # type: ignore[arg-type]
        assert (view.label == 0).sum() == prepared.manifest["n_validation_negatives"]
        assert (view.label == 1).sum() == prepared.manifest["n_validation_positives"]


@pytest.mark.parametrize("method", method_names())
def test_the_removed_validation_negatives_param_is_refused(method: str) -> None:
    """Both protocols are in every dataset: the old selector is an error, not ignored."""
    config_class = get_method(method).config_class
    with pytest.raises(ParameterError, match="validation_negatives"):
        split_params({"validation_negatives": "uniform"}, config_class, method)


def test_a_truncated_prepared_table_is_rebuilt_not_used(source: Path, tmp_path: Path) -> None:
    config = config_for(source, tmp_path)
    first = prepare_dataset(config, progress=False)
    assert first.folder is not None
    table = first.folder / "train_pairs.parquet"
    table.write_bytes(table.read_bytes()[:40])  # cut off mid-file
    again = prepare_dataset(config, progress=False)
    assert again.manifest["cache_hit"] is False
    assert np.array_equal(again.train.item_a, first.train.item_a)


def test_a_data_folder_that_cannot_be_written_is_one_error_naming_it(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(dataset: object, folder: Path) -> None:
        folder.mkdir(parents=True)
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(prepare_module, "save_prepared", read_only)  # as root, bits do not bind
    config = DataConfig(dataset=str(source), data_dir=tmp_path / "data")
    with pytest.raises(DataError, match=r"cannot be written under .*data \(Permission denied\)"):
        prepare_dataset(config, progress=False)
    assert list((tmp_path / "data" / "prepared").iterdir()) == []  # no half folder left
