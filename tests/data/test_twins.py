"""Synthetic twins: degree laws, the fit to a real file, the cache, the dataset name.

The real-file cases use the first 20,000 lines of SNAP Music0601 (11,884 products), so a
fit takes seconds; the full samples are measured by benchmarks/bench_twins.py (docs/results.md).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig
from recsys.data.datasets import resolve_dataset
from recsys.data.prepare import prepare_dataset
from recsys.data.statistics import dataset_statistics
from recsys.data.synthetic.degrees import DegreeLaw
from recsys.data.synthetic.twin import TwinFit, load_or_fit, write_twin
from tests.faults.conftest import assert_one_error_line, recsys

HEAD_LINES = 20_000
# Statistics a twin must match, and how closely (relative), on the head.
MATCHED = {"degree1_share": 0.05, "seen_share": 0.2, "clustering": 0.2, "degree_max": 0.2}


@pytest.fixture(scope="module")
def head(snap_samples: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first lines of Music0601 as a pairs file of its own."""
    path = tmp_path_factory.mktemp("head") / "music_head.txt"
    with (snap_samples / "Music0601.txt").open() as lines:
        path.write_text("".join(next(lines) for _ in range(HEAD_LINES)))
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("twin-data")


@pytest.fixture(scope="module")
def fit(head: Path, data_dir: Path) -> TwinFit:
    return load_or_fit(head, "music_head", data_dir, progress=False)


def test_degree_law_reproduces_a_sample_and_extends_its_tail() -> None:
    rng = np.random.default_rng(0)
    sample = np.floor(rng.pareto(1.5, 50_000) + 1).astype(np.int64)
    law = DegreeLaw.fit(sample)
    drawn = law.sequence(sample.size)
    assert np.mean(drawn == 1) == pytest.approx(np.mean(sample == 1), abs=1e-4)
    assert (
        np.percentile(drawn, [50, 90, 99]).tolist() == np.percentile(sample, [50, 90, 99]).tolist()
    )
    assert drawn.max() == sample.max()  # the stratified top quantile is the sample's maximum
    assert 1.2 < law.tail_exponent < 1.8  # Hill's estimate of the Pareto tail (1.5)
    ten = law.sequence(10 * sample.size)  # ten times the products: the tail reaches further
    assert ten.max() > 2 * sample.max()
    assert np.mean(ten == 1) == pytest.approx(np.mean(sample == 1), abs=1e-4)
    assert DegreeLaw.from_json(law.to_json()) == law


def test_degree_law_stretched_to_a_mean_keeps_its_degree_one_share() -> None:
    law = DegreeLaw.fit(np.array([1] * 60 + [2] * 20 + [3] * 10 + [8] * 9 + [40]))
    for target in (2.5, 10.0):
        drawn = law.with_mean(target, 10_000).sequence(10_000)
        assert drawn.mean() == pytest.approx(target, rel=0.01)
        assert np.mean(drawn == 1) == pytest.approx(0.6, abs=1e-3)
    with pytest.raises(ValueError, match="not above"):
        law.with_mean(1.2, 1000)  # 60% at degree 1 and the rest at 2 already average 1.4


def test_twin_matches_the_real_file_statistics(head: Path, data_dir: Path, fit: TwinFit) -> None:
    real = dataset_statistics(
        prepare_dataset(DataConfig(dataset=str(head), data_dir=data_dir), progress=False)
    )
    twin = dataset_statistics(
        prepare_dataset(
            DataConfig(dataset=f"synthetic-like:{head}", data_dir=data_dir), progress=False
        )
    )
    assert (twin["products"], twin["pairs"]) == (real["products"], real["pairs"])
    for key, tolerance in MATCHED.items():
        assert twin[key] == pytest.approx(real[key], rel=tolerance), key
    assert fit.targets["clustering"] == pytest.approx(real["clustering"])
    # A pairs file describes no product, and neither does its twin: no cold-start slice.
    assert real["metadata_share"] == twin["metadata_share"] == 0.0
    assert real["cold_start_share"] == twin["cold_start_share"] == 0.0


