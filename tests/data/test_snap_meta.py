"""SNAP amazon-meta.txt: a hand-made file of four records, and the real samples' facts
(shared/data/README.md) for both SNAP files through `recsys prepare`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig
from recsys.data.formats.registry import detect_input_format
from recsys.data.formats.snap_meta import read_snap_meta
from recsys.data.prepare import prepare_dataset

RECORDS = """# Full information about Amazon Share the Love products
Total items: 4

Id:   0
ASIN: 0000000001
  discontinued product

Id:   1
ASIN: 0000000002
  title: First
  group: Book
  salesrank: 396585
  similar: 2  0000000003  0000000009
  categories: 1
   |Books[283155]|Subjects[1000]|Religion & Spirituality[22]|Christianity[12290]
  reviews: total: 1  downloaded: 1  avg rating: 5
    2000-7-28  cutomer: A2JW67OY8U6HHK  rating: 5  votes:  10  helpful:   9

Id:   2
ASIN: 0000000003
  title: Second
  group: Music
  salesrank: 7
  similar: 3  0000000002  0000000004
  categories: 0
  reviews: total: 0  downloaded: 0  avg rating: 0

Id:   3
ASIN: 0000000004
  title: Third
  group: DVD
  salesrank: 1
  similar: 1  0000000002
  categories: 1
   |[265586]|DVD[130]|Genres[404276]|Action & Adventure[163296]
  reviews: total: 3  downloaded: 3  avg rating: 4
    2001-1-1  cutomer: A  rating: 5  votes:  1  helpful:   1
"""


def write(tmp_path: Path, text: str, newline: str = "\n") -> Path:
    path = tmp_path / "amazon-meta.txt"
    path.write_bytes(text.replace("\n", newline).encode())
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_four_records_by_hand(tmp_path: Path, newline: str) -> None:
    path = write(tmp_path, RECORDS, newline)
    assert detect_input_format(path).name == "snap-amazon-meta"
    parsed = read_snap_meta(path)
    report = parsed.report
    # Record 2 lists 3 similar but names 2; record 3 announces 3 reviews and the file ends.
    assert (report.records_read, report.records_kept, report.malformed) == (4, 1, 2)
    assert report.malformed_lines == [19, 28]  # their `Id:` lines
    assert report.details["discontinued"] == 1
    asin = parsed.products["asin"].tolist()
    assert asin == ["0000000002", "0000000003", "0000000009"]
    pairs = [
        (asin[a], asin[b]) for a, b in zip(parsed.pairs.item_a, parsed.pairs.item_b, strict=True)
    ]
    assert pairs == [("0000000002", "0000000003"), ("0000000002", "0000000009")]
    assert parsed.pairs.weight.tolist() == [1.0, 1.0] and parsed.pairs.relations.tolist() == [8, 8]
    first = parsed.products.iloc[0]
    assert (first["title"], first["category_1"], first["category_2"]) == (
        "First",
        "Book",
        "Religion & Spirituality",
    )
    assert first["category_3"] == "Christianity" and first["sales_rank"] == 396585
    assert parsed.products["has_metadata"].tolist() == [True, False, False]


def test_a_complete_last_record_is_kept(tmp_path: Path) -> None:
    text = RECORDS.replace("similar: 3", "similar: 2") + "    2001-1-2  c\n    2001-1-3  c\n"
    parsed = read_snap_meta(write(tmp_path, text))
    assert parsed.report.malformed == 0 and parsed.report.records_kept == 3
    assert parsed.report.n_pairs == 4 and parsed.report.n_products_with_metadata == 3


def degrees(dataset_pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.bincount(np.concatenate(dataset_pairs))


def test_music0601_reproduces_the_readme(snap_samples: Path, tmp_path: Path) -> None:
    config = DataConfig(dataset=str(snap_samples / "Music0601.txt"), data_dir=tmp_path)
    dataset = prepare_dataset(config, progress=False)
    m = dataset.manifest
    assert (m["detected_format"], m["records_read"], m["parse"]["details"]["self_pairs"]) == (
        "pairs",
        129_640,
        0,
    )
    assert (m["n_pairs"], m["n_products"]) == (92_058, 62_306)
    positives = dataset.validation.label == 1
    item_a = np.concatenate([dataset.train.item_a, dataset.validation.item_a[positives]])
    item_b = np.concatenate([dataset.train.item_b, dataset.validation.item_b[positives]])
    degree = degrees((item_a, item_b))
    assert round(100 * float((degree == 1).mean()), 1) == 28.4
    assert (np.median(degree), degree.max()) == (2, 411)


def test_amazon_meta_head_reproduces_the_readme(snap_samples: Path, tmp_path: Path) -> None:
    config = DataConfig(dataset=str(snap_samples / "amazon-meta.head462.txt"), data_dir=tmp_path)
    dataset = prepare_dataset(config, progress=False)
    m = dataset.manifest
    details = m["parse"]["details"]
    assert (m["detected_format"], m["records_read"], m["malformed_lines"]) == (
        "snap-amazon-meta",
        462,
        0,
    )
    assert (details["discontinued"], details["records_with_similar"]) == (4, 324)
    assert (m["n_pairs"], m["n_products"]) == (1_521, 1_823)
    assert set(dataset.products["category_1"].dropna()) == {"Book", "Music", "DVD", "Video"}
