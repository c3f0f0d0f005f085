"""The parser reproduces the facts measured on the real Amazon samples (shared/data/README)."""

from __future__ import annotations

import ast
import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from recsys.data.formats.amazon import MetadataFormat, detect_format, iter_records
from recsys.data.parse import ParsedMetadata, parse_metadata
from recsys.data.pyliteral import parse_python_literal

MUSIC = "meta_Digital_Music.json.gz"
HEAD = "metadata.head11053.json.gz"

MUSIC_ENTRIES = {
    "also_bought": 319_267,
    "bought_together": 6_908,
    "also_viewed": 5_093,
    "buy_after_viewing": 21_179,
}
HEAD_ENTRIES = {"also_bought": 150_970, "also_viewed": 19_209, "bought_together": 1_456}


@pytest.fixture(scope="module")
def music(amazon_samples: Path) -> ParsedMetadata:
    return parse_metadata(amazon_samples / MUSIC, study_filters=False, workers=1)


@pytest.fixture(scope="module")
def music_filtered(amazon_samples: Path) -> ParsedMetadata:
    return parse_metadata(amazon_samples / MUSIC, study_filters=True, workers=1)


@pytest.fixture(scope="module")
def head(amazon_samples: Path) -> ParsedMetadata:
    return parse_metadata(amazon_samples / HEAD, study_filters=False, workers=1)


def products_in_pairs_with_records(parsed: ParsedMetadata) -> tuple[int, int]:
    """(pairs whose two products have a record, products in those pairs)."""
    has_meta = parsed.products["has_metadata"].to_numpy(bool)
    both = has_meta[parsed.pairs.item_a] & has_meta[parsed.pairs.item_b]
    items = np.union1d(parsed.pairs.item_a[both], parsed.pairs.item_b[both])
    return int(both.sum()), int(items.size)


def test_formats_are_detected_from_content(amazon_samples: Path) -> None:
    assert detect_format(amazon_samples / MUSIC) is MetadataFormat.PYTHON_2014
    assert detect_format(amazon_samples / HEAD) is MetadataFormat.JSON_2014


def test_digital_music_facts(music: ParsedMetadata) -> None:
    report = music.report
    assert report.format == "2014-python-literal"
    assert report.records_read == 7_419
    assert report.records_kept == 7_419
    assert report.malformed == 0
    assert not report.truncated
    assert report.relation_entries == MUSIC_ENTRIES
    assert (report.n_pairs, report.n_products) == (314_777, 63_746)
    assert len(music.pairs) == 314_777
    assert len(music.products) == 63_746
    assert products_in_pairs_with_records(music) == (36_640, 5_436)
    assert report.n_pairs_with_metadata == 36_640


def test_digital_music_facts_with_study_filters(music_filtered: ParsedMetadata) -> None:
    report = music_filtered.report
    assert report.records_read == 7_419
    assert report.records_kept == 5_805
    assert (report.n_pairs, report.n_products) == (305_842, 60_430)
    assert report.relation_entries == MUSIC_ENTRIES  # counted over every record read


def test_brand_field_count(amazon_samples: Path) -> None:
    music = [record for _, record in iter_records(amazon_samples / MUSIC)]
    assert len(music) == 7_419
    assert sum("brand" in record for record in music) == 1_861
    head = [record for _, record in iter_records(amazon_samples / HEAD)]
    assert sum("brand" in record for record in head) == 127


def test_all_category_head_facts(head: ParsedMetadata, amazon_samples: Path) -> None:
    report = head.report
    assert report.format == "2014-json"
    assert report.records_read == 11_053
    entries = {name: report.relation_entries[name] for name in HEAD_ENTRIES}
    assert entries == HEAD_ENTRIES
    assert (report.n_pairs, report.n_products) == (163_157, 95_087)
    assert products_in_pairs_with_records(head)[0] == 8_499
    roots = Counter(
        record["categories"][0][0]
        for _, record in iter_records(amazon_samples / HEAD)
        if record.get("categories")
    )
    assert roots["Books"] == 10_536


def test_pairs_are_unique_undirected_and_weighted(music: ParsedMetadata) -> None:
    pairs = music.pairs
    assert np.all(pairs.item_a < pairs.item_b)
    keys = pairs.item_a.astype(np.int64) * len(music.products) + pairs.item_b
    assert np.unique(keys).size == keys.size
    # Every weight is a sum of the study's relation weights (1.2, 1.0, 0.5), at least one.
    assert pairs.weight.min() >= 0.5
    assert np.all(pairs.relations > 0) and np.all(pairs.relations < 8)
    # Every product is in a pair, and item_id is the row number.
    in_pair = np.zeros(len(music.products), bool)
    in_pair[pairs.item_a] = in_pair[pairs.item_b] = True
    assert in_pair.all()
    assert np.array_equal(music.products["item_id"], np.arange(len(music.products)))
    assert music.products["asin"].is_monotonic_increasing  # item ids follow the asins


def test_products_carry_the_first_records_fields(music: ParsedMetadata) -> None:
    products = music.products.set_index("asin")
    first = products.loc["5555991584"]  # the file's first record
    assert first["title"] == "Memory of Trees"
    assert first["price"] == pytest.approx(9.49)
    assert first["sales_rank"] == 939_190
    # categories [['CDs & Vinyl', 'New Age', 'Celtic New Age'], ...]: levels below the root
    assert (first["category_1"], first["category_2"]) == ("New Age", "Celtic New Age")
    assert first["category_3"] is None or first["category_3"] != first["category_3"]
    assert bool(first["has_metadata"])
    referenced = products.loc["B000002LRT"]  # only listed in also_bought
    assert not bool(referenced["has_metadata"])
    # asins are kept as written: some start with digits, none is lowercased
    assert (products.index.str.upper() == products.index).all()


def test_music_brands_empty_string_is_none(music: ParsedMetadata) -> None:
    brands = music.products["brand"]
    assert not (brands == "").any()
    assert brands.notna().sum() > 0


def test_fast_python_literal_parser_equals_literal_eval(amazon_samples: Path) -> None:
    with gzip.open(amazon_samples / MUSIC, "rt", encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            assert parse_python_literal(line) == ast.literal_eval(line), f"line {number}"


def test_worker_processes_give_identical_results(
    amazon_samples: Path, music: ParsedMetadata, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("recsys.data.parse.PARALLEL_MIN_BYTES", 0)
    parallel = parse_metadata(
        amazon_samples / MUSIC, study_filters=False, workers=2, block_bytes=1 << 18
    )
    assert parallel.report.workers == 2
    assert parallel.products.equals(music.products)
    for name in ("item_a", "item_b", "weight", "relations"):
        assert np.array_equal(getattr(parallel.pairs, name), getattr(music.pairs, name))
