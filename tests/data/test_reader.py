"""Streaming, format detection, malformed lines, truncated files and unusable files."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from recsys.config import RelationWeights
from recsys.data.errors import DataError
from recsys.data.formats.amazon import MetadataFormat, detect_format, iter_records
from recsys.data.parse import parse_metadata
from tests.data.helpers import json_lines, python_lines, records_2014, records_2018, write_lines


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_detects_the_three_shapes(tmp_path: Path, suffix: str) -> None:
    py_file = write_lines(tmp_path / f"py{suffix}", python_lines(records_2014()))
    json_file = write_lines(tmp_path / f"js{suffix}", json_lines(records_2014()))
    new_file = write_lines(tmp_path / f"new{suffix}", json_lines(records_2018()))
    assert detect_format(py_file) is MetadataFormat.PYTHON_2014
    assert detect_format(json_file) is MetadataFormat.JSON_2014
    assert detect_format(new_file) is MetadataFormat.JSON_2018


def test_compression_is_sniffed_not_taken_from_the_name(tmp_path: Path) -> None:
    plain = write_lines(tmp_path / "plain.json", python_lines(records_2014()))
    misnamed = tmp_path / "really_plain.json.gz"
    misnamed.write_bytes(plain.read_bytes())
    gz_named_json = tmp_path / "really_gzip.json"
    gz_named_json.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (misnamed, gz_named_json):
        assert [r["asin"] for _, r in iter_records(path)] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("shape", ["python", "json"])
def test_2014_records_become_products_and_pairs(tmp_path: Path, shape: str) -> None:
    lines = python_lines(records_2014()) if shape == "python" else json_lines(records_2014())
    parsed = parse_metadata(write_lines(tmp_path / "m.json", lines), study_filters=False)
    products = parsed.products.set_index("asin")
    assert list(products.index) == ["A", "B", "C", "E", "D"]  # first-seen order
    assert products.loc["A", "title"] == 'Alpha\'s "best" album'
    assert products.loc["A", "brand"] is None or products["brand"].isna()["A"]  # "" -> None
    assert products.loc["B", "brand"] == "Acme"
    a = products.loc["A"]
    assert (a["category_1"], a["category_2"], a["category_3"]) == ("Pop", "Dance Pop", "Euro")
    assert a["price"] == pytest.approx(9.5) and a["sales_rank"] == 120
    assert not bool(products.loc["E", "has_metadata"]) and bool(products.loc["D", "has_metadata"])
    got = {
        (products.index[i], products.index[j]): (round(float(w), 3), int(r))
        for i, j, w, r in zip(
            parsed.pairs.item_a,
            parsed.pairs.item_b,
            parsed.pairs.weight,
            parsed.pairs.relations,
            strict=True,
        )
    }
    # A-B: also_bought both ways (1.0 + 1.0) + bought_together (1.2); B-B is a self-pair.
    assert got == {
        ("A", "B"): (3.2, 0b011),
        ("A", "C"): (1.5, 0b110),  # A also_bought C (1.0), C also_viewed A (0.5)
        ("A", "E"): (1.0, 0b010),
        ("B", "C"): (0.5, 0b100),
        ("C", "D"): (0.5, 0b100),
    }
    assert parsed.report.relation_entries["buy_after_viewing"] == 1  # counted, never paired


def test_2018_records(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.json.gz", json_lines(records_2018()))
    parsed = parse_metadata(path, study_filters=False)
    assert parsed.report.format == "2018-json"
    products = parsed.products.set_index("asin")
    a = products.loc["A"]
    assert (a["category_1"], a["category_2"]) == ("Pop", "Dance Pop")
    assert a["price"] == pytest.approx(9.5) and a["sales_rank"] == 120
    assert np.isnan(products.loc["D", "price"])  # a price range is not a price
    assert parsed.report.n_pairs == 5
    assert parsed.report.pairs_per_relation == {
        "bought_together": 0,
        "also_bought": 3,  # A-B, A-C, A-E
        "also_viewed": 3,  # A-C, B-C, C-D
    }


def test_study_filters_keep_records_with_title_and_two_also_bought(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.json", python_lines(records_2014()))
    parsed = parse_metadata(path, study_filters=True)
    # Only A (3 also_bought) and B (2 also_bought) qualify; C's also_viewed make no pair.
    assert parsed.report.records_kept == 2
    products = parsed.products.set_index("asin")
    assert set(products.index) == {"A", "B", "C", "E"}
    assert bool(products.loc["C", "has_metadata"])  # its record exists, it just makes no pair
    # A-B, A-C, A-E from A; B-C from B (B-B is a self-pair); not C-D, C is filtered out.
    assert parsed.report.n_pairs == 4


def test_untitled_record_is_filtered(tmp_path: Path) -> None:
    records = records_2014()
    records[0]["title"] = "   "
    records[1]["related"]["also_bought"] = ["A", "C"]
    path = write_lines(tmp_path / "m.json", python_lines(records))
    parsed = parse_metadata(path, study_filters=True)
    assert parsed.report.records_kept == 1
    assert parsed.report.n_pairs == 2  # B-A, B-C


def test_malformed_lines_are_skipped_and_reported(tmp_path: Path) -> None:
    lines = python_lines(records_2014())
    lines.insert(1, "{'asin': 'X', 'title': 'cut off")  # line 2
    lines.insert(3, "")  # a blank line is not malformed
    lines.insert(4, "['not', 'a', 'record']")  # line 5
    lines.append("{'title': 'no asin'}")  # line 8
    parsed = parse_metadata(write_lines(tmp_path / "m.json.gz", lines), study_filters=False)
    assert parsed.report.records_read == 4
    assert parsed.report.malformed == 3
    assert parsed.report.malformed_lines == [2, 5, 8]
    assert parsed.report.n_pairs == 5


def test_truncated_gzip_keeps_every_complete_record(amazon_samples: Path) -> None:
    parsed = parse_metadata(
        amazon_samples / "meta_Digital_Music.truncated.json.gz", study_filters=False
    )
    report = parsed.report
    assert report.truncated
    assert report.records_read == 7_419
    assert report.malformed == 0  # the cut-off record is dropped, not counted as malformed
    assert report.dropped_partial_line == 7_420
    assert report.n_pairs == 314_777


def test_truncated_tiny_gzip(tmp_path: Path) -> None:
    full = write_lines(tmp_path / "full.json.gz", python_lines(records_2014() * 50))
    data = full.read_bytes()
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(data[: len(data) - 40])
    records = [asin for _, asin in ((n, r["asin"]) for n, r in iter_records(cut))]
    assert 0 < len(records) < 200
    parsed = parse_metadata(cut, study_filters=False)
    assert parsed.report.truncated and parsed.report.records_read == len(records)


def test_plain_file_without_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("\n".join(python_lines(records_2014())))
    assert parse_metadata(path, study_filters=False).report.records_read == 4


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.json\.gz: no such file"):
        parse_metadata(tmp_path / "nope.json.gz")


def test_empty_files_are_clear_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.json.gz"
    empty.touch()
    with pytest.raises(DataError, match="empty"):
        parse_metadata(empty)
    blank = write_lines(tmp_path / "blank.json.gz", ["", "  "])
    with pytest.raises(DataError, match="no records"):
        parse_metadata(blank)


def test_not_metadata_is_a_clear_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "reviews.json", ["reviewerID,asin,overall", "x,y,5"])
    with pytest.raises(DataError, match="line 1 is neither"):
        parse_metadata(path)


def test_file_without_pairs_is_a_clear_error(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.json", python_lines([{"asin": "A", "title": "t"}]))
    with pytest.raises(DataError, match="no product pairs"):
        parse_metadata(path, study_filters=False)
    path = write_lines(tmp_path / "few.json", python_lines(records_2014()[2:]))
    with pytest.raises(DataError, match="no-study-filters"):
        parse_metadata(path, study_filters=True)


def test_relation_codes_match_the_dataset_flags() -> None:
    from recsys.data import dataset
    from recsys.data.formats import amazon_records as records

    assert 1 << records.CODE_BOUGHT_TOGETHER == dataset.RELATION_BOUGHT_TOGETHER
    assert 1 << records.CODE_ALSO_BOUGHT == dataset.RELATION_ALSO_BOUGHT
    assert 1 << records.CODE_ALSO_VIEWED == dataset.RELATION_ALSO_VIEWED


@pytest.mark.parametrize("name", ["bom.json", "bom.json.gz"])
def test_a_utf8_byte_order_mark_is_stripped_not_a_malformed_first_record(
    tmp_path: Path, name: str
) -> None:
    lines = json_lines(records_2014())
    lines[0] = "\ufeff" + lines[0]
    parsed = parse_metadata(write_lines(tmp_path / name, lines), study_filters=False)
    assert parsed.report.malformed == 0 and parsed.report.records_read == 4
    assert parsed.report.byte_order_mark
    plain = parse_metadata(write_lines(tmp_path / f"plain-{name}", lines[1:]), study_filters=False)
    assert not plain.report.byte_order_mark


def test_duplicate_asins_are_counted_and_the_first_record_wins(tmp_path: Path) -> None:
    records = records_2014()
    again = {**records[0], "title": "a later title"}
    parsed = parse_metadata(
        write_lines(tmp_path / "dup.json", json_lines([*records, again])), study_filters=False
    )
    assert parsed.report.duplicate_records == 1
    row = parsed.products.set_index("asin").loc[records[0]["asin"]]
    assert row["title"] == records[0]["title"]


def test_pairs_only_in_relations_weighted_zero_are_dropped_and_counted(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.json", python_lines(records_2014()))
    weights = RelationWeights(also_viewed=0)
    parsed = parse_metadata(path, weights=weights, study_filters=False)
    asin = parsed.products["asin"].tolist()
    assert asin == ["A", "B", "C", "E"]  # D's only pair was also_viewed
    pairs = parsed.pairs
    got = {
        (asin[a], asin[b]): round(float(w), 3)
        for a, b, w in zip(pairs.item_a, pairs.item_b, pairs.weight, strict=True)
    }
    assert got == {("A", "B"): 3.2, ("A", "C"): 1.0, ("A", "E"): 1.0}  # B-C, C-D gone
    assert parsed.report.details == {"zero_weight_pairs": 2}
    nothing = RelationWeights(bought_together=0, also_bought=0, also_viewed=0)
    with pytest.raises(DataError, match=r"m\.json: no product pairs \(every pair is only in"):
        parse_metadata(path, weights=nothing, study_filters=False)


def test_a_reviews_file_is_named_as_such(tmp_path: Path) -> None:
    reviews = [
        {"reviewerID": f"A{i}", "asin": f"B{i:09d}", "overall": 5.0, "reviewText": "ok"}
        for i in range(20)
    ]
    path = write_lines(tmp_path / "reviews.json", json_lines(reviews))
    with pytest.raises(DataError, match=r"is an Amazon reviews file .*\(meta_<Category>"):
        detect_format(path)
