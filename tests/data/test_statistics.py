"""Dataset statistics on a graph checked by hand, against networkx, and on a real sample."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.config import DataConfig
from recsys.data import statistics as statistics_module
from recsys.data.dataset import RELATION_ALSO_BOUGHT, PairTable, PreparedDataset, ValidationPairs
from recsys.data.prepare import prepare_dataset
from recsys.data.statistics import (
    STATISTICS_FILE,
    adjacency,
    dataset_statistics,
    format_statistics,
    gini,
    local_clustering,
    stored_statistics,
)


def triangle_with_pendant() -> PreparedDataset:
    """Products 0-1-2 form a triangle, 3 hangs off 2.

    Training pairs (0,1), (0,2); validation positives (1,2) (seen) and (2,3) (unseen: 3
    has no training pair, but metadata, so cold start), one negative (0,3). Product 0 has
    no record of its own; categories Music, Music, Books, none.
    """
    pairs = np.array([[0, 1], [0, 2]], dtype=np.int32)
    val = np.array([[1, 2], [2, 3], [0, 3]], dtype=np.int32)
    products = pd.DataFrame(
        {
            "item_id": np.arange(4, dtype=np.int32),
            "asin": ["a", "b", "c", "d"],
            "category_1": ["Music", "Music", "Books", None],
            "has_metadata": [False, True, True, True],
        }
    )
    return PreparedDataset(
        name="triangle",
        products=products,
        train=PairTable(
            item_a=pairs[:, 0],
            item_b=pairs[:, 1],
            weight=np.ones(2, dtype=np.float32),
            relations=np.full(2, RELATION_ALSO_BOUGHT, dtype=np.uint8),
        ),
        validation=ValidationPairs(
            item_a=val[:, 0],
            item_b=val[:, 1],
            label=np.array([1, 1, 0], dtype=np.int8),
            seen=np.array([True, False, False]),
        ),
    )


def test_triangle_with_pendant_by_hand() -> None:
    stats = dataset_statistics(triangle_with_pendant())
    # Whole graph degrees 2, 2, 3, 1; training graph 2, 1, 1 (product 3 has none).
    assert stats["products"] == 4
    assert stats["train_products"] == 3
    assert (stats["train_pairs"], stats["validation_positives"], stats["pairs"]) == (2, 2, 4)
    assert stats["degree_median"] == 2 and stats["degree_max"] == 3
    assert stats["degree1_share"] == 0.25
    # Gini of 1, 2, 2, 3: sum_ij |x_i - x_j| = 12 over 2 * 4^2 * mean 2 = 64.
    assert stats["degree_gini"] == pytest.approx(12 / 64)
    assert stats["train_degree_max"] == 2
    assert stats["train_degree1_share"] == pytest.approx(2 / 3)
    assert stats["metadata_share"] == 0.75
    assert stats["seen_share"] == 0.5
    assert stats["cold_start_share"] == 0.5
    # Local clustering 1, 1, 1/3 (one triangle of three neighbour pairs), 0 (degree 1).
    assert stats["clustering"] == pytest.approx((1 + 1 + 1 / 3 + 0) / 4)
    assert stats["clustering_sampled_nodes"] == 0
    # (0,1) Music-Music; (0,2), (1,2) differ; (2,3) has no category on one side.
    assert stats["same_category_share"] == pytest.approx(1 / 3)


def test_clustering_above_the_limit_is_a_seeded_sample_of_the_same_coefficients() -> None:
    dataset = triangle_with_pendant()
    sampled = dataset_statistics(dataset, max_clustering_nodes=2, seed=3)
    assert sampled["clustering_sampled_nodes"] == 2
    assert sampled == dataset_statistics(dataset, max_clustering_nodes=2, seed=3)
    # The mean of two of the coefficients 1, 1, 1/3, 0.
    possible = {(x + y) / 2 for x in (1, 1 / 3, 0) for y in (1, 1 / 3, 0)}
    assert any(math.isclose(sampled["clustering"], p) for p in possible)


def test_no_category_information_gives_nan() -> None:
    dataset = triangle_with_pendant()
    dataset.products["category_1"] = None
    assert math.isnan(dataset_statistics(dataset)["same_category_share"])
    assert "n/a" in format_statistics(dataset_statistics(dataset))


def test_gini_extremes() -> None:
    assert gini(np.array([3, 3, 3])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 8])) == pytest.approx(3 / 4)  # (n - 1) / n


def test_local_clustering_matches_networkx_on_a_random_graph() -> None:
    nx = pytest.importorskip("networkx")  # installed with torch, not a dependency of ours
    rng = np.random.default_rng(0)
    graph = nx.gnm_random_graph(300, 2000, seed=1)
    edges = np.array(graph.edges(), dtype=np.int32)
    matrix = adjacency(edges[:, 0], edges[:, 1], 300)
    nodes = np.sort(rng.choice(300, 50, replace=False))
    expected = nx.clustering(graph)
    got = local_clustering(matrix, nodes)
    np.testing.assert_allclose(got, [expected[int(n)] for n in nodes])
    assert local_clustering(matrix, np.arange(300)).mean() == pytest.approx(
        nx.average_clustering(graph)
    )


def test_music0601_reproduces_the_readme_facts(snap_samples: Path, tmp_path: Path) -> None:
    config = DataConfig(dataset=str(snap_samples / "Music0601.txt"), data_dir=tmp_path)
    stats = dataset_statistics(prepare_dataset(config, progress=False))
    # ../shared/data/README.md: 92,058 pairs over 62,306 products; 28.4% of degree 1,
    # median degree 2, max 411.
    assert (stats["products"], stats["pairs"]) == (62_306, 92_058)
    assert stats["degree1_share"] == pytest.approx(0.284, abs=5e-4)
    assert (stats["degree_median"], stats["degree_max"]) == (2, 411)
    assert stats["train_pairs"] + stats["validation_positives"] == 92_058
    assert stats["clustering_sampled_nodes"] == 20_000
    assert 0.2 < stats["clustering"] < 0.4
    assert stats["metadata_share"] == 0.0  # an edge list says nothing about products
    assert math.isnan(stats["same_category_share"])
    text = format_statistics(stats)
    assert "28.4%" in text and "62,306" in text


def _in_folder(folder: Path, prepared_at: str = "2026-01-01T00:00:00+00:00") -> PreparedDataset:
    return dataclasses.replace(
        triangle_with_pendant(), folder=folder, manifest={"prepared_at": prepared_at}
    )


def _refuse_to_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    def computed(dataset: PreparedDataset) -> None:
        raise AssertionError("statistics computed again")

    monkeypatch.setattr(statistics_module, "dataset_statistics", computed)


def test_stored_statistics_are_computed_once_per_prepared_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = _in_folder(tmp_path)
    expected = dataset_statistics(dataset)
    first = stored_statistics(dataset)
    assert (tmp_path / STATISTICS_FILE).exists()
    _refuse_to_compute(monkeypatch)
    second = stored_statistics(_in_folder(tmp_path))  # another load of the same folder
    for got in (first, second):
        assert got.keys() == expected.keys()
        for key, value in expected.items():  # NaN (same_category_share here) stays NaN
            assert got[key] == value or (math.isnan(got[key]) and math.isnan(value)), key


@pytest.mark.parametrize(
    "stored",
    [
        "{not json",
        json.dumps({"statistics": {"products": 1}}),
        json.dumps({"key": {"version": -1}, "statistics": {"products": 1}}),
    ],
    ids=["junk", "no key", "another version"],
)
def test_stored_statistics_that_do_not_match_are_recomputed(tmp_path: Path, stored: str) -> None:
    (tmp_path / STATISTICS_FILE).write_text(stored)
    dataset = _in_folder(tmp_path)
    assert stored_statistics(dataset)["products"] == 4
    assert json.loads((tmp_path / STATISTICS_FILE).read_text())["statistics"]["products"] == 4


def test_a_rebuilt_folder_does_not_reuse_the_former_statistics(tmp_path: Path) -> None:
    stored_statistics(_in_folder(tmp_path, prepared_at="2026-01-01T00:00:00+00:00"))
    path = tmp_path / STATISTICS_FILE
    written = json.loads(path.read_text())
    written["statistics"]["products"] = 999  # what the former folder's data said
    path.write_text(json.dumps(written))
    assert stored_statistics(_in_folder(tmp_path))["products"] == 999  # same folder: reused
    rebuilt = _in_folder(tmp_path, prepared_at="2026-02-01T00:00:00+00:00")
    assert stored_statistics(rebuilt)["products"] == 4


def test_stored_statistics_without_a_writable_folder_are_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stored_statistics(triangle_with_pendant())["products"] == 4  # no folder at all

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", refuse)  # a read-only data folder
    assert stored_statistics(_in_folder(tmp_path))["products"] == 4
    assert list(tmp_path.iterdir()) == []  # nothing left behind
