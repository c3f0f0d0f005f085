"""Rows of a pairs file that are not plain pairs: weight 0 and relation names written
differently; each is dropped or merged, counted, and reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.config import DataConfig
from recsys.data.errors import DataError
from recsys.data.formats.pairs_file import read_pairs_file
from recsys.data.prepare import prepare_dataset
from recsys.data.summary import describe_prepared


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_rows_of_weight_zero_are_dropped_and_counted(tmp_path: Path) -> None:
    lines = ["item_a,item_b,weight", "A,B,1", "B,A,0", "A,C,0", "C,D,0.0", "D,E,2"]
    parsed = read_pairs_file(write(tmp_path / "p.csv", lines))
    assert parsed.products["asin"].tolist() == ["A", "B", "D", "E"]  # C is in no pair
    assert parsed.pairs.weight.tolist() == [1.0, 2.0]
    assert parsed.report.details["zero_weight"] == 3


def test_a_file_of_weight_zero_rows_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path / "zero.csv", ["item_a,item_b,weight", "A,B,0", "B,C,0"])
    with pytest.raises(DataError, match=r"zero\.csv: no product pairs .*2 of weight 0: give"):
        read_pairs_file(path)


def test_weight_zero_prepares_pairs_training_accepts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = [f"p{a},p{b},{int(a % 5 != 0)}" for a, b in rng.integers(0, 60, (600, 2))]
    path = write(tmp_path / "somezero.csv", ["source,target,weight", *rows])
    config = DataConfig(dataset=str(path), data_dir=tmp_path / "data")
    prepared = prepare_dataset(config, progress=False)
    assert (prepared.train.weight > 0).all()
    zero = prepared.manifest["parse"]["details"]["zero_weight"]
    assert zero > 0
    assert f"{zero:,} rows of weight 0 (not pairs)" in describe_prepared(prepared)


def test_relation_names_ignore_case_and_spaces_and_blank_is_co_purchase(tmp_path: Path) -> None:
    lines = ["a,b,relation", "A,B,bought", "B,A,Bought ", "A,C, BOUGHT", "C,D,", "D,C,co_purchase"]
    parsed = read_pairs_file(write(tmp_path / "rel.csv", lines))
    assert parsed.pairs.weight.tolist() == [1.0, 1.0, 1.0]  # no pair is listed heavier
    assert parsed.report.relation_entries == {"bought": 3, "co_purchase": 2}
    assert parsed.report.pairs_per_relation == {"bought": 2, "co_purchase": 1}