@pytest.mark.parametrize("side_info", [False, True])
def test_twin_scales_and_is_byte_identical_for_a_seed(
    fit: TwinFit, side_info: bool, tmp_path: Path
) -> None:
    """A pairs file's twin (a pairs file), and the metadata twin of the same knobs."""
    assert not fit.side_info
    if side_info:  # as if the real file had described its products
        fit = dataclasses.replace(fit, targets={**fit.targets, "metadata_share": 0.5})
    suffix = ".json.gz" if side_info else ".csv.gz"
    paths = [
        write_twin(fit, tmp_path / f"{name}{suffix}", 0.5, seed, progress=False)
        for name, seed in (("a", 3), ("b", 3), ("c", 4))
    ]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    half = prepare_dataset(DataConfig(dataset=str(paths[0]), data_dir=tmp_path), progress=False)
    assert (half.n_items, half.manifest["n_pairs"]) == (
        round(0.5 * fit.preset.n_products),
        round(0.5 * fit.preset.n_pairs),
    )


def test_dataset_name_reuses_the_cached_fit_and_names_the_scale(
    head: Path, data_dir: Path, fit: TwinFit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_refit(*args: object) -> None:
        raise AssertionError("the cached fit should have been used")

    monkeypatch.setattr("recsys.data.synthetic.twin.fit_twin", no_refit)
    source = resolve_dataset(f"synthetic-like:{head}:0.5", data_dir, progress=False)
    assert (source.kind, source.scale, source.preset) == ("synthetic", 0.5, "like:music_head")
    assert source.name == "synthetic-like-music_head-x0.5"
    assert (
        source.path.name == f"pairs_synthetic-like-music_head-{fit.digest()}_scale0.5_seed0.csv.gz"
    )


def test_a_cache_for_other_bytes_is_refitted_not_used(
    head: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    first = load_or_fit(head, "music_head", data_dir, progress=False)
    cache = data_dir / "twins" / "music_head.json"
    tampered = json.loads(cache.read_text())
    tampered["sha256"] = "0" * 64  # as if fitted to another file of the same name
    cache.write_text(json.dumps(tampered))
    with caplog.at_level(logging.WARNING):
        again = load_or_fit(head, "music_head", data_dir, progress=False)
    assert "refitting" in caplog.text
    assert again.sha256 == first.sha256 == json.loads(cache.read_text())["sha256"]
    assert again.digest() == first.digest()  # the fit is deterministic
    cache.write_text("{ not json")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_or_fit(head, "music_head", data_dir, progress=False)
    assert "cannot read" in caplog.text


@pytest.mark.parametrize(
    ("suffix", "named"),
    [
        ("/no/such/file.txt", ["'/no/such/file.txt' is not a file", "synthetic-like:FILE"]),
        ("", ["'' is not a file"]),
        ("{head}:abc", ["'abc' is not a scale", ":10"]),
        ("{head}:5000", ["scale must be in (0, 1000]"]),
        ("{head}:0", ["scale must be in (0, 1000]"]),
    ],
)
def test_bad_twin_names_are_one_error_line(
    suffix: str, named: list[str], head: Path, data_dir: Path
) -> None:
    dataset = "synthetic-like:" + suffix.format(head=head)
    result = recsys("prepare", dataset, "--data-dir", data_dir, "-q")
    assert_one_error_line(result, *named)


def test_a_degree_law_of_one_high_degree_is_that_degree() -> None:
    law = DegreeLaw.fit(np.array([300]))  # a star's hub alone: above the dense grid
    assert law.floor == 300 and law.degrees[-1] == 300


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([f"hub,leaf{i}" for i in range(300)], "mean degree"),  # a star: one hub
        ([f"a{i},b{i}" for i in range(300)], "degree law"),  # every record of degree 1
    ],
    ids=["star", "matching"],
)
def test_a_graph_the_generator_cannot_imitate_is_one_error_line(
    rows: list[str], why: str, tmp_path: Path
) -> None:
    pairs = tmp_path / "odd.csv"
    pairs.write_text("source,target\n" + "".join(f"{row}\n" for row in rows))
    result = recsys("describe", f"synthetic-like:{pairs}", "--data-dir", tmp_path / "data", "-q")
    assert_one_error_line(result, f"no synthetic twin of {pairs}", why, "train on the file")
