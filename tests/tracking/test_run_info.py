"""Run-context facts: variant, source, checksum, pair count, manifest params, peak memory."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig, StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.models.node2vec import Node2VecConfig
from recsys.models.side_info import SideInfoConfig
from recsys.models.skipgram import SkipGramConfig
from recsys.tracking.names import SOURCE_REAL, SOURCE_SYNTHETIC, experiment_name, run_name
from recsys.tracking.run_info import (
    PeakMemory,
    data_key,
    dataset_checksum,
    dataset_source,
    git_commit,
    manifest_params,
    manifest_params_beside,
    n_positive_pairs,
    run_settings,
    settings_in_variant,
    settings_of,
    variant_of,
)


class Labels(StrictModel):
    labels: str = "binary"


def test_names_of_runs_and_experiments() -> None:
    assert run_name("mf", "binary", "electronics") == "mf-binary on electronics"
    assert run_name("skipgram", "", "/data/raw/meta_Books.json.gz") == "skipgram on meta_Books"
    assert experiment_name("synthetic-small") == "recsys-synthetic-small"
    assert experiment_name("samples/metadata.head11053.json") == "recsys-metadata.head11053"


def test_variant_only_for_methods_that_have_one() -> None:
    assert variant_of("mf", Labels(labels="continuous")) == "continuous"
    assert variant_of("skipgram", Labels()) == ""
    study_scoring = SkipGramConfig(pair_score="center")
    assert variant_of("skipgram", study_scoring) == "center"
    assert variant_of("skipgram", SkipGramConfig()) == ""
    assert variant_of("side_info", SideInfoConfig(weighting="learned", pair_score="center")) == (
        "learned-center"
    )


def test_a_variant_says_the_settings_it_was_made_from() -> None:
    """The leaderboard leaves out of a label's settings what its variant shows."""
    configs = {
        "side_info": SideInfoConfig(weighting="learned", pair_score="center", dim=64),
        "skipgram": SkipGramConfig(pair_score="center", degree_prior=True, dim=64),
    }
    for method, config in configs.items():
        said = settings_in_variant(method, variant_of(method, config))
        unsaid = set(settings_of(config).split(", ")) - said
        assert unsaid == {"dim=64"}, method
    assert settings_in_variant("skipgram", "") == set()


def test_a_run_away_from_the_default_ranking_queries_says_so() -> None:
    """The data key is the same whatever ranking_queries is: a leaderboard row of a
    50-query run must say why its ranking intervals are wide."""
    default = DataConfig(dataset="x")
    assert run_settings(SkipGramConfig(dim=64), default) == "dim=64"
    few = DataConfig(dataset="x", ranking_queries=50)
    assert run_settings(SkipGramConfig(dim=64), few) == "dim=64, ranking_queries=50"
    assert run_settings(SkipGramConfig(), few) == "ranking_queries=50"


def test_source_prefers_the_manifest_kind() -> None:
    assert dataset_source("x.json", {"source_kind": "synthetic"}) == SOURCE_SYNTHETIC
    assert dataset_source("synthetic-small", {}) == SOURCE_SYNTHETIC
    assert dataset_source("electronics", {"source_kind": "real"}) == SOURCE_REAL
    assert dataset_source("planted", {"source": "planted"}) == SOURCE_SYNTHETIC
    assert dataset_source("file.json.gz", {"source": "/data/file.json.gz"}) == SOURCE_REAL


def test_checksum_and_pairs_come_from_the_manifest_when_it_has_them(
    planted_dataset: PreparedDataset,
) -> None:
    fallback = dataset_checksum(planted_dataset)
    assert fallback.startswith("prepared:") and len(fallback) == len("prepared:") + 64
    assert dataset_checksum(planted_dataset) == fallback  # deterministic
    positives = int(np.count_nonzero(planted_dataset.validation.label))
    assert n_positive_pairs(planted_dataset) == len(planted_dataset.train) + positives
    planted_dataset.manifest.update({"sha256": "ab" * 32, "n_pairs": 1234})
    assert dataset_checksum(planted_dataset) == "ab" * 32
    assert n_positive_pairs(planted_dataset) == 1234


def test_the_data_key_is_the_recorded_cache_key_else_the_folder_suffix_else_the_checksum(
    planted_dataset: PreparedDataset, tmp_path: Path
) -> None:
    assert data_key(planted_dataset) == dataset_checksum(planted_dataset)  # no folder, no key
    in_folder = dataclasses.replace(planted_dataset, folder=tmp_path / "planted-0123456789ab")
    assert data_key(in_folder) == "0123456789ab"  # prepared before the manifest kept it
    recorded = dataclasses.replace(in_folder, manifest={**in_folder.manifest, "cache_key": "k"})
    assert data_key(recorded) == "k"  # a folder renamed by hand keeps its key


def test_settings_name_the_preset_then_what_differs_from_it_leaving_out_operational_ones() -> None:
    assert settings_of(SkipGramConfig()) == ""
    assert settings_of(SkipGramConfig(threads=2, seed=7, progress=False)) == ""
    assert settings_of(SkipGramConfig(preset="study")) == "preset=study"
    explicit = SkipGramConfig(preset="study", lr=0.002, epochs=1, reduced_window=True)
    assert settings_of(explicit) == "preset=study, epochs=1, lr=0.002, reduced_window=true"
    assert settings_of(SideInfoConfig(weighting="learned", dim=64)) == "dim=64, weighting=learned"
    assert settings_of(Node2VecConfig(p=0.25)) == "p=0.25"  # node2vec's own default is 0.5


def test_manifest_params_keep_scalars_and_flatten_mappings() -> None:
    manifest = {
        "n_pairs": 10,
        "truncated": True,
        "malformed_lines": 2,
        "malformed_line_numbers": [3, 9],
        "synthetic": {"preset": "small", "scale": 0.01},
        "note": "x" * 300,
    }
    assert manifest_params(manifest) == {
        "data.n_pairs": 10,
        "data.truncated": True,
        "data.malformed_lines": 2,
        "data.synthetic.preset": "small",
        "data.synthetic.scale": 0.01,
    }


def test_manifest_params_leave_out_what_the_config_params_say() -> None:
    """data.split_seed beside split_seed, data.weights.also_bought beside also_bought, the
    path again as data.dataset / data.source / data.parse.source: one param each."""
    config = {"dataset": "/x/pairs.csv", "split_seed": 42, "also_bought": 1.0}
    manifest = {
        "dataset": "/x/pairs.csv",
        "source": "/x/pairs.csv",
        "parse": {"source": "/x/pairs.csv", "lines": 1491},
        "split_seed": 42,
        "weights": {"also_bought": 1.0, "also_viewed": 0.5},
        "n_pairs": 42,  # a count that happens to equal a setting is no repeat of it
    }
    assert manifest_params_beside(manifest, config) == {
        "data.parse.lines": 1491,
        "data.weights.also_viewed": 0.5,
        "data.n_pairs": 42,
    }
    assert manifest_params_beside({"split_seed": 7}, config) == {"data.split_seed": 7}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM reset is Linux-only")
def test_peak_memory_window_sees_an_allocation_made_inside_it() -> None:
    memory = PeakMemory()
    memory.start()
    assert memory.source == "vmhwm"
    before = memory.peak_mb()
    block = np.ones(200 * 1024 * 1024 // 8)  # 200 MiB, touched
    assert memory.peak_mb() > before + 150
    del block
    memory.start()  # a new window forgets the old peak
    assert memory.peak_mb() < before + 100


def test_git_commit_of_this_checkout_or_unknown(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"
    commit = git_commit()
    assert commit == "unknown" or len(commit) == 40
