"""walks_for_dataset caches walks beside the dataset; walk_config_of picks walk settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from pydantic import Field

from recsys.config import WalkConfig
from recsys.data.dataset import PreparedDataset
from recsys.graph import cache
from recsys.graph.cache import walk_cache_path, walk_config_of, walks_for_dataset
from tests.conftest import make_planted_dataset


class FlatMethodConfig(WalkConfig):
    dim: int = Field(16, ge=1)


def test_walk_config_of_extracts_walk_fields() -> None:
    config = FlatMethodConfig(dim=8, p=0.5, q=2.0, walks_per_node=3, walk_seed=9)
    walk_config = walk_config_of(config)
    assert type(walk_config) is WalkConfig
    assert walk_config == WalkConfig(p=0.5, q=2.0, walks_per_node=3, walk_seed=9)


def test_walks_cover_every_trained_item(planted_dataset: PreparedDataset) -> None:
    walks = walks_for_dataset(planted_dataset, WalkConfig(walks_per_node=2), progress=False)
    vocabulary = planted_dataset.train_vocabulary()
    assert walks.shape == (2 * int(vocabulary.sum()), 10)
    assert walks.dtype == np.int32
    assert set(np.unique(walks)) == set(np.flatnonzero(vocabulary))


def test_walks_are_cached_under_the_dataset_folder(
    planted_dataset: PreparedDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = replace(planted_dataset, folder=tmp_path)
    config = WalkConfig(walks_per_node=2, p=0.5, q=2.0, walk_seed=3)
    first = walks_for_dataset(dataset, config, progress=False)
    path = walk_cache_path(dataset, config)
    assert path is not None and path.exists()
    assert path.parent == tmp_path / "walks"
    assert "p0.5" in path.name and "q2" in path.name and "seed3" in path.name

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("walks were recomputed despite the cache")

    monkeypatch.setattr(cache, "random_walks", fail)
    np.testing.assert_array_equal(walks_for_dataset(dataset, config, progress=False), first)
    # Different walk settings do not hit that cache.
    with pytest.raises(AssertionError, match="recomputed"):
        walks_for_dataset(dataset, config.model_copy(update={"walk_seed": 4}), progress=False)


def test_walks_do_not_depend_on_workers_so_cache_key_ignores_them(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    dataset = replace(planted_dataset, folder=tmp_path)
    one = WalkConfig(walks_per_node=2, workers=1)
    two = WalkConfig(walks_per_node=2, workers=2)
    assert walk_cache_path(dataset, one) == walk_cache_path(dataset, two)
    np.testing.assert_array_equal(
        walks_for_dataset(planted_dataset, one, progress=False),
        walks_for_dataset(planted_dataset, two, progress=False),
    )


def test_no_folder_means_no_cache(planted_dataset: PreparedDataset) -> None:
    assert planted_dataset.folder is None
    assert walk_cache_path(planted_dataset, WalkConfig()) is None


def test_a_junk_or_misfit_walk_cache_is_recomputed_with_a_warning(
    planted_dataset: PreparedDataset, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = replace(planted_dataset, folder=tmp_path)
    config = WalkConfig(walks_per_node=2)
    path = walk_cache_path(dataset, config)
    assert path is not None
    expected = walks_for_dataset(planted_dataset, config, progress=False)
    path.parent.mkdir(parents=True)
    for junk in (b"not numpy at all", None):
        if junk is None:  # a readable array of the wrong shape
            np.save(path, np.zeros((3, 4), np.int32))
        else:
            path.write_bytes(junk)
        with caplog.at_level("WARNING"):
            walks = walks_for_dataset(dataset, config, progress=False)
        np.testing.assert_array_equal(walks, expected)
        assert "ignoring" in caplog.text
        caplog.clear()
    np.testing.assert_array_equal(np.load(path), expected)  # the cache was rewritten


def test_walks_of_another_dataset_with_the_same_walk_length_are_recomputed(
    planted_dataset: PreparedDataset, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another dataset's walks file copied under this one's name (the same settings, so the
    same file name and walk length, ids within this catalog) was loaded without a word:
    side_info on synthetic-small:0.002 scored AUC 0.59 instead of 0.80."""
    dataset = replace(planted_dataset, folder=tmp_path)
    config = WalkConfig(walks_per_node=2)
    path = walk_cache_path(dataset, config)
    assert path is not None
    expected = walks_for_dataset(planted_dataset, config, progress=False)
    other = make_planted_dataset(n_clusters=10)  # half the products, ids within this one's
    assert other.n_items < planted_dataset.n_items
    path.parent.mkdir(parents=True)
    np.save(path, walks_for_dataset(other, config, progress=False))
    with caplog.at_level("WARNING"):
        walks = walks_for_dataset(dataset, config, progress=False)
    assert "ignoring a walk cache that does not fit this dataset" in caplog.text
    np.testing.assert_array_equal(walks, expected)


def test_a_read_only_dataset_folder_caches_walks_in_the_user_cache(
    planted_dataset: PreparedDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared" / "prepared-x"
    dataset = replace(planted_dataset, folder=shared)
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "user-cache"))
    save = cache._save

    def read_only(walk_matrix: np.ndarray, path: Path) -> None:
        if shared in path.parents:
            raise PermissionError(13, "Read-only file system", str(path))
        save(walk_matrix, path)

    monkeypatch.setattr(cache, "_save", read_only)
    config = WalkConfig(walks_per_node=2)
    first = walks_for_dataset(dataset, config, progress=False)
    fallback = cache.fallback_cache_path(dataset, config)
    assert fallback is not None and fallback.exists()
    assert fallback.is_relative_to(tmp_path / "user-cache") and "prepared-x" in str(fallback)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("walks were recomputed despite the user cache")

    monkeypatch.setattr(cache, "random_walks", fail)
    np.testing.assert_array_equal(walks_for_dataset(dataset, config, progress=False), first)
