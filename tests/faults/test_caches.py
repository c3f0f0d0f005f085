"""Broken or read-only caches: training goes on, the cache is rebuilt, nothing is lost.

Before issue 16 a truncated prepared table or a junk walks file was a raw traceback
("This file contains pickled (object) data"), and a read-only data folder (a team's
shared one) could not train walk methods at all, since walks are cached beside it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest

from recsys.config import DataConfig, WalkConfig
from recsys.data import statistics
from recsys.data.dataset import load_prepared
from recsys.data.prepare import prepare_dataset
from recsys.graph import cache
from recsys.graph.cache import walk_cache_path
from tests.faults.conftest import FAST_WALKS, TINY, recsys, train_args

WALKS = WalkConfig(walks_per_node=2, walk_length=5)  # what FAST_WALKS asks for


def prepared_folder(data_dir: Path) -> Path:
    folder = prepare_dataset(DataConfig(dataset=TINY, data_dir=data_dir), progress=False).folder
    assert folder is not None
    return Path(folder)


def finished(result_output: str) -> str:
    run_id = result_output.strip().splitlines()[-1]
    assert mlflow.get_run(run_id).info.status == "FINISHED"
    return run_id


def test_a_truncated_prepared_table_is_rebuilt_with_a_warning(
    store: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = prepared_folder(data_dir)
    table = folder / "train_pairs.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    with caplog.at_level("WARNING"):
        result = recsys(*train_args("popularity", store, data_dir))
    assert result.exit_code == 0, result.output
    finished(result.output)
    assert f"prepared cache {folder} cannot be read" in caplog.text
    assert len(load_prepared(folder).train) > 0  # rebuilt in place: usable again


def test_a_table_of_another_split_is_rebuilt_not_reused(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid Parquet table of the same size from another prepared folder (another split
    seed: files copied by hand, a sync tool) was read without a word: every run scored
    its training pairs as held out. Each table's sha256 in the manifest refuses it."""
    folder = prepared_folder(data_dir)
    original = load_prepared(folder).validation
    other = prepare_dataset(
        DataConfig(dataset=TINY, data_dir=data_dir, split_seed=7), progress=False
    ).folder
    assert other is not None and other != folder
    (folder / "val_pairs.parquet").write_bytes((Path(other) / "val_pairs.parquet").read_bytes())
    with caplog.at_level("WARNING"):
        again = prepare_dataset(DataConfig(dataset=TINY, data_dir=data_dir), progress=False)
    assert f"prepared cache {folder} cannot be read (val_pairs.parquet is not" in caplog.text
    assert again.manifest["cache_hit"] is False  # rebuilt
    np.testing.assert_array_equal(again.validation.item_a, original.item_a)
    assert load_prepared(folder).manifest == {
        k: v for k, v in again.manifest.items() if k != "cache_hit"
    } | {"name": again.name}


def test_a_junk_walks_file_is_recomputed_with_a_warning(
    store: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = walk_cache_path(load_prepared(prepared_folder(data_dir)), WALKS)
    assert path is not None
    path.parent.mkdir(parents=True)
    np.save(path, np.array([{"not": "walks"}], dtype=object), allow_pickle=True)
    with caplog.at_level("WARNING"):
        result = recsys(*train_args("skipgram", store, data_dir, *FAST_WALKS))
    assert result.exit_code == 0, result.output
    finished(result.output)
    assert f"ignoring unreadable walk cache {path}" in caplog.text
    walk_matrix = np.load(path)  # rewritten with the real walks
    assert walk_matrix.dtype == np.int32 and walk_matrix.shape[1] == WALKS.walk_length


@pytest.fixture()
def read_only_data(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``data_dir`` without write permission (restored afterwards, so tmp_path can go).

    Permission bits do not bind root (CI containers often run as root): there the walk
    cache's writes under ``data_dir`` fail as a read-only file system would make them.
    """
    prepared_folder(data_dir)
    folders = [data_dir, *(p for p in data_dir.rglob("*") if p.is_dir())]
    for folder in folders:
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.geteuid() == 0:
        save, save_statistics = cache._save, statistics._save

        def read_only_save(walk_matrix: np.ndarray, path: Path) -> None:
            if path.is_relative_to(data_dir):
                raise OSError(30, "Read-only file system", str(path))
            save(walk_matrix, path)

        def read_only_statistics(text: str, path: Path) -> None:
            if path.is_relative_to(data_dir):
                raise OSError(30, "Read-only file system", str(path))
            save_statistics(text, path)

        monkeypatch.setattr(cache, "_save", read_only_save)
        monkeypatch.setattr(statistics, "_save", read_only_statistics)
    try:
        yield data_dir
    finally:
        for folder in folders:
            folder.chmod(stat.S_IRWXU)


def test_a_read_only_data_dir_trains_with_walks_in_the_user_cache(
    store: str, read_only_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(tmp_path / "user-cache"))
    before = sorted(p.relative_to(read_only_data) for p in read_only_data.rglob("*"))
    result = recsys(*train_args("skipgram", store, read_only_data, *FAST_WALKS))
    assert result.exit_code == 0, result.output
    finished(result.output)
    assert sorted(p.relative_to(read_only_data) for p in read_only_data.rglob("*")) == before
    (walks,) = (tmp_path / "user-cache" / "walks").rglob("*.npy")
    assert walks.name == f"{cache.walk_cache_key(WALKS)}.npy"
