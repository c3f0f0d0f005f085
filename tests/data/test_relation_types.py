"""Relation fields of the wrong type (a string of asins, ``related`` a list): named with
their file, line and field, never only counted as malformed."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from recsys.config import DataConfig
from recsys.data.errors import DataError
from recsys.data.parse import parse_metadata
from recsys.data.prepare import prepare_dataset
from recsys.data.summary import describe_prepared
from tests.data.helpers import json_lines, python_lines, write_lines


def _ring(n: int) -> list[dict[str, Any]]:
    """Records 0..n-1, each also_bought with the next three (a ring)."""
    return [
        {
            "asin": f"B{i:03d}",
            "title": f"t{i}",
            "related": {"also_bought": [f"B{(i + k) % n:03d}" for k in (1, 2, 3)]},
        }
        for i in range(n)
    ]


WRONG = {
    "2018 also_buy a string": (
        json_lines([{"asin": f"B{i}", "title": "t", "also_buy": "B1,B2"} for i in range(4)]),
        r"line 2: also_buy is a str \('B1,B2'\), expected a list of asins",
    ),
    "2014 related a list": (
        python_lines([{"asin": f"B{i}", "title": "t", "related": ["B1", "B2"]} for i in range(4)]),
        r"line 2: related is a list \(\['B1', 'B2'\]\), expected a dict of relation lists",
    ),
    "2014 also_bought a string": (
        json_lines([{"asin": f"B{i}", "related": {"also_bought": "B1,B2"}} for i in range(4)]),
        r"line 2: related\.also_bought is a str \('B1,B2'\), expected a list of asins",
    ),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_every_record_of_the_wrong_type_is_one_error_naming_line_and_field(
    tmp_path: Path, case: str
) -> None:
    lines, reason = WRONG[case]
    path = write_lines(tmp_path / "meta.json", ["", *lines])  # line 1 blank: the record is 2
    with pytest.raises(DataError) as error:
        parse_metadata(path, study_filters=False)
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: no record is usable: ")
    assert re.search(reason, message)
    assert "4 of 4 malformed lines" in message
    assert "write each relation as a list of asins" in message


def test_some_records_of_the_wrong_type_are_counted_warned_and_summarised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    records = _ring(30)
    for i in (3, 7):  # lines 4 and 8
        records[i]["related"]["also_bought"] = ",".join(records[i]["related"]["also_bought"])
    path = write_lines(tmp_path / "meta.json", python_lines(records))
    with caplog.at_level(logging.WARNING, logger="recsys.data.parse"):
        prepared = prepare_dataset(
            DataConfig(dataset=str(path), data_dir=tmp_path / "data"), progress=False
        )
    (warning,) = [r.getMessage() for r in caplog.records if "wrong type" in r.getMessage()]
    assert warning.startswith(f"{path}: 2 records skipped (counted as malformed lines)")
    assert "line 4: related.also_bought is a str" in warning
    manifest = prepared.manifest
    assert manifest["records_read"] == 28
    assert manifest["malformed_lines"] == 2 and manifest["malformed_line_numbers"] == [4, 8]
    assert manifest["parse"]["details"]["field_type_errors"] == 2
    summary = describe_prepared(prepared)
    assert "2 malformed lines (first: 4, 8; 2 of them a relation of the wrong type, first " in (
        summary
    )
    assert "line 4: related.also_bought is a str ('B004,B005,B006')" in summary


def test_no_pairs_left_after_the_wrong_types_names_them_not_the_filters(tmp_path: Path) -> None:
    records = [{"asin": f"B{i}", "title": "t", "also_buy": "B1,B2"} for i in range(3)]
    records += [{"asin": f"B{i}", "title": "t"} for i in range(3, 5)]  # no relations
    path = write_lines(tmp_path / "meta.json", json_lines(records))
    with pytest.raises(DataError) as error:
        parse_metadata(path, study_filters=True)
    message = str(error.value)
    assert message.startswith(f"{path}: no product pairs (3 records skipped for a relation ")
    assert "line 1: also_buy is a str ('B1,B2')" in message and "study" not in message


def test_the_2014_relation_names_at_the_top_level_are_read_as_the_2018_ones(
    tmp_path: Path,
) -> None:
    """A file written with the 2014 names but no ``related`` around them pairs as if they
    were there (it paired nothing, and the error blamed the records' lack of relations)."""
    nested = _ring(12)
    flat = [
        {"asin": r["asin"], "title": r["title"], "also_bought": r["related"]["also_bought"]}
        for r in nested
    ]
    flat[0]["bought_together"] = ["B005"]
    flat[1]["also_viewed"] = ["B007"]
    nested[0]["related"]["bought_together"] = ["B005"]
    nested[1]["related"]["also_viewed"] = ["B007"]
    read = {}
    for name, records in (("flat", flat), ("nested", nested)):
        path = write_lines(tmp_path / f"{name}.json", json_lines(records))
        read[name] = parse_metadata(path, study_filters=True).pairs
    for column in ("item_a", "item_b", "weight", "relations"):
        assert getattr(read["flat"], column).tolist() == getattr(read["nested"], column).tolist()
    assert len(read["flat"].item_a) == 12 * 3 + 2  # the ring's pairs, B000-B005, B001-B007


def test_a_top_level_relation_of_the_wrong_type_is_named_by_its_2014_name(
    tmp_path: Path,
) -> None:
    records = [{"asin": f"B{i}", "title": "t", "also_viewed": "B1,B2"} for i in range(3)]
    path = write_lines(tmp_path / "meta.json", json_lines(records))
    with pytest.raises(DataError, match=r"line 1: also_viewed is a str \('B1,B2'\)"):
        parse_metadata(path, study_filters=False)
